-- Issue 9, the third attacker: a new chunk reset an upload's idle clock, so one 8 KiB chunk every
-- 50 s (about 160 B/s) held a small reservation for good, and enough fresh sources doing it filled
-- the new sources' small pool. Now an upload must pay for its time in bytes
-- (server/source/stale-uploads.ts): it may live UPLOAD_LEASE_MINUTES + (bytes stored + bytes of
-- bodies still arriving) / UPLOAD_PACE seconds from the tick it was first seen, and no chunk resets
-- that. "first_tick" is that tick (minutes since the epoch, like "tick"); "flowed" the bytes of chunk
-- bodies counted while they arrived and not stored yet. Rows already there start from their last
-- change, with nothing flowed: no upload in progress loses time by the update.
ALTER TABLE "upload_progress" ADD COLUMN "first_tick" integer;--> statement-breakpoint
UPDATE "upload_progress" SET "first_tick" = "tick";--> statement-breakpoint
ALTER TABLE "upload_progress" ALTER COLUMN "first_tick" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "upload_progress" ADD COLUMN "flowed" bigint DEFAULT 0 NOT NULL;
