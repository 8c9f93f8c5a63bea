#!/bin/sh
# One pass of the db container's file-time reset (deploy/db/entrypoint.sh runs it every 5 minutes):
# every file and folder of the data directory gets now as its access and modification time, so
# that a file's time no longer tells when its table was last written or read (the latest tip,
# days ago, to the minute). PostgreSQL does not use file times. Needs: PGDATA.
set -eu
find "${PGDATA:?}" -xdev -exec touch -c {} + 2>/dev/null || true
