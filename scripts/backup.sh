#!/bin/sh
# Back up Sealdrop: one pg_dump (custom format) of the one database that holds everything —
# ciphertext chunks, sources, replies, editor tokens, the instance secret and salt.
#
#   DATABASE_URL=postgres://USER@HOST:PORT/DB scripts/backup.sh FILE
#
# FILE is written with mode 0600, atomically (a failed dump leaves no file), never over an
# existing file, and is checked by reading its table of contents back.
#   DATABASE_URL  the database (a libpq URL). Prefer PGPASSWORD or ~/.pgpass to a password in the
#                 URL: a command line is visible to other users of the machine.
#   PG_DUMP       the pg_dump command (default pg_dump). With Docker Compose, use the database
#                 container's own, which matches the server's version:
#                   PG_DUMP="docker compose exec -T db pg_dump" \
#                   PG_RESTORE="docker compose exec -T db pg_restore" \
#                   DATABASE_URL="postgresql:///sealdrop?user=sealdrop" scripts/backup.sh FILE
#   PG_RESTORE    the pg_restore command used for the check (default pg_restore)
# The dump holds what a seized database would: ciphertext, sizes, days. Store it like the
# database itself (encrypted disk, access limited to the operator).
set -eu

die() { echo "backup: error: $*" >&2; exit 1; }
[ $# = 1 ] || { echo "usage: DATABASE_URL=postgres://... scripts/backup.sh FILE" >&2; exit 2; }
out=$1
: "${DATABASE_URL:?backup: error: DATABASE_URL is not set (postgres://user@host:port/database)}"
PG_DUMP=${PG_DUMP:-pg_dump}
PG_RESTORE=${PG_RESTORE:-pg_restore}

[ ! -e "$out" ] || die "$out exists already; not overwriting a backup"
dir=$(dirname "$out")
[ -d "$dir" ] || die "the folder $dir does not exist"

umask 077
tmp=$(mktemp "$dir/.sealdrop-backup.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# $PG_DUMP is split into words on purpose (it may be "docker compose exec -T db pg_dump").
# shellcheck disable=SC2086
$PG_DUMP --format=custom --no-password --dbname="$DATABASE_URL" > "$tmp" \
  || die "pg_dump failed (see above); no backup written"
# shellcheck disable=SC2086
$PG_RESTORE --list < "$tmp" > /dev/null || die "the dump does not read back; no backup written"
chmod 600 "$tmp"
# ln refuses to replace a file that appeared meanwhile, where mv would overwrite it.
ln "$tmp" "$out" || die "could not write $out"
rm -f "$tmp"
trap - EXIT
echo "backup: wrote $out ($(wc -c < "$out" | tr -d ' ') bytes)" >&2
