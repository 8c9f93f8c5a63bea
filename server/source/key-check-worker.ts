/**
 * @module server/source/key-check-worker — runs protocol's checkSourceKeys off the main thread,
 * one check at a time (the pool sends the next only after this one's answer). Says `ready` once
 * loaded, so a worker's start-up (tsx, OpenPGP.js) never counts against a check's deadline.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
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
port.postMessage({ ready: true } satisfies KeyCheckReply);
