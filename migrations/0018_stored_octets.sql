-- Issue 9, phantom arrived bytes (the attacker of 0017): the bytes an upload in progress had
-- "arrived" were counted as its chunk size times its chunks stored (sealdrop_pool_sums' got, and a
-- promotion's rest), so an upload of one 4 MiB chunk and one byte whose 1-byte last chunk was stored
-- counted 4 MiB arrived: stored bytes, which every bound subtracts from the free room and which no
-- displacement takes back; 149 such opens (149 bytes) refused every text tip 507 quota_full on a
-- 512 MiB server, about one open per 4 MiB of room every ten minutes (the sweep's lease). Now both
-- count the octets the chunk rows hold, as the sweep and the claims already did (octet_length reads
-- a value's stored length, not the value). Same parameters: replaced.
CREATE OR REPLACE FUNCTION "sealdrop_pool_sums"(p_small_max bigint, p_proof bigint, p_except uuid)
RETURNS TABLE (o_arrived bigint, o_unsent bigint, o_unsent_new bigint, o_unsent_small bigint, o_unsent_small_new bigint)
LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(u.got), 0)::bigint,
    coalesce(sum(u.unsent) FILTER (WHERE u.size > p_small_max AND u.counted), 0)::bigint,
    coalesce(sum(u.unsent) FILTER (WHERE u.size > p_small_max AND u.counted AND u.source_id IS NULL), 0)::bigint,
    coalesce(sum(u.unsent) FILTER (WHERE u.size <= p_small_max AND u.counted), 0)::bigint,
    coalesce(sum(u.unsent) FILTER (WHERE u.size <= p_small_max AND u.counted AND u.source_id IS NULL), 0)::bigint
  FROM (SELECT g.size, g.source_id, g.got, greatest(0, sealdrop_held(g.size, g.probe, p_proof) - g.got) AS unsent,
      g.id IS DISTINCT FROM p_except AS counted
    FROM (SELECT m.id, m.size, m.source_id, m.probe,
        least(m.size, coalesce((SELECT sum(octet_length(c.data)) FROM chunks c WHERE c.submission_id = m.id), 0)::bigint) AS got
      FROM submissions m WHERE m.status = 'uploading') g) u
$$;
--> statement-breakpoint
-- as in 0017, but its rest counts the octets stored (v_stored) instead of the chunk size times the chunks
CREATE OR REPLACE FUNCTION "sealdrop_promote_probe"(p_id uuid, p_day date, p_quota_total bigint, p_storage_room bigint,
  p_small_max bigint, p_small_share bigint, p_unsent_share double precision, p_new_share double precision,
  p_proof bigint, p_hold bigint, p_pending bigint, p_tick integer, p_grace_ticks integer, p_claim_bytes bigint,
  p_pace_per_tick bigint, p_slack_ticks integer)
RETURNS TABLE (o_outcome text, o_displaced integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_row record;
  v_stored bigint;
  v_count bigint;
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
BEGIN
  PERFORM pg_advisory_xact_lock(1587663370);
  SELECT m.size, m.chunk_size, m.probe, m.source_id, m.status INTO v_row FROM submissions m WHERE m.id = p_id;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'gone'::text, 0;
    RETURN;
  END IF;
  -- received meanwhile (a copy of its chunk, or of its one chunk, completed it: it was promoted)
  IF NOT v_row.probe OR v_row.status <> 'uploading' THEN
    RETURN QUERY SELECT 'promoted'::text, 0;
    RETURN;
  END IF;
  SELECT coalesce(sum(octet_length(c.data)), 0), count(*) INTO v_stored, v_count FROM chunks c WHERE c.submission_id = p_id;
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
  -- every byte stored, none in hand: nothing is left to take room (its bytes counted as arrived in
  -- every bound as they came), so it is promoted
  IF v_rest > 0 OR p_pending > 0 THEN
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
