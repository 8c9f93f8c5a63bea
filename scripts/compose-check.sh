#!/usr/bin/env bash
# The Compose stack, proven by running it: build the images, start docker-compose.yml (with
# scripts/compose-check/compose.check.yml over it) on this machine, and check what the operator's
# guide (docs/OPERATIONS.md) promises, with real clients in containers. .ci/run runs it after the
# test suite; it also runs by hand, as root:
#
#   scripts/compose-check.sh
#
# Nothing leaves this machine: every network of the stack is internal and Tor runs with
# DisableNetwork 1. Only the image builds reach out, to Debian's packages and the npm registry,
# as `docker compose build` does anywhere.
#
# It starts dockerd (storage driver vfs) only when no Docker daemon answers, installing Docker
# and the Compose v2 plugin from Debian (see install_docker) and debootstrap first when they are
# missing, and stops it again at the end. It removes every container, network and volume it made, even when a step fails.
# It keeps the images (the local base images and the stack's), and Docker keeps its build cache:
# that is the cache between runs (scripts/compose-check/base-images.sh says when it rebuilds).
#
# Each step prints its name, then "ok" and the seconds it took; a failed step prints the last
# log lines of every container before the cleanup.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

die() { echo "compose-check: error: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it may start dockerd)"

export COMPOSE_PROJECT_NAME=sealdrop-check
export COMPOSE_FILE=docker-compose.yml:scripts/compose-check/compose.check.yml
export NEWSROOM_PUBLIC_KEY=$ROOT/keys.example/newsroom.pub.asc
# What the probes (test/ops/compose-probe.ts) are told; the same defaults as the two files.
export SEALDROP_APP_IP=172.31.53.10 SEALDROP_APP2_IP=172.31.53.11
CHECK_DIR=$(mktemp -d /var/tmp/sealdrop-compose-check.XXXXXX)
export SEALDROP_CHECK_DIR=$CHECK_DIR
DOCKERD_PID=
TOKEN=

START=$(date +%s%N)
STEP=0
CURRENT=
since() { awk -v from="$1" -v now="$(date +%s%N)" 'BEGIN { printf "%.1f", (now - from) / 1e9 }'; }
clock() { printf '%6s s' "$(since "$START")"; }
say() { echo "compose-check: [$(clock)] $*"; }

step() { # NAME COMMAND...
  STEP=$((STEP + 1))
  CURRENT="$STEP. $1"
  shift
  local t
  t=$(date +%s%N)
  say "$CURRENT"
  "$@"
  say "$CURRENT: ok ($(since "$t") s)"
}

# A Docker daemon can hang (see install_docker): no docker call here waits without end.
docker() { timeout --kill-after=20 "${DOCKER_TIMEOUT:-600}" "$(type -P docker)" "$@"; }
daemon_up() { DOCKER_TIMEOUT=30 docker info > /dev/null 2>&1; }
compose() { docker compose "$@"; }
# Compose writes an erase-line sequence before each log line even with --no-color: dropped.
logs() { docker compose logs --no-color --no-log-prefix "$@" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g'; }
probe() { compose exec -T -e SEALDROP_TOKEN="$TOKEN" probe node --import tsx test/ops/compose-probe.ts "$@"; }
probe_backend() { compose exec -T probe-backend node --import tsx test/ops/compose-probe.ts "$@"; }
container() { compose ps -a -q "$1"; }

cleanup() {
  local rc=$?
  set +e
  if [ "$rc" != 0 ]; then
    say "FAILED at step ${CURRENT:-(before the first step)}"
    if daemon_up; then
      compose --profile probe ps -a
      local service
      for service in $(compose --profile probe ps -a --services 2> /dev/null); do
        echo "--- last log lines of $service"
        logs --tail 200 "$service" | grep -v 'should_delay_dir_fetches' | tail -25 | cut -c1-300
      done
    fi
  fi
  if daemon_up; then
    DOCKER_TIMEOUT=300 compose --profile probe down --volumes --remove-orphans --timeout 10 > "$CHECK_DIR/down.log" 2>&1 \
      || { cat "$CHECK_DIR/down.log"; say "docker compose down failed or hung"; rc=1; }
    # images this check built before (dangling now), not its current images nor anyone else's
    docker image prune --force --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" > /dev/null
  fi
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2> /dev/null
    for _ in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2> /dev/null || break; sleep 1; done
    kill -9 "$DOCKERD_PID" 2> /dev/null
    say "stopped the dockerd it started"
  fi
  rm -rf "$CHECK_DIR"
  say "cleaned up; $([ "$rc" = 0 ] && echo passed || echo FAILED) in $(since "$START") s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- Docker ----------------------------------------------------------------------------------

# Debian bookworm's own docker.io (20.10.24) deadlocked here in libnetwork when several
# containers stopped at once (moby/moby#42545, #46661: `docker compose down` and even `docker
# inspect` hung for good), and bookworm packages Compose 1 only. Debian trixie's docker.io,
# docker-cli (26.1.5) and docker-compose (Compose v2, 2.26.1) are Go programs needing libc6 >=
# 2.34 and packages bookworm has (containerd, runc, tini): they come from trixie's signed index
# through apt, in a private apt state that leaves the system's sources alone.
TRIXIE_PACKAGES=(docker.io docker-cli docker-compose)

install_from_trixie() { # PACKAGE...
  local apt=$CHECK_DIR/apt-trixie
  mkdir -p "$apt/lists/partial" "$apt/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" > "$apt/sources.list"
  local opts=(-o "Dir::State=$apt" -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o "Dir::Cache::archives=$apt/archives"
    -o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null" -o "Dir::State::status=/var/lib/dpkg/status")
  apt-get "${opts[@]}" update -q > "$CHECK_DIR/apt.log" 2>&1 || { tail -20 "$CHECK_DIR/apt.log"; die "apt-get update (trixie) failed"; }
  (cd "$apt/archives" && apt-get "${opts[@]}" download "$@" > "$CHECK_DIR/apt.log" 2>&1) \
    || { tail -20 "$CHECK_DIR/apt.log"; die "apt-get download $* (trixie) failed"; }
  # --auto-deconfigure: a bookworm docker.io already installed (20.10) is broken by trixie's
  # docker-cli (Breaks: docker.io << 26.1.4) until the new docker.io in the same call replaces it
  DEBIAN_FRONTEND=noninteractive dpkg --auto-deconfigure -i "$apt"/archives/*.deb > "$CHECK_DIR/apt.log" 2>&1 \
    || { tail -20 "$CHECK_DIR/apt.log"; die "dpkg -i $* failed"; }
}

install_docker() {
  local missing=()
  # trixie's docker.io depends on these; bookworm has them (dpkg -i resolves no dependency)
  for package in containerd runc tini iptables debootstrap; do
    dpkg-query -W -f='${Status}' "$package" 2> /dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]} (Debian)"
    apt-get update -q > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" > "$CHECK_DIR/apt.log" 2>&1 \
      || { tail -20 "$CHECK_DIR/apt.log"; die "apt-get install ${missing[*]} failed"; }
  fi
  local version
  version=$(dpkg-query -W -f='${Version}' docker.io 2> /dev/null || true)
  if [ -z "$version" ] || dpkg --compare-versions "$version" lt 26 || ! docker compose version > /dev/null 2>&1; then
    say "installing ${TRIXIE_PACKAGES[*]} from Debian trixie (had docker.io ${version:-none})"
    install_from_trixie "${TRIXIE_PACKAGES[@]}"
  fi
  docker compose version > /dev/null || die "docker compose (v2) does not run"
}

start_docker() {
  install_docker
  if daemon_up; then
    say "using the Docker daemon that is already running ($(docker info -f '{{.ServerVersion}}, {{.Driver}}'))"
    return
  fi
  say "starting dockerd (vfs)"
  # A daemon killed without its cleanup leaves its pid file behind, and a new one refuses to start.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2> /dev/null; then rm -f /var/run/docker.pid; fi
  dockerd --storage-driver=vfs > "$CHECK_DIR/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 60); do daemon_up && break; sleep 1; done
  daemon_up || { tail -20 "$CHECK_DIR/dockerd.log"; die "dockerd did not start"; }
  say "dockerd $(docker info -f '{{.ServerVersion}}'), $(docker compose version --short 2>/dev/null || docker compose version)"
}

# --- helpers ---------------------------------------------------------------------------------

wait_healthy() { # SERVICE...
  local service id state deadline
  for service in "$@"; do
    deadline=$((SECONDS + 180))
    id=$(container "$service")
    [ -n "$id" ] || die "$service has no container"
    while :; do
      state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")
      [ "$state" = "running healthy" ] && break
      case $state in
        exited* | dead* | *unhealthy) logs --tail 30 "$service"; die "$service is $state" ;;
      esac
      [ "$SECONDS" -lt "$deadline" ] || { logs --tail 30 "$service"; die "$service is not healthy after 180 s ($state)"; }
      sleep 1
    done
  done
  say "healthy: $*"
}

start_probes() {
  compose --profile probe up -d --no-deps probe probe-backend > "$CHECK_DIR/up-probes.log" 2>&1 || { cat "$CHECK_DIR/up-probes.log"; die "probes did not start"; }
}

db_sql() { compose exec -T db psql -U sealdrop -d sealdrop --no-psqlrc -v ON_ERROR_STOP=1 -tA -c "$1"; }

hostnames() {
  compose exec -T tor cat /var/lib/tor/source/hostname /var/lib/tor/editor/hostname
}

# --- the steps -------------------------------------------------------------------------------

build_base_images() { scripts/compose-check/base-images.sh; }

build_stack() {
  DOCKER_TIMEOUT=2400 compose build app tor > "$CHECK_DIR/build.log" 2>&1 || { tail -60 "$CHECK_DIR/build.log"; die "docker compose build failed"; }
  say "built sealdrop:latest ($(docker image inspect -f '{{.Size}}' sealdrop:latest | numfmt --to=iec)) and sealdrop-tor:latest"
}

prepare() {
  # Stale containers or volumes of an earlier check that was killed.
  compose --profile probe down --volumes --remove-orphans --timeout 5 > /dev/null 2>&1 || true
  # As docs/OPERATIONS.md "First start" says: the password readable by uid 10001, editor keys
  # made by deploy/tor/make-editor-auth.sh, public halves 0644.
  (umask 077 && openssl rand -hex 32 > "$CHECK_DIR/db_password")
  chown 10001:10001 "$CHECK_DIR/db_password"
  install -d -m 755 "$CHECK_DIR/authorized_clients" "$CHECK_DIR/editors"
  for editor in alice bob; do
    OUT_DIR=$CHECK_DIR/editors deploy/tor/make-editor-auth.sh "$editor" 2> /dev/null
    install -m 644 "$CHECK_DIR/editors/$editor.auth" "$CHECK_DIR/authorized_clients/"
  done
  install -d -m 700 -o 10001 -g 10001 "$CHECK_DIR/work"
  # A missing key file is refused at once, and nothing is made in its place (the short volume
  # syntax would make an empty directory there, which the app then fails on).
  local missing=$CHECK_DIR/keys/newsroom.pub.asc out
  if out=$(NEWSROOM_PUBLIC_KEY=$missing compose run --rm --no-deps -T app true 2>&1); then die "a missing key file was accepted"; fi
  grep -q 'bind source path does not exist' <<< "$out" || die "a missing key file failed otherwise: $out"
  [ ! -e "$missing" ] || die "docker made $missing when the key file was missing"
  compose down --remove-orphans > /dev/null 2>&1
  say "a missing key file is refused (bind source path does not exist) and nothing is made in its place"
}

up_stack() {
  compose up -d > "$CHECK_DIR/up.log" 2>&1 || { cat "$CHECK_DIR/up.log"; die "docker compose up failed"; }
  wait_healthy db app app2
  [ "$(docker inspect -f '{{.State.Status}}' "$(container tor)")" = running ] || die "tor is not running"
  # Every network of the stack is internal: no container has a route off this machine.
  local net
  for net in $(docker network ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"); do
    [ "$(docker network inspect -f '{{.Internal}}' "$net")" = true ] || die "network $(docker network inspect -f '{{.Name}}' "$net") is not internal"
  done
  say "every network internal: $(docker network ls --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" --format '{{.Name}}' | tr '\n' ' ')"
}

check_migrations() {
  # Every migration file is recorded by its hash (drizzle's journal), and the app said so.
  local want got file
  want=$(for file in migrations/*.sql; do sha256sum < "$file" | cut -d' ' -f1; done | sort)
  got=$(db_sql 'select hash from drizzle.__drizzle_migrations order by hash' | sort)
  [ "$want" = "$got" ] || die "migrations in the database differ from migrations/: $got"
  say "$(echo "$got" | wc -l) migration(s) applied; tables: $(db_sql "select string_agg(table_name, ' ' order by table_name) from information_schema.tables where table_schema = 'public'")"
  local service
  for service in app app2; do
    grep -q '^sealdrop: source pages on .* (PostgreSQL)$' <<< "$(logs "$service")" || die "$service did not log its start on PostgreSQL"
  done
  [ "$(db_sql 'show log_error_verbosity')" = terse ] || die "deploy/db/postgresql.conf is not in force"
}

check_forget() {
  # deploy/db/postgresql.conf's WAL settings and the initdb flag are in force, and the db
  # container's file-time pass (deploy/db/entrypoint.sh) leaves no file older than its interval
  [ "$(db_sql 'show wal_recycle')" = off ] || die "wal_recycle is not off"
  [ "$(db_sql 'show wal_level')" = minimal ] || die "wal_level is not minimal"
  [ "$(db_sql 'show wal_segment_size')" = 1MB ] || die "WAL segments are not 1 MiB (POSTGRES_INITDB_ARGS)"
  sleep 8
  local stale
  stale=$(compose exec -T db sh -c 'find "$PGDATA" -xdev ! -newermt "10 seconds ago" | head -5')
  [ -z "$stale" ] || die "files of the data folder older than the file-time pass: $stale"
  say "WAL: wal_recycle off, minimal, 1 MiB segments; every data file's time within the last 10 s"
}

check_hardening() {
  local service id
  for service in app app2 tor; do
    id=$(container "$service")
    [ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$id")" = true ] || die "$service: root file system writable"
    [ "$(docker inspect -f '{{json .HostConfig.CapDrop}}' "$id")" = '["ALL"]' ] || die "$service: capabilities not all dropped"
    [ "$(docker inspect -f '{{len .HostConfig.CapAdd}}' "$id")" = 0 ] || die "$service: capabilities added"
  done
  for service in db app app2 tor; do
    id=$(container "$service")
    grep -q 'no-new-privileges:true' <<< "$(docker inspect -f '{{json .HostConfig.SecurityOpt}}' "$id")" || die "$service: no-new-privileges missing"
    [ "$(docker inspect -f '{{.HostConfig.Privileged}}' "$id")" = false ] || die "$service: privileged"
    [ "$(docker inspect -f '{{.HostConfig.Memory}}' "$id")" -gt 0 ] || die "$service: no memory limit"
    [ "$(docker inspect -f '{{.HostConfig.PidsLimit}}' "$id")" -gt 0 ] || die "$service: no pids limit"
    [ "$(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}} {{index .HostConfig.LogConfig.Config "max-file"}}' "$id")" = 'local 1m 2' ] \
      || die "$service: log limits missing"
    [ -z "$(docker inspect -f '{{range $p, $b := .HostConfig.PortBindings}}{{$p}} {{end}}' "$id")" ] || die "$service: publishes a port"
  done
  # From inside: the app's processes, its init included, hold no capability and run as 10001.
  for service in app app2; do
    compose exec -T "$service" sh -c '
      for f in /proc/1/status /proc/self/status; do
        grep -Eq "^Uid:\s+10001\s+10001\s+10001\s+10001$" "$f" || { echo "$f: not uid 10001"; exit 1; }
        for c in CapInh CapPrm CapEff CapBnd CapAmb; do
          grep -Eq "^$c:\s+0+$" "$f" || { echo "$f: $c is not empty"; exit 1; }
        done
        grep -Eq "^NoNewPrivs:\s+1$" "$f" || { echo "$f: NoNewPrivs is not set"; exit 1; }
      done
      # /data belongs to uid 10001 in the image: only a read-only root keeps it unwritten
      case $(touch /data/written 2>&1) in
        *"Read-only file system"*) ;;
        *) echo "/data is writable: the root file system is not read-only"; exit 1 ;;
      esac
      touch /tmp/written && rm /tmp/written
      # arriving chunk bodies: a volume with the owner and mode of the image folder, empty
      [ "$(stat -c "%u %a" /spill)" = "10001 700" ] || { echo "/spill is not 10001 0700: $(stat -c "%u %a" /spill)"; exit 1; }
      [ -z "$(ls -A /spill)" ] || { echo "/spill is not empty"; exit 1; }
    ' || die "$service: not hardened as docker-compose.yml says"
    compose exec -T "$service" stat -c %y /spill > "$CHECK_DIR/spill-time-$service"
  done
  say "app, app2, tor: read-only root, every capability dropped (and none held inside), uid 10001 for the app; limits on all four"
}

check_tor() {
  local names=
  for _ in $(seq 1 60); do names=$(hostnames 2> /dev/null) && break; sleep 1; done
  [ "$(grep -Ecx '[a-z2-7]{56}\.onion' <<< "$names")" = 2 ] || die "expected two onion hostnames, got: $names"
  [ "$(echo "$names" | sort -u | wc -l)" = 2 ] || die "the source and editor services have the same address"
  echo "$names" > "$CHECK_DIR/hostnames"
  say "onion hostnames: source $(echo "$names" | head -1), editor $(echo "$names" | tail -1)"
  check_editor_keys alice bob
}

check_editor_keys() { # NAME... : exactly these keys installed, and loaded by tor
  local want got name logs
  want=$(printf '%s.auth\n' "$@" | sort)
  got=$(compose exec -T tor ls /var/lib/tor/editor/authorized_clients | sort)
  [ "$want" = "$got" ] || die "the editor service's authorized_clients holds $(echo "$got" | tr '\n' ' '), expected $(echo "$want" | tr '\n' ' ')"
  for name in "$@"; do
    compose exec -T tor cat "/var/lib/tor/editor/authorized_clients/$name.auth" | cmp -s - "$CHECK_DIR/authorized_clients/$name.auth" \
      || die "$name.auth in the container differs from the operator's file"
  done
  for _ in $(seq 1 30); do
    logs=$(docker logs --since "$TOR_STARTED" "$(container tor)" 2>&1)
    grep -q 'load_client_keys(): Loaded a client authorization key file' <<< "$logs" && break
    sleep 1
  done
  for name in "$@"; do
    grep -q "load_client_keys(): Loaded a client authorization key file $name.auth\." <<< "$logs" \
      || die "tor did not load $name.auth: $(grep -i 'client auth' <<< "$logs" | tail -3)"
  done
  [ "$(grep -c 'load_client_keys(): Loaded a client authorization key file' <<< "$logs")" = "$#" ] || die "tor loaded other keys than $*"
  local warnings
  warnings=$(grep -E '\[(warn|err)\]' <<< "$logs" | grep -v 'you.re logging more than "notice"' || true)
  [ -z "$warnings" ] || die "tor warned: $(head -3 <<< "$warnings")"
  grep -q "sealdrop-tor: $# editor key(s) authorised for the editor service" <<< "$logs" || die "the tor entrypoint did not report $# keys"
  say "tor loaded the client-authorisation keys of: $*"
}

make_token() {
  # Exactly as docs/OPERATIONS.md "Editor tokens" says.
  TOKEN=$(compose exec -T app deploy/app/entrypoint.sh node --import tsx server/admin.ts token add checker 2> "$CHECK_DIR/token.err")
  [[ $TOKEN =~ ^sde_[A-Za-z0-9_-]{43}$ ]] || { cat "$CHECK_DIR/token.err"; die "token add printed no token"; }
  start_probes
  say "editor token made with server/admin.ts in the app container; probes started"
}

send_tips() { probe send-tips; spill_untouched; }
# The tips' chunk bodies arrived in /spill (CHUNK_SPILL_DIR) as unnamed files: nothing is left
# there, and the folder's time is the one it had before the first tip (no name was made or removed).
spill_untouched() {
  for service in app app2; do
    [ -z "$(compose exec -T "$service" ls -A /spill)" ] || die "$service: /spill holds files after the tips"
    compose exec -T "$service" stat -c %y /spill | cmp -s - "$CHECK_DIR/spill-time-$service" \
      || die "$service: /spill's time changed with the tips: $(compose exec -T "$service" stat -c %y /spill)"
  done
  say "/spill in app and app2: empty after the tips, its time unchanged"
}
pull_decrypt() { probe pull; memory_peaks; }

memory_peaks() {
  # What the limits in docker-compose.yml are measured against (cgroup v1 or v2; best effort).
  local service id file line=
  for service in db app app2 tor; do
    id=$(docker inspect -f '{{.Id}}' "$(container "$service")")
    for file in "/sys/fs/cgroup/memory/docker/$id/memory.max_usage_in_bytes" "/sys/fs/cgroup/system.slice/docker-$id.scope/memory.peak" "/sys/fs/cgroup/docker/$id/memory.peak"; do
      [ -r "$file" ] && { line="$line $service $(numfmt --to=iec < "$file")"; break; }
    done
  done
  [ -z "$line" ] || say "peak memory so far:$line (limits: db 1G, app 1G, app2 1G, tor 256M)"
}

check_reach() {
  local db_ip
  db_ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"${COMPOSE_PROJECT_NAME}_backend\").IPAddress}}" "$(container db)")
  probe_backend reach-backend
  probe reach-onion "$db_ip"
}

two_apps() { probe two-apps; }

drain() {
  local out=$CHECK_DIR/drain.out pid app_id exit_code
  probe drain > "$out" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do grep -q 'DRAIN: chunk 1 half sent' "$out" && break; kill -0 "$pid" 2> /dev/null || break; sleep 0.5; done
  grep -q 'DRAIN: chunk 1 half sent' "$out" || { cat "$out"; die "the probe did not get a chunk in flight"; }
  app_id=$(container app)
  # the body on its way is an unnamed file in /spill (CHUNK_SPILL_DIR), open in the app's process
  local spilled
  spilled=$(compose exec -T app sh -c 'for f in /proc/[0-9]*/fd/*; do readlink "$f"; done 2> /dev/null' | grep -c '^/spill/#[0-9]* (deleted)$' || true)
  [ "$spilled" -ge 1 ] || die "no chunk body of the upload in flight is in /spill (CHUNK_SPILL_DIR)"
  [ -z "$(compose exec -T app ls -A /spill)" ] || die "/spill lists a file while a body arrives"
  say "the body on its way is $spilled unnamed file(s) in /spill, which lists nothing"
  say "a chunk is in flight: docker compose stop app (SIGTERM, then up to stop_grace_period)"
  local t
  t=$(date +%s%N)
  compose stop app > /dev/null 2>&1
  wait "$pid" || { cat "$out"; die "the chunk in flight at SIGTERM was lost"; }
  cat "$out"
  exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$app_id")
  [ "$exit_code" = 0 ] || { logs --tail 20 app; die "the app exited $exit_code after SIGTERM"; }
  grep '^shutdown: ' <<< "$(logs app)" | sed 's/^/    app: /'
  say "the app drained and exited 0 in $(since "$t") s"
  compose start app > /dev/null 2>&1
  wait_healthy app
  probe drain-resume
}

down_up() {
  local before
  before=$(cat "$CHECK_DIR/hostnames")
  compose --profile probe down > "$CHECK_DIR/down.log" 2>&1 || { cat "$CHECK_DIR/down.log"; die "docker compose down failed"; }
  [ -z "$(compose ps -a -q)" ] || die "containers left after down"
  TOR_STARTED=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
  up_stack
  start_probes
  probe verify
  local names=
  for _ in $(seq 1 60); do names=$(hostnames 2> /dev/null) && break; sleep 1; done
  [ "$names" = "$before" ] || die "the onion addresses changed across down/up: $names"
  say "the onion addresses are the same after down/up"
}

snapshot() {
  # Every table's rows, hashed in a fixed order (chunk data by its own hash).
  local tables query= table
  tables=$(db_sql "select table_schema || '.' || table_name from information_schema.tables where table_schema in ('public', 'drizzle') order by 1")
  for table in $tables; do
    [ -n "$query" ] && query="$query union all "
    if [ "$table" = public.chunks ]; then
      query="$query select '$table', count(*), md5(coalesce(string_agg(t.submission_id::text || ':' || t.idx || ':' || md5(t.data), '|' order by t.submission_id, t.idx), '')) from $table t"
    else
      query="$query select '$table', count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from $table t"
    fi
  done
  db_sql "$query"
}

backup_restore() {
  # Exactly the commands of docs/OPERATIONS.md "Backups" and "Restore" (COMPOSE_FILE and
  # COMPOSE_PROJECT_NAME make `docker compose` mean this stack).
  local dump=$CHECK_DIR/backups/sealdrop-check.dump before after
  install -d -m 700 "$CHECK_DIR/backups"
  before=$(snapshot)
  PG_DUMP="docker compose exec -T db pg_dump" PG_RESTORE="docker compose exec -T db pg_restore" \
  DATABASE_URL="postgresql:///sealdrop?user=sealdrop" \
    scripts/backup.sh "$dump"
  [ "$(stat -c %a "$dump")" = 600 ] || die "the backup is not mode 0600"
  compose stop app app2 > /dev/null 2>&1
  compose exec -T db dropdb -U sealdrop --force sealdrop
  compose exec -T db createdb -U sealdrop sealdrop
  [ "$(db_sql "select count(*) from information_schema.tables where table_schema = 'public'")" = 0 ] || die "the recreated database is not empty"
  PG_RESTORE="docker compose exec -T db pg_restore" PSQL="docker compose exec -T db psql" \
  DATABASE_URL="postgresql:///sealdrop?user=sealdrop" scripts/restore.sh "$dump"
  after=$(snapshot)
  [ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after"); die "the restored database differs from the one backed up"; }
  say "restored: every row of every table as backed up ($(echo "$after" | awk -F'|' '{n += $2} END {print n}') rows in $(echo "$after" | wc -l) tables)"
  compose start app app2 > /dev/null 2>&1
  wait_healthy app app2
  probe verify
  probe pull
}

onion_keys() {
  # docs/OPERATIONS.md "Backups", item 2: the onion keys are the addresses. Back them up, lose
  # the volume (a new server), get new addresses, put the keys back: the old addresses return.
  local tar=$CHECK_DIR/backups/onion-keys.tar names
  (umask 077; docker compose exec -T tor tar -C /var/lib/tor -cf - source editor > "$tar")
  [ "$(stat -c %a "$tar")" = 600 ] || die "the onion-key backup is not mode 0600"
  compose rm --stop --force tor > /dev/null 2>&1
  docker volume rm "${COMPOSE_PROJECT_NAME}_tor-data" > /dev/null
  compose up -d tor > /dev/null 2>&1
  for _ in $(seq 1 60); do names=$(hostnames 2> /dev/null) && break; sleep 1; done
  [ "$(grep -Ecx '[a-z2-7]{56}\.onion' <<< "$names")" = 2 ] || die "the new tor wrote no hostnames"
  [ "$names" != "$(cat "$CHECK_DIR/hostnames")" ] || die "a new tor-data volume kept the old addresses"
  docker compose exec -T tor tar -C /var/lib/tor -xf - < "$tar"
  TOR_STARTED=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
  docker compose restart tor > /dev/null 2>&1
  for _ in $(seq 1 60); do names=$(hostnames 2> /dev/null) && [ "$names" = "$(cat "$CHECK_DIR/hostnames")" ] && break; sleep 1; done
  [ "$names" = "$(cat "$CHECK_DIR/hostnames")" ] || die "the restored onion keys did not bring the addresses back: $names"
  check_editor_keys alice bob
  say "onion keys backed up, lost with their volume, restored: the addresses are back"
}

revoke_editor() {
  # docs/OPERATIONS.md "Revoking an editor": remove the key, restart tor.
  rm "$CHECK_DIR/authorized_clients/bob.auth"
  TOR_STARTED=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
  compose restart tor > /dev/null 2>&1
  check_editor_keys alice
  [ "$(hostnames)" = "$(cat "$CHECK_DIR/hostnames")" ] || die "the onion addresses changed when an editor was revoked"
}

# --- run -------------------------------------------------------------------------------------

TOR_STARTED=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
step "Docker daemon and Compose v2" start_docker
step "local base images (stand-ins of the pinned official ones)" build_base_images
step "docker compose build" build_stack
step "secret, editor keys, work folder" prepare
TOR_STARTED=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
step "docker compose up: db, app, app2 healthy; networks internal" up_stack
step "migrations applied" check_migrations
step "db: WAL settings, file times reset" check_forget
step "hardening: read-only root, capabilities, limits" check_hardening
step "tor: both onion hostnames, editors' client-auth keys loaded" check_tor
step "editor token (server/admin.ts), probe containers" make_token
step "a text tip and a 20 MiB tip from the onion network" send_tips
step "pulled through the editor listener, decrypted with the demo key" pull_decrypt
step "editor port unreachable from the database's network" check_reach
step "two app containers on one database" two_apps
step "SIGTERM drains an upload in flight" drain
step "down then up keeps every tip" down_up
step "backup.sh and restore.sh round trip" backup_restore
step "onion keys: backup and restore" onion_keys
step "revoking an editor's Tor key" revoke_editor
say "all $STEP steps passed"
