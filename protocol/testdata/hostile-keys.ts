/**
 * @module protocol/testdata/hostile-keys — source "reply keys" an attacker would send, built packet
 * by packet where no tool makes them (a DSA key with 16,384-bit parameters, RSA-16384), or by
 * editing the packets of real keys. Used by the vectors' generator, the protocol and server tests
 * and bench/abuse.bench.ts. Test code: no node:*, so the bench and any test may import it.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { armor, enums, generateKey, readKey, readPrivateKey } from 'openpgp';
import { MAX_SOURCE_KEY_CHARS } from '../openpgp-checks.ts';
import { SOURCE_KEY_DATE, SOURCE_KEY_USER_ID } from '../limits.ts';

export type KeyPair = { publicKey: string; lockedPrivateKey: string };
export type Packet = { tag: number; body: Uint8Array };

export const TAGS = { signature: 2, secretKey: 5, publicKey: 6, secretSubkey: 7, trust: 12, userId: 13, publicSubkey: 14, userAttribute: 17 } as const;

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A new-format packet header with the shortest length encoding (RFC 9580 §4.2.1). */
export function writePacket({ tag, body }: Packet): Uint8Array {
  const n = body.length;
  const length = n < 192 ? [n] : n < 8384 ? [((n - 192) >> 8) + 192, (n - 192) & 255] : [255, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return concat(Uint8Array.of(0xc0 | tag, ...length), body);
}

export const writePackets = (packets: Packet[]) => concat(...packets.map(writePacket));

/** Splits new-format packets (what OpenPGP.js writes); the fixtures' own reader, apart from the one under test. */
export function splitPackets(bytes: Uint8Array): Packet[] {
  const out: Packet[] = [];
  for (let at = 0; at < bytes.length; ) {
    const tag = bytes[at]! & 0x3f;
    const a = bytes[at + 1]!;
    let length: number;
    let head: number;
    if (a < 192) [length, head] = [a, 2];
    else if (a < 224) [length, head] = [((a - 192) << 8) + bytes[at + 2]! + 192, 3];
    else [length, head] = [((bytes[at + 2]! << 24) >>> 0) + (bytes[at + 3]! << 16) + (bytes[at + 4]! << 8) + bytes[at + 5]!, 6];
    out.push({ tag, body: bytes.slice(at + head, at + head + length) });
    at += head + length;
  }
  return out;
}

/** An MPI of exactly `bits` random bits (the top one set). */
export function randomMpi(bits: number): Uint8Array {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(bits / 8)));
  const top = bits - 8 * (bytes.length - 1);
  bytes[0] = (bytes[0]! & ((1 << top) - 1)) | (1 << (top - 1));
  return concat(Uint8Array.of(bits >> 8, bits & 255), bytes);
}

const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
const DATE = u32(SOURCE_KEY_DATE.getTime() / 1000);
const USER_ID = new TextEncoder().encode(SOURCE_KEY_USER_ID.name);

export const v4KeyId = (keyBody: Uint8Array) => sha1(concat(Uint8Array.of(0x99, keyBody.length >> 8, keyBody.length & 255), keyBody)).subarray(12);

/**
 * A v4 self-signature of `type` dated SOURCE_KEY_DATE over `signed` (the user id body for a
 * certification, the subkey body for a binding), issued by `keyBody`'s key id, SHA-256, with the
 * given signature MPIs: never a valid signature, but with the right two-octet hash prefix, so that
 * OpenPGP.js goes on to the public-key arithmetic (RFC 9580 §5.2.4: what checking it costs).
 */
export function v4Signature(type: number, algorithm: number, keyBody: Uint8Array, signed: Uint8Array, mpis: Uint8Array[]): Packet {
  const hashed = concat(Uint8Array.of(5, 2), DATE, Uint8Array.of(9, 16), v4KeyId(keyBody));
  const head = concat(Uint8Array.of(4, type, algorithm, 8, 0, hashed.length), hashed);
  const keyPart = concat(Uint8Array.of(0x99, keyBody.length >> 8, keyBody.length & 255), keyBody);
  const signedPart = type === 0x18 ? concat(Uint8Array.of(0x99, signed.length >> 8, signed.length & 255), signed) : concat(Uint8Array.of(0xb4), u32(signed.length), signed);
  const digest = sha256(concat(keyPart, signedPart, head, Uint8Array.of(4, 0xff), u32(head.length)));
  const body = concat(head, Uint8Array.of(0, 0), digest.subarray(0, 2), ...mpis);
  return { tag: TAGS.signature, body };
}

/** The armored public block of `packets`, and (for pairs) a locked private block. */
export const armorPublic = (packets: Packet[]) => armor(enums.armor.publicKey, writePackets(packets));
export const armorPrivate = (packets: Packet[]) => armor(enums.armor.privateKey, writePackets(packets));

/**
 * The key: a DSA primary (algorithm 17) whose p, q, g and y are `bits` long, the user id
 * `source`, and as many positive certifications (dated 2020-01-01, tiny r and s, the right hash
 * prefix) as fit under MAX_SOURCE_KEY_CHARS. Every cheap check on dates and the user id passes;
 * verifying one of its signatures costs two exponentiations modulo a 16,384-bit p with
 * 16,384-bit exponents (13 to 24 s in OpenPGP.js on the development machine).
 */
export function dsaKey(bits = 16384, maxChars = MAX_SOURCE_KEY_CHARS): { publicKey: string; signatures: number } {
  // q odd and free of 3, 5 and 7, so that s (one of those) has an inverse mod q: w = s⁻¹ mod q is
  // then as long as q, and so are the exponents u1 = H·w and u2 = r·w (RFC 9580 §5.2.3, FIPS 186)
  const q = randomMpi(bits);
  q[q.length - 1]! |= 1;
  const value = (mpi: Uint8Array) => mpi.subarray(2).reduce((n, b) => (n << 8n) | BigInt(b), 0n);
  while ([3n, 5n, 7n].some((d) => value(q) % d === 0n)) {
    for (let i = q.length - 1, carry = 2; carry && i >= 2; i--) {
      const sum = q[i]! + carry;
      q[i] = sum & 255;
      carry = sum >> 8;
    }
  }
  const keyBody = concat(Uint8Array.of(4), DATE, Uint8Array.of(17), randomMpi(bits), q, randomMpi(bits), randomMpi(bits));
  const packets: Packet[] = [{ tag: TAGS.publicKey, body: keyBody }, { tag: TAGS.userId, body: USER_ID }];
  const small = () => Uint8Array.of(0, 3, [3, 5, 7][crypto.getRandomValues(new Uint8Array(1))[0]! % 3]!);
  const signature = () => v4Signature(0x13, 17, keyBody, USER_ID, [small(), small()]);
  packets.push(signature());
  // grow while the armor fits (a signature is ~24 bytes, ~32 armored characters)
  for (;;) {
    const more = [...packets, signature()];
    if (armorPublic(more).length > maxChars) break;
    packets.splice(0, packets.length, ...more);
  }
  return { publicKey: armorPublic(packets), signatures: packets.length - 2 };
}

/** RSA (algorithm 1) primary and subkey of `bits`, e = 65537, each with a `bits`-long signature. */
export function rsaKey(bits = 16384): string {
  const e = Uint8Array.of(0, 17, 1, 0, 1);
  const primary = concat(Uint8Array.of(4), DATE, Uint8Array.of(1), randomMpi(bits), e);
  const subkey = concat(Uint8Array.of(4), DATE, Uint8Array.of(1), randomMpi(bits), e);
  return armorPublic([
    { tag: TAGS.publicKey, body: primary },
    { tag: TAGS.userId, body: USER_ID },
    v4Signature(0x13, 1, primary, USER_ID, [randomMpi(bits)]),
    { tag: TAGS.publicSubkey, body: subkey },
    v4Signature(0x18, 1, primary, subkey, [randomMpi(bits)]),
  ]);
}

/** A v6 RSA key (version 6 packets: a four-octet key material length after the algorithm). */
export function v6RsaKey(bits = 4096): string {
  const material = concat(randomMpi(bits), Uint8Array.of(0, 17, 1, 0, 1));
  const primary = concat(Uint8Array.of(6), DATE, Uint8Array.of(1), u32(material.length), material);
  return armorPublic([{ tag: TAGS.publicKey, body: primary }, { tag: TAGS.userId, body: USER_ID }]);
}

/** The public and private packets of a key pair, to edit. */
export async function packetsOf(pair: KeyPair): Promise<{ pub: Packet[]; priv: Packet[] }> {
  const [pub, priv] = await Promise.all([readKey({ armoredKey: pair.publicKey }), readPrivateKey({ armoredKey: pair.lockedPrivateKey })]);
  return { pub: splitPackets(pub.write()), priv: splitPackets(priv.write()) };
}

/** A real key made by OpenPGP.js with the fixed date and user id, but of another algorithm or shape. */
export async function openpgpKey(options: Omit<Parameters<typeof generateKey>[0], 'userIDs' | 'format'>): Promise<KeyPair> {
  const made = await generateKey({ userIDs: [{ ...SOURCE_KEY_USER_ID }], date: SOURCE_KEY_DATE, passphrase: 'p'.repeat(64), ...options, format: 'armored' });
  return { publicKey: made.publicKey, lockedPrivateKey: made.privateKey };
}
