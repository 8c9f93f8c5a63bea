/**
 * @module cli/openpgp-watch — ends a streamed OpenPGP.js decryption that has stopped for good.
 *
 * OpenPGP.js 6 (streaming, `allowUnauthenticatedStream`) can stop forever on what a SEIPD decrypts
 * to: a streamed packet it then refuses (a SEIPD, SED or AEAD packet inside the encryption, or
 * garbage that reads as one: a wrong session key) gets a stream nobody reads, and its parser waits
 * on that stream's backpressure. Its promises then never settle and nothing else happens: no read
 * of the ciphertext is asked for, no plaintext comes. `sealdrop decrypt` would wait there forever,
 * and every tip after that one in the bundle with it.
 *
 * The watch tells such a stop from slow work by the event loop itself: it counts only time during
 * which the loop was free (its ticks came on time, so no JavaScript was running), nothing of ours
 * was in flight (a read of the ciphertext, a write of the plaintext: `busy`), and nothing moved
 * (`progress`). A long computation (a large signature check) blocks the loop and so counts as
 * work, as does a slow disk. OpenPGP.js's own waits outside the loop (Web Crypto, a few
 * milliseconds) are far below the limit.
 *
 * It also bounds what OpenPGP.js may cost: `cpuBudgetMs` of the process's CPU time (user + system,
 * counted from the watch's start, so a loaded machine does not shorten it). A sender can make
 * OpenPGP.js slow without stopping it: a SEIPD or a literal packet cut into parts of a few bytes
 * (about 100 µs each: a 2.16 MB tip in 16-byte parts took 36.9 s, 1 MB in 1-byte parts over 100 s).
 */

/** Default: this long with the loop free and nothing moving ends the decryption. */
export const OPENPGP_IDLE_MS = 10_000;

export class OpenPgpStalled extends Error {
  constructor(readonly idleMs: number) {
    super(`OpenPGP.js stopped decrypting it: nothing moved for ${idleMs} ms with nothing left to read or write`);
    this.name = 'OpenPgpStalled';
  }
}

export class OpenPgpTooCostly extends Error {
  constructor(readonly cpuMs: number, readonly budgetMs: number) {
    super(`OpenPGP.js used more CPU on it than the ${(budgetMs / 1000).toFixed(1)} s its size allows`);
    this.name = 'OpenPgpTooCostly';
  }
}

export interface OpenPgpWatch {
  /** `step`, or OpenPgpStalled once the decryption has stopped (OpenPgpTooCostly past its budget); a settled step counts as progress. */
  race<T>(step: Promise<T>): Promise<T>;
  /** Something moved (a plaintext chunk, a ciphertext chunk read). */
  progress(): void;
  /** Stops the watch (its timer); call it in every ending. */
  stop(): void;
}

export function watchOpenPgp({ idleMs = OPENPGP_IDLE_MS, busy, cpuBudgetMs = Infinity }: { idleMs?: number; busy: () => boolean; cpuBudgetMs?: number }): OpenPgpWatch {
  const tickMs = Math.max(5, Math.min(250, Math.floor(idleMs / 8)));
  let idle = 0;
  let lastTick = performance.now();
  const cpuStart = process.cpuUsage();
  let lastCpuCheck = lastTick;
  let ended = false;
  let stalled: ((error: Error) => void) | undefined;
  const stall = new Promise<never>((_, reject) => {
    stalled = reject;
  });
  stall.catch(() => undefined); // heard through race(), or by nobody once the decryption ended

  const end = (error: Error): void => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    stalled?.(error);
  };
  // At most every 50 ms of wall time (progress may come a million times a second).
  const checkCpu = (now: number): void => {
    if (now - lastCpuCheck < 50 || cpuBudgetMs === Infinity) return;
    lastCpuCheck = now;
    const used = process.cpuUsage(cpuStart);
    const cpuMs = (used.user + used.system) / 1000;
    if (cpuMs > cpuBudgetMs) end(new OpenPgpTooCostly(cpuMs, cpuBudgetMs));
  };

  const timer = setInterval(() => {
    const now = performance.now();
    checkCpu(now);
    const gap = now - lastTick;
    lastTick = now;
    // A late tick means JavaScript held the loop (work being done); ours in flight means a read or
    // a write is under way, however slow the disk.
    if (gap > 2 * tickMs || busy()) {
      idle = 0;
      return;
    }
    idle += gap;
    if (idle >= idleMs) end(new OpenPgpStalled(idleMs));
  }, tickMs);

  const progress = (): void => {
    idle = 0;
    checkCpu(performance.now());
  };
  return {
    race<T>(step: Promise<T>): Promise<T> {
      return Promise.race([
        step.then(
          (value) => {
            progress();
            return value;
          },
          (error: unknown) => {
            progress();
            throw error;
          },
        ),
        stall,
      ]);
    },
    progress,
    stop() {
      ended = true;
      clearInterval(timer);
    },
  };
}
