/**
 * decryptSubmission (1 MiB chunks) over files whose length falls at, just before and just after a
 * chunk boundary, with the SEIPD's plaintext at every residue mod 16 around it, in one definite
 * length and in 2^16 parts: the fast path must end exactly as the usual path alone (here: a valid
 * MDC over an envelope that breaks the protocol, which the fast path decides itself) and must take
 * it without declining (a decline here is not unsafe, but would mean a boundary it misreads).
 */

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Identity } from '../../../cli/identities.ts';
import { demoKeys, envelope, packet, runDecrypt } from './_helpers.ts';
import { FAST_OFF, isFastWorker } from './_mock-workers.ts';

const workers = vi.hoisted(() => ({ transform: (source: string) => source, started: [] as string[] }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(source: string, options?: import('node:worker_threads').WorkerOptions) {
      workers.started.push(source);
      super(workers.transform(source), options);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

let dir: string;
let pub: openpgp.PublicKey;
let identity: Identity;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14c-boundary-'));
  ({ pub, identity } = await demoKeys());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MIB = 2 ** 20;

/** A message of exactly `total` bytes: PKESK + SEIPD (definite or 2^16 parts) over a literal of a valid envelope's start. */
async function sized(total: number, partial: number | undefined, base: Uint8Array) {
  const key = randomBytes(32);
  const pkesk = (await openpgp.encryptSessionKey({ data: key, algorithm: 'aes256', encryptionKeys: pub, format: 'binary' })) as Uint8Array;
  const build = (dataLength: number): Uint8Array => {
    const data = base.subarray(0, dataLength);
    const lit = Buffer.concat([Buffer.from([0xcb, 0xff, 0, 0, 0, 0, 0x62, 0, 0, 0, 0, 0]), data]);
    lit.writeUInt32BE(6 + data.length, 2);
    const r = randomBytes(16);
    const hashed = Buffer.concat([r, r.subarray(14), lit, Buffer.from([0xd3, 0x14])]);
    const plain = Buffer.concat([hashed, createHash('sha1').update(hashed).digest()]);
    const cipher = createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
    return Buffer.concat([pkesk, packet(18, Buffer.concat([Buffer.from([1]), cipher.update(plain), cipher.final()]), partial)]);
  };
  // the framing's length depends a little on the data's: search the data length that gives `total`
  let dataLength = total - (build(0).length);
  for (let i = 0; i < 8; i++) {
    const got = build(dataLength).length;
    if (got === total) return build(dataLength);
    dataLength += total - got;
  }
  throw new Error(`no data length gives ${total} bytes`);
}

it('files ending at every offset around the 1 and 2 MiB chunk boundaries end as the usual path alone, taken by the fast path', async () => {
  const base = await envelope(3 * MIB); // a valid envelope, cut: its end breaks the protocol
  const seen: string[] = [];
  for (const boundary of [MIB, 2 * MIB]) {
    for (const delta of [-23, -22, -21, -17, -16, -15, -1, 0, 1, 15, 16, 17, 21, 22, 23]) {
      for (const partial of [undefined, 16]) {
        const message = await sized(boundary + delta, partial, base);
        const name = `${boundary + delta} bytes, ${partial === undefined ? 'one length' : '2^16 parts'}`;
        workers.transform = FAST_OFF;
        const usual = await runDecrypt(dir, message, identity);
        workers.transform = (s) => s;
        workers.started = [];
        const quick = await runDecrypt(dir, message, identity);
        expect(quick.outcome, name).toEqual(usual.outcome);
        expect(quick.left, name).toEqual(usual.left);
        expect(workers.started.map((s) => (isFastWorker(s) ? 'fast' : 'usual')), `${name}: the fast path declined`).toEqual(['fast']);
        seen.push(usual.outcome.status === 'failed' ? usual.outcome.reason : usual.outcome.status);
      }
    }
  }
  expect(new Set(seen)).toEqual(new Set(['invalid envelope (truncated)']));
});
