-- Issue 9, the second attacker: small opens (at most p_small_max) were bound only by the total,
-- so 135 never-sent 4 MiB reservations from fresh sources filled a 512 MiB quota and honest text
-- tips got 507 quota_full. Now (server/source/open-limits.ts):
-- - a TEXT TIP (one chunk, at most p_text_max bytes: what the page sends for a message without
--   files) is decided by the bytes stored only: received tips and chunks already arrived, plus its
--   size, within the total (and the storage room). Unsent reservations never refuse a message.
-- - other small opens' unsent bytes (all small uploads in progress, text tips included) stay within
--   p_small_share (the small pool), and new sources' within p_new_share of it.
-- - a large open must keep received + arrived + the unsent bytes of LARGE reservations + its size
--   within the total minus p_small_share, and the large reservations' unsent bytes within the
--   shares of the free room as before: the small pool and the large room no longer overlap.
DROP FUNCTION "sealdrop_reserve_upload"(uuid, text, boolean, text, date, bigint, integer, integer, text, text, text, date, bigint, bigint, bigint, bigint, bigint, double precision, double precision);
--> statement-breakpoint
CREATE FUNCTION "sealdrop_reserve_upload"(
  p_id uuid, p_lookup_hash text, p_returning boolean, p_pow_id text, p_pow_day date, p_size bigint,
  p_chunk_size integer, p_chunks integer, p_sha256 text, p_public_key text, p_locked_key text, p_day date,
  p_quota_source bigint, p_quota_total bigint, p_storage_room bigint, p_small_max bigint,
  p_small_share bigint, p_unsent_share double precision, p_new_share double precision, p_text_max bigint)
RETURNS TABLE (o_outcome text, o_unsent bigint, o_unsent_new bigint, o_free bigint)
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
  IF v_outcome IS NULL THEN
    INSERT INTO spent_pow (id_hash, expires_day) VALUES (p_pow_id, p_pow_day) ON CONFLICT (id_hash) DO NOTHING;
    IF FOUND THEN
      INSERT INTO submissions (id, source_id, status, size, chunk_size, chunks, sha256,
        pending_lookup_hash, pending_public_key, pending_locked_private_key, created_day)
      VALUES (p_id, v_source, 'uploading', p_size, p_chunk_size, p_chunks, p_sha256,
        CASE WHEN p_returning THEN NULL ELSE p_lookup_hash END, p_public_key, p_locked_key, p_day);
      v_outcome := 'created';
    ELSE
      v_outcome := 'pow_spent';
    END IF;
  END IF;
  RETURN QUERY SELECT v_outcome, v_unsent + v_unsent_small, v_unsent_new + v_unsent_small_new, v_free;
END;
$$;
