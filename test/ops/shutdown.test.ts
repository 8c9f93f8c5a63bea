/**
 * Graceful shutdown of the real server process (the Dockerfile's start command): SIGTERM while a
 * chunk is on its way. The chunk in flight is finished and acknowledged, every acknowledged chunk
 * is in the database, the process exits 0 within a bound, and the upload resumes on the next
 * process.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Key, readKey } from 'openpgp';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptToKeys, generateSourceKeys } from '../../protocol/source-keys.ts';
import { sha256Hex } from '../../server/test-helpers.ts';
import { ROOT, loopbackServerEnv, startImageCommand, type RunningServer } from './dockerfile.ts';
import { createEmptyDatabase } from './pg.ts';

// Above server/shutdown.ts's default drain bound (25 s) and below compose's stop_grace_period (35 s).
const EXIT_BOUND_MS = 35_000;
const CHUNK = 64 * 1024;

let database: Awaited<ReturnType<typeof createEmptyDatabase>>;
// the servers' temporary folder, where chunk bodies arrive with CHUNK_SPILL_DIR unset
let temporary: string;
beforeAll(async () => {
  database = await createEmptyDatabase('sealdrop_shutdown');
  temporary = mkdtempSync(join(tmpdir(), 'sealdrop-shutdown-tmp-'));
});
afterAll(async () => {
  await database?.drop();
  if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
});

const start = () =>
  startImageCommand({ ...loopbackServerEnv({ DATABASE_URL: database.url }), TMPDIR: temporary });

/** What the processes of this machine hold open in `dir` (readlink of every /proc/PID/fd entry). */
function openIn(dir: string): string[] {
  const links: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^[0-9]+$/.test(name))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith(`${dir}/`)) links.push(target);
      } catch {
        // closed meanwhile
      }
    }
  }
  return links;
}

async function postJson(base: string, path: string, body: unknown) {
  const res = await fetch(new URL(path, base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Opens an upload of `ciphertext` in `chunks` chunks of CHUNK bytes as a new source (no proof of work); its id. */
async function openUpload(base: string, newsroomKey: Key, ciphertext: Uint8Array, chunks: number): Promise<string> {
  const pow = await postJson(base, '/api/v1/pow', {});
  const opened = await postJson(base, '/api/v1/uploads', {
    pow: { token: pow.body.token, nonce: '0' },
    lookupId: randomBytes(32).toString('hex'),
    sourceKeys: await generateSourceKeys(randomBytes(32).toString('hex'), newsroomKey),
    size: ciphertext.length,
    chunkSize: CHUNK,
    chunks,
    sha256: sha256Hex(ciphertext),
  });
  expect(opened.status, JSON.stringify(opened.body)).toBe(201);
  return opened.body.uploadId as string;
}

/** A chunk PUT whose body goes in two halves, on its own connection. */
function chunkInTwoHalves(base: string, uploadId: string, index: number, bytes: Uint8Array) {
  const url = new URL(`/api/v1/uploads/${uploadId}/chunks/${index}`, base);
  const req = http.request(url, {
    method: 'PUT',
    agent: false,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
  });
  const answer = new Promise<{ status: number; body: Record<string, any> }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  answer.catch(() => {});
  const half = Math.floor(bytes.length / 2);
  const firstHalfSent = new Promise<void>((resolve) => req.write(bytes.subarray(0, half), () => resolve()));
  return { answer, firstHalfSent, finish: () => req.end(bytes.subarray(half)) };
}

function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

/** Waits for an unnamed file in `dir` (what `/proc/PID/fd` shows of an O_TMPFILE file: `dir/#inode (deleted)`). */
async function unnamedFileIn(dir: string): Promise<void> {
  for (let i = 0; !openIn(dir).some((link) => /\/#[0-9]+ \(deleted\)$/.test(link)); i++) {
    expect(i, `no unnamed file in ${dir} while a body arrives: ${JSON.stringify(openIn(dir))}`).toBeLessThan(400);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function putChunk(base: string, uploadId: string, index: number, bytes: Uint8Array) {
  const res = await fetch(new URL(`/api/v1/uploads/${uploadId}/chunks/${index}`, base), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(bytes),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function withinBound<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${EXIT_BOUND_MS} ms`)), EXIT_BOUND_MS);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

describe('SIGTERM during an upload', () => {
  it('finishes the chunk in flight, keeps every acknowledged chunk, exits 0, and the upload resumes', async () => {
    const newsroomKey = await readKey({ armoredKey: readFileSync(join(ROOT, 'keys.example/newsroom.pub.asc'), 'utf8') });
    const ciphertext = await encryptToKeys(new Uint8Array(randomBytes(3 * CHUNK + 5000)), [newsroomKey]);
    const parts = Array.from({ length: Math.ceil(ciphertext.length / CHUNK) }, (_, i) =>
      ciphertext.subarray(i * CHUNK, (i + 1) * CHUNK),
    );
    expect(parts.length).toBe(4);

    let server: RunningServer = await start();
    let base = server.sourceUrl;
    const uploadId = await openUpload(base, newsroomKey, ciphertext, parts.length);

    const acknowledged: number[] = [];
    for (const i of [0, 1]) {
      const r = await putChunk(base, uploadId, i, parts[i]!);
      expect(r.status).toBe(200);
      acknowledged.push(i);
    }

    // chunk 2 is half-way when the stop comes
    const inFlight = chunkInTwoHalves(base, uploadId, 2, parts[2]!);
    await inFlight.firstHalfSent;
    // CHUNK_SPILL_DIR unset: the half-sent body waits in the temporary folder, which lists nothing
    await unnamedFileIn(temporary);
    expect(readdirSync(temporary).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
    server.watched.child.kill('SIGTERM');
    // the server stops taking connections while the chunk is still open
    for (let i = 0; !(await refusesConnections(base)); i++) {
      expect(i, 'the server kept accepting connections after SIGTERM').toBeLessThan(200);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(server.watched.child.exitCode).toBeNull();
    inFlight.finish();
    const answer = await inFlight.answer;
    expect(answer.status).toBe(200);
    expect(answer.body.complete).toBe(false);
    expect(answer.body.received).toEqual([0, 1, 2]);
    acknowledged.push(2);

    const exit = await withinBound(server.watched.exited, 'exit after SIGTERM');
    expect(exit, server.watched.output()).toEqual({ code: 0, signal: null });

    // every acknowledged chunk is in the database, byte for byte
    const sql = postgres(database.url, { max: 1 });
    try {
      const rows = await sql<{ idx: number; data: Buffer }[]>`
        select c.idx, c.data from chunks c order by c.idx`;
      expect(rows.map((r) => r.idx)).toEqual(acknowledged);
      for (const row of rows) expect(Buffer.compare(row.data, Buffer.from(parts[row.idx]!))).toBe(0);
    } finally {
      await sql.end();
    }

    // the next process (the updated container) takes the rest of the upload
    server = await start();
    base = server.sourceUrl;
    try {
      const status = await fetch(new URL(`/api/v1/uploads/${uploadId}`, base));
      expect(await status.json()).toMatchObject({ received: [0, 1, 2], chunks: 4 });
      const last = await putChunk(base, uploadId, 3, parts[3]!);
      expect(last.status).toBe(200);
      expect(last.body.complete).toBe(true);
    } finally {
      server.watched.child.kill('SIGTERM');
    }
    expect((await withinBound(server.watched.exited, 'second exit')).code).toBe(0);
  });

  it('in the trial mode (PGlite, CHUNK_SPILL_DIR unset) a body on its way waits in DATA_DIR as an unnamed file, and the folder lists the same', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sealdrop-shutdown-trial-'));
    try {
      const server = await startImageCommand({ ...loopbackServerEnv({ DATA_DIR: dataDir }), TMPDIR: temporary });
      try {
        const base = server.sourceUrl;
        expect(server.watched.output()).not.toMatch(/held in memory/);
        const newsroomKey = await readKey({ armoredKey: readFileSync(join(ROOT, 'keys.example/newsroom.pub.asc'), 'utf8') });
        const ciphertext = await encryptToKeys(new Uint8Array(randomBytes(CHUNK + 5000)), [newsroomKey]);
        const parts = [ciphertext.subarray(0, CHUNK), ciphertext.subarray(CHUNK)];
        const uploadId = await openUpload(base, newsroomKey, ciphertext, parts.length);
        const listed = readdirSync(dataDir).sort();
        const inFlight = chunkInTwoHalves(base, uploadId, 0, parts[0]!);
        await inFlight.firstHalfSent;
        await unnamedFileIn(dataDir);
        expect(readdirSync(dataDir).sort()).toEqual(listed);
        inFlight.finish();
        expect((await inFlight.answer).status).toBe(200);
        expect((await putChunk(base, uploadId, 1, parts[1]!)).body.complete).toBe(true);
      } finally {
        server.watched.child.kill('SIGTERM');
      }
      expect((await withinBound(server.watched.exited, 'exit')).code).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
