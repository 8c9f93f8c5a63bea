/** @module server/source/key-check-worker — runs protocol's checkSourceKeys off the main thread. */
import { parentPort } from 'node:worker_threads';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
import { checkSourceKeys } from '../../protocol/openpgp-checks.ts';
import type { KeyCheckReply, KeyCheckRequest } from './key-check-pool.ts';

const port = parentPort;
if (!port) throw new Error('key-check-worker must run in a worker thread');

port.on('message', async ({ id, keys, now }: KeyCheckRequest) => {
  let reply: KeyCheckReply;
  try {
    reply = { id, ok: true, info: await checkSourceKeys(keys, new Date(now)) };
  } catch (error) {
    reply =
      error instanceof OpenPgpCheckError
        ? { id, ok: false, code: error.code, message: error.message }
        : { id, ok: false, code: null, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
