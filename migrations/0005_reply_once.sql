-- A reply is stored once per source (PROTOCOL.md, "Editor API"): pushing the same file again
-- answers the stored reply's id. Copies stored before this migration are byte-for-byte the same
-- ciphertext to the same source, so all but one go (the source saw the same reply twice).
-- The index holds SHA-256 of each stored ciphertext: nothing a seizer could not compute from the
-- ciphertext beside it (docs/OPERATIONS.md).
DELETE FROM "replies" AS later USING "replies" AS first
  WHERE later."source_id" = first."source_id" AND later."message" = first."message" AND later."id" > first."id";
--> statement-breakpoint
CREATE UNIQUE INDEX "replies_once" ON "replies" USING btree ("source_id",sha256("message"));
