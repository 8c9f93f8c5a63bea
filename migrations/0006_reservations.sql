-- The sweep of uploads in progress (server/source/stale-uploads.ts) now runs every minute, so a
-- reservation that never receives a chunk can be freed after a lease of minutes: its ticks are
-- minutes, no longer quarter hours (a tick of 0004 was floor(ms / 900000); times 15 is the same moment
-- to the minute). Only uploads in progress have a row; a received upload's goes at the next sweep.
UPDATE "upload_progress" SET "tick" = "tick" * 15;
--> statement-breakpoint
DROP FUNCTION "sealdrop_reserve_upload"(uuid, text, boolean, text, date, bigint, integer, integer, text, text, text, date, bigint, bigint);
--> statement-breakpoint
-- The open's decision (server/source/open-limits.ts, reserveUpload): one statement from the app,
-- which takes a transaction-scoped advisory lock (key 0x5ea1d20a) so opens on every process are
-- decided one at a time; each query below runs after it with a fresh snapshot (READ COMMITTED, a
-- volatile function), so two opens cannot both take the room left for one. The codename is
-- checked (known for a returning source, unknown for a new one), the quotas, the bounds on what
-- unsent reservations hold, the token spent and the upload made, all or nothing.
--
-- "Unsent" is what an upload in progress announced and has not received yet (its size minus its
-- chunks times its chunk size, at least 0). "Free room" is what is not taken by bytes already
-- stored: QUOTA_TOTAL minus received tips and the chunks of uploads in progress, and, when the
-- storage is watched, p_storage_room (what the database and its disk can still take, read by the
-- app). An open of at most p_small_max bytes ("small": text tips and small files) needs only to
-- fit in the free room. A larger one must also leave p_small_share of it for small opens, keep all
-- unsent reservations within p_unsent_share of it, and, from a source with no received
-- submission yet (a new source), keep the new sources' unsent reservations within p_new_share.
CREATE FUNCTION "sealdrop_reserve_upload"(
  p_id uuid, p_lookup_hash text, p_returning boolean, p_pow_id text, p_pow_day date, p_size bigint,
  p_chunk_size integer, p_chunks integer, p_sha256 text, p_public_key text, p_locked_key text, p_day date,
  p_quota_source bigint, p_quota_total bigint, p_storage_room bigint, p_small_max bigint,
  p_small_share bigint, p_unsent_share double precision, p_new_share double precision)
RETURNS TABLE (o_outcome text, o_unsent bigint, o_unsent_new bigint, o_free bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_source uuid;
  v_source_day bigint;
  v_kept bigint;
  v_arrived bigint;
  v_unsent bigint;
  v_unsent_new bigint;
  v_free bigint;
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
  SELECT coalesce(sum(u.got), 0), coalesce(sum(u.size - u.got), 0),
    coalesce(sum(u.size - u.got) FILTER (WHERE u.source_id IS NULL), 0)
  INTO v_arrived, v_unsent, v_unsent_new
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
  ELSIF v_kept + v_arrived + v_unsent + p_size > p_quota_total THEN
    v_outcome := 'quota_full';
  ELSIF p_storage_room IS NOT NULL AND v_unsent + p_size > p_storage_room THEN
    v_outcome := 'storage_full';
  ELSIF p_size > p_small_max AND v_kept + v_arrived + v_unsent + p_size > p_quota_total - p_small_share THEN
    v_outcome := 'quota_full';
  ELSIF p_size > p_small_max AND p_storage_room IS NOT NULL AND v_unsent + p_size > p_storage_room - p_small_share THEN
    v_outcome := 'storage_full';
  ELSIF p_size > p_small_max AND (v_unsent + p_size > p_unsent_share * v_free
      OR (NOT p_returning AND v_unsent_new + p_size > p_new_share * v_free)) THEN
    v_outcome := 'reservations_full';
  ELSE
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
  RETURN QUERY SELECT v_outcome, v_unsent, v_unsent_new, v_free;
END;
$$;
