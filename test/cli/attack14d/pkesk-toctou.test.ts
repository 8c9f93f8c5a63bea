/**
 * The PKESK packets are read twice by the fast path: once by the main thread (`handle.read` of the
 * first HEAD_BYTES, which parseOuterLayout and OpenPGP.js's decryptSessionKeys take the session key
 * from) and once by the worker, which hashes them (SHA-256 of the whole file) but skips them
 * (frame 'pre') without comparing them with what the main thread read. A file that changes between
 * the two readings (a FUSE or network file system the bundle sits on, the same attacker as the
 * first round's growing file and flipped byte) can so give the session key from PKESK A while the
 * bytes hashed — and compared with bundle.json — carry PKESK B.
 *
 * The file here: PKESK_A ‖ SEIPD(key A) when opened; bundle.json's size and SHA-256 are those of
 * PKESK_B ‖ SEIPD(key A) (same length: X25519 PKESKs are), which no path can decrypt (key B opens
 * nothing). PKESK_B is written in place over PKESK_A when the fast path starts its worker, i.e.
 * after the main thread read the head. The usual path alone (fast path off, the same swap when its
 * reader starts) decrypts only what it hashes and refuses it. Safe means: the fast path ends the
 * same (failed, nothing left), never 'ok' with the plaintext of a ciphertext bundle.json's SHA-256
 * does not describe.
 */

import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Identity } from '../../../cli/identities.ts';
import { demoKeys, envelope, literalPacket, packet, runDecrypt } from '../attack14c/_helpers.ts';
import { FAST_OFF } from '../attack14c/_mock-workers.ts';

const workers = vi.hoisted(() => ({ transform: (source: string) => source, onStart: (_fast: boolean) => {} }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(source: string, options?: import('node:worker_threads').WorkerOptions) {
      workers.onStart(source.includes("createHash('sha1')"));
      super(workers.transform(source), options);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

let dir: string;
let pub: openpgp.PublicKey;
let identity: Identity;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14d-pkesk-'));
  ({ pub, identity } = await demoKeys());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const esk = async (key: Buffer) =>
  (await openpgp.encryptSessionKey({ data: key, algorithm: 'aes256', encryptionKeys: pub, format: 'binary' })) as Uint8Array;

function seipd(inner: Uint8Array, key: Buffer): Uint8Array {
  const r = randomBytes(16);
  const hashed = Buffer.concat([r, r.subarray(14), inner, Buffer.from([0xd3, 0x14])]);
  const plain = Buffer.concat([hashed, createHash('sha1').update(hashed).digest()]);
  const cipher = createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
  return packet(18, Buffer.concat([Buffer.from([1]), cipher.update(plain), cipher.final()]), 16);
}

async function swapRun(hashed: Uint8Array, atOpen: Uint8Array, swapIn: Uint8Array, fastOff: boolean) {
  workers.transform = fastOff ? FAST_OFF : (s) => s;
  let file = '';
  let swapped = 0;
  workers.onStart = (fast) => {
    // the fast path's worker (after the main thread read the head), or the usual path's reader
    if ((fast && !fastOff) || (!fast && fastOff)) {
      if (swapped++ > 0) return;
      const fd = openSync(file, 'r+');
      writeSync(fd, swapIn, 0, swapIn.length, 0);
      closeSync(fd);
    }
  };
  try {
    return {
      ...(await runDecrypt(dir, hashed, identity, {
        beforeRun: (path) => {
          file = path;
          writeFileSync(path, atOpen); // what is there when the file is opened and checked
        },
      })),
      swapped,
    };
  } finally {
    workers.onStart = () => {};
  }
}

// The first check below once hung CI (2026-12-02): on the file as hashed (the right key, the wrong
// session key) OpenPGP.js stopped for good on the garbage plaintext of some session keys (about 1 in
// 16); the usual path now ends that as 'stalled' (cli/openpgp-watch.ts, test/cli/openpgp-stall.test.ts),
// which is 'failed' as well, the same for all three runs of that file.
it('a PKESK swapped after the head was read: the fast path gives no plaintext the SHA-256 does not cover', async () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const pkeskA = await esk(keyA);
  const pkeskB = await esk(keyB);
  expect(pkeskA.length, 'both PKESKs of one length (X25519)').toBe(pkeskB.length);
  const body = seipd(literalPacket(await envelope(3_000_000), { partial: 16 }), keyA);
  const atOpen = Buffer.concat([pkeskA, body]);
  const hashed = Buffer.concat([pkeskB, body]);

  // sanity: the file as opened decrypts (usual path alone, no swap); the file as hashed does not
  workers.transform = FAST_OFF;
  const asOpened = await runDecrypt(dir, atOpen, identity);
  expect(asOpened.outcome.status).toBe('ok');
  const asHashed = await runDecrypt(dir, hashed, identity);
  expect(asHashed.outcome.status).toBe('failed');

  const usual = await swapRun(hashed, atOpen, pkeskB, true);
  expect(usual.swapped).toBe(1);
  expect(usual.outcome.status, 'the usual path decrypts only what it hashes').toBe('failed');

  const quick = await swapRun(hashed, atOpen, pkeskB, false);
  expect(quick.swapped).toBe(1);
  // the attacker's break, fixed (the worker compares the PKESK bytes it hashes with those the key came from): before, the fast path took the session key from PKESK_A (read by the main thread,
  // never hashed) and accepted a tip whose hashed bytes carry PKESK_B, which decrypts nothing
  expect(
    quick.outcome.status === 'ok' ? `ok, ${quick.files!.length} bytes of files from a ciphertext whose SHA-256 names PKESK_B` : quick.outcome.status,
  ).toBe('failed');
  expect(quick.outcome).toEqual(usual.outcome);
  expect(quick.left).toEqual([]);
});
