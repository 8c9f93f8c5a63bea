/**
 * @module server/http-timeouts — how long a listener waits for a request to arrive, and for the
 * next request on a connection (Node's http server timeouts), the same for both listeners and for
 * the test harness that serves the browser stories and the benches.
 */
import type { Server } from 'node:http';

/**
 * How long a whole request may take to arrive. Node's default (5 minutes) answered 408 to every
 * 4 MiB chunk on a link under 14 kB/s per chunk (an 8 kB/s Tor link sending two at once: 524 s
 * each), before the chunk gate or the lease had a say. 40 minutes lets a chunk arrive at the gate's
 * lease-keeping minimum (2000 B/s: 35 minutes); silent or slow sockets are still cut by the gate
 * (30 s of silence; under 1 KiB/s when room is wanted) and headers by HEADERS_TIMEOUT_MS.
 */
export const REQUEST_TIMEOUT_MS = 40 * 60_000;

/** How long a request's headers may take to arrive (Node's default, at most REQUEST_TIMEOUT_MS). */
export const HEADERS_TIMEOUT_MS = 60_000;

/**
 * How long a connection is kept open, idle, for the next request. Over Tor a new connection is a
 * new stream, a round trip before its first byte (800 ms at 400 ms each way); Node's default of
 * 5 s closed the page's connections while the source wrote, so sending a text tip paid that round
 * trip again (`npm run bench -- slow-link`). 120 s is a little above Firefox's (and Tor Browser's)
 * own 115 s (`network.http.keep-alive.timeout`), so there the browser closes an idle connection
 * first and never sends a request into one the server is closing. An idle connection costs the
 * server a socket (a file descriptor: server/connection-budget.ts bounds how many the source
 * listener holds) and no timer beyond Node's; one that sends nothing from the start is still cut
 * by HEADERS_TIMEOUT_MS (Node ≥ 18 times headers from a request's first byte, not from the idle
 * time before it).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

export function applyHttpTimeouts(server: Server): void {
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
}
