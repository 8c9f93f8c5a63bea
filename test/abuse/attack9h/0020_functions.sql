CREATE OR REPLACE FUNCTION "sealdrop_reserve_upload_0020"(
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
      v_displaced := sealdrop_displace(coalesce(v_claims, '{}'), p_day, p_hold);
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
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "sealdrop_promote_probe_0020"(p_id uuid, p_day date, p_quota_total bigint, p_storage_room bigint,
  p_small_max bigint, p_small_share bigint, p_unsent_share double precision, p_new_share double precision,
  p_proof bigint, p_hold bigint, p_pending bigint, p_tick integer, p_grace_ticks integer, p_claim_bytes bigint,
  p_pace_per_tick bigint, p_slack_ticks integer, p_quota_source bigint)
RETURNS TABLE (o_outcome text, o_displaced integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_row record;
  v_stored bigint;
  v_rest bigint;
  v_kept bigint;
  v_arrived bigint;
  v_unsent bigint;
  v_unsent_new bigint;
  v_unsent_small bigint;
  v_unsent_small_new bigint;
  v_room bigint;
  v_free bigint;
  v_small boolean;
  v_outcome text;
  v_need_all double precision;
  v_need_new double precision;
  v_claims uuid[] := '{}';
  v_displaced integer := 0;
  v_source_day bigint;
  v_codename_source uuid;
  v_codename_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(1587663370);
  SELECT m.size, m.chunk_size, m.probe, m.source_id, m.status, m.created_day, m.pending_lookup_hash INTO v_row FROM submissions m WHERE m.id = p_id;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'gone'::text, 0;
    RETURN;
  END IF;
  -- received meanwhile (a copy of its chunk, or of its one chunk, completed it: it was promoted)
  IF NOT v_row.probe OR v_row.status <> 'uploading' THEN
    RETURN QUERY SELECT 'promoted'::text, 0;
    RETURN;
  END IF;
  SELECT coalesce(sum(octet_length(c.data)), 0) INTO v_stored FROM chunks c WHERE c.submission_id = p_id;
  IF v_stored + p_pending < least(v_row.size, p_proof) THEN
    RETURN QUERY SELECT 'probe'::text, 0;
    RETURN;
  END IF;
  -- what it will hold once promoted, beside the octets stored and the body in hand
  v_rest := greatest(0, v_row.size - least(v_row.size, v_stored + p_pending));
  v_small := v_row.size <= p_small_max;
  SELECT coalesce(sum(m.size), 0) INTO v_kept FROM submissions m WHERE m.status = 'received';
  SELECT * INTO v_arrived, v_unsent, v_unsent_new, v_unsent_small, v_unsent_small_new
  FROM sealdrop_pool_sums(p_small_max, p_hold, p_id);
  -- the body in hand is stored with the decision's outcome: it counts as arrived, and the disk's
  -- room (beyond what is stored) must take it
  v_arrived := v_arrived + p_pending;
  v_room := p_storage_room - p_pending;
  v_free := p_quota_total - v_kept - v_arrived;
  IF v_room IS NOT NULL THEN
    v_free := least(v_free, v_room);
  END IF;
  -- its codename's day, as its open counted it: the other uploads of its open's day (a probe at
  -- its hold) and now its whole size
  IF v_row.source_id IS NOT NULL THEN
    v_codename_source := v_row.source_id;
    SELECT s.lookup_hash INTO v_codename_hash FROM sources s WHERE s.id = v_row.source_id;
  ELSE
    v_codename_hash := v_row.pending_lookup_hash;
    SELECT s.id INTO v_codename_source FROM sources s WHERE s.lookup_hash = v_row.pending_lookup_hash;
  END IF;
  SELECT coalesce(sum(sealdrop_held(m.size, m.probe, p_hold)), 0) INTO v_source_day FROM submissions m
  WHERE m.created_day = v_row.created_day AND m.id <> p_id
    AND sealdrop_of_codename(m.source_id, m.status, m.pending_lookup_hash, v_codename_source, v_codename_hash);
  IF v_source_day + v_row.size > p_quota_source THEN
    v_outcome := 'source_quota';
  -- every byte stored and none in hand (an upload of at most its proof sent in several chunks, or
  -- one whose last chunk brings its proof) with more stored than its hold admitted: the bytes
  -- beyond it were never checked (a probe's chunks are stored whatever the room), so the total and
  -- the disk are, as for a text tip, its bytes being among those arrived. Before 0020 it was
  -- promoted unchecked: 12 uploads of 8 MiB held 96 MiB received on a 48 MiB total. (One that
  -- held its whole size was admitted with it, and finishes.)
  ELSIF v_rest > 0 OR p_pending > 0 OR v_stored > least(v_row.size, p_hold) THEN
    SELECT b.o_outcome, b.o_need_all, b.o_need_new INTO v_outcome, v_need_all, v_need_new
    FROM sealdrop_bounds(v_rest = 0, v_small, v_row.source_id IS NULL, v_rest, v_kept, v_arrived, v_unsent, v_unsent_new,
      v_unsent_small, v_unsent_small_new, v_free, p_quota_total, v_room, p_small_share, p_unsent_share, p_new_share) b;
  END IF;
  IF v_outcome = 'reservations_full' THEN
    v_claims := sealdrop_claims_for(v_small, v_need_all, v_need_new, p_small_max, p_hold, p_tick, p_grace_ticks,
      p_claim_bytes, p_pace_per_tick, p_slack_ticks, p_id);
    IF v_claims IS NOT NULL THEN
      v_outcome := NULL;
    END IF;
  END IF;
  IF v_outcome IS NULL THEN
    v_displaced := sealdrop_displace(coalesce(v_claims, '{}'), p_day, p_hold);
    UPDATE submissions SET probe = false WHERE id = p_id;
    v_outcome := 'promoted';
  ELSE
    DELETE FROM submissions WHERE id = p_id AND status = 'uploading';
  END IF;
  RETURN QUERY SELECT v_outcome, v_displaced;
END;
$$;
