/**
 * Shapes the first round did not try, each compared with the usual path alone (fast path off):
 * - a decline after partial reads: a SEIPD part, or a literal part, of 256 bytes (under the fast
 *   path's 512) 2.5 MiB into a 4 MiB tip — the fast path has read and told 2 MiB when it declines;
 *   a byte after the literal packet inside the SEIPD (declined at the end of the plaintext);
 * - parseOuterLayout's PKESK parsing: the demo PKESK in old format with 1-, 2- and 4-octet lengths
 *   and in new format with a 5-octet length; 31 foreign RSA PKESKs of exactly 4096 bytes
 *   (the fast path's largest) plus the demo one, the SEIPD then close to HEAD_BYTES; one foreign
 *   PKESK of 4097 bytes; the demo PKESK after the 31 large ones with a partial-length SEIPD.
 * Safe means: the same outcome, files and OUT_DIR as the usual path alone, and the bytes told to
 * onCiphertextBytes those the usual path alone tells (the file's size when it reads it all).
 */

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../../cli/identities.ts';
import { HEAD_BYTES } from '../../../cli/seipd.ts';
import { demoKeys, envelope, literalPacket, packet, runDecrypt } from '../attack14c/_helpers.ts';
import { FAST_OFF } from '../attack14c/_mock-workers.ts';

const workers = vi.hoisted(() => ({ transform: (source: string) => source, usualStarted: 0 }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(source: string, options?: import('node:worker_threads').WorkerOptions) {
      if (!source.includes("createHash('sha1')")) workers.usualStarted++;
      super(workers.transform(source), options);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

let dir: string;
let pub: openpgp.PublicKey;
let identity: Identity;
let key: Buffer;
let pkesk: Uint8Array;
let plain: Uint8Array;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14d-agree-'));
  ({ pub, identity } = await demoKeys());
  key = randomBytes(32);
  pkesk = (await openpgp.encryptSessionKey({ data: key, algorithm: 'aes256', encryptionKeys: pub, format: 'binary' })) as Uint8Array;
  plain = await envelope(4_000_000);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `body` cut into parts of 2^16 bytes, except the part at index `shortAt`, of 256 bytes; the last part definite. */
function parts(tag: number, body: Uint8Array, shortAt?: number): Uint8Array {
  const out: Uint8Array[] = [Buffer.from([0xc0 | tag])];
  let at = 0;
  let index = 0;
  for (;;) {
    const size = index === shortAt ? 256 : 2 ** 16;
    if (body.length - at <= size) break;
    out.push(Buffer.from([0xe0 | Math.log2(size)]), body.subarray(at, at + size));
    at += size;
    index++;
  }
  const rest = body.length - at;
  out.push(Buffer.from([0xff, rest >>> 24, (rest >>> 16) & 255, (rest >>> 8) & 255, rest & 255]), body.subarray(at));
  return Buffer.concat(out);
}

function seipdOver(inner: Uint8Array, framing: (body: Uint8Array) => Uint8Array = (b) => parts(18, b)): Uint8Array {
  const r = randomBytes(16);
  const hashed = Buffer.concat([r, r.subarray(14), inner, Buffer.from([0xd3, 0x14])]);
  const p = Buffer.concat([hashed, createHash('sha1').update(hashed).digest()]);
  const cipher = createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
  return framing(Buffer.concat([Buffer.from([1]), cipher.update(p), cipher.final()]));
}

/** the demo PKESK's body under another header */
function reframe(header: (length: number) => number[]): Uint8Array {
  const p = Buffer.from(pkesk);
  // OpenPGP.js writes it new-format: c1, then a 1-octet (or 2-octet) length
  const first = p[1]!;
  const bodyAt = first < 192 ? 2 : 3;
  const body = p.subarray(bodyAt);
  return Buffer.concat([Buffer.from(header(body.length)), body]);
}

function foreignPkesk(bodyLength: number): Uint8Array {
  // v3, a random key id, RSA, one MPI filling the rest
  const n = bodyLength - 12;
  const mpi = randomBytes(n);
  mpi[0]! |= 0x80;
  const body = Buffer.concat([Buffer.from([3]), randomBytes(8), Buffer.from([1, (n * 8) >> 8, (n * 8) & 255]), mpi]);
  return packet(1, body);
}

async function compare(name: string, message: Uint8Array) {
  workers.transform = FAST_OFF;
  let usualTold = 0;
  const usual = await runDecrypt(dir, message, identity, { onCiphertextBytes: (n) => { usualTold += n; } });
  workers.transform = (s) => s;
  workers.usualStarted = 0;
  let told = 0;
  const quick = await runDecrypt(dir, message, identity, { onCiphertextBytes: (n) => { told += n; } });
  const fastTook = workers.usualStarted === 0;
  expect(quick.outcome, name).toEqual(usual.outcome);
  expect(quick.left, name).toEqual(usual.left);
  if (usual.files !== undefined) expect(quick.files!.equals(usual.files), name).toBe(true);
  // each byte told once: a tip read to its end tells the same on both; one refused early (its
  // header) tells what the reader had read ahead by then, a chunk or two, which varies from run to run
  if (usual.outcome.status === 'ok' || usualTold === message.length) {
    expect(told, `${name}: bytes told (usual path alone ${usualTold}, file ${message.length})`).toBe(usualTold);
  } else {
    expect(Math.max(told, usualTold), `${name}: bytes told (usual path alone ${usualTold}, this ${told})`).toBeLessThanOrEqual(message.length);
  }
  return { usual, quick, fastTook };
}

describe('a decline after partial reads', () => {
  it('a SEIPD part of 256 bytes 2.5 MiB in', async () => {
    const r = await compare('short SEIPD part', Buffer.concat([pkesk, seipdOver(literalPacket(plain, { partial: 16 }), (b) => parts(18, b, 40))]));
    expect(r.fastTook).toBe(false);
  });
  it('a literal part of 256 bytes 2.5 MiB in', async () => {
    const literalBody = Buffer.concat([Buffer.from([0x62, 0, 0, 0, 0, 0]), plain]);
    const r = await compare('short literal part', Buffer.concat([pkesk, seipdOver(parts(11, literalBody, 40))]));
    expect(r.fastTook).toBe(false);
  });
  it('a byte after the literal packet', async () => {
    await compare('a byte after the literal', Buffer.concat([pkesk, seipdOver(Buffer.concat([literalPacket(plain, { partial: 16 }), Buffer.from([0])]))]));
  });
});

describe('PKESK headers and sizes', () => {
  const body = () => seipdOver(literalPacket(plain, { partial: 16 }));
  const shapes: [string, () => Uint8Array][] = [
    ['old format, 1-octet length', () => reframe((n) => [0x84, n])],
    ['old format, 2-octet length', () => reframe((n) => [0x85, n >> 8, n & 255])],
    ['old format, 4-octet length', () => reframe((n) => [0x86, 0, 0, n >> 8, n & 255])],
    ['new format, 5-octet length', () => reframe((n) => [0xc1, 0xff, 0, 0, n >> 8, n & 255])],
  ];
  for (const [name, make] of shapes) {
    it(`the demo PKESK in ${name}`, async () => {
      const r = await compare(name, Buffer.concat([make(), body()]));
      expect(r.usual.outcome.status, name).toBe('ok');
      console.log(`${name}: ${r.fastTook ? 'taken by the fast path' : 'declined by the fast path'}`);
    });
  }

  it('31 foreign PKESKs of 4096 bytes and the demo one: the SEIPD near HEAD_BYTES', async () => {
    const heads = [...Array.from({ length: 31 }, () => foreignPkesk(4096)), reframe((n) => [0xc1, 0xff, 0, 0, n >> 8, n & 255])];
    const head = Buffer.concat(heads);
    expect(head.length).toBeLessThan(HEAD_BYTES);
    const r = await compare('32 PKESKs', Buffer.concat([head, body()]));
    expect(r.usual.outcome.status).toBe('ok');
    console.log(`32 PKESKs (head ${head.length} of HEAD_BYTES ${HEAD_BYTES}): ${r.fastTook ? 'taken by the fast path' : 'declined by the fast path'}`);
  });
  it('the demo PKESK last after 31 of 4096 bytes, a SEIPD of partial parts', async () => {
    const head = Buffer.concat([...Array.from({ length: 31 }, () => foreignPkesk(4096)), pkesk]);
    const r = await compare('32 PKESKs, partial SEIPD', Buffer.concat([head, seipdOver(literalPacket(plain, { partial: 16 }), (b) => packet(18, b, 16))]));
    expect(r.usual.outcome.status).toBe('ok');
    console.log(`32 PKESKs, partial SEIPD: ${r.fastTook ? 'taken by the fast path' : 'declined by the fast path'}`);
  });
  it('a foreign PKESK of 4097 bytes first', async () => {
    const r = await compare('PKESK of 4097', Buffer.concat([foreignPkesk(4097), pkesk, body()]));
    expect(r.fastTook).toBe(false);
  });
});
