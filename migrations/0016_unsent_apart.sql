-- Issue 9, the honest source refused as if she had sent her day (Break B): 0015 counted what a
-- returning source's swept or displaced uploads did not send in the same sum as what she sent, so a
-- source that sent a 2 KB message and then lost two 2 GiB uploads (Tor died) was refused her third
-- try with 429 source_quota, "has sent as much as one source may send in a day": false, she had sent
-- 2 KB. Now two bounds, each with a true refusal:
--   * what the codename sent today (the sizes of the day's uploads it opened: in progress, received
--     or downloaded) plus this open: at most QUOTA_SOURCE_PER_DAY, else 429 source_quota;
--   * for an open larger than RESERVE_SMALL_MAX only (a message or a small file is never refused by
--     it): the bytes its uploads deleted unfinished today did not send (swept_unsent), beyond this
--     open's own size (a retry takes the room of what failed), at most QUOTA_SOURCE_PER_DAY, else
--     429 source_unsent.
-- At the defaults (4 GiB) a source whose 2 GiB uploads keep failing gets four tries a day and then
-- still sends messages and files of up to 4 MiB; the re-opening attacker of 0015 gets four opens a
-- codename a day instead of three.
-- sealdrop_reserve_upload as in 0015, but for the two bounds above (same parameters: replaced;
-- 0013's wrapper calls it as before)
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
    -- one statement, one snapshot: an upload the sweep deletes meanwhile is counted once, as a row
    -- (what was sent: its size) or as its unsent bytes (swept_unsent), never in both nor in neither
    SELECT coalesce(sum(m.size), 0), coalesce((SELECT u.bytes FROM swept_unsent u
        WHERE u.source_id = v_source AND u.day = p_day), 0)
    INTO v_source_day, v_source_unsent FROM submissions m
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
  -- what failed beyond this open's own size (a retry takes the room of what failed); large opens only
  ELSIF NOT v_small AND v_source_unsent - p_size > p_quota_source THEN
    v_outcome := 'source_unsent';
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
      -- a claim is deleted as a stale upload is (its chunks' requests then get 404 unknown_upload),
      -- and what it did not send counts toward its source's bytes of the day, as the sweep's
      WITH gone AS (
        DELETE FROM submissions m USING upload_progress p
        WHERE m.id = ANY (v_claims) AND m.status = 'uploading' AND p.submission_id = m.id
        RETURNING m.source_id, m.created_day, greatest(0, m.size - p.flowed
          - coalesce((SELECT sum(octet_length(c.data)) FROM chunks c WHERE c.submission_id = m.id), 0)) AS unsent
      ), noted AS (
        INSERT INTO swept_unsent (source_id, day, bytes)
        SELECT g.source_id, p_day, sum(g.unsent) FROM gone g
        WHERE g.source_id IS NOT NULL AND g.created_day = p_day
        GROUP BY g.source_id HAVING sum(g.unsent) > 0
        ON CONFLICT (source_id) DO UPDATE
          SET bytes = CASE WHEN swept_unsent.day = excluded.day THEN swept_unsent.bytes + excluded.bytes ELSE excluded.bytes END,
            day = excluded.day
          WHERE swept_unsent.day <= excluded.day
      )
      SELECT count(*) INTO v_displaced FROM gone;
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
