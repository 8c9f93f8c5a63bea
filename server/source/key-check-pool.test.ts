import { generateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
import { generateSourceKeys } from '../../protocol/source-keys.ts';
import { demoNewsroomKey } from '../test-helpers.ts';
import { checkKeysHere, createKeyCheckPool, KeyCheckBusyError, type KeyCheckPool } from './key-check-pool.ts';

let pool: KeyCheckPool;
let good: { publicKey: string; lockedPrivateKey: string };
let unlocked: { publicKey: string; lockedPrivateKey: string };

beforeAll(async () => {
  pool = createKeyCheckPool(2);
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
    const small = createKeyCheckPool(1, 2);
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

  it('refuses work once closed', async () => {
    const other = createKeyCheckPool(1);
    await other.close();
    await expect(other.check(good, new Date())).rejects.toThrow(/closed/);
  });
});
