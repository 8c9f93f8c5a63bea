/**
 * @module server/connection-budget — how many connections the source listener holds at once, so
 * that idle keep-alive connections cannot take every file descriptor of the process.
 *
 * An idle connection is kept 120 s for the next request (KEEP_ALIVE_TIMEOUT_MS), and costs its
 * sender nothing while it waits: measured before this module, 20,600 idle keep-alive connections
 * took all 20,000 file descriptors of the process, and honest sources (and the database pool, and
 * the editor listener) got none. So:
 *   - above the high-water mark (three quarters of the cap) each new connection closes the
 *     connection that has been idle the longest (no request in progress on it), before it counts;
 *     a client whose idle connection was closed opens a new one (one round trip over Tor);
 *   - at the cap new connections are refused as they are accepted (Node's `maxConnections`: the
 *     socket is closed before a byte is read), which happens only when more than the high-water
 *     mark are busy with requests (slow bodies: those the chunk gate cuts);
 *   - what was closed and refused is counted, and logged at most once a minute, as counts only
 *     (never an address or a port).
 * The editor listener has its own file descriptors left: the default cap is half the process's
 * limit (server/main.ts).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The cap when the process's file-descriptor limit cannot be read (no /proc: not Linux). */
export const MAX_CONNECTIONS_WITHOUT_LIMIT = 4096;
/** The default cap is never above this: an idle socket costs a few KiB of memory, and 8192 are plenty for Tor's streams. */
export const MAX_CONNECTIONS_CEILING = 8192;
/** Never below this, however small the limit (a cap this low is only for tests and tiny machines). */
export const MAX_CONNECTIONS_FLOOR = 16;

/**
 * The soft limit on open files of this process, from /proc/self/limits (Node raises its soft limit
 * to the hard one as it starts, so this is what the process really has); undefined where there is
 * no such file or it says "unlimited". Node has no API for getrlimit.
 */
export function readFileDescriptorLimit(text?: string): number | undefined {
  let limits = text;
  if (limits === undefined) {
    try {
      limits = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const soft = /^Max open files\s+(\d+)\s/m.exec(limits)?.[1];
  return soft === undefined ? undefined : Number(soft);
}

/**
 * The default cap for the source listener: half the file descriptors (the other half stays for
 * the editor listener, the database pool, the key-check workers, files and Tor), within
 * MAX_CONNECTIONS_FLOOR..MAX_CONNECTIONS_CEILING; MAX_CONNECTIONS_WITHOUT_LIMIT when unknown.
 */
export function defaultMaxConnections(fdLimit: number | undefined): number {
  if (fdLimit === undefined || !Number.isSafeInteger(fdLimit)) return MAX_CONNECTIONS_WITHOUT_LIMIT;
  return Math.max(MAX_CONNECTIONS_FLOOR, Math.min(MAX_CONNECTIONS_CEILING, Math.floor(fdLimit / 2)));
}

export interface ConnectionStats {
  /** connections open now (closed ones leave at once, before their socket's 'close') */
  open: number;
  /** of them, with a request in progress */
  busy: number;
  /** the most open at once since the budget was applied */
  peak: number;
  /** idle connections closed to make room, since the budget was applied */
  idleClosed: number;
  /** connections refused at the cap, since the budget was applied */
  refused: number;
}

export interface ConnectionBudget {
  readonly max: number;
  readonly highWater: number;
  stats(): ConnectionStats;
  /** stops the report timer (the server's own listeners go with the server) */
  stop(): void;
}

export interface ConnectionBudgetOptions {
  /** the cap: connections past it are refused at accept */
  max: number;
  /** above this many, the longest-idle connection is closed for each new one; default three quarters of `max` */
  highWater?: number;
  log: (line: string) => void;
  /** how often a report of closures and refusals may be written; default a minute */
  reportEveryMs?: number;
}

export function applyConnectionBudget(server: Server, options: ConnectionBudgetOptions): ConnectionBudget {
  const { max, log } = options;
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`expected a connection cap of at least 1, got ${max}`);
  const highWater = options.highWater ?? Math.max(1, Math.floor((max * 3) / 4));
  if (!Number.isSafeInteger(highWater) || highWater < 1 || highWater > max) {
    throw new RangeError(`expected a high-water mark of 1-${max}, got ${highWater}`);
  }
  const reportEveryMs = options.reportEveryMs ?? 60_000;

  // idle connections in the order they became idle (a Set keeps insertion order): the first is
  // the one idle the longest; busy ones with their requests in progress (pipelined ones count)
  const idle = new Set<Socket>();
  const busy = new Map<Socket, number>();
  let peak = 0;
  let idleClosed = 0;
  let refused = 0;
  let reported = { idleClosed: 0, refused: 0 };
  let timer: NodeJS.Timeout | undefined;

  const open = () => idle.size + busy.size;

  const report = () => {
    const closedNow = idleClosed - reported.idleClosed;
    const refusedNow = refused - reported.refused;
    reported = { idleClosed, refused };
    if (closedNow === 0 && refusedNow === 0) {
      // a quiet period: the next event is written at once
      clearInterval(timer);
      timer = undefined;
      return;
    }
    log(
      `connections: ${open()} open (${busy.size} busy) of ${max}; ${closedNow} idle closed above ${highWater}, ` +
        `${refusedNow} refused at the cap`,
    );
  };
  const noteEvent = () => {
    if (timer) return;
    report();
    timer = setInterval(report, reportEveryMs);
    timer.unref();
  };

  // Node refuses past this before 'connection' is emitted, and emits 'drop' (with the peer's
  // address, which is never read here)
  server.maxConnections = max;
  server.on('drop', () => {
    refused++;
    noteEvent();
  });

  const tracked = new WeakSet<Socket>();
  const track = (socket: Socket) => {
    if (tracked.has(socket)) return;
    tracked.add(socket);
    socket.once('close', () => {
      idle.delete(socket);
      busy.delete(socket);
    });
  };

  server.on('connection', (socket: Socket) => {
    // room first, among the others: the newest connection is never the one closed for itself
    let closed = false;
    while (open() >= highWater && idle.size > 0) {
      const oldest = idle.values().next().value!;
      idle.delete(oldest);
      oldest.destroy();
      idleClosed++;
      closed = true;
    }
    track(socket);
    idle.add(socket);
    peak = Math.max(peak, open());
    if (closed) noteEvent();
  });

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    if (socket.destroyed) return;
    // a connection accepted before the budget was applied is counted from its first request
    track(socket);
    idle.delete(socket);
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (busy.get(socket) ?? 0) - 1;
      if (left > 0) {
        busy.set(socket, left);
        return;
      }
      if (!busy.delete(socket)) return;
      // the end of a request: the connection is idle again, now the newest idle one
      if (!socket.destroyed) idle.add(socket);
    });
  });

  return {
    max,
    highWater,
    stats: () => ({ open: open(), busy: busy.size, peak, idleClosed, refused }),
    stop: () => {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
