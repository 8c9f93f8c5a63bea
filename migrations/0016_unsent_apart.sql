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
--
-- Issue 9, the new sources' large room held by re-opening (Break A): each open of a fresh codename
-- was protected for the grace (a minute) and the slack (half the lease) while showing only
-- CLAIM_SHOWN_BYTES, so about six 2 GiB reservations re-opened as each was displaced held the new
-- sources' 20 % (12.8 GiB at the defaults) for about 1.1 kB/s and an open a minute, and honest new
-- sources' 64 MiB files were all refused 507. Now a new source's large room is earned by bytes: an
-- upload of a source with no row yet, larger than RESERVE_SMALL_MAX and than the proof, of several
-- chunks, is opened as a *probe* (submissions.probe): in every bound of an open's decision
-- (quota_full, storage_full, the unsent share, the new sources' share) it counts as
-- min(size, RESERVE_NEW_SOURCE_PROOF) (8 MiB by default) until it is *promoted*. Promotion
-- (sealdrop_promote_probe below) is decided when a chunk is stored and its stored octets reach the
-- proof (bytes, not chunks: an attacker picks tiny chunks), under the same lock: the rest of its size
-- must fit every bound as an open of that size would now, with the same displacement of claims; if
-- it does not, the upload is deleted and the chunk refused with the open's status and code. A
-- one-chunk upload is never a probe (its one body is its whole size), nor a returning source's.
--
-- Factored: sealdrop_held (what an upload in progress holds of the bounds), sealdrop_pool_sums
-- (the sums over uploads in progress), sealdrop_claims_for (the claims whose room makes room) and
-- sealdrop_displace (deleting them and noting their unsent bytes), each used by the open and the
-- promotion; the decision itself is restated once.
ALTER TABLE "submissions" ADD COLUMN "probe" boolean DEFAULT false NOT NULL;
--> statement-breakpoint
-- a probe is an upload in progress of a new source; nothing is received unpromoted
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_probe" CHECK (NOT "submissions"."probe" OR ("submissions"."status" = 'uploading' AND "submissions"."source_id" IS NULL));
--> statement-breakpoint
DROP FUNCTION "sealdrop_reserve_upload_to_desk"(text, uuid, text, boolean, text, date, bigint, integer, integer, text, text, text, date,
  bigint, bigint, bigint, bigint, bigint, double precision, double precision, bigint, integer, integer, bigint, bigint, integer);
--> statement-breakpoint
DROP FUNCTION "sealdrop_reserve_upload"(uuid, text, boolean, text, date, bigint, integer, integer, text, text, text, date,
  bigint, bigint, bigint, bigint, bigint, double precision, double precision, bigint, integer, integer, bigint, bigint, integer);
--> statement-breakpoint
-- the bytes an upload in progress holds of the bounds: its size, or a probe's proof
CREATE FUNCTION "sealdrop_held"(p_size bigint, p_probe boolean, p_proof bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_probe THEN least(p_size, p_proof) ELSE p_size END
$$;
--> statement-breakpoint
-- over the uploads in progress: the bytes arrived (chunks stored, counted as the chunk size times
-- the chunks, at most the size) and what they hold and have not sent, large and small, all and new
-- sources'; p_except (the probe being promoted) is left out of the unsent sums, not of the arrived
CREATE FUNCTION "sealdrop_pool_sums"(p_small_max bigint, p_proof bigint, p_except uuid)
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
        least(m.size, m.chunk_size::bigint * (SELECT count(*) FROM chunks c WHERE c.submission_id = m.id)) AS got
      FROM submissions m WHERE m.status = 'uploading') g) u
$$;
--> statement-breakpoint
-- the claims of a pool (small or large) whose room makes the room needed (of all reservations, and
-- of new sources'), oldest first, as many as needed; NULL when together they are not enough. A
-- claim: past the grace, and shown less than the claim bytes plus the pace its size requires past
-- the grace and the slack (0012, 0014); its room is what it holds (sealdrop_held)
CREATE FUNCTION "sealdrop_claims_for"(p_small boolean, p_need_all double precision, p_need_new double precision,
  p_small_max bigint, p_proof bigint, p_tick integer, p_grace_ticks integer, p_claim_bytes bigint,
  p_pace_per_tick bigint, p_slack_ticks integer, p_except uuid)
RETURNS uuid[] LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_claim record;
  v_claims uuid[] := '{}';
  v_need_all double precision := p_need_all;
  v_need_new double precision := p_need_new;
BEGIN
  FOR v_claim IN
    SELECT m.id, sealdrop_held(m.size, m.probe, p_proof) AS held, m.source_id IS NULL AS new_source
    FROM submissions m JOIN upload_progress p ON p.submission_id = m.id
    WHERE m.status = 'uploading' AND (m.size <= p_small_max) = p_small AND m.id IS DISTINCT FROM p_except
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
      v_need_all := v_need_all - v_claim.held;
      IF v_claim.new_source THEN v_need_new := v_need_new - v_claim.held; END IF;
    END IF;
  END LOOP;
  IF v_need_all <= 0 AND v_need_new <= 0 THEN
    RETURN v_claims;
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
-- claims are deleted as a stale upload is (their chunks' requests then get 404 unknown_upload), and
-- what a returning source's did not send counts toward its day, as the sweep's (0015); returns how many
CREATE FUNCTION "sealdrop_displace"(p_claims uuid[], p_day date) RETURNS integer
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
  RETURN v_displaced;
END;
$$;
--> statement-breakpoint
-- sealdrop_reserve_upload as in 0015, but for the two bounds of a codename's day (Break B, above)
-- and probes (Break A): a new source's large open counts as its proof (v_held); p_proof is new, so
-- the function and 0013's wrapper are made again with it
CREATE FUNCTION "sealdrop_reserve_upload"(
  p_id uuid, p_lookup_hash text, p_returning boolean, p_pow_id text, p_pow_day date, p_size bigint,
  p_chunk_size integer, p_chunks integer, p_sha256 text, p_public_key text, p_locked_key text, p_day date,
  p_quota_source bigint, p_quota_total bigint, p_storage_room bigint, p_small_max bigint,
  p_small_share bigint, p_unsent_share double precision, p_new_share double precision, p_text_max bigint,
  p_tick integer, p_grace_ticks integer, p_claim_bytes bigint, p_pace_per_tick bigint, p_slack_ticks integer,
  p_proof bigint)
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
  v_probe boolean := NOT p_returning AND p_size > p_small_max AND p_chunks > 1 AND p_size > p_proof;
  v_held bigint;
  v_outcome text;
  v_need_all double precision := 0;
  v_need_new double precision := 0;
  v_claims uuid[] := '{}';
  v_displaced integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(1587663370);
  v_held := sealdrop_held(p_size, v_probe, p_proof);
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
  FROM sealdrop_pool_sums(p_small_max, p_proof, NULL);
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
  ELSIF NOT v_small AND v_kept + v_arrived + v_unsent + v_held > p_quota_total - p_small_share THEN
    v_outcome := 'quota_full';
  ELSIF NOT v_small AND p_storage_room IS NOT NULL AND v_unsent + v_held > p_storage_room - p_small_share THEN
    v_outcome := 'storage_full';
  ELSIF NOT v_small AND (v_unsent + v_held > p_unsent_share * v_free
      OR (NOT p_returning AND v_unsent_new + v_held > p_new_share * v_free)) THEN
    v_outcome := 'reservations_full';
  END IF;
  -- a full pool or bound: the room of its claims, oldest first, as many as needed (none are taken
  -- unless together they make room)
  IF v_outcome = 'reservations_full' THEN
    IF v_small THEN
      v_need_all := v_unsent_small + p_size - p_small_share::double precision;
      IF NOT p_returning THEN v_need_new := v_unsent_small_new + p_size - p_new_share * p_small_share; END IF;
    ELSE
      v_need_all := v_unsent + v_held - p_unsent_share * v_free;
      IF NOT p_returning THEN v_need_new := v_unsent_new + v_held - p_new_share * v_free; END IF;
    END IF;
    v_claims := sealdrop_claims_for(v_small, v_need_all, v_need_new, p_small_max, p_proof, p_tick, p_grace_ticks,
      p_claim_bytes, p_pace_per_tick, p_slack_ticks, NULL);
    IF v_claims IS NOT NULL THEN
      v_outcome := NULL;
    END IF;
  END IF;
  IF v_outcome IS NULL THEN
    INSERT INTO spent_pow (id_hash, expires_day) VALUES (p_pow_id, p_pow_day) ON CONFLICT (id_hash) DO NOTHING;
    IF FOUND THEN
      v_displaced := sealdrop_displace(coalesce(v_claims, '{}'), p_day);
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
-- 0013's wrapper, with the proof
CREATE FUNCTION "sealdrop_reserve_upload_to_desk"(
  p_desk text,
  p_id uuid, p_lookup_hash text, p_returning boolean, p_pow_id text, p_pow_day date, p_size bigint,
  p_chunk_size integer, p_chunks integer, p_sha256 text, p_public_key text, p_locked_key text, p_day date,
  p_quota_source bigint, p_quota_total bigint, p_storage_room bigint, p_small_max bigint,
  p_small_share bigint, p_unsent_share double precision, p_new_share double precision, p_text_max bigint,
  p_tick integer, p_grace_ticks integer, p_claim_bytes bigint, p_pace_per_tick bigint, p_slack_ticks integer,
  p_proof bigint)
RETURNS TABLE (o_outcome text, o_unsent bigint, o_unsent_new bigint, o_free bigint, o_displaced integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v record;
BEGIN
  SELECT * INTO v FROM sealdrop_reserve_upload(p_id, p_lookup_hash, p_returning, p_pow_id, p_pow_day, p_size,
    p_chunk_size, p_chunks, p_sha256, p_public_key, p_locked_key, p_day, p_quota_source, p_quota_total,
    p_storage_room, p_small_max, p_small_share, p_unsent_share, p_new_share, p_text_max, p_tick,
    p_grace_ticks, p_claim_bytes, p_pace_per_tick, p_slack_ticks, p_proof);
  IF v.o_outcome = 'created' THEN
    UPDATE submissions SET desk = p_desk WHERE id = p_id;
  END IF;
  RETURN QUERY SELECT v.o_outcome, v.o_unsent, v.o_unsent_new, v.o_free, v.o_displaced;
END;
$$;
--> statement-breakpoint
-- A probe's stored octets reached min(size, proof) (called after each chunk of a probe is stored,
-- copies of a chunk included): under the open's lock, the rest of its size (its size less what
-- arrived) must fit every bound of a large open of a new source as an open would now, the others'
-- reservations as they are, with the same displacement of claims. 'promoted' (now or before: a
-- retried chunk promotes nothing twice), 'probe' (not enough stored yet), 'gone', or the open's
-- refusal: then the upload is deleted (its chunks and progress with it; a new source has no
-- swept_unsent). The same lock as the open: two chunks at once, or three sources' probes, are
-- decided one at a time, each on what the others left.
CREATE FUNCTION "sealdrop_promote_probe"(p_id uuid, p_day date, p_quota_total bigint, p_storage_room bigint,
  p_small_max bigint, p_small_share bigint, p_unsent_share double precision, p_new_share double precision,
  p_proof bigint, p_tick integer, p_grace_ticks integer, p_claim_bytes bigint, p_pace_per_tick bigint,
  p_slack_ticks integer)
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
  v_free bigint;
  v_new boolean;
  v_outcome text;
  v_claims uuid[] := '{}';
  v_displaced integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(1587663370);
  SELECT m.size, m.chunk_size, m.probe, m.source_id INTO v_row FROM submissions m WHERE m.id = p_id AND m.status = 'uploading';
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'gone'::text, 0;
    RETURN;
  END IF;
  IF NOT v_row.probe THEN
    RETURN QUERY SELECT 'promoted'::text, 0;
    RETURN;
  END IF;
  SELECT coalesce(sum(octet_length(c.data)), 0), count(*) INTO v_stored, v_count FROM chunks c WHERE c.submission_id = p_id;
  IF v_stored < least(v_row.size, p_proof) THEN
    RETURN QUERY SELECT 'probe'::text, 0;
    RETURN;
  END IF;
  -- what it will hold once promoted, beside what arrived (as sealdrop_pool_sums counts it)
  v_rest := greatest(0, v_row.size - least(v_row.size, v_row.chunk_size::bigint * v_count));
  v_new := v_row.source_id IS NULL;
  SELECT coalesce(sum(m.size), 0) INTO v_kept FROM submissions m WHERE m.status = 'received';
  SELECT * INTO v_arrived, v_unsent, v_unsent_new, v_unsent_small, v_unsent_small_new
  FROM sealdrop_pool_sums(p_small_max, p_proof, p_id);
  v_free := p_quota_total - v_kept - v_arrived;
  IF p_storage_room IS NOT NULL THEN
    v_free := least(v_free, p_storage_room);
  END IF;
  IF v_kept + v_arrived + v_unsent + v_rest > p_quota_total - p_small_share THEN
    v_outcome := 'quota_full';
  ELSIF p_storage_room IS NOT NULL AND v_unsent + v_rest > p_storage_room - p_small_share THEN
    v_outcome := 'storage_full';
  ELSIF v_unsent + v_rest > p_unsent_share * v_free OR (v_new AND v_unsent_new + v_rest > p_new_share * v_free) THEN
    v_claims := sealdrop_claims_for(false, v_unsent + v_rest - p_unsent_share * v_free,
      CASE WHEN v_new THEN v_unsent_new + v_rest - p_new_share * v_free ELSE 0 END,
      p_small_max, p_proof, p_tick, p_grace_ticks, p_claim_bytes, p_pace_per_tick, p_slack_ticks, p_id);
    IF v_claims IS NULL THEN
      v_outcome := 'reservations_full';
    END IF;
  END IF;
  IF v_outcome IS NULL THEN
    v_displaced := sealdrop_displace(coalesce(v_claims, '{}'), p_day);
    UPDATE submissions SET probe = false WHERE id = p_id;
    v_outcome := 'promoted';
  ELSE
    DELETE FROM submissions WHERE id = p_id AND status = 'uploading';
  END IF;
  RETURN QUERY SELECT v_outcome, v_displaced;
END;
$$;
