/**
 * The first round's fix bounds the worker's reading by the size fstat gave at open, and declines on
 * one byte beyond it. Attacked here: a file that changes size after the check, at the moment the fast
 * path starts its worker (after fstat, before any read of it):
 * - shrinks by 1 byte, by 22 bytes (the MDC gone), to half, to 0 — and stays so;
 * - grows by exactly one byte, by 4 MiB — and stays so;
 * - grows by one byte, or shrinks by one, and is put back before the usual path starts reading.
 * The same change made when the usual path's reader starts, with the fast path off, is the reference.
 * Safe means: the same outcome and files as that reference, nothing left in OUT_DIR when it failed,
 * and the bytes told to onCiphertextBytes those of the reference (never a byte told twice).
 */

import { appendFileSync, closeSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../../cli/identities.ts';
import { demoKeys, envelope, handMade, literalPacket, randomData, runDecrypt } from '../attack14c/_helpers.ts';
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
let message: Uint8Array;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14d-size-'));
  ({ pub, identity } = await demoKeys());
  ({ message } = await handMade(pub, literalPacket(await envelope(3_500_000), { partial: 16 }), { partial: 16 }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Change = (file: string, original: Uint8Array) => void;
const shrinkTo = (n: (size: number) => number): Change => (file, original) => truncateSync(file, n(original.length));
/** the bytes appended: the same in both runs of a case (OpenPGP.js's error depends on them) */
const GROWTH = randomData(4 * 2 ** 20);
const grow = (bytes: number): Change => (file) => appendFileSync(file, GROWTH.subarray(0, bytes));
const putBack: Change = (file, original) => {
  const fd = openSync(file, 'r+');
  writeSync(fd, original, 0, original.length, 0);
  closeSync(fd);
  truncateSync(file, original.length);
};

/** `change` when the first reader the path under test uses starts; `restore` when the usual path's reader starts after it. */
async function run(fastOff: boolean, change: Change, restore?: Change) {
  workers.transform = fastOff ? FAST_OFF : (s) => s;
  let file = '';
  let changed = false;
  let restored = false;
  workers.onStart = (fast) => {
    if (!changed && fast === !fastOff) {
      change(file, message);
      changed = true;
    } else if (changed && !fast && restore !== undefined && !restored) {
      restore(file, message);
      restored = true;
    }
  };
  let told = 0;
  try {
    const result = await runDecrypt(dir, message, identity, {
      beforeRun: (path) => { file = path; },
      onCiphertextBytes: (n) => { told += n; },
    });
    return { ...result, told, changed, restored, finalSize: readFileSync(file).length };
  } finally {
    workers.onStart = () => {};
  }
}

describe('a file whose size changes after its check', () => {
  const stays: [string, Change, number?][] = [
    ['shrinks by 1 byte', shrinkTo((s) => s - 1)],
    ['shrinks by 22 bytes (its MDC)', shrinkTo((s) => s - 22)],
    ['shrinks to half', shrinkTo((s) => Math.floor(s / 2))],
    ['shrinks to 0', shrinkTo(() => 0)],
    ['grows by exactly 1 byte', grow(1), 1],
    ['grows by 4 MiB', grow(4 * 2 ** 20), 4 * 2 ** 20],
  ];
  for (const [name, change, grown] of stays) {
    it(`${name}, and stays so: ends as the usual path alone`, async () => {
      const usual = await run(true, change);
      const quick = await run(false, change);
      expect(usual.changed && quick.changed).toBe(true);
      expect(usual.outcome.status).toBe('failed');
      expect(quick.outcome, name).toEqual(usual.outcome);
      expect(quick.left, name).toEqual([]);
      if (grown === undefined) {
        expect(quick.told, `${name}: bytes told (usual path alone: ${usual.told})`).toBe(usual.told);
      } else {
        // how far the usual path reads past an error depends on its read-ahead: bounded, not exact
        expect(quick.told, `${name}: bytes told`).toBeGreaterThanOrEqual(message.length);
        expect(quick.told, `${name}: bytes told`).toBeLessThanOrEqual(message.length + grown);
      }
    });
  }

  const restores: [string, Change][] = [
    ['grows by 1 byte', grow(1)],
    ['shrinks by 1 byte', shrinkTo((s) => s - 1)],
    ['shrinks to 0', shrinkTo(() => 0)],
  ];
  for (const [name, change] of restores) {
    it(`${name} while the fast path reads, put back before the usual path: ok, told once`, async () => {
      const quick = await run(false, change, putBack);
      expect(quick.changed).toBe(true);
      // the fast path declined (it saw the change), so the usual path read the file put back
      expect(quick.restored, `${name}: the fast path declined`).toBe(true);
      expect(quick.outcome.status, name).toBe('ok');
      workers.transform = FAST_OFF;
      const original = await runDecrypt(dir, message, identity);
      expect(quick.files!.equals(original.files!), name).toBe(true);
      expect(quick.told, `${name}: bytes told for a ${message.length}-byte file`).toBe(message.length);
    });
  }
});
