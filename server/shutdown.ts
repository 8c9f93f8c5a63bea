/** @module server/shutdown — stop on SIGTERM without losing an acknowledged chunk. */
// Docker (and systemd) stop a service with SIGTERM and, after a grace period, SIGKILL. On SIGTERM:
// stop accepting connections, let requests in flight (a source's chunk crawling over Tor) finish
// for at most `timeoutMs`, then cut what is left (the browser retries that chunk against the next
// process), stop the timers, close the database pool and exit 0. A chunk is acknowledged only
// after its row is committed, so whatever a client saw acknowledged is in the database.

/** What @hono/node-server's `serve()` returns (node:http Server), reduced to what we use. */
export interface ClosableServer {
  close(callback?: (error?: Error) => void): unknown;
  closeIdleConnections?(): void;
  closeAllConnections?(): void;
}

export interface GracefulShutdownOptions {
  servers: ClosableServer[];
  /** the handle from openDatabase(); closed after the servers and the timers */
  db?: { close(): Promise<void> };
  /** timers and other background work (e.g. the stop function of startRetentionTimer) */
  stops?: Array<() => void | Promise<void>>;
  log?: (line: string) => void;
  /** how long requests in flight may take to finish before their connections are cut */
  timeoutMs?: number;
  signals?: NodeJS.Signals[];
  /** injected in tests; process.exit otherwise */
  exit?: (code: number) => void;
}

export interface GracefulShutdown {
  /** what a signal does; callable directly (tests). Resolves with the exit code it passed to exit. */
  shutdown(reason: string): Promise<number>;
  /** remove the signal handlers */
  uninstall(): void;
}

/** Below Docker's `stop_grace_period` in docker-compose.yml (35 s), which must stay above it. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

// Node's server.close() closes the connections idle at that moment only; a keep-alive connection
// whose request finishes later would then linger until keepAliveTimeout. Sweep them meanwhile.
const IDLE_SWEEP_MS = 100;

export function installGracefulShutdown(options: GracefulShutdownOptions): GracefulShutdown {
  const {
    servers,
    db,
    stops = [],
    log = () => {},
    timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS,
    signals = ['SIGTERM', 'SIGINT'],
    exit = (code: number) => process.exit(code),
  } = options;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
    throw new RangeError(`expected timeoutMs to be a non-negative integer, got ${timeoutMs}`);
  }

  let running: Promise<number> | undefined;

  async function run(reason: string): Promise<number> {
    log(`shutdown: ${reason}: no new connections; waiting up to ${timeoutMs} ms for requests in flight`);
    let code = 0;

    // Timers first, so no background job starts now; a job already running may finish (it needs
    // the database, which closes last).
    const stopped = Promise.allSettled(stops.map(async (stop) => stop()));
    const closed = servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close((error) => {
            // ERR_SERVER_NOT_RUNNING: it was never listening or is closed already; nothing to wait for.
            if (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') {
              log(`shutdown: closing a listener failed: ${error.message}`);
            }
            resolve();
          });
        }),
    );
    const sweep = setInterval(() => {
      for (const server of servers) server.closeIdleConnections?.();
    }, IDLE_SWEEP_MS);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([Promise.all(closed).then(() => 'closed' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      log(`shutdown: requests still in flight after ${timeoutMs} ms: cutting their connections (clients retry)`);
      for (const server of servers) server.closeAllConnections?.();
      await Promise.all(closed);
    }
    clearInterval(sweep);

    for (const result of await stopped) {
      if (result.status === 'rejected') {
        code = 1;
        log(`shutdown: stopping a timer failed: ${messageOf(result.reason)}`);
      }
    }
    if (db) {
      try {
        await db.close();
      } catch (error) {
        code = 1;
        log(`shutdown: closing the database failed: ${messageOf(error)}`);
      }
    }
    log(`shutdown: done, exit ${code}`);
    return code;
  }

  function shutdown(reason: string): Promise<number> {
    running ??= run(reason).then((code) => {
      exit(code);
      return code;
    });
    return running;
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (running) {
      // A second signal is the operator insisting: go now.
      log(`shutdown: ${signal} again: exiting at once`);
      exit(1);
      return;
    }
    void shutdown(signal);
  };
  for (const signal of signals) process.on(signal, onSignal);

  return {
    shutdown,
    uninstall() {
      for (const signal of signals) process.off(signal, onSignal);
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
