#!/bin/sh
# An editor's x25519 key pair for the editor onion service's client authorisation (Tor v3).
# Run it on the EDITOR's own machine; it needs only openssl and coreutils (Debian: both standard).
#
#   make-editor-auth.sh NAME [EDITOR_ONION_ADDRESS]
#       makes a new key pair in the current folder (or in $OUT_DIR):
#         NAME.auth              public half, mode 0644: give it to the operator (not secret), who
#                                puts it in deploy/tor/authorized_clients/ on the server
#         NAME.x25519_private    private half, base32, mode 0600: stays with the editor. Tor Browser asks for
#                                exactly this when it opens the editor onion address.
#         <address>.auth_private the private half (0600) in the form tor's ClientOnionAuthDir reads,
#                                when the address is known (the sealdrop CLI through system tor)
#   make-editor-auth.sh --client NAME EDITOR_ONION_ADDRESS
#       makes <address>.auth_private from an existing NAME.x25519_private (the address is known
#       only after the server's first start).
set -eu

die() { echo "make-editor-auth: error: $*" >&2; exit 1; }
usage() {
  echo "usage: make-editor-auth.sh NAME [EDITOR_ONION_ADDRESS]" >&2
  echo "       make-editor-auth.sh --client NAME EDITOR_ONION_ADDRESS" >&2
  exit 2
}

client_only=no
if [ "${1:-}" = --client ]; then client_only=yes; shift; [ $# = 2 ] || usage; fi
[ $# -ge 1 ] && [ $# -le 2 ] || usage
name=$1
address=${2:-}
outdir=${OUT_DIR:-.}

case $name in
  '' | *[!A-Za-z0-9_-]*) die "NAME must be 1-64 letters, digits, _ or -, got '$name'" ;;
esac
[ ${#name} -le 64 ] || die "NAME must be 1-64 letters, digits, _ or -, got ${#name} characters"
if [ -n "$address" ]; then
  address=${address%.onion}
  case $address in
    *[!a-z2-7]*) die "EDITOR_ONION_ADDRESS must be a v3 onion address (56 base32 characters, then .onion), got '$2'" ;;
  esac
  [ ${#address} = 56 ] \
    || die "EDITOR_ONION_ADDRESS must be a v3 onion address (56 base32 characters, then .onion), got '$2'"
fi

umask 077
public_file="$outdir/$name.auth"
private_file="$outdir/$name.x25519_private"
client_file="$outdir/$address.auth_private"

# Never overwrite a key: set -C makes '>' fail on an existing file (as O_EXCL would).
refuse_existing() {
  for f in "$@"; do [ ! -e "$f" ] || die "$f exists already; not overwriting a key"; done
}

if [ "$client_only" = yes ]; then
  [ -r "$private_file" ] || die "cannot read $private_file (made by: make-editor-auth.sh $name)"
  private=$(cat "$private_file")
  printf '%s' "$private" | grep -Eqx '[A-Z2-7]{52}' || die "$private_file does not hold a 52-character base32 key"
  refuse_existing "$client_file"
  set -C
  printf '%s:descriptor:x25519:%s\n' "$address" "$private" > "$client_file"
  echo "make-editor-auth: wrote $client_file: put it in your ClientOnionAuthDir" >&2
  exit 0
fi

command -v openssl >/dev/null || die "openssl is missing (apt-get install openssl)"
command -v base32 >/dev/null || die "base32 is missing (it is in coreutils)"
refuse_existing "$public_file" "$private_file"
[ -z "$address" ] || refuse_existing "$client_file"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl genpkey -algorithm x25519 -out "$work/key.pem" 2>/dev/null
# The DER encodings end with the raw 32-byte keys (PKCS#8 private, SubjectPublicKeyInfo public);
# Tor wants them in base32 without the '=' padding: 52 characters.
private=$(openssl pkey -in "$work/key.pem" -outform DER | tail -c 32 | base32 -w 0 | tr -d '=')
public=$(openssl pkey -in "$work/key.pem" -pubout -outform DER | tail -c 32 | base32 -w 0 | tr -d '=')
[ ${#private} = 52 ] && [ ${#public} = 52 ] || die "openssl gave an unexpected key encoding"

set -C
printf '%s\n' "$private" > "$private_file"
[ -z "$address" ] || printf '%s:descriptor:x25519:%s\n' "$address" "$private" > "$client_file"
# the public half is for others to read (the tor container runs as its own user)
printf 'descriptor:x25519:%s\n' "$public" > "$public_file"
set +C
chmod 644 "$public_file"

echo "make-editor-auth: give $public_file to the operator (public, not secret)" >&2
echo "make-editor-auth: keep $private_file private (Tor Browser asks for this key)" >&2
if [ -n "$address" ]; then
  echo "make-editor-auth: put $client_file in your ClientOnionAuthDir" >&2
else
  echo "make-editor-auth: once you know the editor address: make-editor-auth.sh --client $name ADDRESS" >&2
fi
