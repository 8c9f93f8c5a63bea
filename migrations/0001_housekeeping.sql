CREATE TABLE "housekeeping" (
	"flag" text PRIMARY KEY NOT NULL
);
