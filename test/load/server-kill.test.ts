/**
 * `kill -9` of the server process (the Dockerfile's own start command) with chunks in flight,
 * mid-upload and mid-completion, then a new process on the same database: every chunk that was
 * answered 200 is still there, every upload resumes and completes, none is stored twice (issue 8).
 * PostgreSQL when TEST_DATABASE_URL is set (CI), else the embedded database in a folder.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/open.ts';
import { demoNewsroomKey } from '../../server/test-helpers.ts';
import type { NewsroomKey } from '../../server/newsroom-key.ts';
import { loopbackServerEnv, startImageCommand, type RunningServer } from '../ops/dockerfile.ts';
import { createEmptyDatabase } from '../ops/pg.ts';
import { emptyCounts, LoadClient, makeCiphertext, printCounts, verifyStored, type Counts, type Upload } from './load-client.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const onPostgres = !!process.env.TEST_DATABASE_URL;

let newsroomKey: NewsroomKey;
let pg: Awaited<ReturnType<typeof createEmptyDatabase>> | undefined;
let dataDir: string | undefined;
let server: RunningServer | undefined;

beforeAll(async () => {
  newsroomKey = await demoNewsroomKey();
  if (onPostgres) pg = await createEmptyDatabase('sealdrop_kill');
  else dataDir = mkdtempSync(join(tmpdir(), 'sealdrop-kill-'));
});
afterAll(async () => {
  if (server && server.watched.child.exitCode === null) {
    server.watched.child.kill('SIGKILL');
    await server.watched.exited;
  }
  await pg?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const start = () =>
  startImageCommand(loopbackServerEnv(pg ? { DATABASE_URL: pg.url } : { DATA_DIR: dataDir! }));

async function kill9(running: RunningServer): Promise<void> {
  running.watched.child.kill('SIGKILL');
  const exit = await running.watched.exited;
  expect(exit.signal).toBe('SIGKILL');
}

/** Sends one upload's chunks, `parallel` at a time, no retries; stops at the first request cut. */
async function sendRaw(client: LoadClient, upload: Upload, parallel: number): Promise<void> {
  let next = 0;
  let stopped = false;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (!stopped && next < upload.chunks) {
        const answer = await client.putChunk(upload, next++);
        if (typeof answer !== 'object' || answer.status !== 200) stopped = true;
      }
    }),
  );
}

/** After the restart: every acknowledged chunk is in the upload's status; then the upload completes. */
async function checkAndResume(client: LoadClient, uploads: Upload[], counts: Counts): Promise<void> {
  for (const upload of uploads) {
    const status = await client.request(`/api/v1/uploads/${upload.uploadId}`, { method: 'GET' });
    if (typeof status !== 'object' || status.status !== 200) throw new Error(`status of an upload: ${JSON.stringify(status)}`);
    const received = new Set<number>(status.body.received);
    for (const index of upload.acknowledged) if (!received.has(index)) counts.acknowledgedButMissing++;
  }
  await Promise.all(uploads.map((u) => client.upload(u)));
}

async function finalCheck(uploads: Upload[], counts: Counts): Promise<void> {
  server!.watched.child.kill('SIGTERM');
  await server!.watched.exited;
  server = undefined;
  const database = await openDatabase(pg ? { url: pg.url } : { dataDir: dataDir! });
  try {
    await verifyStored(database.db, uploads, counts);
  } finally {
    await database.close();
  }
}

describe('kill -9 of the server with chunks in flight', () => {
  it('mid-upload: no acknowledged chunk lost, every upload resumes on the next process and completes once', async () => {
    const counts = emptyCounts();
    const all: Upload[] = [];
    server = await start();
    const trials = 4;
    for (let trial = 0; trial < trials; trial++) {
      const client = new LoadClient(server.sourceUrl, newsroomKey.key);
      const uploads = await Promise.all(
        Array.from({ length: 4 }, async () => client.open(await makeCiphertext(newsroomKey.key, 8 * 512 * KiB - 2000), 512 * KiB)),
      );
      all.push(...uploads);
      const sending = Promise.all(uploads.map((u) => sendRaw(client, u, 2)));
      await new Promise((r) => setTimeout(r, randomInt(100, 800)));
      await kill9(server);
      await sending;
      server = await start();
      client.base = server.sourceUrl;
      await checkAndResume(client, uploads, counts);
      for (const key of ['uploads', 'completed', 'http5xx', 'unanswered', 'cut'] as const) counts[key] += client.counts[key];
    }
    await finalCheck(all, counts);
    printCounts(`kill -9 mid-upload, ${trials} trials × 4 uploads × 8 chunks (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, counts);
    expect(counts).toMatchObject({ uploads: 16, completed: 16, unanswered: 0, acknowledgedButMissing: 0, duplicated: 0 });
  });

  it('mid-completion: the upload completes on the next process, once', async () => {
    const counts = emptyCounts();
    const all: Upload[] = [];
    server = await start();
    let killedMidCompletion = 0;
    let trials = 0;
    // 3 trials, more (at most 6) until one was caught while checking
    while ((trials < 3 || killedMidCompletion === 0) && trials < 6) {
      trials++;
      const client = new LoadClient(server.sourceUrl, newsroomKey.key);
      const upload = await client.open(await makeCiphertext(newsroomKey.key, 8 * 4 * MiB - 2000), 4 * MiB);
      all.push(upload);
      for (let i = 0; i < upload.chunks - 1; i++) {
        const answer = await client.putChunk(upload, i);
        expect(typeof answer === 'object' && answer.status).toBe(200);
      }
      // the last chunk: the server stores it, then reads 32 MiB back for the completion check
      const last = client.putChunk(upload, upload.chunks - 1);
      // the status is answered while the check runs: kill as soon as every chunk is in
      for (let polls = 0; polls < 2000; polls++) {
        const status = await client.request(`/api/v1/uploads/${upload.uploadId}`, { method: 'GET' });
        if (typeof status === 'object' && status.body.received?.length === upload.chunks) break;
      }
      await kill9(server);
      await last;
      server = await start();
      client.base = server.sourceUrl;
      // every chunk stored but the upload not complete: it was killed while checking
      const status = await client.request(`/api/v1/uploads/${upload.uploadId}`, { method: 'GET' });
      if (typeof status === 'object' && status.body.received?.length === upload.chunks && !status.body.complete) killedMidCompletion++;
      await checkAndResume(client, [upload], counts);
      for (const key of ['uploads', 'completed', 'http5xx', 'unanswered', 'cut'] as const) counts[key] += client.counts[key];
    }
    await finalCheck(all, counts);
    printCounts(
      `kill -9 mid-completion, ${trials} kills of 32 MiB uploads, ${killedMidCompletion} while checking (${onPostgres ? 'PostgreSQL' : 'PGlite'})`,
      counts,
    );
    expect(killedMidCompletion).toBeGreaterThan(0);
    expect(counts).toMatchObject({ uploads: trials, completed: trials, unanswered: 0, acknowledgedButMissing: 0, duplicated: 0 });
  });
});
