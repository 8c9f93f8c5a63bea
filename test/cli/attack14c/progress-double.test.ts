/**
 * A tip the usual path takes, but the fast path declines only at the very end (a quick check that
 * does not hold, or an MDC packet whose two header bytes are not d3 14, under a valid SHA-1 — a
 * hostile sender knows the session key and can make both): the fast path has already told the
 * progress bar every byte of the file, then the usual path tells it every byte again. Safe means:
 * the same outcome and files as with the fast path off, AND the bytes told to onCiphertextBytes
 * equal the file's size, as they do with the fast path off.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../../cli/identities.ts';
import type * as openpgp from 'openpgp';
import { demoKeys, envelope, handMade, literalPacket, runDecrypt } from './_helpers.ts';
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

let dir: string;
let pub: openpgp.PublicKey;
let identity: Identity;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14c-progress-'));
  ({ pub, identity } = await demoKeys());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function measure(ciphertext: Uint8Array, fastOff: boolean) {
  workers.transform = fastOff ? FAST_OFF : (s) => s;
  let told = 0;
  const run = await runDecrypt(dir, ciphertext, identity, { onCiphertextBytes: (n) => { told += n; } });
  return { ...run, told };
}

describe('progress of a tip the fast path declines at its end', () => {
  const cases: [string, { badQuickCheck?: boolean; mdcHead?: [number, number] }][] = [
    ['a quick check that fails, the MDC valid', { badQuickCheck: true }],
    ['an MDC packet header of d3 15, its SHA-1 valid', { mdcHead: [0xd3, 0x15] }],
  ];
  for (const [name, options] of cases) {
    it(`${name}: decrypted as before, and its bytes counted once`, async () => {
      const plain = await envelope(3_000_000);
      const { message } = await handMade(pub, literalPacket(plain, { partial: 16 }), { partial: 16, ...options });
      const usual = await measure(message, true);
      const quick = await measure(message, false);
      // the usual path takes it (OpenPGP.js checks neither the quick check nor the MDC's header bytes)
      expect(usual.outcome.status).toBe('ok');
      expect(quick.outcome).toEqual(usual.outcome);
      expect(quick.files!.equals(usual.files!)).toBe(true);
      expect(usual.told).toBe(message.length);
      // the attacker's break, fixed: before, told twice (the fast path's pass, then the usual path's)
      expect(quick.told, `bytes told to the progress bar for a ${message.length}-byte file`).toBe(message.length);
    });
  }

  it('a flipped bit in the last byte (MDC fails): progress told as with the fast path off', async () => {
    const plain = await envelope(3_000_000);
    const { message } = await handMade(pub, literalPacket(plain, { partial: 16 }), { partial: 16 });
    message[message.length - 1]! ^= 1;
    const usual = await measure(message, true);
    const quick = await measure(message, false);
    expect(quick.outcome).toEqual(usual.outcome);
    expect(quick.outcome.status).toBe('failed');
    expect(quick.told, `usual path told ${usual.told}`).toBe(usual.told);
  });
});
