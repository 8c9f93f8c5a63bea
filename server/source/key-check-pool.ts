/**
 * @module server/source/key-check-pool — protocol's `checkSourceKeys` in worker threads, each
 * check under a deadline.
 *
 * Checking a new source's reply keys (parsing both keys, verifying the self-signatures) is
 * ~2.2 ms of CPU, about 85 % of a whole text tip's cost on the server (measured by
 * bench/source-api.bench.ts). On the main thread it caps tips per second at one core; in workers
 * it runs beside the event loop. Refusals come back as the same OpenPgpCheckError (code, message).
 *
 * Hostile keys: the shape check (protocol's `checkSourceKeysShape`, microseconds) runs here on
 * the calling thread first, so a key that is not what the pages make never takes a worker's
 * time or a place in the queue. Should a check still run long (a bug, an OpenPGP.js surprise),
 * the deadline bounds it: the worker is terminated and replaced, that check fails with
 * KeyCheckTimeoutError, and nothing else is lost, because a worker only ever holds one check (the
 * others wait here, in the pool's queue, and go to the next free worker).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
import { checkSourceKeys, checkSourceKeysShape, type SourceKeysInfo, type SourceKeysInput } from '../../protocol/openpgp-checks.ts';

export type KeyCheck = (keys: SourceKeysInput, now: Date) => Promise<SourceKeysInfo>;

/** More checks are waiting than the pool takes: the open is refused (503), not queued without end. */
export class KeyCheckBusyError extends Error {
  constructor(pending: number, max: number) {
    super(`expected fewer than ${max} source key checks waiting, got ${pending}`);
    this.name = 'KeyCheckBusyError';
  }
}

/** A check ran past its deadline: its worker was terminated and replaced (503 `key_check_timeout`). */
export class KeyCheckTimeoutError extends Error {
  constructor(readonly deadlineMs: number) {
    super(`expected the source key check to finish within ${deadlineMs} ms, got no answer: its worker was replaced`);
    this.name = 'KeyCheckTimeoutError';
  }
}

/** Checks waiting in a pool at most; each is ~1-2 ms of CPU, so this is well under a second of work. */
export const MAX_PENDING_KEY_CHECKS = 256;

/**
 * How long one check may hold its worker: a thousand times an honest check's ~2 ms, so a loaded
 * machine never trips it; the shape check leaves nothing that honestly takes longer.
 */
export const KEY_CHECK_DEADLINE_MS = 2000;

/** Workers at most: beyond this the event loop, not key checks, bounds the tip rate. */
export const MAX_KEY_CHECK_WORKERS = 8;

/**
 * One worker per core left beside the event loop, at most MAX_KEY_CHECK_WORKERS, and never fewer
 * than two: the second is not for speed but so that a check at its deadline never holds up the
 * others, even on one or two cores.
 */
export function keyCheckPoolSize(cores = availableParallelism()): number {
  return Math.max(2, Math.min(cores - 1, MAX_KEY_CHECK_WORKERS));
}

/** The check on the calling thread (tests, and whenever no pool is given). */
export const checkKeysHere: KeyCheck = (keys, now) => checkSourceKeys(keys, now);

export interface KeyCheckRequest {
  id: number;
  keys: SourceKeysInput;
  now: number;
}
export type KeyCheckReply =
  | { ready: true }
  | { id: number; ok: true; info: SourceKeysInfo }
  | { id: number; ok: false; code: string | null; message: string };

export interface KeyCheckPoolOptions {
  /** workers (default keyCheckPoolSize()) */
  size?: number;
  /** checks queued or running at most (default MAX_PENDING_KEY_CHECKS) */
  maxPending?: number;
  /** how long one check may hold a worker (default KEY_CHECK_DEADLINE_MS), counted from when it gets one */
  deadlineMs?: number;
  /** tests only: a module whose `keyCheck` export the workers run instead of protocol's checkSourceKeys */
  checkModule?: URL;
}

export interface KeyCheckPool {
  check: KeyCheck;
  /** workers that have started and not died or been replaced (for tests and the bench) */
  readonly workers: number;
  /** resolves once no worker is still starting (every one has loaded); rejects if one could not start */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const ENTRY = new URL('./_key-check-worker.mjs', import.meta.url);

interface Job {
  keys: SourceKeysInput;
  now: Date;
  resolve(info: SourceKeysInfo): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker | undefined;
  /** starting: not ready yet; idle: ready for a check; busy: holds `job`; down: died before ready */
  state: 'starting' | 'idle' | 'busy' | 'down';
  job?: Job & { id: number; timer: ReturnType<typeof setTimeout> };
}

export function createKeyCheckPool(options: KeyCheckPoolOptions = {}): KeyCheckPool {
  const { size = keyCheckPoolSize(), maxPending = MAX_PENDING_KEY_CHECKS, deadlineMs = KEY_CHECK_DEADLINE_MS, checkModule } = options;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`expected a pool size ≥ 1, got ${size}`);
  if (!(deadlineMs > 0)) throw new RangeError(`expected a deadline > 0 ms, got ${deadlineMs}`);
  const slots: Slot[] = Array.from({ length: size }, () => ({ worker: undefined, state: 'down' }));
  const queue: Job[] = [];
  let nextId = 0;
  let closed = false;
  const waitingForReady: { resolve(): void; reject(error: Error): void }[] = [];
  const settleReady = (error?: Error) => {
    if (!error && slots.some((s) => s.state === 'starting')) return;
    for (const waiter of waitingForReady.splice(0)) error ? waiter.reject(error) : waiter.resolve();
  };

  const start = (slot: Slot): void => {
    const worker = new Worker(ENTRY, { workerData: { checkModule: checkModule?.href } });
    // the checks waiting on it keep the process alive, not the idle worker
    worker.unref();
    slot.worker = worker;
    slot.state = 'starting';
    worker.on('message', (reply: KeyCheckReply) => {
      if (slot.worker !== worker) return;
      if ('ready' in reply) {
        slot.state = 'idle';
        settleReady();
        return pump();
      }
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      clearTimeout(job.timer);
      slot.job = undefined;
      slot.state = 'idle';
      if (reply.ok) job.resolve(reply.info);
      else if (reply.code !== null) job.reject(new OpenPgpCheckError(reply.code, reply.message));
      else job.reject(new Error(`source key check failed in its worker: ${reply.message}`));
      pump();
    });
    const died = (error: Error) => {
      // a replaced worker's end is no news; a current one's fails only the check it held
      if (slot.worker !== worker) return;
      const { job, state } = slot;
      slot.worker = undefined;
      slot.job = undefined;
      if (job) {
        clearTimeout(job.timer);
        job.reject(error);
      }
      if (closed) return;
      if (state === 'starting') {
        // it could not even start: no restart loop; the next check tries again, and the queue
        // fails if no worker is left to take it
        slot.state = 'down';
        settleReady(error);
        if (slots.every((s) => s.state === 'down')) for (const waiting of queue.splice(0)) waiting.reject(error);
        return;
      }
      start(slot);
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`source key check worker exited (${code})`)));
  };

  const timeOut = (slot: Slot): void => {
    const job = slot.job!;
    const stuck = slot.worker!;
    slot.job = undefined;
    job.reject(new KeyCheckTimeoutError(deadlineMs));
    // the replacement starts before the old one is gone: no moment without a worker in this slot
    start(slot);
    void stuck.terminate();
  };

  const pump = (): void => {
    for (const slot of slots) {
      if (queue.length === 0) return;
      if (slot.state !== 'idle') continue;
      const job = queue.shift()!;
      const id = nextId++;
      slot.state = 'busy';
      slot.job = { ...job, id, timer: setTimeout(() => timeOut(slot), deadlineMs) };
      slot.worker!.postMessage({ id, keys: job.keys, now: job.now.getTime() } satisfies KeyCheckRequest);
    }
  };

  for (const slot of slots) start(slot);

  return {
    check(keys, now) {
      if (closed) return Promise.reject(new Error('the key check pool is closed'));
      // the cheap half here: a key of any other shape never reaches a worker or the queue
      try {
        checkSourceKeysShape(keys);
      } catch (error) {
        return Promise.reject(error);
      }
      const pending = queue.length + slots.filter((s) => s.state === 'busy').length;
      if (pending >= maxPending) return Promise.reject(new KeyCheckBusyError(pending, maxPending));
      for (const slot of slots) if (slot.state === 'down') start(slot);
      return new Promise<SourceKeysInfo>((resolve, reject) => {
        queue.push({ keys, now, resolve, reject });
        pump();
      });
    },
    get workers() {
      return slots.filter((s) => s.state !== 'down').length;
    },
    ready() {
      return new Promise<void>((resolve, reject) => {
        waitingForReady.push({ resolve, reject });
        settleReady();
      });
    },
    async close() {
      closed = true;
      const error = new Error('the key check pool is closed');
      settleReady(error);
      for (const waiting of queue.splice(0)) waiting.reject(error);
      const workers = slots.map((slot) => {
        if (slot.job) {
          clearTimeout(slot.job.timer);
          slot.job.reject(error);
          slot.job = undefined;
        }
        const worker = slot.worker;
        slot.worker = undefined;
        slot.state = 'down';
        return worker?.terminate();
      });
      await Promise.all(workers);
    },
  };
}
