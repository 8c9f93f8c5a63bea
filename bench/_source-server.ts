/**
 * The server under test for bench/source-api.bench.ts, in its own process so its RSS can be read
 * from /proc/<pid>/status. Prints one JSON line `{ "port": n }` once listening.
 *   MODE=baseline  a bare Hono app with one trivial POST route, same node-server
 *   MODE=source    the real source app on DATABASE_URL with POW_DIFFICULTY, its listener under the
 *                  connection budget as server/main.ts sets it (SOURCE_MAX_CONNECTIONS, else the
 *                  default from the fd limit); with BENCH_BUDGET_STATS=1 it prints the budget's
 *                  counts as a JSON line on stdout for each line it reads on stdin
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createApp } from '../server/app.ts';
import { applyConnectionBudget, defaultMaxConnections, readFileDescriptorLimit } from '../server/connection-budget.ts';
import { applyHttpTimeouts } from '../server/http-timeouts.ts';
import { systemClock } from '../server/clock.ts';
import { openDatabase } from '../server/db/open.ts';
import { loadInstance } from '../server/instance.ts';
import { loadNewsroomKey } from '../server/newsroom-key.ts';
import { createKeyCheckPool } from '../server/source/key-check-pool.ts';
import { DEMO_KEY_PATH } from '../server/test-helpers.ts';

async function main() {
  // BENCH_MEMORY_LOG=<ms>: samples process.memoryUsage() every <ms> ms (1000 when not a number),
  // prints each sample to stderr, and at SIGTERM the sample with the highest RSS: where the
  // memory was at the peak (heap, ArrayBuffers, other external, and the rest: code, stacks,
  // worker threads, malloc's free lists)
  let peakLine = () => '';
  if (process.env.BENCH_MEMORY_LOG) {
    const every = Number(process.env.BENCH_MEMORY_LOG) || 1000;
    const mib = (n: number) => (n / 1048576).toFixed(1);
    const line = (m: NodeJS.MemoryUsage) =>
      `rss ${mib(m.rss)} heapUsed ${mib(m.heapUsed)} heapTotal ${mib(m.heapTotal)} arrayBuffers ${mib(m.arrayBuffers)} ` +
      `otherExternal ${mib(m.external - m.arrayBuffers)} rest ${mib(m.rss - m.heapTotal - m.external)}`;
    let peak = process.memoryUsage();
    setInterval(() => {
      const m = process.memoryUsage();
      if (m.rss > peak.rss) peak = m;
      process.stderr.write(`mem ${line(m)}\n`);
    }, every).unref();
    peakLine = () => `mem at peak RSS (MiB): ${line(peak)}\n`;
  }
  let fetch: (request: Request) => Response | Promise<Response>;
  let close = async () => {};
  if (process.env.MODE === 'baseline') {
    const app = new Hono();
    app.post('/echo', async (c) => c.json({ ok: true, got: Object.keys(await c.req.json()).length }));
    fetch = app.fetch;
  } else {
    const database = await openDatabase({ url: process.env.DATABASE_URL! });
    const newsroomKey = await loadNewsroomKey(DEMO_KEY_PATH, new Date());
    const instance = await loadInstance(database.db, systemClock);
    // wired as server/main.ts wires it
    const keyChecks = createKeyCheckPool();
    await keyChecks.ready();
    const app = createApp({
      keyCheck: keyChecks.check,
      db: database.db,
      newsroomKey,
      instance,
      clock: systemClock,
      config: { powDifficulty: Number(process.env.POW_DIFFICULTY ?? 0), onionLocation: undefined, logRequests: false },
      log: () => {},
    });
    fetch = app.fetch;
    close = async () => {
      await keyChecks.close();
      await database.close();
    };
  }
  let budget: ReturnType<typeof applyConnectionBudget> | undefined;
  const server = serve({ fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
    process.stdout.write(`${JSON.stringify({ port: info.port, ...(budget ? { maxConnections: budget.max, highWater: budget.highWater } : {}) })}\n`);
  }) as import('node:http').Server;
  if (process.env.MODE !== 'baseline') {
    applyHttpTimeouts(server);
    const max = Number(process.env.SOURCE_MAX_CONNECTIONS) || defaultMaxConnections(readFileDescriptorLimit());
    budget = applyConnectionBudget(server, { max, log: (line) => process.stderr.write(`${line}\n`) });
    if (process.env.BENCH_BUDGET_STATS === '1') {
      process.stdin.on('data', (data: Buffer) => {
        for (let i = 0; i < data.toString().split('\n').length - 1; i++) process.stdout.write(`${JSON.stringify(budget!.stats())}\n`);
      });
    }
  }
  process.once('SIGTERM', () => {
    process.stderr.write(peakLine());
    server.close();
    void close().then(() => process.exit(0));
  });
}

void main();
