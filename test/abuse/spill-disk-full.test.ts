/**
 * A spill folder whose file system fills before CHUNK_SPILL does (helper-80, attack-spill): two
 * bodies that send all but 100 KiB of a 4 MiB chunk into an 8 MiB tmpfs and then a byte every 20 s
 * (never silent for the idle time) held the disk; before the gate read the disk's free space, every
 * honest file chunk's write failed (98 x 503 busy in 90 s, 0 of 2 chunks stored) and the two were
 * never cut. Now the disk's room is the budget (server/source/chunk-gate.ts, spill `freeBytes`),
 * and they are cut for the honest chunks as for a full budget. Mounts a tmpfs: root only (skipped
 * otherwise). On PostgreSQL in CI (TEST_DATABASE_URL), on PGlite otherwise; real sockets.
 */
import type http from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/open.ts';
import { createTestDatabase } from '../../server/db/test-db.ts';
import type { NewsroomKey } from '../../server/newsroom-key.ts';
import { type ChunkGate, type ChunkGateOptions, createChunkGate, SPILL_DISK_READ_MS } from '../../server/source/chunk-gate.ts';
import { chunkGateOptions } from '../../server/app.ts';
import { buildTestApp, demoNewsroomKey } from '../../server/test-helpers.ts';
import { LoadClient, makeCiphertext, printCounts, verifyStored, type Upload } from '../load/load-client.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

let database: Database;
let newsroomKey: NewsroomKey;
const servers: http.Server[] = [];
const sockets: Socket[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  newsroomKey = await demoNewsroomKey();
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  await database?.close();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function startServer(options: ChunkGateOptions): Promise<{ base: string; port: number; gate: ChunkGate }> {
  const gate = createChunkGate(options);
  const { app } = await buildTestApp(database.db, newsroomKey, () => new Date(), { logRequests: false, chunkGate: gate });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}/`, port, gate };
}

/** A chunk request on a raw socket: the headers announce `length`, the body comes only as the test writes it. */
function rawChunk(port: number, upload: Upload, index: number, length = upload.chunkSize) {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => {});
  socket.write(
    `PUT /api/v1/uploads/${upload.uploadId}/chunks/${index} HTTP/1.1\r\nHost: sealdrop\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`,
  );
  const t0 = performance.now();
  let at = 0;
  const answer = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (data: Buffer) => {
      text += data.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      const code = /"error":"([a-z_]+)"/.exec(text)?.[1];
      if (status?.startsWith('2') || (status && code)) {
        at ||= performance.now() - t0;
        resolve(status.startsWith('2') ? status : `${status} ${code}`);
      }
    });
    socket.on('close', () => resolve(text ? `unparsed ${text.slice(0, 40)}` : 'closed'));
  });
  return { socket, answer, ms: () => at };
}

const waitFor = async (check: () => boolean, ms: number) => {
  for (const end = Date.now() + ms; !check() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
  return check();
};

describe('the spill folder fills before CHUNK_SPILL does', () => {
  const root = process.getuid?.() === 0;
  it.skipIf(!root)('an 8 MiB spill file system, CHUNK_SPILL 64 MiB: trickling bodies that fill the disk as far as the gate lets them are cut for an honest 8 MiB file, which is stored whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-spill-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', dir]);
    cleanups.push(async () => {
      try {
        execFileSync('umount', [dir]);
      } catch {
        // already gone
      }
      await rm(dir, { recursive: true, force: true });
    });
    const { base, port, gate } = await startServer({ ...chunkGateOptions({ chunkMemory: 32 * MiB, chunkSpillDir: dir, chunkSpill: 64 * MiB }) });
    const attacker = new LoadClient(base, newsroomKey.key);
    const targets = await Promise.all([0, 1, 2].map(async () => attacker.open(await makeCiphertext(newsroomKey.key, 8 * MiB - 100), 4 * MiB)));
    // The gate takes half of what the disk has free above the floor at each reading (once a
    // second), so the attacker fills it as far as it lets: a body of 1.9 MiB, and then a byte every
    // 20 s (never silent for the idle time), one more each reading, until one is refused.
    const slow: ReturnType<typeof rawChunk>[] = [];
    for (let i = 0; i < 6; i++) {
      const s = rawChunk(port, targets[i % 3]!, Math.floor(i / 3));
      s.socket.write(Buffer.alloc(2 * MiB - 100 * KiB, 7));
      const refusedNow = await Promise.race([s.answer.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1300))]);
      if (refusedNow) break;
      slow.push(s);
    }
    // three of them, 5.7 MiB of the 8 MiB disk (half, then half of what was left, ...)
    expect(slow.length).toBeGreaterThanOrEqual(3);
    expect(gate.held().bytes).toBeGreaterThanOrEqual(3 * (2 * MiB - 100 * KiB));
    const trickle = setInterval(() => {
      for (const s of slow) if (!s.socket.destroyed) s.socket.write(Buffer.alloc(1, 7));
    }, 20_000);
    const df = execFileSync('df', ['-k', dir], { encoding: 'utf8' }).trim().split('\n')[1];
    console.log(`[spill-full] held on the 8 MiB spill fs: ${Math.round(gate.held().bytes / KiB)} KiB; df: ${df}`);
    try {
      // an honest 2-chunk file (2 x 4 MiB) and a text tip, with the page's retries, for 90 s
      const honest = new LoadClient(base, newsroomKey.key, 30_000);
      const file = await honest.open(await makeCiphertext(newsroomKey.key, 8 * MiB - 200), 4 * MiB);
      const tip = await honest.open(await makeCiphertext(newsroomKey.key, 3 * KiB), 4 * KiB);
      const t0 = performance.now();
      await honest.upload(tip, { retryBudgetMs: 30_000 });
      const tipMs = performance.now() - t0;
      const t1 = performance.now();
      const failed = await honest.upload(file, { retryBudgetMs: 90_000 }).then(() => undefined, (e: Error) => e.message);
      const fileMs = performance.now() - t1;
      if (failed) console.log(`[spill-full] the file failed: ${failed}`);
      const answers = await Promise.all(slow.map((s) => Promise.race([s.answer, new Promise((r) => setTimeout(() => r('still held'), 200))])));
      console.log(
        `[spill-full] text tip ${tip.submissionId ? 'stored' : 'NOT stored'} in ${Math.round(tipMs)} ms; 8 MiB file ` +
          `${file.submissionId ? 'stored' : `NOT stored (chunks acknowledged ${file.acknowledged.size}/2)`} after ${Math.round(fileMs / 1000)} s; ` +
          `counts ${JSON.stringify(honest.counts)}; the trickling bodies: ${JSON.stringify(answers)}`,
      );
      printCounts('a full spill disk, honest', honest.counts);
      // a full disk counts as a full budget: the slow bodies are cut for the honest ones
      expect(tip.submissionId).toBeDefined();
      expect(file.submissionId).toBeDefined();
      // as many as the honest chunks needed (each chunk is stored before the next fits)
      expect(answers).toContain('503 busy');
      expect(answers.every((a) => a === '503 busy' || a === 'still held')).toBe(true);
      await verifyStored(database.db, [tip, file], honest.counts);
      expect(honest.counts).toMatchObject({ uploads: 2, completed: 2, unanswered: 0, acknowledgedButMissing: 0, duplicated: 0 });
    } finally {
      clearInterval(trickle);
      for (const s of slow) s.socket.destroy();
      await waitFor(() => gate.held().chunks === 0, 10_000);
    }
    expect(await readdir(dir)).toEqual([]);
  }, 300_000);
});

