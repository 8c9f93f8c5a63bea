-- Issue 9, the racing attacker: keeping up with UPLOAD_PACE cost the same 2 000 B/s for a 2 GiB
-- reservation as for a 64 KiB one, so 16 uploads trickling 2 185 B/s each (35 kB/s in all) held the
-- large bound (32 GiB) until the day's purge, and no honest 2 GiB file got in. Now the pace an upload
-- is asked for grows with its announced size: the bytes a minute that finish it before the day's
-- purge deletes it unfinished (server/source/purge.ts: at the first purge of the second day after
-- its open's day, 24-48 hours after the open), and never fewer than UPLOAD_PACE's. A 2 GiB upload
-- opened just after midnight must send 12.4 kB/s, one opened just before 24.9 kB/s; anything under
-- UPLOAD_PACE x that horizon (165-330 MiB) keeps the rule of 0009 and 0012. An upload slower than
-- this cannot complete before the purge anyway. The same rate is used by the sweep
-- (server/source/stale-uploads.ts: lease + bytes / rate) and, below, by the behind-the-pace
-- displacement of 0012, whose function is otherwise unchanged (same parameters: replaced).
-- Minutes only, from the open's minute (first_tick) and its day: no finer time is stored.
CREATE FUNCTION "sealdrop_required_per_tick"(p_size bigint, p_created_day date, p_first_tick integer, p_pace_per_tick bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT greatest(p_pace_per_tick,
    -- ceil(size / minutes from the open's minute to the purge's midnight), at least one minute
    (p_size + greatest(1, ((p_created_day + 2) - date '1970-01-01')::bigint * 1440 - p_first_tick) - 1)
      / greatest(1, ((p_created_day + 2) - date '1970-01-01')::bigint * 1440 - p_first_tick))
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "sealdrop_reserve_upload"(
  p_id uuid, p_lookup_hash text, p_returning boolean, p_pow_id text, p_pow_day date, p_size bigint,
  p_chunk_size integer, p_chunks integer, p_sha256 text, p_public_key text, p_locked_key text, p_day date,
  p_quota_source bigint, p_quota_total bigint, p_storage_room bigint, p_small_max bigint,
  p_small_share bigint, p_unsent_share double precision, p_new_share double precision, p_text_max bigint,
  p_tick integer, p_grace_ticks integer, p_claim_bytes bigint, p_pace_per_tick bigint, p_slack_ticks integer)
RETURNS TABLE (o_outcome text, o_unsent bigint, o_unsent_new bigint, o_free bigint, o_displaced integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_source uuid;
  v_source_day bigint;
  v_kept bigint;
  v_arrived bigint;
  v_unsent bigint;
  v_unsent_new bigint;
  v_unsent_small bigint;
  v_unsent_small_new bigint;
  v_free bigint;
  v_text boolean := p_chunks = 1 AND p_size <= p_text_max;
  v_small boolean := p_size <= p_small_max;
  v_outcome text;
  v_need_all double precision := 0;
  v_need_new double precision := 0;
  v_claim record;
  v_claims uuid[] := '{}';
  v_displaced integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(1587663370);
  SELECT s.id INTO v_source FROM sources s WHERE s.lookup_hash = p_lookup_hash;
  IF p_returning THEN
    SELECT coalesce(sum(m.size), 0) INTO v_source_day FROM submissions m
    WHERE m.created_day = p_day AND m.source_id = v_source;
  ELSE
    SELECT coalesce(sum(m.size), 0) INTO v_source_day FROM submissions m
    WHERE m.created_day = p_day AND m.status = 'uploading' AND m.source_id IS NULL AND m.pending_lookup_hash = p_lookup_hash;
  END IF;
  SELECT coalesce(sum(m.size), 0) INTO v_kept FROM submissions m WHERE m.status = 'received';
  SELECT coalesce(sum(u.got), 0),
    coalesce(sum(u.size - u.got) FILTER (WHERE u.size > p_small_max), 0),
    coalesce(sum(u.size - u.got) FILTER (WHERE u.size > p_small_max AND u.source_id IS NULL), 0),
    coalesce(sum(u.size - u.got) FILTER (WHERE u.size <= p_small_max), 0),
    coalesce(sum(u.size - u.got) FILTER (WHERE u.size <= p_small_max AND u.source_id IS NULL), 0)
  INTO v_arrived, v_unsent, v_unsent_new, v_unsent_small, v_unsent_small_new
  FROM (SELECT m.size, m.source_id,
      least(m.size, m.chunk_size::bigint * (SELECT count(*) FROM chunks c WHERE c.submission_id = m.id)) AS got
    FROM submissions m WHERE m.status = 'uploading') u;
  v_free := p_quota_total - v_kept - v_arrived;
  IF p_storage_room IS NOT NULL THEN
    v_free := least(v_free, p_storage_room);
  END IF;
  IF (v_source IS NOT NULL) <> p_returning THEN
    v_outcome := CASE WHEN p_returning THEN 'unknown_codename' ELSE 'codename_taken' END;
  ELSIF v_source_day + p_size > p_quota_source THEN
    v_outcome := 'source_quota';
  ELSIF v_text AND v_kept + v_arrived + p_size > p_quota_total THEN
    v_outcome := 'quota_full';
  ELSIF v_text AND p_storage_room IS NOT NULL AND p_size > p_storage_room THEN
    v_outcome := 'storage_full';
  ELSIF v_text THEN
    v_outcome := NULL;
  ELSIF v_small AND v_kept + v_arrived + v_unsent + v_unsent_small + p_size > p_quota_total THEN
    v_outcome := 'quota_full';
  ELSIF v_small AND p_storage_room IS NOT NULL AND v_unsent + v_unsent_small + p_size > p_storage_room THEN
    v_outcome := 'storage_full';
  ELSIF v_small AND (v_unsent_small + p_size > p_small_share
      OR (NOT p_returning AND v_unsent_small_new + p_size > p_new_share * p_small_share)) THEN
    v_outcome := 'reservations_full';
  ELSIF NOT v_small AND v_kept + v_arrived + v_unsent + p_size > p_quota_total - p_small_share THEN
    v_outcome := 'quota_full';
  ELSIF NOT v_small AND p_storage_room IS NOT NULL AND v_unsent + p_size > p_storage_room - p_small_share THEN
    v_outcome := 'storage_full';
  ELSIF NOT v_small AND (v_unsent + p_size > p_unsent_share * v_free
      OR (NOT p_returning AND v_unsent_new + p_size > p_new_share * v_free)) THEN
    v_outcome := 'reservations_full';
  END IF;
  -- a full pool or bound: the room of its claims (shown bytes under the claim bytes, or behind the
  -- pace its size requires past the grace and the slack), oldest first, as many as needed (none are taken
  -- unless together they make room)
  IF v_outcome = 'reservations_full' THEN
    IF v_small THEN
      v_need_all := v_unsent_small + p_size - p_small_share::double precision;
      IF NOT p_returning THEN v_need_new := v_unsent_small_new + p_size - p_new_share * p_small_share; END IF;
    ELSE
      v_need_all := v_unsent + p_size - p_unsent_share * v_free;
      IF NOT p_returning THEN v_need_new := v_unsent_new + p_size - p_new_share * v_free; END IF;
    END IF;
    FOR v_claim IN
      SELECT m.id, m.size, m.source_id IS NULL AS new_source
      FROM submissions m JOIN upload_progress p ON p.submission_id = m.id
      WHERE m.status = 'uploading' AND (m.size <= p_small_max) = v_small
        AND p_tick - p.first_tick > p_grace_ticks
        AND p.flowed + coalesce((SELECT sum(octet_length(c.data)) FROM chunks c WHERE c.submission_id = m.id), 0)
          < least(m.size, p_claim_bytes
            + sealdrop_required_per_tick(m.size, m.created_day, p.first_tick, p_pace_per_tick)
              * greatest(0, p_tick - p.first_tick - p_grace_ticks - p_slack_ticks)::bigint)
      ORDER BY p.first_tick, m.id
    LOOP
      EXIT WHEN v_need_all <= 0 AND v_need_new <= 0;
      IF v_need_all > 0 OR (v_need_new > 0 AND v_claim.new_source) THEN
        v_claims := v_claims || v_claim.id;
        v_need_all := v_need_all - v_claim.size;
        IF v_claim.new_source THEN v_need_new := v_need_new - v_claim.size; END IF;
      END IF;
    END LOOP;
    IF v_need_all <= 0 AND v_need_new <= 0 THEN
      v_outcome := NULL;
    ELSE
      v_claims := '{}';
    END IF;
  END IF;
  IF v_outcome IS NULL THEN
    INSERT INTO spent_pow (id_hash, expires_day) VALUES (p_pow_id, p_pow_day) ON CONFLICT (id_hash) DO NOTHING;
    IF FOUND THEN
      -- a claim is deleted as a stale upload is (its chunks' requests then get 404 unknown_upload)
      DELETE FROM submissions m WHERE m.id = ANY (v_claims) AND m.status = 'uploading';
      GET DIAGNOSTICS v_displaced = ROW_COUNT;
      INSERT INTO submissions (id, source_id, status, size, chunk_size, chunks, sha256,
        pending_lookup_hash, pending_public_key, pending_locked_private_key, created_day)
      VALUES (p_id, v_source, 'uploading', p_size, p_chunk_size, p_chunks, p_sha256,
        CASE WHEN p_returning THEN NULL ELSE p_lookup_hash END, p_public_key, p_locked_key, p_day);
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
