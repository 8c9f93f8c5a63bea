ALTER TABLE "sources" ADD COLUMN "spam" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- A source an editor marked spam may not start another upload (docs/OPERATIONS.md, "The editor's
-- routine"). The refusal lives here, beside the data, so that every path that makes a submission
-- for an existing source meets it. The row is locked FOR SHARE: an open racing the editor's mark
-- waits for it and then sees the flag, and a mark racing an open waits for the open, whose new
-- upload the mark's own delete then drops. SQLSTATE SDSPM is turned into 403 source_refused (server/policies/errors.ts).
CREATE FUNCTION "sealdrop_refuse_spam_source"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  marked boolean;
BEGIN
  -- The row is locked whatever its flag: a lock taken only where "spam" already holds would skip a
  -- row whose mark is not yet committed, and that open would slip past the mark's delete.
  SELECT "spam" INTO marked FROM "sources" WHERE "id" = NEW."source_id" FOR SHARE;
  IF marked THEN
    RAISE EXCEPTION 'source refused' USING ERRCODE = 'SDSPM';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "submissions_refuse_spam" BEFORE INSERT ON "submissions" FOR EACH ROW WHEN (NEW."source_id" IS NOT NULL) EXECUTE FUNCTION "sealdrop_refuse_spam_source"();
