-- Issue 13, desks: each submission and reply records its desk (server/desks.ts), each editor token
-- the desks it sees. Every row stored before desks belongs to `newsroom`, the one desk of an
-- install without desks (its NEWSROOM_KEY_FILE); a token's desks are null for every desk, as every
-- token made before desks is (and `token add` without --desk).
ALTER TABLE "submissions" ADD COLUMN "desk" text DEFAULT 'newsroom' NOT NULL;
--> statement-breakpoint
ALTER TABLE "replies" ADD COLUMN "desk" text DEFAULT 'newsroom' NOT NULL;
--> statement-breakpoint
ALTER TABLE "editor_tokens" ADD COLUMN "desks" text[];
--> statement-breakpoint
ALTER TABLE "editor_tokens" ADD CONSTRAINT "editor_tokens_desks" CHECK ("editor_tokens"."desks" is null or cardinality("editor_tokens"."desks") > 0);
--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_desk" CHECK ("submissions"."desk" ~ '^[a-z0-9][a-z0-9-]{0,31}$');
--> statement-breakpoint
ALTER TABLE "replies" ADD CONSTRAINT "replies_desk" CHECK ("replies"."desk" ~ '^[a-z0-9][a-z0-9-]{0,31}$');
--> statement-breakpoint
-- An open names its desk: sealdrop_reserve_upload (migration 0012) decides and inserts as before,
-- and the upload it made is given the desk in the same transaction, under the same lock (no other
-- session sees it before). A wrapper, so the decision's body is written once.
CREATE FUNCTION "sealdrop_reserve_upload_to_desk"(
  p_desk text,
  p_id uuid, p_lookup_hash text, p_returning boolean, p_pow_id text, p_pow_day date, p_size bigint,
  p_chunk_size integer, p_chunks integer, p_sha256 text, p_public_key text, p_locked_key text, p_day date,
  p_quota_source bigint, p_quota_total bigint, p_storage_room bigint, p_small_max bigint,
  p_small_share bigint, p_unsent_share double precision, p_new_share double precision, p_text_max bigint,
  p_tick integer, p_grace_ticks integer, p_claim_bytes bigint, p_pace_per_tick bigint, p_slack_ticks integer)
RETURNS TABLE (o_outcome text, o_unsent bigint, o_unsent_new bigint, o_free bigint, o_displaced integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v record;
BEGIN
  SELECT * INTO v FROM sealdrop_reserve_upload(p_id, p_lookup_hash, p_returning, p_pow_id, p_pow_day, p_size,
    p_chunk_size, p_chunks, p_sha256, p_public_key, p_locked_key, p_day, p_quota_source, p_quota_total,
    p_storage_room, p_small_max, p_small_share, p_unsent_share, p_new_share, p_text_max, p_tick,
    p_grace_ticks, p_claim_bytes, p_pace_per_tick, p_slack_ticks);
  IF v.o_outcome = 'created' THEN
    UPDATE submissions SET desk = p_desk WHERE id = p_id;
  END IF;
  RETURN QUERY SELECT v.o_outcome, v.o_unsent, v.o_unsent_new, v.o_free, v.o_displaced;
END;
$$;
