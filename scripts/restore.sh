#!/bin/sh
# Restore a Sealdrop backup made by scripts/backup.sh into a database, in one transaction: it
# either fully succeeds or leaves the target as it was.
#
#   DATABASE_URL=postgres://USER@HOST:PORT/DB scripts/restore.sh [--replace] FILE
#
# Stop the app first (docker compose stop app). The target should be an empty database
# (createdb, or DROP/CREATE DATABASE); a target that already has tables is refused unless
# --replace is given, which drops and recreates every object the backup holds (pg_restore --clean).
#   DATABASE_URL, PG_RESTORE, PSQL: as for backup.sh (PSQL default psql; with Docker Compose
#   "docker compose exec -T db psql").
set -eu

die() { echo "restore: error: $*" >&2; exit 1; }
replace=no
if [ "${1:-}" = --replace ]; then replace=yes; shift; fi
[ $# = 1 ] || { echo "usage: DATABASE_URL=postgres://... scripts/restore.sh [--replace] FILE" >&2; exit 2; }
file=$1
: "${DATABASE_URL:?restore: error: DATABASE_URL is not set (postgres://user@host:port/database)}"
PG_RESTORE=${PG_RESTORE:-pg_restore}
PSQL=${PSQL:-psql}

[ -r "$file" ] || die "cannot read $file"
# shellcheck disable=SC2086
$PG_RESTORE --list < "$file" > /dev/null || die "$file is not a pg_dump custom-format archive"

# shellcheck disable=SC2086
tables=$($PSQL --no-psqlrc --no-password --dbname="$DATABASE_URL" --tuples-only --no-align --command \
  "select count(*) from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')") \
  || die "cannot connect to the target database"
if [ "$tables" != 0 ] && [ "$replace" != yes ]; then
  die "the target database has $tables table(s); restoring replaces them: stop the app and pass --replace, or restore into an empty database"
fi

# --clean --if-exists: drop each object before recreating it (a no-op on an empty database).
# --no-owner: the target's user owns what is restored, whatever user made the backup.
# shellcheck disable=SC2086
$PG_RESTORE --no-password --dbname="$DATABASE_URL" --clean --if-exists --no-owner \
  --single-transaction --exit-on-error < "$file" \
  || die "pg_restore failed (see above); the target database is unchanged"
echo "restore: restored $file" >&2
