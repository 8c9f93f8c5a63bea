/**
 * @module server/source/key-check-worker — runs protocol's checkSourceKeys off the main thread,
 * one check at a time (the pool sends the next only after this one's answer). Says `ready` once
 * loaded and warm, so a worker's start-up never counts against a check's deadline: the first check
 * in a fresh worker (modules still loading, code not yet compiled) took 135 ms where the next ones
 * took 23-68 ms, on the shared development machine at a load average of 15.
 */
import { generateKey } from 'openpgp';
import { parentPort, workerData } from 'node:worker_threads';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
import { SOURCE_KEY_DATE, SOURCE_KEY_USER_ID } from '../../protocol/limits.ts';
import { checkSourceKeys } from '../../protocol/openpgp-checks.ts';
import type { KeyCheck, KeyCheckReply, KeyCheckRequest } from './key-check-pool.ts';

const port = parentPort;
if (!port) throw new Error('key-check-worker must run in a worker thread');

// tests only: another check (a module exporting `keyCheck`), see KeyCheckPoolOptions.checkModule
const { checkModule } = (workerData ?? {}) as { checkModule?: string };
const check: KeyCheck = checkModule ? ((await import(checkModule)) as { keyCheck: KeyCheck }).keyCheck : checkSourceKeys;

port.on('message', async ({ id, keys, now }: KeyCheckRequest) => {
  let reply: KeyCheckReply;
  try {
    reply = { id, ok: true, info: await check(keys, new Date(now)) };
  } catch (error) {
    reply =
      error instanceof OpenPgpCheckError
        ? { id, ok: false, code: error.code, message: error.message }
        : { id, ok: false, code: null, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
// warm-up: one whole check of a pair of the pages' v4 shape, whatever its outcome
const warm = await generateKey({
  type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ ...SOURCE_KEY_USER_ID }], date: SOURCE_KEY_DATE,
  passphrase: crypto.randomUUID(), format: 'armored',
});
await checkSourceKeys({ publicKey: warm.publicKey, lockedPrivateKey: warm.privateKey }).catch(() => undefined);
port.postMessage({ ready: true } satisfies KeyCheckReply);
