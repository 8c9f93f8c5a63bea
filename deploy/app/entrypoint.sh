#!/bin/sh
# The app container's entrypoint: read the database password from a file (a Docker secret) into
# PGPASSWORD, which postgres.js reads, so the password is never in the image, the compose file or
# DATABASE_URL. Then run the command (the Dockerfile's CMD) in this process's place.
set -eu
if [ -n "${PGPASSWORD_FILE:-}" ]; then
  [ -r "$PGPASSWORD_FILE" ] || {
    echo "sealdrop: error: PGPASSWORD_FILE: cannot read $PGPASSWORD_FILE (it must be readable by uid $(id -u))" >&2
    exit 1
  }
  PGPASSWORD=$(cat "$PGPASSWORD_FILE")
  export PGPASSWORD
  unset PGPASSWORD_FILE
fi
exec "$@"
