/**
 * The fast path against openpgp.decrypt (what the usual path calls), on hand-made messages whose
 * every framing field is chosen at random around the edges: SEIPD and literal partial parts of
 * 2^9..2^13 bytes, final parts of 0..40 bytes (the MDC split across parts, a zero-length last part),
 * old- and new-format literal headers and lengths, a literal length that disagrees with the SEIPD
 * (short or long), bytes after the literal, name lengths 0..255 with invalid UTF-8, formats b/u/t/m,
 * MDC header bytes other than d3 14 with a valid SHA-1, a broken quick check, the SEIPD's plaintext
 * length at every residue mod 16, a definite SEIPD length 1 or 16 bytes or 1 MiB off, and worker chunks of 1..23 bytes and at 16-byte multiples ± 1.
 * Safe means: whenever the fast path gives data, openpgp.decrypt gives the same bytes (the fast path
 * may decline anything; it must never accept what the usual path refuses, nor differ from it).
 */

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HEAD_BYTES, LiteralParser, openSeipdReader, parseOuterLayout } from '../../../cli/seipd.ts';
import { demoKeys, packet } from './_helpers.ts';

let dir: string;
let pub: openpgp.PublicKey;
let sec: openpgp.PrivateKey;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14c-diff-'));
  ({ pub, sec } = await demoKeys());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// a seeded PRNG (mulberry32): a failure names its seed and replays
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** old format (4-octet length), one 5-octet length, or parts of 2^p; lenDelta: a definite length that lies */
function framed(tag: number, body: Uint8Array, p: number | undefined, oldFormat: boolean, lenDelta = 0): Uint8Array {
  if (oldFormat) {
    const header = Buffer.from([0x80 | (tag << 2) | 2, 0, 0, 0, 0]);
    header.writeUInt32BE(Math.max(0, body.length + lenDelta), 1);
    return Buffer.concat([header, body]);
  }
  if (p === undefined) {
    const header = Buffer.from([0xc0 | tag, 0xff, 0, 0, 0, 0]);
    header.writeUInt32BE(Math.max(0, body.length + lenDelta), 2);
    return Buffer.concat([header, body]);
  }
  return packet(tag, body, p);
}

let counter = 0;
async function fastPath(bytes: Uint8Array, chunkSize: number): Promise<Uint8Array> {
  const path = join(dir, `m${counter++}.pgp`);
  await writeFile(path, bytes);
  const handle = await open(path, 'r');
  try {
    const { pkesks, seipdAt } = parseOuterLayout(bytes.subarray(0, HEAD_BYTES));
    const [sk] = await openpgp.decryptSessionKeys({ message: await openpgp.readMessage({ binaryMessage: pkesks }), decryptionKeys: sec });
    const reader = openSeipdReader(handle.fd, { chunkSize, readAhead: 2, seipdAt, pkesks, algorithm: sk!.algorithm!, key: sk!.data, size: bytes.length });
    try {
      const literal = new LiteralParser();
      const parts: Uint8Array[] = [];
      for (;;) {
        const next = await reader.next();
        if (next.done) break;
        for (const part of literal.push(next.plaintext)) parts.push(part.slice());
      }
      literal.end();
      const digest = await reader.digest();
      if (digest.bytes !== bytes.length || digest.sha256 !== createHash('sha256').update(bytes).digest('hex')) throw new Error('digest differs');
      return Buffer.concat(parts);
    } finally {
      await reader.close();
    }
  } finally {
    await handle.close();
    await rm(path);
  }
}

async function usualPath(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.slice(i, i + 1000));
      c.close();
    },
  });
  const message = await openpgp.readMessage({ binaryMessage: stream });
  const { data } = await openpgp.decrypt({ message, decryptionKeys: sec, format: 'binary', config: { allowUnauthenticatedStream: true } });
  return new Uint8Array(await new Response(data as ReadableStream<Uint8Array>).arrayBuffer());
}

function makeCase(rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const dataLength = pick([0, 1, 15, 16, 17, 489, 490, 491, 506, 1000, 4096, 5000, Math.floor(rand() * 20000)]);
  const data = randomBytes(dataLength);
  const nameLength = pick([0, 1, 255, Math.floor(rand() * 256)]);
  const name = rand() < 0.3 ? Buffer.alloc(nameLength, 0xff) : randomBytes(nameLength);
  const format = rand() < 0.85 ? 0x62 : pick([0x75, 0x74, 0x6d, 0x31]);
  const literalBody = Buffer.concat([Buffer.from([format, nameLength]), name, randomBytes(4), data]);
  const litOld = rand() < 0.25;
  const litPartial = !litOld && rand() < 0.5 ? pick([9, 10, 11, 13]) : undefined;
  const lenDelta = rand() < 0.15 ? pick([-1, 1, -16, 22]) : 0;
  let inner: Buffer = Buffer.from(framed(11, literalBody, litPartial, litOld, lenDelta));
  if (rand() < 0.1) inner = Buffer.concat([inner, pick([Buffer.from([0]), Buffer.from(packet(10, Buffer.from('PGP'))), Buffer.from([0xcb, 0])])]);
  if (rand() < 0.05) inner = inner.subarray(0, Math.floor(rand() * inner.length));
  const key = randomBytes(32);
  const r = randomBytes(16);
  const prefix = Buffer.concat([r, r.subarray(14)]);
  if (rand() < 0.1) prefix[16]! ^= 1;
  const mdcHead = rand() < 0.1 ? Buffer.from([pick([0xd3, 0xd2, 0x00]), pick([0x14, 0x13, 0x15])]) : Buffer.from([0xd3, 0x14]);
  const hashed = Buffer.concat([prefix, inner, mdcHead]);
  let plain = Buffer.concat([hashed, createHash('sha1').update(hashed).digest()]);
  if (rand() < 0.05) plain = plain.subarray(0, plain.length - pick([1, 2, 20, 22]));
  const cipher = createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
  const body = Buffer.concat([Buffer.from([1]), cipher.update(plain), cipher.final()]);
  const seipdPartial = rand() < 0.6 ? pick([9, 10, 12]) : undefined;
  // a definite SEIPD length that lies (longer than the file, or shorter: bytes after the SEIPD)
  const seipdDelta = seipdPartial === undefined && rand() < 0.1 ? pick([-1, 1, 16, 2 ** 20]) : 0;
  const seipd = framed(18, body, seipdPartial, false, seipdDelta);
  const chunkSize = pick([1, 2, 15, 16, 17, 21, 22, 23, 511, 512, 513, 4095, 4096, 4097, 65536]);
  return { data, key, seipd, chunkSize, describe: { dataLength, nameLength, format, litOld, litPartial, lenDelta, seipdPartial, seipdDelta, chunkSize, plainLength: plain.length } };
}

it('the fast path never gives bytes openpgp.decrypt does not give (random edge cases, seeded)', async () => {
  const N = Number(process.env.ATTACK_N ?? 400);
  let accepted = 0;
  let declined = 0;
  const pkesk = async (key: Buffer) => (await openpgp.encryptSessionKey({ data: key, algorithm: 'aes256', encryptionKeys: pub, format: 'binary' })) as Uint8Array;
  for (let seed = 1; seed <= N; seed++) {
    const c = makeCase(prng(seed));
    if (c.chunkSize < 16 && c.describe.dataLength > 6000) c.chunkSize = 4096 + c.chunkSize; // keep it quick
    const message = Buffer.concat([await pkesk(c.key), c.seipd]);
    let usual: Uint8Array | Error;
    try {
      usual = await usualPath(message);
    } catch (error) {
      usual = error as Error;
    }
    let quick: Uint8Array | Error;
    try {
      quick = await fastPath(message, c.chunkSize);
    } catch (error) {
      quick = error as Error;
    }
    if (quick instanceof Error) {
      expect(quick.name, `seed ${seed}: the fast path failed with a ${quick.name}: ${quick.message} ${JSON.stringify(c.describe)}`).toBe('FastPathDeclined');
      declined++;
      continue;
    }
    accepted++;
    expect(usual instanceof Error ? `refused: ${usual.message}` : 'accepted', `seed ${seed}: ${JSON.stringify(c.describe)}`).toBe('accepted');
    expect(Buffer.from(quick).equals(Buffer.from(usual as Uint8Array)), `seed ${seed}: other bytes ${JSON.stringify(c.describe)}`).toBe(true);
  }
  console.log(`differential: ${accepted} accepted by the fast path (each equal to openpgp.decrypt), ${declined} declined`);
  expect(accepted).toBeGreaterThan(N / 5);
});

it('MDC split across SEIPD parts and worker chunks at every offset: equal bytes', async () => {
  // SEIPD parts of 512 with a final part of k = 0..40 bytes, for chunk sizes around the split
  const key = randomBytes(32);
  const pk = (await openpgp.encryptSessionKey({ data: key, algorithm: 'aes256', encryptionKeys: pub, format: 'binary' })) as Uint8Array;
  for (let k = 0; k <= 40; k++) {
    // body = 1 (version) + 18 (prefix) + literal + 22 (MDC) = 512 * m + k
    const literalLength = 512 * 3 + k - 1 - 18 - 22; // literal packet (header + body) length
    const litBodyLength = literalLength - 6; // 0xcb, 0xff + 4 length octets
    const data = randomBytes(litBodyLength - 6);
    const lit = Buffer.concat([Buffer.from([0xcb, 0xff, 0, 0, 0, 0]), Buffer.from([0x62, 0, 0, 0, 0, 0]), data]);
    lit.writeUInt32BE(litBodyLength, 2);
    const r = randomBytes(16);
    const hashed = Buffer.concat([r, r.subarray(14), lit, Buffer.from([0xd3, 0x14])]);
    const plain = Buffer.concat([hashed, createHash('sha1').update(hashed).digest()]);
    const cipher = createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
    const body = Buffer.concat([Buffer.from([1]), cipher.update(plain), cipher.final()]);
    expect(body.length).toBe(512 * 3 + k);
    const parts = [Buffer.from([0xd2])];
    for (let at = 0; at < 512 * 3; at += 512) parts.push(Buffer.from([0xe9]), body.subarray(at, at + 512));
    parts.push(Buffer.from([k]), body.subarray(512 * 3));
    const message = Buffer.concat([pk, ...parts]);
    const usual = await usualPath(message);
    for (const chunk of [7, 16, 22, 23, 64, message.length - 1, message.length, message.length + 1]) {
      const quick = await fastPath(message, chunk);
      expect(Buffer.from(quick).equals(Buffer.from(usual)), `k ${k}, chunk ${chunk}`).toBe(true);
      expect(Buffer.from(quick).equals(data)).toBe(true);
    }
  }
});
