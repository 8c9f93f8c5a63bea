/**
 * @module test/cli/fixtures — submissions as a source's page makes them (protocol's buildEnvelope and
 * encryptToKeys), and hand-made tar bytes for the envelopes a hostile sender could make instead.
 */

import { createCipheriv, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { buildEnvelope, encryptTip, generateSourceKeyPair, paddedLength, type EnvelopeInput } from '../../protocol/index.ts';
import { DEMO_PUBLIC_KEY } from './helpers.ts';

export async function readDemoPublicKey(): Promise<openpgp.PublicKey> {
  return (await openpgp.readKey({ armoredKey: await readFile(DEMO_PUBLIC_KEY, 'utf8') })) as openpgp.PublicKey;
}

/**
 * A submission exactly as the browser makes it: signed by `signingKey` (the source key, unlocked)
 * when given, as the page signs every tip it can (PROTOCOL.md, "Signed tips"); unsigned as an
 * older page, a streamed tip or a forger makes it otherwise.
 */
export async function makeSubmission(input: EnvelopeInput, key?: openpgp.Key, signingKey?: openpgp.PrivateKey): Promise<Uint8Array> {
  const envelope = await buildEnvelope(input);
  return encryptTip(envelope, [key ?? (await readDemoPublicKey())], signingKey);
}

/** A source's key pair as its page makes it, with the unlocked key that signs its tips and its fingerprint. */
export async function makeSourceKeys(passphrase: string) {
  const keys = await generateSourceKeyPair(passphrase, await readDemoPublicKey());
  const encryptionKeyId = (await keys.signingKey.getEncryptionKey()).getKeyID().toHex();
  return { ...keys, fingerprint: keys.signingKey.getFingerprint(), encryptionKeyId };
}

/** A new-format packet of 2^bits-byte partial parts (the last part a 5-octet length). */
function partialPacket(tag: number, body: Uint8Array, bits: number): Buffer {
  const part = 2 ** bits;
  const parts: Uint8Array[] = [Buffer.from([0xc0 | tag])];
  let at = 0;
  for (; body.length - at > part; at += part) parts.push(Buffer.from([0xe0 | bits]), body.subarray(at, at + part));
  const last = Buffer.alloc(5);
  last[0] = 0xff;
  last.writeUInt32BE(body.length - at, 1);
  parts.push(last, body.subarray(at));
  return Buffer.concat(parts);
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** A SEIPD v1 (AES-256) over `inner`, with a valid MDC: what any sender who knows `key` can make. */
function seipdV1(inner: Uint8Array, key: Buffer): Buffer {
  const random = sha256('stalling prefix').subarray(0, 16);
  const hashed = Buffer.concat([random, random.subarray(14), inner, Buffer.from([0xd3, 0x14])]);
  const cipher = createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
  const body = Buffer.concat([cipher.update(hashed), cipher.update(createHash('sha1').update(hashed).digest()), cipher.final()]);
  return partialPacket(18, Buffer.concat([Buffer.from([1]), body]), 16);
}

/**
 * Ciphertexts to the demo key on which OpenPGP.js 6 (streamed, allowUnauthenticatedStream) stops
 * for good, its promises never settling (cli/openpgp-watch.ts; the usual path now refuses both at
 * their first packet inside, cli/inner-packets.ts, the second's garbage the header of a SED): `innerSeipd`, a sender's valid
 * message whose plaintext is a SEIPD packet of `innerBytes` (tag `innerTag`: 18 SEIPD, 9 SED, 20
 * AEAD); `wrongSessionKey`, a PKESK that opens to a session key (sha256("sealdrop stall key B 21"))
 * other than the SEIPD's, whose garbage plaintext OpenPGP.js happens to stop on (found by trying
 * keys "... B 0" to "... B 30": two did, 21 and 30; fixed, so the case is the same in every run).
 */
export async function stallingCiphertexts(key: openpgp.PublicKey, { innerTag = 18, innerBytes = 3_000_000 } = {}) {
  const sessionKey = sha256('sealdrop stall key A');
  const pkesk = async (data: Buffer) =>
    (await openpgp.encryptSessionKey({ data, algorithm: 'aes256', encryptionKeys: key, format: 'binary' })) as Uint8Array;
  const inner = partialPacket(innerTag, new Uint8Array(innerBytes).map((_, i) => (i * 7) & 0xff), 16);
  const literal = partialPacket(11, Buffer.concat([Buffer.from([0x62, 0, 0, 0, 0, 0]), new Uint8Array(600_000)]), 16);
  return {
    innerSeipd: Buffer.concat([await pkesk(sessionKey), seipdV1(inner, sessionKey)]),
    wrongSessionKey: Buffer.concat([await pkesk(sha256('sealdrop stall key B 21')), seipdV1(literal, sessionKey)]),
  };
}

/** Random lower-case UUID v4. */
export function randomId(): string {
  return crypto.randomUUID();
}

const BLOCK = 512;
const encoder = new TextEncoder();

/**
 * A ustar header written by hand — deliberately not protocol's writer, which would refuse or fix
 * what these tests need to send. Octal fields as GNU tar writes them; checksum made valid.
 */
export function tarHeader(path: string | { name: string; prefix: string }, size: number, typeflag = '0'): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (offset: number, length: number, value: Uint8Array | string) => {
    const bytes = typeof value === 'string' ? encoder.encode(value) : value;
    h.set(bytes.subarray(0, length), offset);
  };
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0') + '\0';
  const { name, prefix } = typeof path === 'string' ? { name: path, prefix: '' } : path;
  put(0, 100, name);
  put(100, 8, octal(0o644, 8));
  put(108, 8, octal(0, 8));
  put(116, 8, octal(0, 8));
  put(124, 12, octal(size, 12));
  put(136, 12, octal(0, 12));
  put(156, 1, typeflag);
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  put(345, 155, prefix);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

export interface RawEntry {
  path: string | { name: string; prefix: string };
  data: Uint8Array | string;
  typeflag?: string;
}

/** A tar archive of `entries`, the end marker, then zeros up to the PADMÉ length. */
export function rawEnvelope(entries: RawEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? encoder.encode(e.data) : e.data;
    parts.push(tarHeader(e.path, data.length, e.typeflag));
    const padded = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK);
    padded.set(data);
    parts.push(padded);
  }
  const tarLength = parts.reduce((n, p) => n + p.length, 0) + 2 * BLOCK;
  const out = new Uint8Array(paddedLength(tarLength));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The canonical manifest text for files the test chooses (names unchecked). */
export function manifestText(message: string, files: { name: string; size: number; path?: string; type?: string }[]): string {
  return JSON.stringify({
    version: 1,
    language: 'en',
    message: { bytes: encoder.encode(message).length },
    files: files.map((f) => ({ name: f.name, path: f.path ?? `files/${f.name}`, type: f.type ?? 'text/plain', size: f.size, stripped: false })),
  });
}
