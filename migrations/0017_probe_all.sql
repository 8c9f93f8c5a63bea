-- Issue 9, every reservation earned by bytes. After 0016 a probe held its proof (8 MiB) and only a
-- new source's large upload of several chunks was one; what was left:
--   * returning codenames (four 2 GiB opens a codename a day, each shown 64 KiB a minute) still held
--     the large room by opening alone: an honest 64 MiB file was kept out;
--   * fresh codenames' 4 MiB opens (small, so no probes) showing 64 KiB held the small pool and its
--     new sources' share: an honest new source's 4 MiB document was kept out.
-- Now no upload holds room it has not paid for in bytes: every upload but a text tip (one chunk of
-- at most TEXT_TIP_MAX_BYTES) is a probe at its open, of a new or a returning source, of any size,
-- and holds min(size, p_hold) in every bound of an open's or a promotion's decision (quota_full,
-- storage_full, the unsent share, the new sources' share, the small pool and its new sources' share);
-- p_hold is PROBE_HOLD, CLAIM_SHOWN_BYTES (64 KiB): what a claim must show anyway. It is promoted
-- when its stored octets (with, for a one-chunk upload, the body in hand: p_pending) reach
-- min(size, p_proof) (RESERVE_PROOF, 8 MiB), decided under the opens' lock as in 0016, with
-- displacement; refused, it is deleted and the chunk gets the open's refusal. An upload of at most the
-- proof is promoted with its last chunk: decided by its bytes, as a text tip is (a one-chunk upload's
-- body in hand: the total and the disk, p_text below; chunks all stored: nothing left to decide).
-- Swept or displaced, a returning source's probe counts toward swept_unsent what it held less what
-- it sent (never below 0); a promoted upload its size less what it sent, as before.
--
-- sealdrop_held, sealdrop_pool_sums and sealdrop_claims_for are 0016's: their p_proof argument is
-- now given the hold (what sealdrop_held counts a probe as). sealdrop_displace gains the hold;
-- sealdrop_bounds is the decision factored out of the open (0016) so the promotion makes the same
-- one; sealdrop_reserve_upload, its wrapper and sealdrop_promote_probe are made again with the hold.
ALTER TABLE "submissions" DROP CONSTRAINT "submissions_probe";
--> statement-breakpoint
-- a returning source's upload may be a probe too; nothing is received unpromoted
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_probe" CHECK (NOT "submissions"."probe" OR "submissions"."status" = 'uploading');
--> statement-breakpoint
DROP FUNCTION "sealdrop_reserve_upload_to_desk"(text, uuid, text, boolean, text, date, bigint, integer, integer, text, text, text, date,
  bigint, bigint, bigint, bigint, bigint, double precision, double precision, bigint, integer, integer, bigint, bigint, integer, bigint);
--> statement-breakpoint
DROP FUNCTION "sealdrop_reserve_upload"(uuid, text, boolean, text, date, bigint, integer, integer, text, text, text, date,
  bigint, bigint, bigint, bigint, bigint, double precision, double precision, bigint, integer, integer, bigint, bigint, integer, bigint);
--> statement-breakpoint
DROP FUNCTION "sealdrop_promote_probe"(uuid, date, bigint, bigint, bigint, bigint, double precision, double precision, bigint, integer,
  integer, bigint, bigint, integer);
--> statement-breakpoint
DROP FUNCTION "sealdrop_displace"(uuid[], date);
--> statement-breakpoint
-- as 0016's, but what a claim did not send is what it held (a probe: min(size, hold)) less what it sent
CREATE FUNCTION "sealdrop_displace"(p_claims uuid[], p_day date, p_hold bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_displaced integer := 0;
BEGIN
  IF cardinality(p_claims) = 0 THEN
    RETURN 0;
  END IF;
  WITH gone AS (
    DELETE FROM submissions m USING upload_progress p
    WHERE m.id = ANY (p_claims) AND m.status = 'uploading' AND p.submission_id = m.id
    RETURNING m.source_id, m.created_day, greatest(0, sealdrop_held(m.size, m.probe, p_hold) - p.flowed
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
  RETURN v_displaced;
END;
$$;
--> statement-breakpoint
-- The bounds of an open (0016, restated once here) for p_need bytes: the open's held bytes, or a
-- promotion's rest. p_text: decided by the bytes in hand only (a text tip; a promotion with nothing
-- left to come): the total and the disk. Otherwise the small pool (p_small) or the large bounds, with
-- the new sources' shares when p_new. 'reservations_full' comes with the room its claims must make
-- (of all reservations, and of new sources'); NULL: it fits.
CREATE FUNCTION "sealdrop_bounds"(p_text boolean, p_small boolean, p_new boolean, p_need bigint, p_kept bigint,
  p_arrived bigint, p_unsent bigint, p_unsent_new bigint, p_unsent_small bigint, p_unsent_small_new bigint, p_free bigint,
  p_quota_total bigint, p_storage_room bigint, p_small_share bigint, p_unsent_share double precision,
  p_new_share double precision, OUT o_outcome text, OUT o_need_all double precision, OUT o_need_new double precision)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  o_need_all := 0;
  o_need_new := 0;
  IF p_text THEN
    IF p_kept + p_arrived + p_need > p_quota_total THEN
      o_outcome := 'quota_full';
    ELSIF p_storage_room IS NOT NULL AND p_need > p_storage_room THEN
      o_outcome := 'storage_full';
    END IF;
  ELSIF p_small THEN
    IF p_kept + p_arrived + p_unsent + p_unsent_small + p_need > p_quota_total THEN
      o_outcome := 'quota_full';
    ELSIF p_storage_room IS NOT NULL AND p_unsent + p_unsent_small + p_need > p_storage_room THEN
      o_outcome := 'storage_full';
    ELSIF p_unsent_small + p_need > p_small_share OR (p_new AND p_unsent_small_new + p_need > p_new_share * p_small_share) THEN
      o_outcome := 'reservations_full';
      o_need_all := p_unsent_small + p_need - p_small_share::double precision;
      IF p_new THEN o_need_new := p_unsent_small_new + p_need - p_new_share * p_small_share; END IF;
    END IF;
  ELSE
    IF p_kept + p_arrived + p_unsent + p_need > p_quota_total - p_small_share THEN
      o_outcome := 'quota_full';
    ELSIF p_storage_room IS NOT NULL AND p_unsent + p_need > p_storage_room - p_small_share THEN
      o_outcome := 'storage_full';
    ELSIF p_unsent + p_need > p_unsent_share * p_free OR (p_new AND p_unsent_new + p_need > p_new_share * p_free) THEN
      o_outcome := 'reservations_full';
      o_need_all := p_unsent + p_need - p_unsent_share * p_free;
      IF p_new THEN o_need_new := p_unsent_new + p_need - p_new_share * p_free; END IF;
    END IF;
  END IF;
END;
$$;
--> statement-breakpoint
-- sealdrop_reserve_upload as in 0016, but every open but a text tip is a probe holding
-- min(size, p_hold), and the bounds are sealdrop_bounds
CREATE FUNCTION "sealdrop_reserve_upload"(
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
-- 0013's wrapper, with the hold
CREATE FUNCTION "sealdrop_reserve_upload_to_desk"(
  p_desk text,
  p_id uuid, p_lookup_hash text, p_returning boolean, p_pow_id text, p_pow_day date, p_size bigint,
  p_chunk_size integer, p_chunks integer, p_sha256 text, p_public_key text, p_locked_key text, p_day date,
  p_quota_source bigint, p_quota_total bigint, p_storage_room bigint, p_small_max bigint,
  p_small_share bigint, p_unsent_share double precision, p_new_share double precision, p_text_max bigint,
  p_tick integer, p_grace_ticks integer, p_claim_bytes bigint, p_pace_per_tick bigint, p_slack_ticks integer,
  p_hold bigint)
RETURNS TABLE (o_outcome text, o_unsent bigint, o_unsent_new bigint, o_free bigint, o_displaced integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v record;
BEGIN
  SELECT * INTO v FROM sealdrop_reserve_upload(p_id, p_lookup_hash, p_returning, p_pow_id, p_pow_day, p_size,
    p_chunk_size, p_chunks, p_sha256, p_public_key, p_locked_key, p_day, p_quota_source, p_quota_total,
    p_storage_room, p_small_max, p_small_share, p_unsent_share, p_new_share, p_text_max, p_tick,
    p_grace_ticks, p_claim_bytes, p_pace_per_tick, p_slack_ticks, p_hold);
  IF v.o_outcome = 'created' THEN
    UPDATE submissions SET desk = p_desk WHERE id = p_id;
  END IF;
  RETURN QUERY SELECT v.o_outcome, v.o_unsent, v.o_unsent_new, v.o_free, v.o_displaced;
END;
$$;
--> statement-breakpoint
-- A probe's stored octets, with p_pending (the body of a one-chunk upload, in hand, stored with its
-- completion), reached min(size, p_proof): under the open's lock, the rest of its size (its size
-- less what arrived and is in hand) must fit every bound as an open of it would now (small or large,
-- a new source's shares for a new source's), the others' reservations as they are, with the same
-- displacement of claims; with nothing left to come, only whether the total and the disk take the
-- body in hand (as a text tip's), and with every byte already stored, nothing.
-- 'promoted' (now or before, or received since: a retried chunk promotes nothing twice), 'probe' (not enough stored
-- yet), 'gone', or the open's refusal: then the upload is deleted (its chunks and progress with it)
-- and nothing is noted in swept_unsent (the refusal is the tip line's, as a refused open's; and what
-- it held, at most the hold, is less than the proof it sent). The same lock as the open: two chunks
-- at once, or three sources' probes, are decided one at a time, each on what the others left.
CREATE FUNCTION "sealdrop_promote_probe"(p_id uuid, p_day date, p_quota_total bigint, p_storage_room bigint,
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
  -- what it will hold once promoted, beside what arrived and is in hand (as sealdrop_pool_sums counts it)
  v_rest := greatest(0, v_row.size - least(v_row.size, v_row.chunk_size::bigint * v_count + p_pending));
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
