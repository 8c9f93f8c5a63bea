/**
 * The fast path's worker failing, and the file changing under it.
 * - The worker dies mid-stream (exit) or throws while answering the digest at the end: the fast
 *   path is to decline, and the submission end as with the usual path alone (the contract of
 *   SeipdReader: "Throws FastPathDeclined for any failure, of the file as of the worker").
 * - TOCTOU: a byte of the file flipped while the fast path reads it (after the literal began), then
 *   put back before the usual path starts: the tip must end ok with exactly the original's files
 *   (each path hashes what it decrypts); flipped and left flipped: failed, nothing left.
 */

import { writeSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Identity } from '../../../cli/identities.ts';
import { demoKeys, envelope, handMade, literalPacket, runDecrypt } from './_helpers.ts';
import { FAST_OFF, isFastWorker } from './_mock-workers.ts';

const workers = vi.hoisted(() => ({ transform: (source: string) => source, onUsual: () => {} }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(source: string, options?: import('node:worker_threads').WorkerOptions) {
      if (!source.includes("createHash('sha1')")) workers.onUsual();
      super(workers.transform(source), options);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

let dir: string;
let pub: openpgp.PublicKey;
let identity: Identity;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14c-worker-'));
  ({ pub, identity } = await demoKeys());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const onlyFast = (change: (source: string) => string) => (source: string) => (isFastWorker(source) ? change(source) : source);

const injections: [string, (s: string) => string][] = [
  ['exits after 2 MiB', (s) => s.replace('const bytes = view.subarray(0, length);', 'if (position >= 2 * 1048576) process.exit(7); const bytes = view.subarray(0, length);')],
  ['throws at the digest', (s) => s.replace("parentPort.postMessage({ type: 'digest'", "throw new Error('the worker failed at the digest'); parentPort.postMessage({ type: 'digest'")],
  ['exits at the digest', (s) => s.replace("parentPort.postMessage({ type: 'digest'", "process.exit(9); parentPort.postMessage({ type: 'digest'")],
];
for (const [name, change] of injections) {
  it(`a worker that ${name} ends as the usual path alone`, async () => {
    const plain = await envelope(4_000_000);
    const { message } = await handMade(pub, literalPacket(plain, { partial: 16 }), { partial: 16 });
    workers.transform = FAST_OFF;
    const usual = await runDecrypt(dir, message, identity);
    expect(usual.outcome.status).toBe('ok');
    const sample = "const bytes = view.subarray(0, length); parentPort.postMessage({ type: 'digest'";
    expect(change(sample), `${name}: the injection applies`).not.toBe(sample);
    workers.transform = onlyFast(change);
    const quick = await runDecrypt(dir, message, identity);
    // the attacker's break, fixed: before, digest() rejects with a plain Error, not a FastPathDeclined, so no fallback
    expect(quick.outcome, name).toEqual(usual.outcome);
    expect(quick.files?.equals(usual.files!), name).toBe(true);
  });
}

it('TOCTOU: a byte flipped during the fast path, then put back or left: only the original comes out', async () => {
  const plain = await envelope(4_000_000);
  const { message } = await handMade(pub, literalPacket(plain, { partial: 16 }), { partial: 16 });
  workers.transform = FAST_OFF;
  const original = await runDecrypt(dir, message, identity);
  expect(original.outcome.status).toBe('ok');
  workers.transform = (s) => s;
  for (const putBack of [true, false]) {
    let path = '';
    let flipped = false;
    const at = message.length - 100_000; // in the last chunk: not read when the first is told
    const poke = (value: number): void => {
      const fd = openSync(path, 'r+');
      writeSync(fd, Buffer.from([value]), 0, 1, at);
      closeSync(fd);
    };
    workers.onUsual = () => {
      if (putBack && flipped) poke(message[at]!);
    };
    const run = await runDecrypt(dir, message, identity, {
      beforeRun: (file) => { path = file; },
      onCiphertextBytes: () => {
        if (!flipped) {
          poke(message[at]! ^ 0x40);
          flipped = true;
        }
      },
    });
    workers.onUsual = () => {};
    expect(flipped).toBe(true);
    if (putBack) {
      expect(run.outcome).toEqual(original.outcome);
      expect(run.files!.equals(original.files!)).toBe(true);
    } else {
      expect(run.outcome.status).toBe('failed');
      expect(run.left).toEqual([]);
    }
  }
});
