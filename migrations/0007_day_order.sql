-- Arrival order within a day, without a time (issue 14): a submission gets the next number of its
-- received_day when it completes, a reply of its created_day when it is stored. Editors' lists,
-- bundles and the source's lookup order by (day, day_seq, id). The forget pass
-- (server/db/forget.ts) renumbers every day 1..n each hour, so a deleted row leaves no gap.
ALTER TABLE "submissions" ADD COLUMN "day_seq" integer;
--> statement-breakpoint
ALTER TABLE "replies" ADD COLUMN "day_seq" integer;
--> statement-breakpoint
-- rows from before: their arrival order is not known; the random id's order stands in for it
UPDATE "submissions" s SET "day_seq" = r.n
FROM (SELECT id, row_number() OVER (PARTITION BY received_day ORDER BY id) AS n FROM "submissions" WHERE received_day IS NOT NULL) r
WHERE r.id = s.id;
--> statement-breakpoint
UPDATE "replies" s SET "day_seq" = r.n
FROM (SELECT id, row_number() OVER (PARTITION BY created_day ORDER BY id) AS n FROM "replies") r
WHERE r.id = s.id;
