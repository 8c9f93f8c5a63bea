-- Custom migration (drizzle-kit generate --custom) for server/db/forget.ts.
--
-- 1. server/db/forget.ts removes deleted chunks' bytes from the table files by rewriting the
-- chunks table (VACUUM FULL), which costs a pass over every chunk; it does so only when chunks
-- were deleted since the last rewrite. Every deletion of chunk rows (retention, an editor's delete,
-- a purged or refused upload, the cascade from a deleted submission or source) raises the flag
-- here. The flag holds no time and no id.
CREATE FUNCTION "sealdrop_note_chunks_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "housekeeping" ("flag") VALUES ('chunks_deleted') ON CONFLICT DO NOTHING;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "chunks_deleted" AFTER DELETE ON "chunks" FOR EACH STATEMENT EXECUTE FUNCTION "sealdrop_note_chunks_deleted"();
--> statement-breakpoint
-- 2. The app vacuums its tables itself, every hour (server/db/forget.ts). Autovacuum would do it
-- at moments that follow activity and record each run's exact time in pg_stat_user_tables
-- (last_autovacuum, last_autoanalyze): off for these tables and their TOAST tables.
ALTER TABLE "sources" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
--> statement-breakpoint
ALTER TABLE "submissions" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
--> statement-breakpoint
ALTER TABLE "chunks" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
--> statement-breakpoint
ALTER TABLE "replies" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
--> statement-breakpoint
ALTER TABLE "spent_pow" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
--> statement-breakpoint
ALTER TABLE "editor_tokens" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
--> statement-breakpoint
ALTER TABLE "audit" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
--> statement-breakpoint
ALTER TABLE "housekeeping" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
--> statement-breakpoint
ALTER TABLE "instance" SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);
