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
