/**
 * @module test/e2e/harness — a real source server for browser stories: the real app on a real
 * test database (PostgreSQL with TEST_DATABASE_URL, else PGlite), listening on a free port, with
 * test-only faults placed before the app, as a flaky proxy or Tor circuit would cause them: a chunk
 * PUT or the config answering 503 once, and chunk PUTs held unanswered until released; and a
 * config altered on its way out, as a tampered server would serve it.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Database } from '../../server/db/open.ts';
import { applyHttpTimeouts } from '../../server/http-timeouts.ts';
import { createTestDatabase } from '../../server/db/test-db.ts';
import { loadDesks } from '../../server/desks.ts';
import { loadInstanceFile } from '../../server/instance-file.ts';
import { systemClock } from '../../server/clock.ts';
import type { OpenLimits } from '../../server/source/open-limits.ts';
import { buildTestApp, demoNewsroomKey } from '../../server/test-helpers.ts';

export type SourceServer = {
  origin: string;
  database: Database;
  /** Every request the server saw: method and path (with query). */
  requests: string[];
  /** The PUTs of chunks the fault answered 503 ("PUT /api/…/chunks/1"). */
  injectedFailures: string[];
  failChunkOnce(index: number): void;
  /** The next GET /api/v1/config answers 503. */
  failConfigOnce(): void;
  /** Chunk PUTs wait (unanswered) until the returned function is called. */
  holdChunkPuts(): () => void;
  close(): Promise<void>;
};

const DEMO_PUBLIC_KEY_FILE = new URL('../../keys.example/newsroom.pub.asc', import.meta.url).pathname;
const CHUNK_PATH = /^\/api\/v1\/uploads\/[^/]+\/chunks\/(\d+)$/;

/**
 * `staticRoot`: serve the pages from this folder instead of client/dist (a tampered copy, say).
 * `alterConfig`: every GET /api/v1/config answers the app's JSON as this function rewrites it.
 * `openLimits`: the quotas and storage limits of opens (server/source/open-limits.ts).
 * `instanceFile`: the newsroom's instance file (server/instance-file.ts), read as at start, with
 * its desks' keys (server/desks.ts) when it names desks.
 */
export async function startSourceServer(
  options: {
    powDifficulty?: number;
    staticRoot?: string;
    alterConfig?: (config: Record<string, unknown>) => Record<string, unknown>;
    openLimits?: OpenLimits;
    instanceFile?: string;
  } = {},
): Promise<SourceServer> {
  const instanceFile = options.instanceFile ? await loadInstanceFile(options.instanceFile) : undefined;
  const desks = instanceFile?.deskSpecs ? await loadDesks(instanceFile.deskSpecs, DEMO_PUBLIC_KEY_FILE, new Date()) : undefined;
  const database = await createTestDatabase();
  const { app } = await buildTestApp(database.db, desks ?? (await demoNewsroomKey()), systemClock, {
    ...(instanceFile ? { instanceFile } : {}),
    powDifficulty: options.powDifficulty ?? 8,
    logRequests: false,
    ...(options.staticRoot ? { staticRoot: options.staticRoot } : {}),
    ...(options.openLimits ? { openLimits: options.openLimits } : {}),
  });
  const requests: string[] = [];
  const injectedFailures: string[] = [];
  const toFail = new Set<number>();
  let gate: Promise<void> | undefined;
  let failConfig = false;
  const fetch = async (request: Request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    const chunk = CHUNK_PATH.exec(url.pathname);
    if (request.method === 'PUT' && chunk && toFail.delete(Number(chunk[1]))) {
      injectedFailures.push(`PUT ${url.pathname}`);
      return new Response('{"error":"unavailable","message":"injected by the test"}', {
        status: 503,
        headers: { 'content-type': 'application/json' },
      });
    }
    if (request.method === 'PUT' && chunk && gate) await gate;
    if (url.pathname === '/api/v1/config' && failConfig) {
      failConfig = false;
      injectedFailures.push('GET /api/v1/config');
      return new Response('{"error":"unavailable","message":"injected by the test"}', { status: 503 });
    }
    if (url.pathname === '/api/v1/config' && options.alterConfig) {
      const response = await app.fetch(request);
      const headers = new Headers(response.headers);
      headers.delete('content-length');
      const body = options.alterConfig((await response.json()) as Record<string, unknown>);
      return new Response(JSON.stringify(body), { status: response.status, headers });
    }
    return app.fetch(request);
  };
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  // the listener's timeouts as server/main.ts sets them (an idle connection kept for the next request)
  applyHttpTimeouts(server as import('node:http').Server);
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    database,
    requests,
    injectedFailures,
    failChunkOnce: (index) => void toFail.add(index),
    failConfigOnce: () => void (failConfig = true),
    holdChunkPuts() {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = undefined;
        release();
      };
    },
    async close() {
      // requests in flight finish; a connection idle now or after its request would hold close()
      // for KEEP_ALIVE_TIMEOUT_MS, so idle ones are closed as they become idle (as server/shutdown.ts does)
      const sweep = setInterval(() => (server as import('node:http').Server).closeIdleConnections(), 100);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearInterval(sweep);
      await database.close();
    },
  };
}
