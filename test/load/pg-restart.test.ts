/**
 * PostgreSQL itself killed (SIGKILL to the postmaster and every backend) and restarted twice while
 * sources send text tips and multi-chunk uploads through the real server process (issue 8). On a
 * throwaway cluster of the test's own (test/ops/pg-cluster.ts), never the shared server. The server
 * must answer every request (503 while the database is away), recover by itself, lose no
 * acknowledged chunk and store no tip twice.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/open.ts';
import type { NewsroomKey } from '../../server/newsroom-key.ts';
import { demoNewsroomKey } from '../../server/test-helpers.ts';
import { ROOT, startImageCommand, type RunningServer } from '../ops/dockerfile.ts';
import { createPgCluster, type PgCluster } from '../ops/pg-cluster.ts';
import { emptyCounts, LoadClient, makeCiphertext, printCounts, verifyStored, type Upload } from './load-client.ts';

const KiB = 1024;
let cluster: PgCluster;
let server: RunningServer | undefined;
let newsroomKey: NewsroomKey;

beforeAll(async () => {
  newsroomKey = await demoNewsroomKey();
  cluster = await createPgCluster();
});
afterAll(async () => {
  if (server && server.watched.child.exitCode === null) {
    server.watched.child.kill('SIGKILL');
    await server.watched.exited;
  }
  cluster?.destroy();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL killed and restarted mid-load', () => {
  it('every request answered, no acknowledged chunk lost, no tip stored twice, and the server recovers by itself', async () => {
    server = await startImageCommand({
      DATABASE_URL: cluster.url,
      HOST: '127.0.0.1',
      PORT: '0',
      EDITOR_HOST: '127.0.0.1',
      EDITOR_PORT: '0',
      NEWSROOM_KEY_FILE: join(ROOT, 'keys.example/newsroom.pub.asc'),
      POW_DIFFICULTY: '0',
      LOG_REQUESTS: '0',
    });
    const client = new LoadClient(server.sourceUrl, newsroomKey.key);
    const uploads: Upload[] = [];
    let sending = true;

    // text tips, one after another on 4 workers, until told to stop
    const textWorkers = Array.from({ length: 4 }, async () => {
      while (sending) {
        const ciphertext = await makeCiphertext(newsroomKey.key, 3000);
        const upload = await client.open(ciphertext, ciphertext.length);
        uploads.push(upload);
        await client.upload(upload);
      }
    });
    // files: 6 uploads of 8 chunks, 2 in flight each, started one every 400 ms
    const fileWorkers = Array.from({ length: 6 }, async (_, i) => {
      await sleep(i * 400);
      const upload = await client.open(await makeCiphertext(newsroomKey.key, 8 * 256 * KiB - 1500), 256 * KiB);
      uploads.push(upload);
      await client.upload(upload, { parallel: 2 });
    });

    await sleep(1200);
    cluster.kill();
    await sleep(1500);
    cluster.start();
    await sleep(1500);
    cluster.kill();
    await sleep(1500);
    cluster.start();
    await sleep(2000);
    sending = false;
    await Promise.all([...textWorkers, ...fileWorkers]);

    // the process lived through it and took a tip afterwards on its own
    expect(server.watched.child.exitCode).toBeNull();
    const after = await client.open(await makeCiphertext(newsroomKey.key, 2000), 10_000);
    uploads.push(after);
    await client.upload(after);
    expect(server.watched.output()).not.toMatch(/unhandled|uncaught/i);

    const counts = { ...emptyCounts(), ...client.counts };
    server.watched.child.kill('SIGTERM');
    await server.watched.exited;
    server = undefined;
    const database = await openDatabase({ url: cluster.url });
    try {
      await verifyStored(database.db, uploads, counts);
    } finally {
      await database.close();
    }
    printCounts('PostgreSQL killed twice mid-load (text tips on 4 workers, 6 uploads × 8 chunks)', counts);
    expect(counts.http5xx, 'the database outages were seen as 503s').toBeGreaterThan(0);
    expect(counts).toMatchObject({ completed: counts.uploads, unanswered: 0, acknowledgedButMissing: 0, duplicated: 0 });
  });
});
