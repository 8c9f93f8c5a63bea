/**
 * Idle keep-alive connections as an attack (issue 9): the source listener keeps an idle
 * connection 120 s for the next request, and an attacker who opened ~20,600 of them took every
 * file descriptor of the process. Now the listener holds a connection budget
 * (server/connection-budget.ts): above a high-water mark the longest-idle connections are closed
 * for new ones, at the cap new ones are refused at accept. Each test runs the attack beside an
 * honest source using the page's own uploader and the editor listener, over real HTTP and raw
 * sockets, with the cap set low. On PostgreSQL in CI (TEST_DATABASE_URL), on PGlite otherwise.
 */
import { once } from 'node:events';
import type http from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken } from '../../server/admin.ts';
import { systemClock } from '../../server/clock.ts';
import { applyConnectionBudget, type ConnectionBudget } from '../../server/connection-budget.ts';
import type { Database } from '../../server/db/open.ts';
import { createTestDatabase } from '../../server/db/test-db.ts';
import { createEditorApp } from '../../server/editor/app.ts';
import { applyHttpTimeouts } from '../../server/http-timeouts.ts';
import type { NewsroomKey } from '../../server/newsroom-key.ts';
import { createChunkGate, type ChunkGateOptions } from '../../server/source/chunk-gate.ts';
import { buildTestApp, demoNewsroomKey } from '../../server/test-helpers.ts';
import { LoadClient, makeCiphertext, printCounts, verifyStored } from './load-client.ts';

const MiB = 1024 * 1024;

let database: Database;
let newsroomKey: NewsroomKey;
let editorUrl: string;
let editorToken: string;
const servers: http.Server[] = [];
const sockets: Socket[] = [];
const budgets: ConnectionBudget[] = [];

async function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<{ server: http.Server; port: number }> {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
  if (!server.listening) await once(server, 'listening');
  applyHttpTimeouts(server);
  servers.push(server);
  return { server, port: (server.address() as AddressInfo).port };
}

beforeAll(async () => {
  database = await createTestDatabase();
  newsroomKey = await demoNewsroomKey();
  // the editor listener as npm start wires it: its own server, no budget of the source listener's
  const editorApp = createEditorApp({ db: database.db, newsroomKey, clock: systemClock, config: { logRequests: false }, log: () => {} });
  editorUrl = `http://127.0.0.1:${(await listen(editorApp.fetch)).port}`;
  editorToken = await addToken(database.db, 'alice', new Date());
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const budget of budgets) budget.stop();
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  await database?.close();
});

async function startSource(max: number, gateOptions: ChunkGateOptions = {}) {
  const gate = createChunkGate(gateOptions);
  const { app } = await buildTestApp(database.db, newsroomKey, () => new Date(), { logRequests: false, chunkGate: gate });
  const { server, port } = await listen(app.fetch);
  const logs: string[] = [];
  // reports every 200 ms (a minute in production), so the test sees each kind of event written
  const budget = applyConnectionBudget(server, { max, log: (line) => logs.push(line), reportEveryMs: 200 });
  budgets.push(budget);
  return { base: `http://127.0.0.1:${port}/`, port, gate, budget, logs };
}

const waitFor = async (check: () => boolean, ms: number) => {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  return check();
};

const editorAnswers = async () =>
  (await fetch(`${editorUrl}/editor/v1/submissions`, { headers: { authorization: `Bearer ${editorToken}` } })).status;

/**
 * An attacker's idle keep-alive connection: it connects, sends one cheap request (or none) and
 * then holds the connection, sending nothing; when the server closes it, it comes back 200 ms
 * later while `holding()` says so (about a thousand new connections a second in all). Counts how often the server closed it.
 */
function holdIdle(port: number, withRequest: boolean, holding: () => boolean, closedByServer: { n: number }) {
  const open = () => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => {});
    socket.on('connect', () => {
      if (withRequest) socket.write('GET /health HTTP/1.1\r\nHost: sealdrop\r\n\r\n');
    });
    socket.on('data', () => {});
    socket.on('close', () => {
      if (!holding()) return;
      closedByServer.n++;
      setTimeout(open, 200);
    });
  };
  open();
}

describe('idle keep-alive connections', () => {
  it('300 held idle against a cap of 100 never pass it, and honest text tips and the editor listener get through', async () => {
    const { base, port, budget, logs } = await startSource(100);
    expect(budget.highWater).toBe(75);
    let holding = true;
    const closed = { n: 0 };
    for (let i = 0; i < 300; i++) holdIdle(port, i % 2 === 0, () => holding, closed);
    try {
      // every attacker connection was accepted once, and the longest idle closed for the newer
      expect(await waitFor(() => budget.stats().idleClosed >= 300 - 75, 20_000)).toBe(true);
      expect(budget.stats().open).toBeLessThanOrEqual(75);

      const client = new LoadClient(base, newsroomKey.key);
      const uploads = await Promise.all(
        Array.from({ length: 4 }, async () => client.open(await makeCiphertext(newsroomKey.key, 4096 - 200), 4096)),
      );
      await Promise.all(uploads.map((u) => client.upload(u, { retryBudgetMs: 60_000 })));
      await verifyStored(database.db, uploads, client.counts);
      printCounts('text tips beside 300 idle keep-alive connections held against a cap of 100', client.counts);
      expect(client.counts).toMatchObject({ uploads: 4, completed: 4, unanswered: 0, acknowledgedButMissing: 0, duplicated: 0 });
      expect(await editorAnswers()).toBe(200);

      const stats = budget.stats();
      console.log(`[load] budget: ${JSON.stringify(stats)}; attacker connections closed by the server: ${closed.n}`);
      // the cap was never reached: idle connections made room, none was refused
      expect(stats.peak).toBeLessThanOrEqual(75);
      expect(stats.refused).toBe(0);
      expect(closed.n).toBeGreaterThanOrEqual(300 - 75);
      // counted, never an address or a port
      expect(logs.length).toBeGreaterThanOrEqual(1);
      expect(logs[0]).toMatch(/^connections: \d+ open \(\d+ busy\) of 100; \d+ idle closed above 75, 0 refused at the cap$/);
      for (const line of logs) expect(line).not.toMatch(/127\.0\.0\.1|::1|:\d{4,5}\b/);
    } finally {
      holding = false;
    }
  });
});

describe('busy connections at the cap', () => {
  it('new connections are refused at accept and counted while the cap is held by silent bodies; the editor listener answers, and an honest tip gets in once the gate cuts them', async () => {
    // 40 silent chunk bodies: busy (a request in progress), so not closed as idle; the gate cuts
    // them after 3 s of silence
    const { base, port, budget, logs } = await startSource(40, { idleMs: 3000, perUploadRequests: 64 });
    const attacker = new LoadClient(base, newsroomKey.key);
    const target = await attacker.open(await makeCiphertext(newsroomKey.key, 8 * MiB - 100), 4 * MiB);
    // wait for the attacker's own open connections to go, so that the cap is the silent bodies'
    const silent: Socket[] = [];
    for (let i = 0; i < 40; i++) {
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      silent.push(socket);
      socket.on('error', () => {});
      socket.write(
        `PUT /api/v1/uploads/${target.uploadId}/chunks/${i % 2} HTTP/1.1\r\nHost: sealdrop\r\n` +
          `Content-Type: application/octet-stream\r\nContent-Length: ${4 * MiB}\r\n\r\n`,
      );
      // one at a time, each busy before the next comes: an idle newcomer would be closed above 30
      expect(await waitFor(() => budget.stats().busy >= Math.min(i + 1, 40), 5000)).toBe(true);
    }
    expect(budget.stats()).toMatchObject({ open: 40, busy: 40 });

    // at the cap: a new connection is closed before a byte is read; the editor listener is not
    // touched by it
    const refusedBefore = budget.stats().refused;
    const honest = new LoadClient(base, newsroomKey.key);
    const cut = await honest.request('/health', {});
    expect(cut).toBe('cut');
    expect(budget.stats().refused).toBeGreaterThan(refusedBefore);
    expect(await editorAnswers()).toBe(200);
    expect(await waitFor(() => logs.some((line) => /[1-9]\d* refused at the cap$/.test(line)), 5000)).toBe(true);
    for (const line of logs) expect(line).not.toMatch(/127\.0\.0\.1|::1|:\d{4,5}\b/);

    // the honest source's uploader retries through the refusals; once the gate cuts the silent
    // bodies (408) their places are free and the tip arrives
    const upload = await honest.open(await makeCiphertext(newsroomKey.key, 4096 - 200), 4096);
    await honest.upload(upload, { retryBudgetMs: 60_000 });
    await verifyStored(database.db, [upload], honest.counts);
    printCounts('a text tip opened while silent bodies held the cap', honest.counts);
    expect(honest.counts).toMatchObject({ uploads: 1, completed: 1, acknowledgedButMissing: 0, duplicated: 0 });
    console.log(`[load] budget: ${JSON.stringify(budget.stats())}`);
    expect(budget.stats().peak).toBeLessThanOrEqual(40);
  });
});
