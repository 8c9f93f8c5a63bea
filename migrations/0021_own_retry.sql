-- Issue 9, the attacker of 0019 (attack 9d), the honest side: a returning source whose 2 GiB upload
-- died after its proof (promoted: 8 MiB stored, then Tor went) and who tried again before the sweep
-- took it (up to the lease; minute 19 in the attacker's run) was refused 429 source_quota "has sent
-- as much as one source may send in a day; try again tomorrow" — false: a promoted upload counts
-- its whole size in its codename's day until it is swept. Now, when an open of a returning source
-- would pass its day only because of its own uploads in progress that have not moved (no chunk
-- stored, no body's bytes counted) for three sweep minutes (two whole minutes: the page's uploads
-- move at least every minute, a stalled chunk being cut after 30 s and sent again within 30 s),
-- the open takes their place: admitted, they are deleted with it (as an open's displaced claims:
-- what they did not send is noted as unsent for the day, and source_unsent counts it for this
-- open already). Refused, nothing is deleted. sealdrop_reserve_upload: as in 0020 with that (same
-- parameters: replaced).
CREATE OR REPLACE FUNCTION "sealdrop_reserve_upload"(
  p_id uuid, p_lookup_hash text, p_returning boolean, p_pow_id text, p_pow_day date, p_size bigint,
  p_chunk_size integer, p_chunks integer, p_sha256 text, p_public_key text, p_locked_key text, p_day date,
  p_quota_source bigint, p_quota_total bigint, p_storage_room bigint, p_small_max bigint,
  p_small_share bigint, p_unsent_share double precision, p_new_share double precision, p_text_max bigint,
  p_tick integer, p_grace_ticks integer, p_claim_bytes bigint, p_pace_per_tick bigint, p_slack_ticks integer,
  p_hold bigint)
RETURNS TABLE (o_outcome text, o_unsent bigint, o_unsent_new bigint, o_free bigint, o_displaced integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_source uuid;
  v_source_day bigint;
  v_source_unsent bigint := 0;
  v_kept bigint;
  v_arrived bigint;
  v_unsent bigint;
  v_unsent_new bigint;
  v_unsent_small bigint;
  v_unsent_small_new bigint;
  v_free bigint;
  v_text boolean := p_chunks = 1 AND p_size <= p_text_max;
  v_small boolean := p_size <= p_small_max;
  v_probe boolean := NOT (p_chunks = 1 AND p_size <= p_text_max);
  v_held bigint;
  v_outcome text;
  v_need_all double precision := 0;
  v_need_new double precision := 0;
  v_claims uuid[] := '{}';
  v_displaced integer := 0;
  v_own_stale uuid[] := '{}';
  v_own_stale_held bigint := 0;
  v_own_stale_unsent bigint := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(1587663370);
  v_held := sealdrop_held(p_size, v_probe, p_hold);
  SELECT s.id INTO v_source FROM sources s WHERE s.lookup_hash = p_lookup_hash;
  -- the codename's day: its source's uploads and the ones still pending under its lookup hash
  -- (opened as a new source's beside its first, which made the source when it arrived)
  IF p_returning THEN
    -- one statement, one snapshot: an upload the sweep deletes meanwhile is counted once, as a row
    -- (what was sent: its size) or as its unsent bytes (swept_unsent), never in both nor in neither
    SELECT coalesce(sum(sealdrop_held(m.size, m.probe, p_hold)), 0), coalesce((SELECT u.bytes FROM swept_unsent u
        WHERE u.source_id = v_source AND u.day = p_day), 0)
    INTO v_source_day, v_source_unsent FROM submissions m
    WHERE m.created_day = p_day AND sealdrop_of_codename(m.source_id, m.status, m.pending_lookup_hash, v_source, p_lookup_hash);
  ELSE
    SELECT coalesce(sum(sealdrop_held(m.size, m.probe, p_hold)), 0) INTO v_source_day FROM submissions m
    WHERE m.created_day = p_day AND sealdrop_of_codename(m.source_id, m.status, m.pending_lookup_hash, v_source, p_lookup_hash);
  END IF;
  -- a retry: when her day would be passed only by her own uploads in progress that have not moved
  -- for OWN_STALE_TICKS (a try that died, still reserved until the sweep), the open takes their
  -- place: they are deleted with it, what they did not send noted as unsent (source_unsent counts
  -- it for this open too)
  IF p_returning AND v_source IS NOT NULL AND v_source_day + p_size > p_quota_source THEN
    SELECT coalesce(array_agg(m.id), '{}'), coalesce(sum(sealdrop_held(m.size, m.probe, p_hold)), 0),
      coalesce(sum(greatest(0, sealdrop_held(m.size, m.probe, p_hold) - p.flowed
        - coalesce((SELECT sum(octet_length(c.data)) FROM chunks c WHERE c.submission_id = m.id), 0))), 0)
    INTO v_own_stale, v_own_stale_held, v_own_stale_unsent
    FROM submissions m JOIN upload_progress p ON p.submission_id = m.id
    WHERE m.created_day = p_day AND m.source_id = v_source AND m.status = 'uploading' AND p_tick - p.tick >= 3;
    IF v_source_day - v_own_stale_held + p_size > p_quota_source THEN
      v_own_stale := '{}';
      v_own_stale_held := 0;
      v_own_stale_unsent := 0;
    END IF;
    v_source_day := v_source_day - v_own_stale_held;
    v_source_unsent := v_source_unsent + v_own_stale_unsent;
  END IF;
  SELECT coalesce(sum(m.size), 0) INTO v_kept FROM submissions m WHERE m.status = 'received';
  SELECT * INTO v_arrived, v_unsent, v_unsent_new, v_unsent_small, v_unsent_small_new
  FROM sealdrop_pool_sums(p_small_max, p_hold, NULL);
  v_free := p_quota_total - v_kept - v_arrived;
  IF p_storage_room IS NOT NULL THEN
    v_free := least(v_free, p_storage_room);
  END IF;
  IF (v_source IS NOT NULL) <> p_returning THEN
    v_outcome := CASE WHEN p_returning THEN 'unknown_codename' ELSE 'codename_taken' END;
  ELSIF v_source_day + p_size > p_quota_source THEN
    v_outcome := 'source_quota';
  -- what failed beyond this open's own size (a retry takes the room of what failed); large opens only
  ELSIF NOT v_small AND v_source_unsent - p_size > p_quota_source THEN
    v_outcome := 'source_unsent';
  ELSE
    SELECT b.o_outcome, b.o_need_all, b.o_need_new INTO v_outcome, v_need_all, v_need_new
    FROM sealdrop_bounds(v_text, v_small, NOT p_returning, v_held, v_kept, v_arrived, v_unsent, v_unsent_new,
      v_unsent_small, v_unsent_small_new, v_free, p_quota_total, p_storage_room, p_small_share, p_unsent_share,
      p_new_share) b;
  END IF;
  -- a full pool or bound: the room of its claims, oldest first, as many as needed (none are taken
  -- unless together they make room)
  IF v_outcome = 'reservations_full' THEN
    v_claims := sealdrop_claims_for(v_small, v_need_all, v_need_new, p_small_max, p_hold, p_tick, p_grace_ticks,
      p_claim_bytes, p_pace_per_tick, p_slack_ticks, NULL);
    IF v_claims IS NOT NULL THEN
      v_outcome := NULL;
    END IF;
  END IF;
  IF v_outcome IS NULL THEN
    INSERT INTO spent_pow (id_hash, expires_day) VALUES (p_pow_id, p_pow_day) ON CONFLICT (id_hash) DO NOTHING;
    IF FOUND THEN
      v_displaced := sealdrop_displace(coalesce(v_claims, '{}') || v_own_stale, p_day, p_hold);
      INSERT INTO submissions (id, source_id, status, size, chunk_size, chunks, sha256,
        pending_lookup_hash, pending_public_key, pending_locked_private_key, created_day, probe)
      VALUES (p_id, v_source, 'uploading', p_size, p_chunk_size, p_chunks, p_sha256,
        CASE WHEN p_returning THEN NULL ELSE p_lookup_hash END, p_public_key, p_locked_key, p_day, v_probe);
      INSERT INTO upload_progress (submission_id, chunks, tick, first_tick, flowed)
      VALUES (p_id, 0, p_tick, p_tick, 0);
      v_outcome := 'created';
    ELSE
      v_outcome := 'pow_spent';
    END IF;
  END IF;
  RETURN QUERY SELECT v_outcome, v_unsent + v_unsent_small, v_unsent_new + v_unsent_small_new, v_free, v_displaced;
END;
$$;
