/**
 * Source API throughput against PostgreSQL (BENCH_DATABASE_URL, default the local server), in a
 * fresh database this bench creates and drops. The server runs in a child process
 * (bench/_source-server.ts) so its RSS can be read from /proc; load comes from this process with
 * fetch (undici, keep-alive). Figures, each beside its goal and the bare-Hono baseline:
 *   - baseline: a trivial POST route on the same node-server, 50 concurrent clients
 *   - text tips/s, 50 clients, POW_DIFFICULTY=0: each tip = challenge + open (new source with
 *     reply keys) + one chunk (completion check included); goal ≥ 10 % of baseline
 *   - refused opens/s when flooded with invalid proofs of work; goal ≥ 50 % of baseline
 *   - one 1 GiB real OpenPGP message (streamed encryption to the demo key) in 4 MiB chunks:
 *     MB/s from open to the completed answer (hash + structure check included) and the server's
 *     RSS growth; goals ≥ 40 MB/s, < 64 MiB
 *   - 8 uploads at once (8 × 128 MiB real OpenPGP messages, each sent as the page sends it:
 *     PARALLEL_CHUNKS chunks in flight, a 503/429 from the chunk gate retried after 100 ms): total
 *     MB/s from the first open to the last completed answer, the server's RSS growth, and the
 *     latency of a chunk's 200 (p50/p99, the completing chunks apart); goals ≥ 40 MB/s, < 128 MiB
 * BENCH_SECTIONS (comma-separated, default all) runs only some of them: `throughput` (the first
 * three), `ingest` (the 1 GiB upload), `concurrent` (the 8 uploads), e.g.
 * `BENCH_SECTIONS=ingest,concurrent npm run bench -- source-api`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createMessage, encrypt, enums } from 'openpgp';
import postgres from 'postgres';
import { CHUNK_BYTES, PARALLEL_CHUNKS } from '../protocol/limits.ts';
import { encryptToKeys, generateSourceKeys } from '../protocol/source-keys.ts';
import { demoNewsroomKey } from '../server/test-helpers.ts';
import { readImageCommand } from '../test/ops/dockerfile.ts';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CLIENTS = 50;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const INGEST_BYTES = Number(process.env.BENCH_INGEST_BYTES ?? 1024 ** 3);
const INGEST_PARALLEL = Number(process.env.BENCH_INGEST_PARALLEL ?? 1);
const CONCURRENT_UPLOADS = Number(process.env.BENCH_CONCURRENT_UPLOADS ?? 8);
const CONCURRENT_BYTES = Number(process.env.BENCH_CONCURRENT_BYTES ?? 128 * 1024 ** 2);
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? 'throughput,ingest,concurrent').split(',').map((s) => s.trim()));
for (const section of SECTIONS) {
  if (!['throughput', 'ingest', 'concurrent'].includes(section)) throw new Error(`BENCH_SECTIONS: no section ${section} (throughput, ingest, concurrent)`);
}
const SERVER = fileURLToPath(new URL('./_source-server.ts', import.meta.url));
/**
 * The server under test starts as the image starts it (the Dockerfile's runtime stage): the node
 * flags of its CMD, and the variables of its ENV that shape the process itself (glibc malloc's
 * MALLOC_*, NODE_*), so the RSS figures are production's (docs/OPERATIONS.md, "Memory"). A
 * variable set in the bench's own environment wins (to measure another setting); the bench
 * prints what the server got.
 */
const IMAGE = readImageCommand();
const PRODUCTION_NODE_FLAGS = IMAGE.cmd.slice(1, -1);
const PRODUCTION_ENV = Object.fromEntries(
  Object.entries(IMAGE.env)
    .filter(([name]) => /^(MALLOC_|NODE_)/.test(name))
    .map(([name, value]) => [name, process.env[name] ?? value]),
);
if (IMAGE.cmd[0] !== 'node' || !IMAGE.cmd.at(-1)?.endsWith('.ts')) throw new Error(`the Dockerfile's CMD is not node <flags> <server>.ts: ${JSON.stringify(IMAGE.cmd)}`);

interface Child {
  process: ChildProcess;
  base: string;
  stop(): Promise<void>;
}

async function startServer(env: Record<string, string>): Promise<Child> {
  // BENCH_SERVER_NODE_ARGS: node flags for the server under test (e.g. --trace-gc, to see what its memory does)
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...PRODUCTION_NODE_FLAGS, ...nodeArgs, SERVER], {
    env: { ...process.env, ...PRODUCTION_ENV, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench server exited early (${code})`)));
    // the first JSON line (node flags such as --trace-gc print to stdout too)
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('{')) resolve((JSON.parse(line) as { port: number }).port);
      else console.log(`server: ${line}`);
    });
  });
  return {
    process: child,
    base: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function rssKiB(pid: number, field = 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return Number(match?.[1] ?? NaN);
}

/** CPU time (user + system) a process has used, in ms (Linux clock ticks are 1/100 s). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Measured {
  perSecond: number;
  errors: number;
  /** the server's CPU per completed operation: independent of what else runs on the machine */
  cpuMsPerOp: number;
}

async function measure(pid: number, once: (client: number) => Promise<void>): Promise<Measured> {
  let ops = 0;
  const wrapped = async (client: number) => {
    await once(client);
    ops++;
  };
  // warm-up is inside load(); count CPU over the whole phase against all operations in it
  const cpu0 = await cpuMs(pid);
  const result = await load(CLIENTS, PHASE_MS, wrapped);
  const cpu1 = await cpuMs(pid);
  return { ...result, cpuMsPerOp: (cpu1 - cpu0) / Math.max(1, ops) };
}

const best = (runs: Measured[]) => runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `once` in `clients` loops for `ms`; returns completions per second (after a short warm-up). */
async function load(clients: number, ms: number, once: (client: number) => Promise<void>): Promise<{ perSecond: number; errors: number }> {
  let done = 0;
  let errors = 0;
  let counting = false;
  const warmUntil = Date.now() + Math.min(1000, ms / 4);
  const endAt = warmUntil + ms;
  const loops = Array.from({ length: clients }, async (_, client) => {
    while (Date.now() < endAt) {
      try {
        await once(client);
        if (counting) done++;
      } catch {
        errors++;
      }
      if (!counting && Date.now() >= warmUntil) counting = true;
    }
  });
  await new Promise((r) => setTimeout(r, warmUntil - Date.now()));
  counting = true;
  const started = performance.now();
  await Promise.all(loops);
  return { perSecond: done / ((performance.now() - started) / 1000), errors };
}

const postJson = (base: string, path: string, body: unknown) =>
  fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function expectStatus(res: Response, status: number) {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const verdict = (ok: boolean) => (ok ? 'meets goal' : 'BELOW GOAL');

/** A real 1 GiB OpenPGP message: OpenPGP.js streaming encryption of random data, to a file. */
async function makeBigCiphertext(path: string, bytes: number): Promise<{ size: number; sha256: string }> {
  const key = (await demoNewsroomKey()).key;
  let left = bytes;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (left <= 0) return controller.close();
      const n = Math.min(left, 1024 * 1024);
      left -= n;
      controller.enqueue(new Uint8Array(randomBytes(n)));
    },
  });
  const encrypted = (await encrypt({
    message: await createMessage({ binary: source, format: 'binary' }),
    encryptionKeys: key,
    format: 'binary',
    config: { preferredCompressionAlgorithm: enums.compression.uncompressed },
  })) as unknown as ReadableStream<Uint8Array>;
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  let size = 0;
  for await (const part of encrypted as unknown as AsyncIterable<Uint8Array>) {
    hash.update(part);
    size += part.length;
    if (!out.write(part)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return { size, sha256: hash.digest('hex') };
}

function report(runs: { baseline: Measured[]; tips: Measured[]; flood: Measured[] }): void {
  const base = best(runs.baseline);
  const tipsBest = best(runs.tips);
  const floodBest = best(runs.flood);
  const cpu = {
    baseline: median(runs.baseline.map((r) => r.cpuMsPerOp)),
    tips: median(runs.tips.map((r) => r.cpuMsPerOp)),
    flood: median(runs.flood.map((r) => r.cpuMsPerOp)),
  };
  const errors = (rs: Measured[]) => rs.reduce((n, r) => n + r.errors, 0);
  console.log(`rounds: ${runs.baseline.map((r) => fmt(r.perSecond)).join(' / ')} baseline req/s; ${runs.tips.map((r) => fmt(r.perSecond, 1)).join(' / ')} tips/s; ${runs.flood.map((r) => fmt(r.perSecond)).join(' / ')} refused/s`);
  console.log(`baseline (bare Hono, trivial POST):  ${fmt(base.perSecond)} req/s; server CPU ${fmt(cpu.baseline, 3)} ms/req (errors ${errors(runs.baseline)})`);
  const tipShare = tipsBest.perSecond / base.perSecond;
  console.log(
    `text tips, PoW difficulty 0:         ${fmt(tipsBest.perSecond, 1)} tips/s (${fmt(tipsBest.perSecond * 3)} req/s: challenge + open + chunk) = ${fmt(tipShare * 100, 1)} % of baseline ` +
      `(goal ≥ 10 %: ${verdict(tipShare >= 0.1)}); server CPU ${fmt(cpu.tips, 2)} ms/tip = ${fmt((cpu.baseline / cpu.tips) * 100, 1)} % of baseline by CPU (errors ${errors(runs.tips)})`,
  );
  const floodShare = floodBest.perSecond / base.perSecond;
  console.log(
    `refused opens, invalid PoW flood:    ${fmt(floodBest.perSecond)} req/s = ${fmt(floodShare * 100, 1)} % of baseline ` +
      `(goal ≥ 50 %: ${verdict(floodShare >= 0.5)}); server CPU ${fmt(cpu.flood, 3)} ms/req = ${fmt((cpu.baseline / cpu.flood) * 100, 1)} % of baseline by CPU (errors ${errors(runs.flood)})`,
  );
}

export async function run(): Promise<void> {
  const name = `sealdrop_bench_${randomBytes(6).toString('hex')}`;
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  const tmp = await mkdtemp(join(tmpdir(), 'sealdrop-bench-'));
  const children: Child[] = [];
  try {
    console.log(`PostgreSQL: ${url.host}, fresh database ${name}; ${CLIENTS} concurrent clients, ${PHASE_MS / 1000} s per phase`);
    const extra = process.env.BENCH_SERVER_NODE_ARGS ? ` ${process.env.BENCH_SERVER_NODE_ARGS}` : '';
    if (typeof (new ArrayBuffer(0) as ArrayBuffer & { transfer?: unknown }).transfer !== 'function' && !extra.includes('--harmony-rab-gsab-transfer')) {
      console.log(
        `(node ${process.version} has no ArrayBuffer.prototype.transfer: the server leaves written chunk pieces to V8's GC, where production's ` +
          'Node 22 frees them at once (server/source/chunk-gate.ts, discard); BENCH_SERVER_NODE_ARGS=--harmony-rab-gsab-transfer measures that here)',
      );
    }
    console.log(
      `server under test: node ${PRODUCTION_NODE_FLAGS.join(' ')}${extra}, ` +
        `${Object.entries(PRODUCTION_ENV).map(([k, v]) => `${k}=${v}`).join(' ') || 'no MALLOC_/NODE_ variable'} (the Dockerfile's CMD and ENV)`,
    );

    const newsroomKey = await demoNewsroomKey();
    const sourceKeys = await generateSourceKeys('c'.repeat(64), newsroomKey.key);
    // a padded text tip is at least 4 KiB (MIN_PADDED_BYTES) before encryption
    const tips = await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const bytes = await encryptToKeys(new Uint8Array(randomBytes(4096)), [newsroomKey.key]);
        return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
      }),
    );
    if (SECTIONS.has('throughput')) await throughput(url.toString(), tips, sourceKeys, children);
    if (SECTIONS.has('ingest')) await ingest(url.toString(), tmp, tips[0]!, sourceKeys, children);
    if (SECTIONS.has('concurrent')) await concurrentIngest(url.toString(), tmp, sourceKeys, tips[0]!);
  } finally {
    for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) await child.stop();
    await rm(tmp, { recursive: true, force: true });
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

type Tip = { bytes: Uint8Array; sha256: string };
type SourceKeys = { publicKey: string; lockedPrivateKey: string };

/** 1-3. baseline, text tips and refused opens, interleaved over ROUNDS rounds. */
async function throughput(url: string, tips: Tip[], sourceKeys: SourceKeys, children: Child[]): Promise<void> {
  const baseline = await startServer({ MODE: 'baseline' });
  children.push(baseline);
  const server = await startServer({ MODE: 'source', DATABASE_URL: url.toString(), POW_DIFFICULTY: '0' });
  children.push(server);

  const baselineOnce = async () => {
    await expectStatus(await postJson(baseline.base, '/echo', { hello: 'world', n: 1 }), 200);
  };
  const tipOnce = async (client: number) => {
    const tip = tips[client]!;
    const { token } = JSON.parse(await expectStatus(await postJson(server.base, '/api/v1/pow', {}), 200)) as { token: string };
    const opened = await postJson(server.base, '/api/v1/uploads', {
      pow: { token, nonce: '0' },
      lookupId: randomBytes(32).toString('hex'),
      sourceKeys,
      size: tip.bytes.length,
      chunkSize: tip.bytes.length,
      chunks: 1,
      sha256: tip.sha256,
    });
    const { uploadId } = JSON.parse(await expectStatus(opened, 201)) as { uploadId: string };
    const done = await fetch(`${server.base}/api/v1/uploads/${uploadId}/chunks/0`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: tip.bytes as Uint8Array<ArrayBuffer>,
    });
    const answer = JSON.parse(await expectStatus(done, 200)) as { complete: boolean };
    if (!answer.complete) throw new Error('tip not complete');
  };
  const { token } = JSON.parse(await expectStatus(await postJson(server.base, '/api/v1/pow', {}), 200)) as { token: string };
  const forged = token.slice(0, -43) + (token.at(-43) === 'A' ? 'B' : 'A') + token.slice(-42);
  // a realistic open (new source, reply keys included) whose proof of work is forged
  const junkBody = JSON.stringify({
    pow: { token: forged, nonce: '0' },
    lookupId: 'a'.repeat(64),
    sourceKeys,
    size: 5000,
    chunkSize: 5000,
    chunks: 1,
    sha256: 'b'.repeat(64),
  });
  const floodOnce = async () => {
    const res = await fetch(`${server.base}/api/v1/uploads`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: junkBody });
    await expectStatus(res, 400);
  };

  // The machine is shared: phases are interleaved over ROUNDS rounds; the best round of each
  // is reported (the least disturbed), and the server's own CPU per operation beside it.
  const runs = { baseline: [] as Measured[], tips: [] as Measured[], flood: [] as Measured[] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.baseline.push(await measure(baseline.process.pid!, baselineOnce));
    runs.tips.push(await measure(server.process.pid!, tipOnce));
    runs.flood.push(await measure(server.process.pid!, floodOnce));
  }
  await baseline.stop();
  await server.stop();
  if (ROUNDS > 0) report(runs);
}

/** 4. One upload of INGEST_BYTES, INGEST_PARALLEL chunks at a time. */
async function ingest(url: string, tmp: string, warmTip: Tip, sourceKeys: SourceKeys, children: Child[]): Promise<void> {
  // 4. 1 GiB ingest, in a fresh server process so its RSS growth is the upload's alone
  const file = join(tmp, 'big.pgp');
  const started = performance.now();
  const big = await makeBigCiphertext(file, INGEST_BYTES);
  console.log(`(made a ${fmt(big.size / 1024 ** 2, 1)} MiB OpenPGP message by streaming encryption in ${fmt((performance.now() - started) / 1000, 1)} s)`);
  const ingestServer = await startServer({ MODE: 'source', DATABASE_URL: url.toString(), POW_DIFFICULTY: '0' });
  children.push(ingestServer);
  const pid = ingestServer.process.pid!;
  // warm up: one small tip, so module loading and first-use allocations are not counted
  {
    const { token: warmToken } = JSON.parse(await expectStatus(await postJson(ingestServer.base, '/api/v1/pow', {}), 200)) as { token: string };
    const tip = warmTip;
    const opened = await postJson(ingestServer.base, '/api/v1/uploads', {
      pow: { token: warmToken, nonce: '0' }, lookupId: randomBytes(32).toString('hex'), sourceKeys,
      size: tip.bytes.length, chunkSize: tip.bytes.length, chunks: 1, sha256: tip.sha256,
    });
    const { uploadId } = JSON.parse(await expectStatus(opened, 201)) as { uploadId: string };
    await expectStatus(await fetch(`${ingestServer.base}/api/v1/uploads/${uploadId}/chunks/0`, {
      method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: tip.bytes as Uint8Array<ArrayBuffer>,
    }), 200);
  }
  const rssBefore = await rssKiB(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    void rssKiB(pid).then((kib) => { rssPeak = Math.max(rssPeak, kib); }, () => {});
  }, 50);
  const chunkCount = Math.ceil(big.size / CHUNK_BYTES);
  const t0 = performance.now();
  const { token: bigToken } = JSON.parse(await expectStatus(await postJson(ingestServer.base, '/api/v1/pow', {}), 200)) as { token: string };
  const opened = await postJson(ingestServer.base, '/api/v1/uploads', {
    pow: { token: bigToken, nonce: '0' }, lookupId: randomBytes(32).toString('hex'), sourceKeys,
    size: big.size, chunkSize: CHUNK_BYTES, chunks: chunkCount, sha256: big.sha256,
  });
  const { uploadId } = JSON.parse(await expectStatus(opened, 201)) as { uploadId: string };
  const handle = await open(file, 'r');
  let next = 0;
  let completed = false;
  try {
    await Promise.all(
      Array.from({ length: INGEST_PARALLEL }, async () => {
        for (let i = next++; i < chunkCount; i = next++) {
          const length = Math.min(CHUNK_BYTES, big.size - i * CHUNK_BYTES);
          const buffer = Buffer.alloc(length);
          await handle.read(buffer, 0, length, i * CHUNK_BYTES);
          const res = await fetch(`${ingestServer.base}/api/v1/uploads/${uploadId}/chunks/${i}`, {
            method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: buffer,
          });
          const answer = JSON.parse(await expectStatus(res, 200)) as { complete: boolean };
          if (answer.complete) completed = true;
        }
      }),
    );
  } finally {
    await handle.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, await rssKiB(pid));
  if (!completed) throw new Error('the 1 GiB upload never answered complete');
  const mbps = big.size / 1e6 / seconds;
  const growthMiB = (rssPeak - rssBefore) / 1024;
  console.log(
    `1 GiB ingest, 4 MiB chunks, ${INGEST_PARALLEL} at a time: ${fmt(mbps, 1)} MB/s over ${fmt(seconds, 1)} s incl. completion check ` +
      `(goal ≥ 40 MB/s: ${verdict(mbps >= 40)})`,
  );
  console.log(
    `server RSS during it: ${fmt(rssBefore / 1024, 1)} MiB before, peak ${fmt(rssPeak / 1024, 1)} MiB, growth ${fmt(growthMiB, 1)} MiB ` +
      `(goal < 64 MiB: ${verdict(growthMiB < 64)})`,
  );
  await ingestServer.stop();
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

/** 5. CONCURRENT_UPLOADS uploads at once, each PARALLEL_CHUNKS chunks in flight, in a fresh server process. */
async function concurrentIngest(
  databaseUrl: string,
  tmp: string,
  sourceKeys: { publicKey: string; lockedPrivateKey: string },
  warmTip: { bytes: Uint8Array; sha256: string },
): Promise<void> {
  const started = performance.now();
  const files = await Promise.all(
    Array.from({ length: CONCURRENT_UPLOADS }, async (_, i) => {
      const path = join(tmp, `concurrent-${i}.pgp`);
      return { path, ...(await makeBigCiphertext(path, CONCURRENT_BYTES)) };
    }),
  );
  const total = files.reduce((n, f) => n + f.size, 0);
  console.log(
    `(made ${CONCURRENT_UPLOADS} OpenPGP messages of ${fmt(files[0]!.size / 1024 ** 2, 1)} MiB in ${fmt((performance.now() - started) / 1000, 1)} s)`,
  );
  const server = await startServer({ MODE: 'source', DATABASE_URL: databaseUrl, POW_DIFFICULTY: '0' });
  try {
    const pid = server.process.pid!;
    const openUpload = async (size: number, chunkSize: number, sha256: string) => {
      const { token } = JSON.parse(await expectStatus(await postJson(server.base, '/api/v1/pow', {}), 200)) as { token: string };
      const opened = await postJson(server.base, '/api/v1/uploads', {
        pow: { token, nonce: '0' }, lookupId: randomBytes(32).toString('hex'), sourceKeys,
        size, chunkSize, chunks: Math.ceil(size / chunkSize), sha256,
      });
      return (JSON.parse(await expectStatus(opened, 201)) as { uploadId: string }).uploadId;
    };
    // warm up, as for the 1 GiB figure
    const warmId = await openUpload(warmTip.bytes.length, warmTip.bytes.length, warmTip.sha256);
    await expectStatus(await fetch(`${server.base}/api/v1/uploads/${warmId}/chunks/0`, {
      method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: warmTip.bytes as Uint8Array<ArrayBuffer>,
    }), 200);

    const rssBefore = await rssKiB(pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      void rssKiB(pid).then((kib) => { rssPeak = Math.max(rssPeak, kib); }, () => {});
    }, 50);
    const latencies: number[] = [];
    const completing: number[] = [];
    let refused = 0;
    const t0 = performance.now();
    await Promise.all(
      files.map(async (file) => {
        const uploadId = await openUpload(file.size, CHUNK_BYTES, file.sha256);
        const chunkCount = Math.ceil(file.size / CHUNK_BYTES);
        const handle = await open(file.path, 'r');
        let next = 0;
        let completed = false;
        try {
          await Promise.all(
            Array.from({ length: PARALLEL_CHUNKS }, async () => {
              for (let i = next++; i < chunkCount; i = next++) {
                const length = Math.min(CHUNK_BYTES, file.size - i * CHUNK_BYTES);
                const buffer = Buffer.alloc(length);
                await handle.read(buffer, 0, length, i * CHUNK_BYTES);
                for (;;) {
                  const sent = performance.now();
                  const res = await fetch(`${server.base}/api/v1/uploads/${uploadId}/chunks/${i}`, {
                    method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: buffer,
                  }).catch(() => undefined);
                  // refused mid-body (the gate had no room), the server may close the connection
                  // rather than drain the rest: sent again, as the page does
                  if (!res) {
                    refused++;
                    await new Promise((r) => setTimeout(r, 100));
                    continue;
                  }
                  if (res.status === 503 || res.status === 429) {
                    refused++;
                    await res.text();
                    await new Promise((r) => setTimeout(r, 100));
                    continue;
                  }
                  const answer = JSON.parse(await expectStatus(res, 200)) as { complete: boolean };
                  (answer.complete ? completing : latencies).push(performance.now() - sent);
                  if (answer.complete) completed = true;
                  break;
                }
              }
            }),
          );
        } finally {
          await handle.close();
        }
        if (!completed) throw new Error('a concurrent upload never answered complete');
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, await rssKiB(pid));
    const mbps = total / 1e6 / seconds;
    const growthMiB = (rssPeak - rssBefore) / 1024;
    console.log(
      `${CONCURRENT_UPLOADS} uploads at once, ${PARALLEL_CHUNKS} chunks in flight each: ${fmt(mbps, 1)} MB/s total over ${fmt(seconds, 1)} s ` +
        `incl. completion checks (goal ≥ 40 MB/s: ${verdict(mbps >= 40)}); ${refused} chunk requests refused by the gate and retried`,
    );
    console.log(
      `server RSS during it: ${fmt(rssBefore / 1024, 1)} MiB before, peak ${fmt(rssPeak / 1024, 1)} MiB, growth ${fmt(growthMiB, 1)} MiB ` +
        `(goal < 128 MiB: ${verdict(growthMiB < 128)})`,
    );
    console.log(
      `a chunk's 200: p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms over ${latencies.length} chunks; ` +
        `the completing chunk (stored, read back, checked): p50 ${fmt(percentile(completing, 50))} ms, max ${fmt(Math.max(...completing))} ms`,
    );
  } finally {
    await server.stop();
  }
}
