/**
 * @module server/source/key-check-pool.test-helpers — tests only: the check that pool workers run
 * in the deadline tests (KeyCheckPoolOptions.checkModule). A pair whose locked private key's armor
 * carries STALL_HEADER passes the shape check on the calling thread, and then, in the worker, does
 * what v1 did with the key: OpenPGP.js verifying a DSA self-signature with 16,384-bit
 * parameters (13 s of big-number work here), so it stays stuck until the deadline. CRASH_HEADER
 * ends the worker thread in the middle of its check. Any other pair gets protocol's checkSourceKeys.
 */
import { readKey } from 'openpgp';
import { checkSourceKeys, type SourceKeysInput } from '../../protocol/openpgp-checks.ts';
import { dsaKey } from '../../protocol/testdata/hostile-keys.ts';
import type { KeyCheck } from './key-check-pool.ts';

export const STALL_HEADER = 'Comment: stall this check';
export const CRASH_HEADER = 'Comment: crash this worker';
export const CHECK_MODULE = new URL('./key-check-pool.test-helpers.ts', import.meta.url);

/** The same keys, marked: an armor header changes no packet, so the shape check still passes. */
export function marked(keys: SourceKeysInput, header: string): SourceKeysInput {
  return { ...keys, lockedPrivateKey: keys.lockedPrivateKey.replace('-----\n', `-----\n${header}\n`) };
}

export const keyCheck: KeyCheck = async (keys, now) => {
  if (keys.lockedPrivateKey.includes(CRASH_HEADER)) process.exit(3);
  if (keys.lockedPrivateKey.includes(STALL_HEADER)) {
    const key = await readKey({ armoredKey: dsaKey(16384, 11150).publicKey });
    await key.verifyPrimaryKey(now).catch(() => undefined);
    throw new Error('the stalled check ran to its end: its deadline did not stop it');
  }
  return checkSourceKeys(keys, now);
};
