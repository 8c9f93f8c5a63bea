/**
 * @module bench/_load — what a bench needs to drive a real server over HTTP: a server process
 * (bench/_source-server.ts) on a fresh PostgreSQL database, closed loops of clients, the server's
 * CPU time from /proc, and one honest text tip. For bench/abuse.bench.ts; source-api.bench.ts keeps
 * its own copies of these for now (it is being edited elsewhere) and can import them from here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { encryptToKeys } from '../protocol/source-keys.ts';
import type { SourceKeysInput } from '../protocol/openpgp-checks.ts';
import type { Key } from 'openpgp';

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SERVER = fileURLToPath(new URL('./_source-server.ts', import.meta.url));

export interface Child {
  process: ChildProcess;
  base: string;
  stop(): Promise<void>;
}

/**
 * Starts a TypeScript file as a child process whose stdout is JSON lines; resolves with the first
 * one, and `next()` for each later one.
 */
export async function startChild(file: string, env: Record<string, string>): Promise<{ process: ChildProcess; first: Record<string, unknown>; next(): Promise<Record<string, unknown>> }> {
  // stdin is a pipe: a child may take commands there, and sees its end when this process ends
  const child = spawn(process.execPath, ['--import', 'tsx', file], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`${file} ended its output early`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${file} exited early (${code})`))));
  const first = await Promise.race([next(), exited]);
  child.removeAllListeners('exit');
  return { process: child, first, next };
}

/** bench/_source-server.ts: `MODE=baseline` (bare Hono) or `MODE=source` (the real app) on DATABASE_URL. */
export async function startServer(env: Record<string, string>): Promise<Child> {
  const { process: child, first } = await startChild(SERVER, env);
  return {
    process: child,
    base: `http://127.0.0.1:${first.port as number}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A fresh database on the PostgreSQL server, dropped by `drop()`. */
export async function freshDatabase(prefix: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

/** CPU time (user + system) a process has used, in ms (Linux clock ticks are 1/100 s). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Runs `once` in `clients` closed loops for `ms` after a warm-up of min(1 s, ms / 4); returns the
 * completions per second counted after the warm-up, and the errors.
 */
export async function load(clients: number, ms: number, once: (client: number) => Promise<void>): Promise<{ perSecond: number; done: number; errors: number }> {
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
    }
  });
  await new Promise((r) => setTimeout(r, Math.max(0, warmUntil - Date.now())));
  counting = true;
  const started = performance.now();
  await Promise.all(loops);
  return { perSecond: done / ((performance.now() - started) / 1000), done, errors };
}

export const postJson = (base: string, path: string, body: unknown) =>
  fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

export async function expectStatus(res: Response, status: number): Promise<string> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export type Tip = { bytes: Uint8Array; sha256: string };

/** A padded text tip is at least 4 KiB (MIN_PADDED_BYTES) before encryption. */
export async function makeTip(newsroom: Key): Promise<Tip> {
  const bytes = await encryptToKeys(new Uint8Array(randomBytes(4096)), [newsroom]);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** One completed text tip from a new source: challenge, open with reply keys, the one chunk. */
export async function sendTip(base: string, tip: Tip, sourceKeys: SourceKeysInput): Promise<void> {
  const { token } = JSON.parse(await expectStatus(await postJson(base, '/api/v1/pow', {}), 200)) as { token: string };
  const opened = await postJson(base, '/api/v1/uploads', {
    pow: { token, nonce: '0' },
    lookupId: randomBytes(32).toString('hex'),
    sourceKeys,
    size: tip.bytes.length,
    chunkSize: tip.bytes.length,
    chunks: 1,
    sha256: tip.sha256,
  });
  const { uploadId } = JSON.parse(await expectStatus(opened, 201)) as { uploadId: string };
  const done = await fetch(`${base}/api/v1/uploads/${uploadId}/chunks/0`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: tip.bytes as Uint8Array<ArrayBuffer>,
  });
  const answer = JSON.parse(await expectStatus(done, 200)) as { complete: boolean };
  if (!answer.complete) throw new Error('tip not complete');
}
