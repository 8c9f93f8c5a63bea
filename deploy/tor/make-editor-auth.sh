#!/bin/sh
# Make an editor's x25519 key pair for the editor onion service's client authorisation.
# Run it on the EDITOR's own machine (Debian: needs only openssl and coreutils):
#
#   deploy/tor/make-editor-auth.sh NAME EDITOR_ONION_ADDRESS [OUTDIR]
#
# It writes, with mode 0600:
#   OUTDIR/NAME.auth                 the public half: give it to the operator, who puts it in
#                                    deploy/tor/authorized_clients/ on the server
#   OUTDIR/<address>.auth_private    the private half: stays with the editor, in the folder
#                                    named by ClientOnionAuthDir in the editor's torrc (or import
#                                    it in Tor Browser when it asks for the key)
set -eu

die() { echo "make-editor-auth: error: $*" >&2; exit 1; }
[ $# -ge 2 ] && [ $# -le 3 ] || {
  echo "usage: make-editor-auth.sh NAME EDITOR_ONION_ADDRESS [OUTDIR]" >&2
  echo "example: make-editor-auth.sh alice abcd...xyz.onion ." >&2
  exit 2
}
name=$1
address=${2%.onion}
outdir=${3:-.}

case $name in
  '' | *[!A-Za-z0-9_-]*) die "NAME must be 1-64 letters, digits, _ or -, got '$name'" ;;
esac
[ ${#name} -le 64 ] || die "NAME must be 1-64 letters, digits, _ or -, got ${#name} characters"
case $address in
  *[!a-z2-7]*) die "EDITOR_ONION_ADDRESS must be a v3 onion address (56 base32 characters, then .onion), got '$2'" ;;
esac
[ ${#address} = 56 ] \
  || die "EDITOR_ONION_ADDRESS must be a v3 onion address (56 base32 characters, then .onion), got '$2'"
command -v openssl >/dev/null || die "openssl is missing (apt-get install openssl)"
command -v base32 >/dev/null || die "base32 is missing (it is in coreutils)"

public_file="$outdir/$name.auth"
private_file="$outdir/$address.auth_private"
for f in "$public_file" "$private_file"; do
  [ ! -e "$f" ] || die "$f exists already; not overwriting a key"
done

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl genpkey -algorithm x25519 -out "$work/key.pem" 2>/dev/null
# The DER forms end with the raw 32-byte keys (PKCS#8 private, SubjectPublicKeyInfo public);
# Tor wants them in base32 without the '=' padding: 52 characters.
private=$(openssl pkey -in "$work/key.pem" -outform DER | tail -c 32 | base32 -w 0 | tr -d '=')
public=$(openssl pkey -in "$work/key.pem" -pubout -outform DER | tail -c 32 | base32 -w 0 | tr -d '=')
[ ${#private} = 52 ] && [ ${#public} = 52 ] || die "openssl gave an unexpected key encoding"

# O_EXCL-like: set -C refuses to overwrite a file that appeared meanwhile.
set -C
printf 'descriptor:x25519:%s\n' "$public" > "$public_file"
printf '%s:descriptor:x25519:%s\n' "$address" "$private" > "$private_file"
set +C

echo "make-editor-auth: give $public_file to the operator (public, not secret)" >&2
echo "make-editor-auth: keep $private_file private, in your ClientOnionAuthDir" >&2
