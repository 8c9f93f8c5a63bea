/**
 * A ciphertext that grows while it is read (an appending process on the same disk, a network or
 * FUSE file system the bundle sits on): bundle.json's size and fstat agree when the file is opened,
 * then every chunk read sees more SEIPD parts appended, each a well-formed 1 MiB partial part of a
 * literal packet that never ends (a hostile sender knows the session key, so it decrypts).
 *
 * The usual path stops on its own: its plaintext passes plaintextCap(size) (1.1 × the size at open
 * + 64 KiB) and it fails as a "compression bomb". The fast path has no such bound: it reads, hashes,
 * decrypts and parses as long as the file grows ("read on: the integrity check at the end comes
 * first"), i.e. forever against an appender that never stops. Safe means: the bytes read (as told to
 * onCiphertextBytes) stay within a small multiple of the size at open, as with the fast path off.
 * The appender here stops at GROW_TO bytes so that the harness ends.
 */

import { appendFileSync } from 'node:fs';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Identity } from '../../../cli/identities.ts';
import { plaintextCap } from '../../../cli/submission.ts';
import { demoKeys, runDecrypt } from './_helpers.ts';
import { FAST_OFF } from './_mock-workers.ts';

const workers = vi.hoisted(() => ({ transform: (source: string) => source }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(source: string, options?: import('node:worker_threads').WorkerOptions) {
      super(workers.transform(source), options);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

const PART = 2 ** 20;
const INITIAL_PARTS = 8; // ahead of the fast path's read-ahead (3 MiB) at every append
const GROW_TO = 96 * PART;

let dir: string;
let pub: openpgp.PublicKey;
let identity: Identity;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14c-grow-'));
  ({ pub, identity } = await demoKeys());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** PKESK + a SEIPD v1 of 1 MiB partial parts over a literal of 1 MiB partial parts, extensible forever. */
async function endlessTip() {
  const key = randomBytes(32);
  const pkesk = (await openpgp.encryptSessionKey({ data: key, algorithm: 'aes256', encryptionKeys: pub, format: 'binary' })) as Uint8Array;
  const cipher = createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
  let body: Buffer = Buffer.from([1]); // the SEIPD's version, then ciphertext
  const feed = (plain: Uint8Array): void => {
    body = Buffer.concat([body, cipher.update(plain)]);
  };
  const parts = (): Buffer => {
    const out: Buffer[] = [];
    while (body.length >= PART) {
      out.push(Buffer.from([0xe0 | 20]), body.subarray(0, PART));
      body = body.subarray(PART);
    }
    return Buffer.concat(out);
  };
  const r = randomBytes(16);
  feed(Buffer.concat([r, r.subarray(14)]));
  feed(Buffer.from([0xcb, 0xe0 | 20, 0x62, 0, 0, 0, 0, 0]));
  feed(new Uint8Array(PART - 6));
  const literalPart = Buffer.concat([Buffer.from([0xe0 | 20]), Buffer.alloc(PART)]);
  for (let i = 1; i < INITIAL_PARTS; i++) feed(literalPart);
  const start = Buffer.concat([pkesk, Buffer.from([0xd2]), parts()]);
  return {
    start,
    more: (): Buffer => {
      feed(literalPart);
      return parts();
    },
  };
}

async function measure(fastOff: boolean) {
  workers.transform = fastOff ? FAST_OFF : (s) => s;
  const tip = await endlessTip();
  let file = '';
  let size = tip.start.length;
  let told = 0;
  const run = await runDecrypt(dir, tip.start, identity, {
    beforeRun: (path) => { file = path; },
    onCiphertextBytes: (n) => {
      told += n;
      // the appender: another MiB for every MiB read, up to GROW_TO
      while (size < GROW_TO && size < told + (INITIAL_PARTS - 1) * PART) {
        const more = tip.more();
        appendFileSync(file, more);
        size += more.length;
      }
    },
  });
  return { ...run, told, atOpen: tip.start.length, grewTo: size };
}

it('a file that grows while it is read is read no further than the usual path reads it', async () => {
  const usual = await measure(true);
  const bound = 2 * (plaintextCap(usual.atOpen) + 4 * PART);
  expect(usual.outcome.status).toBe('failed');
  expect(usual.told, `the usual path read ${usual.told} bytes of a file ${usual.atOpen} bytes at open`).toBeLessThan(bound);

  const quick = await measure(false);
  expect(quick.outcome.status).toBe('failed');
  expect(quick.left).toEqual([]);
  // the attacker's break, fixed: before, the fast path read the file as far as it grew (GROW_TO), not bounded by its size at open
  expect(
    quick.told,
    `with the fast path: ${quick.told} bytes read of a file ${quick.atOpen} bytes at open (grown to ${quick.grewTo}); the usual path alone read ${usual.told} (${usual.outcome.status === 'failed' ? usual.outcome.reason : ''})`,
  ).toBeLessThan(bound);
});
