/**
 * @module client/lib/workers — start the workers and talk to them. Each worker runs from a blob: URL
 * of its script checked against the build's SHA-256 (client/lib/verified-modules.ts), never from a
 * URL of the server.
 */
import { powSizeBits } from '../../protocol/pow.ts';
import { requestPow, type PowChallenge } from './api.ts';
import { VerifiedModules } from './verified-modules.ts';
import type { CryptoCalls, CryptoOp, PowRequest, PowResponse, Progress, WorkerFailure, WorkerResponse } from '../workers/messages.ts';

export class WorkerError extends Error {
  override name = 'WorkerError';
  readonly code: string | undefined;
  readonly file: string | undefined;
  constructor(failure: WorkerFailure) {
    super(failure.message);
    this.code = failure.code;
    this.file = failure.file;
  }
}

/** Filled in by the build (client/build.ts): every worker module and its SHA-256. */
const modules = new VerifiedModules(__SEALDROP_WORKER_MODULES__, new URL('/assets/', location.href).href);

/** Rejects with `ModuleIntegrityError` when a file of the worker is not the build's. */
export async function startWorker(name: 'crypto' | 'pow'): Promise<Worker> {
  return new Worker(await modules.url(`${name}.worker.js`), { type: 'module', name });
}

export class CryptoWorker {
  private nextId = 1;
  private pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void; onProgress?(p: Progress): void }>();

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
      const message = event.data;
      const call = this.pending.get(message.id);
      if (!call) return;
      if (message.kind === 'progress') return call.onProgress?.(message.progress);
      this.pending.delete(message.id);
      if (message.kind === 'result') call.resolve(message.result);
      else call.reject(new WorkerError(message.error));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      const error = new WorkerError({ name: 'WorkerError', message: `crypto worker failed: ${event.message}` });
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    };
  }

  /**
   * The crypto worker, holding the module table for its lazy parts. The proof-of-work worker's files
   * are checked now too, so that an altered one stops the page when it loads, not when a tip leaves.
   */
  static async start(): Promise<CryptoWorker> {
    const [worker] = await Promise.all([startWorker('crypto'), modules.url('pow.worker.js')]);
    const crypto = new CryptoWorker(worker);
    await crypto.call('use-modules', { table: modules.table, base: modules.base, urls: await modules.loaded() });
    return crypto;
  }

  call<K extends CryptoOp>(
    op: K,
    args: CryptoCalls[K]['args'],
    options: { onProgress?: (p: Progress) => void; transfer?: Transferable[] } = {},
  ): Promise<CryptoCalls[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress: options.onProgress });
      this.worker.postMessage({ id, op, args }, { transfer: options.transfer ?? [] });
    });
  }
}

/** How far a solve is: its difficulty, the nonces tried and the time it has run. */
export type PowProgress = { difficulty: number; tries: number; elapsedMs: number };

type Solve = {
  difficulty: number;
  result: Promise<{ token: string; nonce: string }>;
  listen(onProgress: ((p: PowProgress) => void) | undefined): void;
  cancel(): void;
};

/**
 * Keeps one solved proof of work ready. The challenge that came with /api/v1/config (a text tip's
 * price) is solved while the source types, so sending a text tip costs no extra round trip; a
 * larger upload, a second tip or a refused token asks for a new challenge priced for its size.
 */
export class PowSolver {
  private current: Solve | undefined;

  constructor(challenge: PowChallenge) {
    this.current = this.solve(challenge);
  }

  /**
   * A solution for an upload of `size` bytes; each solution is handed out once. The ready one is
   * used when the size adds no bits to the price (powSizeBits); `onProgress` follows the solve
   * from where it is.
   */
  async take(
    signal?: AbortSignal,
    options: { size?: number; onProgress?: (p: PowProgress) => void } = {},
  ): Promise<{ token: string; nonce: string }> {
    let solve = this.current;
    this.current = undefined;
    if (solve && options.size !== undefined && powSizeBits(options.size) > 0) {
      solve.cancel();
      solve = undefined;
    }
    solve ??= this.solve(await requestPow(options.size, signal));
    solve.listen(options.onProgress);
    return solve.result;
  }

  private solve({ token, difficulty }: PowChallenge): Solve {
    const started = performance.now();
    let tries = 0;
    let listener: ((p: PowProgress) => void) | undefined;
    let worker: Worker | undefined;
    let cancelled = false;
    const report = () => listener?.({ difficulty, tries, elapsedMs: performance.now() - started });
    const result = (async () => {
      worker = await startWorker('pow');
      if (cancelled) throw new DOMException('proof of work no longer needed', 'AbortError');
      try {
        const nonce = await new Promise<string>((resolve, reject) => {
          worker!.onmessage = (event: MessageEvent<PowResponse>) => {
            const m = event.data;
            if (m.kind === 'solved') resolve(m.nonce);
            else if (m.kind === 'progress') {
              tries = m.tries;
              report();
            } else reject(new WorkerError(m.error));
          };
          worker!.onerror = (event) => {
            event.preventDefault();
            reject(new WorkerError({ name: 'WorkerError', message: `proof-of-work worker failed: ${event.message}` }));
          };
          worker!.postMessage({ token, difficulty } satisfies PowRequest);
        });
        return { token, nonce };
      } finally {
        worker.terminate();
      }
    })();
    // Until someone waits for it, a failure must not surface as an unhandled rejection.
    result.catch(() => {});
    return {
      difficulty,
      result,
      listen(onProgress) {
        listener = onProgress;
        if (tries > 0) report();
      },
      cancel() {
        cancelled = true;
        worker?.terminate();
      },
    };
  }
}
