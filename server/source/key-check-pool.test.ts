import { generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
import { generateSourceKeys } from '../../protocol/source-keys.ts';
import { dsaKey } from '../../protocol/testdata/hostile-keys.ts';
import { demoNewsroomKey } from '../test-helpers.ts';
import {
  checkKeysHere, createKeyCheckPool, KeyCheckBusyError, keyCheckPoolSize, KeyCheckTimeoutError, MAX_KEY_CHECK_WORKERS, type KeyCheckPool,
} from './key-check-pool.ts';
import { CHECK_MODULE, CRASH_HEADER, marked, STALL_HEADER } from './key-check-pool.test-helpers.ts';

let pool: KeyCheckPool;
let good: { publicKey: string; lockedPrivateKey: string };
let unlocked: { publicKey: string; lockedPrivateKey: string };

beforeAll(async () => {
  pool = createKeyCheckPool({ size: 2 });
  const newsroom = await demoNewsroomKey();
  good = await generateSourceKeys('d'.repeat(64), newsroom.key);
  const plain = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], date: new Date('2020-01-01T00:00:00Z') });
  unlocked = { publicKey: plain.publicKey, lockedPrivateKey: plain.privateKey };
});
afterAll(async () => {
  await pool?.close();
});

async function outcome(check: Promise<unknown>) {
  try {
    return { ok: true, value: await check };
  } catch (error) {
    expect(error).toBeInstanceOf(OpenPgpCheckError);
    return { ok: false, code: (error as OpenPgpCheckError).code, message: (error as Error).message };
  }
}

/** Which of the promises settles first (their order, not their time). */
async function first(named: Record<string, Promise<unknown>>): Promise<string> {
  return Promise.race(Object.entries(named).map(([name, p]) => p.then(() => name, () => name)));
}

describe('createKeyCheckPool', () => {
  it('answers exactly as the check on this thread, for good keys and for refusals', async () => {
    const now = new Date();
    const cases = [good, unlocked, { publicKey: good.publicKey, lockedPrivateKey: good.publicKey }, { publicKey: 'junk', lockedPrivateKey: 'junk' }];
    for (const keys of cases) {
      expect(await outcome(pool.check(keys, now))).toEqual(await outcome(checkKeysHere(keys, now)));
    }
    expect((await outcome(pool.check(good, now))).ok).toBe(true);
    expect((await outcome(pool.check(unlocked, now))).code).toBe('unlocked_private_key');
  });

  it('handles many checks at once', async () => {
    const now = new Date();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => outcome(pool.check(i % 2 ? good : unlocked, now))));
    expect(results.map((r) => r.ok)).toEqual(Array.from({ length: 20 }, (_, i) => i % 2 === 1));
  });

  it('refuses a check when maxPending are already waiting, and takes work again once they are done', async () => {
    const small = createKeyCheckPool({ size: 1, maxPending: 2 });
    try {
      const now = new Date();
      const waiting = [small.check(good, now), small.check(good, now)];
      await expect(small.check(good, now)).rejects.toBeInstanceOf(KeyCheckBusyError);
      expect((await Promise.all(waiting)).map((info) => info.fingerprint)).toHaveLength(2);
      expect((await outcome(small.check(good, now))).ok).toBe(true);
    } finally {
      await small.close();
    }
  });

  it('says when every worker has loaded, and fails ready() when one cannot start', async () => {
    const two = createKeyCheckPool({ size: 2 });
    try {
      expect(two.workers).toBe(2);
      await two.ready();
      expect((await outcome(two.check(good, new Date()))).ok).toBe(true);
    } finally {
      await two.close();
    }
    const broken = createKeyCheckPool({ size: 1, checkModule: new URL('./no-such-module.ts', import.meta.url) });
    try {
      await expect(broken.ready()).rejects.toThrow();
      expect(broken.workers).toBe(0);
    } finally {
      await broken.close();
    }
  });

  it('refuses work once closed', async () => {
    const other = createKeyCheckPool({ size: 1 });
    await other.close();
    await expect(other.check(good, new Date())).rejects.toThrow(/closed/);
  });

  it('is sized from the cores: one per core beside the event loop, never fewer than two, at most eight', () => {
    expect([1, 2, 3, 4, 9, 64].map((cores) => keyCheckPoolSize(cores))).toEqual([2, 2, 2, 3, 8, MAX_KEY_CHECK_WORKERS]);
    expect(keyCheckPoolSize()).toBeGreaterThanOrEqual(2);
  });
});

describe('hostile keys and the deadline', () => {
  it("refuses the issue's DSA key on the calling thread, while the only worker is stuck", async () => {
    const stuck = createKeyCheckPool({ size: 1, deadlineMs: 60_000, checkModule: CHECK_MODULE });
    try {
      await stuck.ready();
      const now = new Date();
      const stalled = stuck.check(marked(good, STALL_HEADER), now);
      const hostile = stuck.check({ publicKey: dsaKey().publicKey, lockedPrivateKey: good.lockedPrivateKey }, now);
      // the worker is busy for a minute: an answer now can only have come from this thread
      expect(await first({ hostile, stalled })).toBe('hostile');
      expect((await outcome(hostile)).code).toBe('bad_key_algorithm');
      await stuck.close();
      await expect(stalled).rejects.toThrow(/closed/);
    } finally {
      await stuck.close();
    }
  });

  it('a check past its deadline fails alone: its worker is replaced, and an honest check on the other worker answers first', async () => {
    // 3 s: a warm worker's honest check (23-68 ms at a load average of 15, while the stalled one
    // spins on the other core) stays far inside it; the stalled one never ends by itself
    const timed = createKeyCheckPool({ size: 2, deadlineMs: 3000, checkModule: CHECK_MODULE });
    try {
      const now = new Date();
      const stalled = timed.check(marked(good, STALL_HEADER), now);
      const honest = timed.check(good, now);
      expect(await first({ honest, stalled })).toBe('honest');
      expect((await honest).fingerprint).toBe((await checkKeysHere(good, now)).fingerprint);
      const failure = await stalled.then(() => undefined, (error: unknown) => error);
      expect(failure, `the stalled check failed with: ${String(failure)}`).toBeInstanceOf(KeyCheckTimeoutError);
      expect(timed.workers).toBe(2);
      expect((await outcome(timed.check(good, now))).ok).toBe(true);
    } finally {
      await timed.close();
    }
  });

  it('checks queued behind a stuck one go to its replacement, none fails with it', async () => {
    const single = createKeyCheckPool({ size: 1, deadlineMs: 3000, checkModule: CHECK_MODULE });
    try {
      const now = new Date();
      const stalled = single.check(marked(good, STALL_HEADER), now);
      const queued = [single.check(good, now), single.check(good, now), single.check(good, now)].map(outcome);
      await expect(stalled).rejects.toBeInstanceOf(KeyCheckTimeoutError);
      expect((await Promise.all(queued)).map((r) => r.ok)).toEqual([true, true, true]);
    } finally {
      await single.close();
    }
  });

  it('a worker that dies in a check fails that check only, and is replaced', async () => {
    const single = createKeyCheckPool({ size: 1, checkModule: CHECK_MODULE });
    try {
      const now = new Date();
      const crashed = single.check(marked(good, CRASH_HEADER), now);
      const queued = single.check(good, now);
      await expect(crashed).rejects.toThrow(/exited \(3\)/);
      expect((await outcome(queued)).ok).toBe(true);
      expect(single.workers).toBe(1);
    } finally {
      await single.close();
    }
  });
});
