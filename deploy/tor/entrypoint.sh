#!/bin/sh
# Start Sealdrop's Tor: write the torrc, install the editors' client-authorisation keys, exec tor.
# Arguments are passed on to tor (`entrypoint.sh --verify-config` checks and exits).
#
#   TOR_DATA_DIR            keys and state (default /var/lib/tor, a volume private to this container)
#   SOURCE_TARGET           IP:port of the app's source listener (required)
#   EDITOR_TARGET           IP:port of the app's editor listener (required)
#   AUTHORIZED_CLIENTS_DIR  the operator's editor keys, one NAME.auth file each, read-only
#                           (default /etc/tor/authorized_clients)
#   TORRC                   where the torrc is written (default /tmp/torrc)
set -eu

die() { echo "sealdrop-tor: error: $*" >&2; exit 1; }
here=$(dirname "$0")

TOR_DATA_DIR=${TOR_DATA_DIR:-/var/lib/tor}
AUTHORIZED_CLIENTS_DIR=${AUTHORIZED_CLIENTS_DIR:-/etc/tor/authorized_clients}
TORRC=${TORRC:-/tmp/torrc}
export TOR_DATA_DIR

# Tor insists that its folders are private (0700) to the user it runs as.
umask 077
mkdir -p "$TOR_DATA_DIR/source" "$TOR_DATA_DIR/editor"
chmod 700 "$TOR_DATA_DIR" "$TOR_DATA_DIR/source" "$TOR_DATA_DIR/editor"

"$here/generate-torrc.sh" > "$TORRC"

# The editor service's authorised clients are exactly the operator's *.auth files: copy them in
# and remove any that the operator has deleted (that is how an editor's access is revoked).
# Tor skips a malformed file with only a warning, and an editor service with no valid file is
# open to anyone who learns its address, so every file is checked here and an empty set refused.
target="$TOR_DATA_DIR/editor/authorized_clients"
mkdir -p "$target"
chmod 700 "$target"
staging="$TOR_DATA_DIR/editor/.authorized_clients.new"
rm -rf "$staging"
mkdir "$staging"
count=0
for file in "$AUTHORIZED_CLIENTS_DIR"/*.auth; do
  [ -e "$file" ] || continue
  name=$(basename "$file" .auth)
  case $name in
    '' | *[!A-Za-z0-9_-]*) die "$file: the name must be letters, digits, _ or - (it names the editor)" ;;
  esac
  [ ${#name} -le 64 ] || die "$file: the name is longer than 64 characters"
  [ -r "$file" ] || die "$file: not readable by the tor user (uid $(id -u)); it is a public key: chmod 644 it"
  # Exactly one line: descriptor:x25519:<52 base32 characters> (a 32-byte public key).
  lines=$(grep -c '' "$file" || true)
  [ "$lines" = 1 ] || die "$file: expected one line 'descriptor:x25519:<public key>', found $lines lines"
  grep -Eqx 'descriptor:x25519:[A-Za-z2-7]{52}' "$file" \
    || die "$file: expected 'descriptor:x25519:' and a 52-character base32 public key (make one with deploy/tor/make-editor-auth.sh)"
  cp "$file" "$staging/$name.auth"
  count=$((count + 1))
done
[ "$count" -gt 0 ] || die "no editor keys in $AUTHORIZED_CLIENTS_DIR (NAME.auth files): without one the editor onion service would be open to anyone; see docs/OPERATIONS.md, 'Editor access'"
rm -f "$target"/*.auth
mv "$staging"/*.auth "$target"/
rmdir "$staging"
echo "sealdrop-tor: $count editor key(s) authorised for the editor service" >&2

exec tor -f "$TORRC" "$@"
