#!/bin/sh
# Print Sealdrop's torrc: deploy/tor/torrc.template with its placeholders filled from the
# environment. Every value is checked, so nothing can smuggle a second torrc line in.
#
#   TOR_DATA_DIR=/var/lib/tor SOURCE_TARGET=172.31.53.10:8080 EDITOR_TARGET=172.31.53.10:8081 \
#     deploy/tor/generate-torrc.sh > torrc
#
# TORRC_TEMPLATE overrides the template's path (default: torrc.template beside this script).
set -eu

die() { echo "generate-torrc: error: $*" >&2; exit 1; }

template=${TORRC_TEMPLATE:-$(dirname "$0")/torrc.template}
[ -r "$template" ] || die "cannot read the template $template"

: "${TOR_DATA_DIR:?generate-torrc: error: TOR_DATA_DIR is not set}"
: "${SOURCE_TARGET:?generate-torrc: error: SOURCE_TARGET is not set (IP:port of the source listener)}"
: "${EDITOR_TARGET:?generate-torrc: error: EDITOR_TARGET is not set (IP:port of the editor listener)}"

# grep -x matches line by line, so a value with a line break is refused first: it could
# otherwise carry a second, unchecked torrc line.
newline='
'
for value in "$TOR_DATA_DIR" "$SOURCE_TARGET" "$EDITOR_TARGET"; do
  case $value in
    *"$newline"*) die "a value holds a line break: $(printf '%s' "$value" | head -n 1)..." ;;
  esac
done

# An absolute path without white space or sed/torrc-special characters.
case $TOR_DATA_DIR in
  /*) ;;
  *) die "TOR_DATA_DIR must be an absolute path, got '$TOR_DATA_DIR'" ;;
esac
printf '%s' "$TOR_DATA_DIR" | grep -Eqx '[A-Za-z0-9/._-]+' \
  || die "TOR_DATA_DIR may hold only letters, digits and / . _ -, got '$TOR_DATA_DIR'"

# IPv4:port or [IPv6]:port. Tor would resolve a host name once, at start, and keep the old
# address when the app container comes back with a new one: so addresses only.
check_target() {
  name=$1 value=$2
  printf '%s' "$value" | grep -Eqx '([0-9]{1,3}(\.[0-9]{1,3}){3}|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}' \
    || die "$name must be IP:port (for example 172.31.53.10:8080), got '$value'"
  port=${value##*:}
  [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "$name has port $port, expected 1-65535"
}
check_target SOURCE_TARGET "$SOURCE_TARGET"
check_target EDITOR_TARGET "$EDITOR_TARGET"
[ "$SOURCE_TARGET" != "$EDITOR_TARGET" ] \
  || die "SOURCE_TARGET and EDITOR_TARGET are both $SOURCE_TARGET: the editor API needs its own listener"

out=$(sed -e "s|@TOR_DATA_DIR@|$TOR_DATA_DIR|g" \
          -e "s|@SOURCE_TARGET@|$SOURCE_TARGET|g" \
          -e "s|@EDITOR_TARGET@|$EDITOR_TARGET|g" "$template")
if printf '%s\n' "$out" | grep -q '@[A-Z_]*@'; then
  die "the template has a placeholder this script does not know: $(printf '%s\n' "$out" | grep -o '@[A-Z_]*@' | head -n 1)"
fi
printf '%s\n' "$out"
