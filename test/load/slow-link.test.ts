/**
 * A 50 MB tip over a slow, flaky link (issue 12 "Must show"): the page's own uploader
 * (client/lib/upload.ts, with its default timeouts, retries and chunk size) through the slow-link
 * proxy to the real app, with 400 ms added each way, the rate capped at 8 Mbit/s, and one
 * connection cut mid-upload. 8 Mbit/s, not the issue's 1 Mbit/s: 50 MB at 1 Mbit/s is 7 minutes
 * of a two-core machine shared with other tests; the timeouts are the same at any rate (the
 * browser stories freeze a link, the bench measures a text tip at 1 Mbit/s).
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, PARALLEL_CHUNKS } from '../../protocol/limits.ts';
import { bytesSource, fetchChunkSender, type RetryInfo, type UploadProgress, uploadChunks } from '../../client/lib/upload.ts';
import { rowsOf, type Database } from '../../server/db/open.ts';
import { createTestDatabase } from '../../server/db/test-db.ts';
import type { NewsroomKey } from '../../server/newsroom-key.ts';
import { buildTestApp, demoNewsroomKey } from '../../server/test-helpers.ts';
import { startSlowLinkProxy, type SlowLinkProxy } from '../slow-link-proxy.ts';
import { LoadClient, makeCiphertext, sha256Hex } from './load-client.ts';

const MB = 1_000_000;

let database: Database;
let newsroomKey: NewsroomKey;
let server: http.Server;
let proxy: SlowLinkProxy;

beforeAll(async () => {
  database = await createTestDatabase();
  newsroomKey = await demoNewsroomKey();
  const { app } = await buildTestApp(database.db, newsroomKey, () => new Date(), { logRequests: false });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  proxy = await startSlowLinkProxy({ host: '127.0.0.1', port: (server.address() as AddressInfo).port }, { latencyMs: 400, bytesPerSecond: MB });
}, 120_000);
afterAll(async () => {
  await proxy?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await database?.close();
});

describe('a 50 MB tip over a slow, flaky link', () => {
  it('completes intact through 400 ms each way, 8 Mbit/s and one cut connection, with progress and a time left', { timeout: 900_000 }, async () => {
    const ciphertext = await makeCiphertext(newsroomKey.key, 50 * MB);
    const client = new LoadClient(`${proxy.origin}/`, newsroomKey.key);
    const upload = await client.open(ciphertext, CHUNK_BYTES);
    // a relay dies under a chunk a fifth of the way in
    let dropped = false;
    void proxy.dropOneConnection(10 * MB).then(() => (dropped = true));
    const progress: UploadProgress[] = [];
    const retries: RetryInfo[] = [];
    const started = Date.now();
    const { submissionId } = await uploadChunks({
      source: bytesSource(ciphertext, CHUNK_BYTES),
      send: fetchChunkSender(upload.uploadId, proxy.origin),
      signal: new AbortController().signal,
      parallel: PARALLEL_CHUNKS,
      onProgress: (p) => (progress.push(p), process.env.SLOW_LINK_DEBUG && console.log('progress', p)),
      onRetry: (info) => (retries.push(info), process.env.SLOW_LINK_DEBUG && console.log('retry', info)),
    });
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `[slow-link] ${(ciphertext.length / MB).toFixed(1)} MB in ${seconds.toFixed(1)} s over 400 ms each way at 8 Mbit/s, ` +
        `${retries.length} retr${retries.length === 1 ? 'y' : 'ies'} (${retries.map((r) => `chunk ${r.index} ${r.reason}`).join(', ')}), ${proxy.connections} connections`,
    );

    expect(submissionId).toMatch(/./);
    expect(dropped).toBe(true);
    // the cut chunk was sent again, as a network failure
    expect(retries.map((r) => r.reason)).toContain('network');
    // progress only grows, ends at the whole, and says how long is left from the first acknowledgement
    const acknowledged = progress.map((p) => p.acknowledged);
    expect(acknowledged).toEqual([...acknowledged].sort((a, b) => a - b));
    expect(acknowledged.at(-1)).toBe(ciphertext.length);
    expect(progress.every((p) => p.remainingMs !== undefined && p.bytesPerSecond! > 0)).toBe(true);
    expect(progress.at(-1)!.remainingMs).toBe(0);

    const [row] = rowsOf<{ status: string; digest: string }>(
      await database.db.execute(sql`
        select s.status,
          encode(sha256((select string_agg(c.data, ''::bytea order by c.idx) from chunks c where c.submission_id = s.id)), 'hex') as digest
        from submissions s where s.sha256 = ${sha256Hex(ciphertext)}`),
    );
    expect(row).toEqual({ status: 'received', digest: sha256Hex(ciphertext) });
  });
});
