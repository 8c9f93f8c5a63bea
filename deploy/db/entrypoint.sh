#!/bin/sh
# The db container's entrypoint: the image's own (docker-entrypoint.sh, with its POSTGRES_*
# contract) and, beside it, the file-time pass every SEALDROP_FILE_TIMES_SECONDS (default 300):
# a data file's modification time would otherwise tell when its table was last written, the
# latest tip's time to the minute however long ago (docs/OPERATIONS.md, "What a seized server
# reveals"). The pass runs as root, which may set the times of files the postgres user owns.
set -eu
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA
interval="${SEALDROP_FILE_TIMES_SECONDS:-300}"
case "$interval" in '' | *[!0-9]*) echo "sealdrop-db: SEALDROP_FILE_TIMES_SECONDS must be a number of seconds" >&2; exit 2 ;; esac
(
  while :; do
    sleep "$interval"
    [ -d "$PGDATA" ] && /usr/local/bin/sealdrop-forget-file-times.sh
  done
) &
exec docker-entrypoint.sh "$@"
