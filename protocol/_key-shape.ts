/**
 * @module protocol/_key-shape — the cheap structural reader for a source's reply keys: the packet
 * framing, tags, order, versions, algorithms, curve OIDs and exact lengths of the two shapes
 * `generateSourceKeys` makes (PROTOCOL.md, "Source key shapes"), read byte by byte before
 * OpenPGP.js parses anything, before any signature is verified and before any big-number work.
 *
 * Why: OpenPGP.js verifies what it is given. A DSA key with 16,384-bit parameters and a hundred
 * self-signatures passes every cheap check (date, user id) and then costs 13 to 24 s of
 * big-number work per signature. Here such a key is refused on its first packet's algorithm octet,
 * after one pass over its armor. Everything that is not exactly one of the two shapes
 * is refused the same way, with a stable code; nothing here allocates more than the input.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { OpenPgpCheckError } from './errors.ts';
import { SOURCE_KEY_DATE, SOURCE_KEY_USER_ID } from './limits.ts';

const fail = (code: string, message: string): never => {
  throw new OpenPgpCheckError(code, message);
};

/** Packet tags of a transferable key (RFC 9580 §5). */
const TAG = { signature: 2, secretKey: 5, publicKey: 6, secretSubkey: 7, userId: 13, publicSubkey: 14 } as const;
const TAG_NAMES: Record<number, string> = {
  1: 'PKESK', 2: 'signature', 3: 'SKESK', 4: 'one-pass signature', 5: 'secret key', 6: 'public key',
  7: 'secret subkey', 8: 'compressed data', 9: 'SED', 10: 'marker', 11: 'literal data', 12: 'trust',
  13: 'user id', 14: 'public subkey', 17: 'user attribute', 18: 'SEIPD', 19: 'MDC', 21: 'padding',
};
const tagName = (tag: number) => `a ${TAG_NAMES[tag] ?? 'unknown'} packet (tag ${tag})`;
const ALGORITHM_NAMES: Record<number, string> = {
  1: 'RSA', 2: 'RSA (encrypt only)', 3: 'RSA (sign only)', 16: 'ElGamal', 17: 'DSA', 18: 'ECDH', 19: 'ECDSA',
  20: 'ElGamal (sign)', 22: 'EdDSALegacy', 25: 'X25519', 26: 'X448', 27: 'Ed25519', 28: 'Ed448',
};
const algorithmName = (id: number) => `${ALGORITHM_NAMES[id] ?? 'unknown'} (algorithm ${id})`;

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const DATE = SOURCE_KEY_DATE.getTime() / 1000;
const DATE_BYTES = Uint8Array.of(DATE >>> 24, (DATE >>> 16) & 255, (DATE >>> 8) & 255, DATE & 255);
const USER_ID = new TextEncoder().encode(SOURCE_KEY_USER_ID.name);

export type RawPacket = { tag: number; body: Uint8Array };

/**
 * Strict framing: new-format headers only, each length in its shortest form, no partial lengths
 * (RFC 9580 §4.2.1: OpenPGP.js writes keys this way). Every packet of the input, in order.
 */
export function readKeyPackets(bytes: Uint8Array, what: string): RawPacket[] {
  const packets: RawPacket[] = [];
  let at = 0;
  const need = (n: number, of: string) => {
    if (at + n > bytes.length) fail('bad_key_packets', `expected ${n} more byte(s) of ${of} at offset ${at} in ${what}, got ${bytes.length - at}`);
  };
  while (at < bytes.length) {
    const start = at;
    const first = bytes[at++]!;
    if ((first & 0xc0) !== 0xc0) {
      fail('bad_key_packets', `expected a new-format packet header (0b11xxxxxx) at offset ${start} in ${what}, got 0x${first.toString(16).padStart(2, '0')}`);
    }
    const tag = first & 0x3f;
    need(1, 'a packet length');
    const a = bytes[at++]!;
    let length: number;
    if (a < 192) {
      length = a;
    } else if (a < 224) {
      need(1, 'a packet length');
      length = ((a - 192) << 8) + bytes[at++]! + 192;
    } else if (a === 255) {
      need(4, 'a packet length');
      length = ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
      at += 4;
      if (length < 8384) fail('bad_key_packets', `expected the shortest length encoding at offset ${start} in ${what}, got a five-octet length of ${length}`);
    } else {
      return fail('bad_key_packets', `expected a definite packet length at offset ${start} in ${what}, got a partial length`);
    }
    need(length, `${tagName(tag)}'s body`);
    packets.push({ tag, body: bytes.subarray(at, at + length) });
    at += length;
  }
  return packets;
}

/** A field of a template: fixed bytes, or a hole of a given length whose bytes are checked apart. */
type Part = Uint8Array | { hole: 'date' | 'keyId' | 'fingerprint' | 'any'; length: number };
const fixed = (text: string): Part => fromHex(text.replaceAll(' ', ''));
const date: Part = { hole: 'date', length: 4 };
const keyId: Part = { hole: 'keyId', length: 8 };
const fingerprint = (length: number): Part => ({ hole: 'fingerprint', length });
/** key material, salts, IVs: any bytes of this length */
const any = (length: number): Part => ({ hole: 'any', length });

/** A key packet's public fields: the algorithm and curve are named apart for a clearer refusal. */
interface KeySpec {
  algorithm: number;
  /** v4 ECC: the curve's OID (its length octet first) right after the algorithm */
  oid?: Uint8Array;
  parts: Part[];
}

/** One of the two shapes `generateSourceKeys` makes, packet by packet (see PROTOCOL.md). */
interface Shape {
  version: 4 | 6;
  name: string;
  primary: KeySpec;
  subkey: KeySpec;
  /** the public block's packet tags, in order */
  order: number[];
  /** the public-key and hash algorithms of every signature */
  signatureAlgorithm: number;
  hashAlgorithm: number;
  /** the signatures in order: their type and their whole hashed subpacket area */
  signatures: { type: number; hashed: Part[] }[];
  /** what follows the public fields in a secret key packet before the encrypted key, and that key's length range */
  lock: { primary: Part[]; subkey: Part[]; encrypted: { primary: [number, number]; subkey: [number, number] } };
}

const ED25519_LEGACY_OID = '09 2b06010401da470f01';
const CURVE25519_LEGACY_OID = '0a 2b060104019755010501';
// OpenPGP.js's v4 signatures carry a random "salt@notations.openpgpjs.org" notation (32 bytes)
const V4_SALT_NOTATION: Part[] = [fixed('45 14 00000000 001c 0020'), new TextEncoder().encode('salt@notations.openpgpjs.org'), any(32)];
const V4_LOCK: Part[] = [fixed('fe 09 03 08'), any(8), fixed('e0'), any(16)];
const V6_LOCK: Part[] = [fixed('fd 1a 09 03 0b 03 08'), any(8), fixed('e0'), any(12)];

const V4: Shape = {
  version: 4,
  name: 'v4 EdDSALegacy (Ed25519) + ECDH (Curve25519)',
  // version, date, algorithm 22, the OID, then the point: an MPI of 263 bits, 0x40 and 32 bytes
  primary: { algorithm: 22, oid: fixed(ED25519_LEGACY_OID) as Uint8Array, parts: [fixed('04'), date, fixed(`16 ${ED25519_LEGACY_OID} 0107 40`), any(32)] },
  // algorithm 18, the Curve25519 OID, the point, then KDF parameters: SHA-256, AES-128
  subkey: { algorithm: 18, oid: fixed(CURVE25519_LEGACY_OID) as Uint8Array, parts: [fixed('04'), date, fixed(`12 ${CURVE25519_LEGACY_OID} 0107 40`), any(32), fixed('03 01 08 07')] },
  order: [TAG.publicKey, TAG.userId, TAG.signature, TAG.publicSubkey, TAG.signature],
  signatureAlgorithm: 22,
  hashAlgorithm: 10,
  signatures: [
    {
      type: 0x13, // positive certification of the user id
      hashed: [
        fixed('05 82'), date, fixed('03 0b 09 07'), fixed('09 10'), keyId, ...V4_SALT_NOTATION, fixed('05 15 0a 08 0e 0c'),
        fixed('04 16 00 02 01'), fixed('02 19 01'), fixed('02 9b 03'), fixed('02 1e 01'), fixed('16 21 04'), fingerprint(20),
      ],
    },
    { type: 0x18, hashed: [fixed('05 82'), date, fixed('09 10'), keyId, ...V4_SALT_NOTATION, fixed('02 9b 0c'), fixed('16 21 04'), fingerprint(20)] },
  ],
  lock: {
    // S2K usage 254 (SHA-1 check), AES-256, iterated and salted S2K with SHA-256, count octet 224, 16-byte IV
    primary: V4_LOCK,
    subkey: V4_LOCK,
    // CFB keeps the length: an MPI (2 + 1..32 bytes: the Ed25519 seed may start with zero bytes,
    // the Curve25519 scalar is clamped to 255 bits) and the 20-byte SHA-1
    encrypted: { primary: [2 + 1 + 20, 2 + 32 + 20], subkey: [2 + 32 + 20, 2 + 32 + 20] },
  },
};

const V6: Shape = {
  version: 6,
  name: 'v6 Ed25519 + X25519',
  // version, date, algorithm, the four-octet length of the key material (32), the key
  primary: { algorithm: 27, parts: [fixed('06'), date, fixed('1b 00000020'), any(32)] },
  subkey: { algorithm: 25, parts: [fixed('06'), date, fixed('19 00000020'), any(32)] },
  order: [TAG.publicKey, TAG.signature, TAG.userId, TAG.signature, TAG.publicSubkey, TAG.signature],
  signatureAlgorithm: 27,
  hashAlgorithm: 10,
  signatures: [
    {
      type: 0x1f, // direct key signature: a v6 key's preferences live here
      hashed: [
        fixed('05 82'), date, fixed('03 0b 09 07'), fixed('05 15 0a 08 0e 0c'), fixed('04 16 00 02 01'), fixed('02 9b 03'),
        fixed('02 1e 09'), fixed('22 a1 06'), fingerprint(32), fixed('0d 27 09 03 07 03 09 01 07 01 09 02 07 02'),
      ],
    },
    { type: 0x13, hashed: [fixed('05 82'), date, fixed('02 19 01'), fixed('22 a1 06'), fingerprint(32)] },
    { type: 0x18, hashed: [fixed('05 82'), date, fixed('02 9b 0c'), fixed('22 a1 06'), fingerprint(32)] },
  ],
  lock: {
    // S2K usage 253 (AEAD), 26 octets of parameters: AES-256, GCM, an 11-octet iterated and
    // salted S2K (SHA-256, count octet 224), a 12-byte nonce
    primary: V6_LOCK,
    subkey: V6_LOCK,
    // the 32-byte key and the 16-byte GCM tag
    encrypted: { primary: [48, 48], subkey: [48, 48] },
  },
};

const partLength = (parts: Part[]) => parts.reduce((n, p) => n + p.length, 0);

/**
 * Compares `bytes` with `parts` exactly. A fixed part that differs fails with `code`; the holes
 * are returned by kind, in order, for the caller to check.
 */
function matchParts(bytes: Uint8Array, parts: Part[], what: string, code = 'bad_key_structure'): Record<string, Uint8Array[]> {
  const expected = partLength(parts);
  if (bytes.length !== expected) fail(code, `expected ${expected} bytes in ${what}, got ${bytes.length}`);
  const holes: Record<string, Uint8Array[]> = {};
  let at = 0;
  for (const part of parts) {
    const got = bytes.subarray(at, at + part.length);
    if (part instanceof Uint8Array) {
      if (!equal(got, part)) fail(code, `expected ${hex(part)} at byte ${at} of ${what}, got ${hex(got)}`);
    } else {
      (holes[part.hole] ??= []).push(got);
    }
    at += part.length;
  }
  for (const got of holes.date ?? []) checkDate(got, what);
  return holes;
}

function checkDate(got: Uint8Array, what: string): void {
  if (!equal(got, DATE_BYTES)) {
    const seconds = ((got[0]! << 24) >>> 0) + (got[1]! << 16) + (got[2]! << 8) + got[3]!;
    fail('bad_source_key', `expected creation date ${SOURCE_KEY_DATE.toISOString()} on ${what}, got ${new Date(seconds * 1000).toISOString()}`);
  }
}

/**
 * A key packet's public fields, in the order that gives the clearest refusal: version, date,
 * algorithm, curve, then the exact bytes. The primary key's version picks the shape.
 */
function checkKeyPacket(body: Uint8Array, role: 'primary' | 'subkey', shape: Shape | undefined, what: string): Shape {
  const version = body[0];
  const found = version === 4 ? V4 : version === 6 ? V6 : undefined;
  if (!found || (shape && found !== shape)) {
    fail('bad_key_algorithm', `expected a v${shape?.version ?? '4 or v6'} key in ${what}, got version ${version ?? 'none'}`);
  }
  const used = shape ?? found!;
  const spec = used[role];
  if (body.length < 6) fail('bad_key_structure', `expected ${partLength(spec.parts)} bytes in ${what}, got ${body.length}`);
  checkDate(body.subarray(1, 5), what);
  if (body[5] !== spec.algorithm) fail('bad_key_algorithm', `expected ${algorithmName(spec.algorithm)} in ${what} (${used.name}), got ${algorithmName(body[5]!)}`);
  if (spec.oid && !equal(body.subarray(6, 6 + spec.oid.length), spec.oid)) {
    const length = body[6] ?? 0;
    fail('bad_key_algorithm', `expected the curve OID ${hex(spec.oid.subarray(1))} in ${what}, got ${hex(body.subarray(7, 7 + Math.min(length, 16)))}`);
  }
  matchParts(body, spec.parts, what);
  return used;
}

/** An MPI as OpenPGP.js writes it: the bit count, then exactly as many bytes, no leading zero. */
function readMpi(body: Uint8Array, at: number, maxBits: number, what: string): number {
  if (at + 2 > body.length) fail('bad_key_structure', `expected an MPI at byte ${at} of ${what}, got the end`);
  const bits = (body[at]! << 8) | body[at + 1]!;
  const bytes = Math.ceil(bits / 8);
  if (bits < 1 || bits > maxBits) fail('bad_key_structure', `expected an MPI of 1 to ${maxBits} bits in ${what}, got ${bits}`);
  if (at + 2 + bytes > body.length) fail('bad_key_structure', `expected ${bytes} MPI bytes in ${what}, got ${body.length - at - 2}`);
  const top = body[at + 2]!;
  if (top === 0 || 32 - Math.clz32(top) !== bits - 8 * (bytes - 1)) {
    fail('bad_key_structure', `expected a canonical ${bits}-bit MPI in ${what}, got leading byte 0x${top.toString(16).padStart(2, '0')}`);
  }
  return at + 2 + bytes;
}

/** A signature packet of the shape, with the fixed date and the issuer of `issuer` (the primary key). */
function checkSignature(body: Uint8Array, shape: Shape, index: number, issuer: { keyId: Uint8Array; fingerprint: Uint8Array }): void {
  const spec = shape.signatures[index]!;
  const what = `signature ${index + 1} (type 0x${spec.type.toString(16)})`;
  const head = Uint8Array.of(shape.version, spec.type, shape.signatureAlgorithm, shape.hashAlgorithm);
  if (body.length < 4 || !equal(body.subarray(0, 4), head)) {
    fail('bad_key_structure', `expected a v${shape.version} signature of type 0x${spec.type.toString(16)} by ${algorithmName(shape.signatureAlgorithm)} with SHA-512 as ${what}, got ${hex(body.subarray(0, 4))}`);
  }
  // hashed subpacket area: a two-octet length in v4, four octets in v6
  const wide = shape.version === 6 ? 4 : 2;
  const hashedLength = partLength(spec.hashed);
  if (body.length < 4 + wide) fail('bad_key_structure', `expected the hashed subpacket length in ${what}, got the end`);
  const declared = wide === 2 ? (body[4]! << 8) | body[5]! : ((body[4]! << 24) >>> 0) + (body[5]! << 16) + (body[6]! << 8) + body[7]!;
  if (declared !== hashedLength) fail('bad_key_structure', `expected ${hashedLength} bytes of hashed subpackets in ${what}, got ${declared}`);
  let at = 4 + wide;
  if (at + hashedLength > body.length) fail('bad_key_structure', `expected ${hashedLength} bytes of hashed subpackets in ${what}, got ${body.length - at}`);
  const hashed = body.subarray(at, at + hashedLength);
  // a re-signed key is named for its date (the signature creation time comes first), whatever else changed
  if (hashed[0] === 0x05 && hashed[1] === 0x82) checkDate(hashed.subarray(2, 6), what);
  const holes = matchParts(hashed, spec.hashed, `the hashed subpackets of ${what}`);
  for (const got of holes.keyId ?? []) {
    if (!equal(got, issuer.keyId)) fail('bad_key_structure', `expected issuer key id ${hex(issuer.keyId)} in ${what}, got ${hex(got)}`);
  }
  for (const got of holes.fingerprint ?? []) {
    if (!equal(got, issuer.fingerprint)) fail('bad_key_structure', `expected issuer fingerprint ${hex(issuer.fingerprint)} in ${what}, got ${hex(got)}`);
  }
  at += hashedLength;
  // no unhashed subpackets, then the two-octet hash prefix
  if (at + wide + 2 > body.length || body.subarray(at, at + wide).some((b) => b !== 0)) {
    fail('bad_key_structure', `expected no unhashed subpackets in ${what}`);
  }
  at += wide + 2;
  if (shape.version === 4) {
    // EdDSALegacy: r and s, each an MPI of at most 256 bits
    at = readMpi(body, at, 256, what);
    at = readMpi(body, at, 256, what);
  } else {
    // v6: a one-octet salt length (32 for SHA-512), the salt, the 64-byte native Ed25519 signature
    if (body[at] !== 32) fail('bad_key_structure', `expected a 32-byte signature salt in ${what}, got ${body[at] ?? 'the end'}`);
    at += 1 + 32 + 64;
  }
  if (at !== body.length) fail('bad_key_structure', `expected ${what} to be ${at} bytes, got ${body.length}`);
}

/** v4: SHA-1 over 0x99, a two-octet length, the body; v6: SHA-256 over 0x9b, four octets, the body. */
function fingerprintOf(version: 4 | 6, body: Uint8Array): Uint8Array {
  const n = body.length;
  return version === 4
    ? sha1(concat(Uint8Array.of(0x99, n >>> 8, n & 255), body))
    : sha256(concat(Uint8Array.of(0x9b, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255), body));
}

export type SourceKeyShape = {
  version: 4 | 6;
  /** lower-case hex, as OpenPGP.js prints it */
  fingerprint: string;
  packets: RawPacket[];
};

/**
 * The public key block of a source key (its bytes, dearmored): exactly one of the two shapes.
 * Throws OpenPgpCheckError with `not_a_key`, `bad_key_packets`, `secret_key_material`,
 * `not_one_key`, `bad_key_algorithm`, `bad_key_structure` or `bad_source_key`.
 */
export function checkSourcePublicKeyPackets(bytes: Uint8Array): SourceKeyShape {
  const packets = readKeyPackets(bytes, 'publicKey');
  if (packets.length === 0) fail('not_a_key', 'expected a public key in publicKey, got no packets');
  const secret = packets.find((p) => p.tag === TAG.secretKey || p.tag === TAG.secretSubkey);
  if (secret) fail('secret_key_material', `expected a public key in publicKey, got ${tagName(secret.tag)}`);
  if (packets[0]!.tag !== TAG.publicKey) fail('bad_key_structure', `expected a public key packet first in publicKey, got ${tagName(packets[0]!.tag)}`);
  const primaries = packets.filter((p) => p.tag === TAG.publicKey).length;
  if (primaries > 1) fail('not_one_key', `expected exactly one public key in publicKey, got ${primaries}`);
  const shape = checkKeyPacket(packets[0]!.body, 'primary', undefined, 'the primary key');

  const other = packets.find((p) => !shape.order.includes(p.tag));
  if (other) fail('bad_key_structure', `expected only ${shape.name} packets in publicKey, got ${tagName(other.tag)}`);
  const counted = (tag: number) => packets.filter((p) => p.tag === tag).length;
  for (const [tag, name] of [[TAG.userId, 'user id'], [TAG.publicSubkey, 'subkey'], [TAG.signature, 'signature']] as const) {
    const want = shape.order.filter((t) => t === tag).length;
    if (counted(tag) !== want) fail('bad_key_structure', `expected exactly ${want} ${name}${want > 1 ? 's' : ''} in a ${shape.name} key, got ${counted(tag)}`);
  }
  const order = packets.map((p) => p.tag);
  if (order.join() !== shape.order.join()) {
    fail('bad_key_structure', `expected the packets in the order ${shape.order.map((t) => TAG_NAMES[t]).join(', ')}, got ${order.map((t) => TAG_NAMES[t]).join(', ')}`);
  }

  const fpr = fingerprintOf(shape.version, packets[0]!.body);
  const issuer = { fingerprint: fpr, keyId: fpr.subarray(fpr.length - 8) };
  let signature = 0;
  for (const packet of packets.slice(1)) {
    if (packet.tag === TAG.userId && !equal(packet.body, USER_ID)) {
      const shown = new TextDecoder('utf-8', { fatal: false }).decode(packet.body.subarray(0, 64));
      fail('bad_source_key', `expected the single user id ${JSON.stringify(SOURCE_KEY_USER_ID.name)}, got ${JSON.stringify(shown)}`);
    }
    if (packet.tag === TAG.publicSubkey) checkKeyPacket(packet.body, 'subkey', shape, 'the subkey');
    if (packet.tag === TAG.signature) checkSignature(packet.body, shape, signature++, issuer);
  }
  return { version: shape.version, fingerprint: hex(fpr), packets };
}

/**
 * The locked private key block (its bytes, dearmored) against the public one already checked:
 * the same packets, each key packet a secret one whose public fields are the public key's and
 * whose secret part is locked exactly as the pages lock it. Throws OpenPgpCheckError with
 * `not_a_key`, `bad_key_packets`, `key_mismatch`, `unlocked_private_key` or `bad_private_key`.
 */
export function checkSourcePrivateKeyPackets(bytes: Uint8Array, pub: SourceKeyShape): void {
  const shape = pub.version === 4 ? V4 : V6;
  const packets = readKeyPackets(bytes, 'lockedPrivateKey');
  if (packets.length === 0) fail('not_a_key', 'expected a private key in lockedPrivateKey, got no packets');
  const publicPacket = packets.find((p) => p.tag === TAG.publicKey || p.tag === TAG.publicSubkey);
  if (publicPacket) fail('bad_private_key', `expected secret key packets in lockedPrivateKey, got ${tagName(publicPacket.tag)}`);
  const secretTag = (tag: number) => (tag === TAG.publicKey ? TAG.secretKey : tag === TAG.publicSubkey ? TAG.secretSubkey : tag);
  const want = pub.packets.map((p) => secretTag(p.tag));
  const got = packets.map((p) => p.tag);
  if (got.join() !== want.join()) {
    fail('key_mismatch', `expected lockedPrivateKey to hold the packets of ${pub.fingerprint} (${want.map((t) => TAG_NAMES[t] ?? t).join(', ')}), got ${got.map((t) => TAG_NAMES[t] ?? t).join(', ')}`);
  }
  packets.forEach((packet, i) => {
    const publicBody = pub.packets[i]!.body;
    if (packet.tag !== TAG.secretKey && packet.tag !== TAG.secretSubkey) {
      if (!equal(packet.body, publicBody)) fail('key_mismatch', `expected ${tagName(packet.tag)} ${i + 1} of lockedPrivateKey to be the public key's, got other bytes`);
      return;
    }
    const primary = packet.tag === TAG.secretKey;
    const what = primary ? 'the secret primary key' : 'the secret subkey';
    if (!equal(packet.body.subarray(0, publicBody.length), publicBody)) {
      fail('key_mismatch', `expected lockedPrivateKey to be the secret half of ${pub.fingerprint}, got other public fields in ${what}`);
    }
    const lock = packet.body.subarray(publicBody.length);
    const usage = lock[0];
    if (usage === 0) fail('unlocked_private_key', `expected ${what} locked with a passphrase, got it unlocked`);
    // GnuPG's stubs: S2K type 101 ("gnu-dummy") where the secret would be
    const s2kType = shape.version === 4 ? lock[2] : lock[5];
    if (s2kType === 101) fail('bad_private_key', `expected secret material for ${what}, got a stub`);
    const parts = primary ? shape.lock.primary : shape.lock.subkey;
    const head = partLength(parts);
    if (lock.length < head) fail('bad_private_key', `expected ${head} bytes of lock parameters in ${what}, got ${lock.length}`);
    matchParts(lock.subarray(0, head), parts, `the lock parameters of ${what}`, 'bad_private_key');
    const [min, max] = primary ? shape.lock.encrypted.primary : shape.lock.encrypted.subkey;
    const sealed = lock.length - head;
    if (sealed < min || sealed > max) {
      fail('bad_private_key', `expected ${min === max ? min : `${min} to ${max}`} bytes of encrypted secret key in ${what}, got ${sealed}`);
    }
  });
}
