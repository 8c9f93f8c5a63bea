CREATE TABLE "audit" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"editor" text NOT NULL,
	"action" text NOT NULL,
	"target" text,
	"day" date NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chunks" (
	"submission_id" uuid NOT NULL,
	"idx" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "chunks_submission_id_idx_pk" PRIMARY KEY("submission_id","idx")
);
--> statement-breakpoint
CREATE TABLE "editor_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_day" date NOT NULL,
	"revoked_day" date,
	CONSTRAINT "editor_tokens_name_unique" UNIQUE("name"),
	CONSTRAINT "editor_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "instance" (
	"id" integer PRIMARY KEY NOT NULL,
	"instance_salt" text NOT NULL,
	"server_secret" "bytea" NOT NULL,
	"created_day" date NOT NULL,
	CONSTRAINT "instance_single_row" CHECK ("instance"."id" = 1),
	CONSTRAINT "instance_secret_length" CHECK (octet_length("instance"."server_secret") = 32)
);
--> statement-breakpoint
CREATE TABLE "replies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"source_id" uuid NOT NULL,
	"message" "bytea" NOT NULL,
	"size" integer NOT NULL,
	"created_day" date NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sources" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"lookup_hash" text NOT NULL,
	"handle" text NOT NULL,
	"public_key" text NOT NULL,
	"locked_private_key" text NOT NULL,
	"created_day" date NOT NULL,
	CONSTRAINT "sources_lookup_hash_unique" UNIQUE("lookup_hash"),
	CONSTRAINT "sources_handle_unique" UNIQUE("handle")
);
--> statement-breakpoint
CREATE TABLE "spent_pow" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"expires_day" date NOT NULL
);
--> statement-breakpoint
CREATE TABLE "submissions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"source_id" uuid,
	"status" text NOT NULL,
	"size" bigint NOT NULL,
	"chunk_size" integer NOT NULL,
	"chunks" integer NOT NULL,
	"sha256" text NOT NULL,
	"pending_lookup_hash" text,
	"pending_public_key" text,
	"pending_locked_private_key" text,
	"created_day" date NOT NULL,
	"received_day" date,
	"downloaded_day" date,
	CONSTRAINT "submissions_status" CHECK ("submissions"."status" in ('uploading', 'received', 'downloaded')),
	CONSTRAINT "submissions_owner" CHECK (("submissions"."source_id" is not null) or ("submissions"."status" = 'uploading' and "submissions"."pending_lookup_hash" is not null))
);
--> statement-breakpoint
ALTER TABLE "chunks" ADD CONSTRAINT "chunks_submission_id_submissions_id_fk" FOREIGN KEY ("submission_id") REFERENCES "public"."submissions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "replies" ADD CONSTRAINT "replies_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "submissions" ADD CONSTRAINT "submissions_source_id_sources_id_fk" FOREIGN KEY ("source_id") REFERENCES "public"."sources"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "replies_source_idx" ON "replies" USING btree ("source_id");--> statement-breakpoint
CREATE INDEX "spent_pow_expires_idx" ON "spent_pow" USING btree ("expires_day");--> statement-breakpoint
CREATE INDEX "submissions_source_idx" ON "submissions" USING btree ("source_id");--> statement-breakpoint
CREATE INDEX "submissions_status_day_idx" ON "submissions" USING btree ("status","created_day");