/**
 * A server process wired the way server/main.ts should be (see docs/OPERATIONS.md "Updates"):
 * real @hono/node-server listeners, a real PostgreSQL pool, the retention timer, and
 * installGracefulShutdown. Run by test/ops/shutdown-bound.test.ts; prints `listening <port>`.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { openDatabase } from '../../server/db/open.ts';
import { startRetentionTimer } from '../../server/retention.ts';
import { installGracefulShutdown } from '../../server/shutdown.ts';

const database = await openDatabase({ url: process.env.DATABASE_URL! });
const app = new Hono();
app.put('/chunk', async (c) => {
  const body = await c.req.arrayBuffer();
  await database.db.execute(sql`select 1`);
  return c.json({ received: body.byteLength });
});
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
  console.log(`listening ${info.port}`);
});
const stopRetention = startRetentionTimer({
  db: database.db,
  clock: () => new Date(),
  days: 30,
  log: (line) => console.log(line),
});
installGracefulShutdown({
  servers: [server],
  db: database,
  stops: [stopRetention],
  log: (line) => console.log(line),
  timeoutMs: Number(process.env.SHUTDOWN_TIMEOUT_MS),
});
