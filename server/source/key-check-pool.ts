/**
 * @module server/source/key-check-pool — protocol's `checkSourceKeys` in worker threads.
 *
 * Checking a new source's reply keys (parsing both keys, verifying the binding signatures) is
 * ~2.2 ms of CPU, about 85 % of a whole text tip's cost on the server (measured by
 * bench/source-api.bench.ts). On the main thread it caps tips per second at one core; in a worker
 * it runs beside the event loop. Refusals come back as the same OpenPgpCheckError (code, message).
 */
import { Worker } from 'node:worker_threads';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
import { checkSourceKeys, type SourceKeysInfo, type SourceKeysInput } from '../../protocol/openpgp-checks.ts';

export type KeyCheck = (keys: SourceKeysInput, now: Date) => Promise<SourceKeysInfo>;

/** More checks are waiting than the pool takes: the open is refused (503), not queued without end. */
export class KeyCheckBusyError extends Error {
  constructor(pending: number, max: number) {
    super(`expected fewer than ${max} source key checks waiting, got ${pending}`);
    this.name = 'KeyCheckBusyError';
  }
}

/** Checks waiting in a pool at most; each is ~1-2 ms of CPU, so this is well under a second of work. */
export const MAX_PENDING_KEY_CHECKS = 256;

/** The check on the calling thread (tests, and whenever no pool is given). */
export const checkKeysHere: KeyCheck = (keys, now) => checkSourceKeys(keys, now);

export interface KeyCheckRequest {
  id: number;
  keys: SourceKeysInput;
  now: number;
}
export type KeyCheckReply =
  | { id: number; ok: true; info: SourceKeysInfo }
  | { id: number; ok: false; code: string | null; message: string };

export interface KeyCheckPool {
  check: KeyCheck;
  close(): Promise<void>;
}

const ENTRY = new URL('./_key-check-worker.mjs', import.meta.url);

export function createKeyCheckPool(size = 1, maxPending = MAX_PENDING_KEY_CHECKS): KeyCheckPool {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`expected a pool size ≥ 1, got ${size}`);
  interface Slot {
    worker: Worker | undefined;
    pending: Map<number, { resolve(info: SourceKeysInfo): void; reject(error: Error): void }>;
  }
  const slots: Slot[] = Array.from({ length: size }, () => ({ worker: undefined, pending: new Map() }));
  let nextId = 0;
  let closed = false;

  const start = (slot: Slot): Worker => {
    const worker = new Worker(ENTRY);
    // the requests waiting on it keep the process alive, not the idle worker
    worker.unref();
    worker.on('message', (reply: KeyCheckReply) => {
      const waiting = slot.pending.get(reply.id);
      if (!waiting) return;
      slot.pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply.info);
      else if (reply.code !== null) waiting.reject(new OpenPgpCheckError(reply.code, reply.message));
      else waiting.reject(new Error(`source key check failed in its worker: ${reply.message}`));
    });
    const fail = (error: Error) => {
      // a dead worker fails what it held; the next check starts a new one
      if (slot.worker === worker) slot.worker = undefined;
      for (const waiting of slot.pending.values()) waiting.reject(error);
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`source key check worker exited (${code})`)));
    return worker;
  };

  return {
    check(keys, now) {
      if (closed) return Promise.reject(new Error('the key check pool is closed'));
      const pending = slots.reduce((n, slot) => n + slot.pending.size, 0);
      if (pending >= maxPending) return Promise.reject(new KeyCheckBusyError(pending, maxPending));
      // the least busy worker
      const slot = slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      slot.worker ??= start(slot);
      const id = nextId++;
      return new Promise<SourceKeysInfo>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        slot.worker!.postMessage({ id, keys, now: now.getTime() } satisfies KeyCheckRequest);
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((slot) => slot.worker?.terminate()));
    },
  };
}
