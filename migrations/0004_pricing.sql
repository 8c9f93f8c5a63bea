CREATE TABLE "pow_load" (
	"bucket" integer PRIMARY KEY NOT NULL,
	"work" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "upload_progress" (
	"submission_id" uuid PRIMARY KEY NOT NULL,
	"chunks" integer NOT NULL,
	"tick" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "upload_progress" ADD CONSTRAINT "upload_progress_submission_id_submissions_id_fk" FOREIGN KEY ("submission_id") REFERENCES "public"."submissions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- As for every other table (0002_forget.sql): the forget pass vacuums these itself, so autovacuum's
-- run times (which follow activity) are not recorded.
ALTER TABLE "pow_load" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
--> statement-breakpoint
ALTER TABLE "upload_progress" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
--> statement-breakpoint
-- The open's decision (server/source/open-limits.ts, reserveUpload): one statement from the app,
-- which takes a transaction-scoped advisory lock (key 0x5ea1d20a) so opens on every process are
-- decided one at a time; each query below runs after it with a fresh snapshot (READ COMMITTED, a
-- volatile function), so two opens cannot both take the room left for one. The codename is
-- checked (known for a returning source, unknown for a new one), the quotas, the token spent and
-- the upload made, all or nothing.
CREATE FUNCTION "sealdrop_reserve_upload"(
  p_id uuid, p_lookup_hash text, p_returning boolean, p_pow_id text, p_pow_day date, p_size bigint,
  p_chunk_size integer, p_chunks integer, p_sha256 text, p_public_key text, p_locked_key text, p_day date,
  p_quota_source bigint, p_quota_total bigint)
RETURNS TABLE (o_known integer, o_created integer, o_source_day bigint, o_total bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_source uuid;
  v_source_day bigint;
  v_total bigint;
  v_created integer := 0;
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
  SELECT coalesce(sum(m.size), 0) INTO v_total FROM submissions m WHERE m.status IN ('uploading', 'received');
  IF (v_source IS NOT NULL) = p_returning AND v_source_day + p_size <= p_quota_source AND v_total + p_size <= p_quota_total THEN
    INSERT INTO spent_pow (id_hash, expires_day) VALUES (p_pow_id, p_pow_day) ON CONFLICT (id_hash) DO NOTHING;
    IF FOUND THEN
      INSERT INTO submissions (id, source_id, status, size, chunk_size, chunks, sha256,
        pending_lookup_hash, pending_public_key, pending_locked_private_key, created_day)
      VALUES (p_id, v_source, 'uploading', p_size, p_chunk_size, p_chunks, p_sha256,
        CASE WHEN p_returning THEN NULL ELSE p_lookup_hash END, p_public_key, p_locked_key, p_day);
      v_created := 1;
    END IF;
  END IF;
  RETURN QUERY SELECT (v_source IS NOT NULL)::integer, v_created, v_source_day, v_total;
END;
$$;
