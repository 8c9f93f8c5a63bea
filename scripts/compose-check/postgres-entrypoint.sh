#!/usr/bin/env bash
# STAND-IN entrypoint of the postgres:16-bookworm stand-in (postgres.Dockerfile), for
# scripts/compose-check.sh only. It keeps the official image's contract for what
# docker-compose.yml uses, written from its documentation:
#   - POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (read as root, so a
#     secret readable by root alone works), POSTGRES_INITDB_ARGS;
#   - a cluster is made in PGDATA only when it is empty; then the server runs as postgres (uid 999);
#   - local connections (the socket in /var/run/postgresql) are trusted, every other connection
#     needs the password (scram-sha-256);
#   - the command is `postgres` with its flags (a first argument starting with '-' means postgres).
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
[ "$1" = postgres ] || exec "$@"

if [ "$(id -u)" = 0 ]; then
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    POSTGRES_PASSWORD=$(< "$POSTGRES_PASSWORD_FILE")
    export POSTGRES_PASSWORD
    unset POSTGRES_PASSWORD_FILE
  fi
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?postgres stand-in: POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE is required}"
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags, as in the official image
  initdb --username="$user" --pwfile="$pwfile" -D "$PGDATA" ${POSTGRES_INITDB_ARGS:-} > /dev/null
  rm -f "$pwfile"
  printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start > /dev/null
  if [ "$db" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$user" --dbname postgres --set db="$db" -q <<< 'CREATE DATABASE :"db";'
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop > /dev/null
  echo "postgres stand-in: initialised $PGDATA (database $db, user $user)" >&2
fi
unset POSTGRES_PASSWORD
exec "$@"
