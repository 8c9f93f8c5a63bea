/**
 * DESIGN.md promise 2, checked end to end: a real listening server takes a batch of submissions
 * (and lookups, refusals, a resumed upload) from 127.0.0.1 with a distinctive User-Agent,
 * X-Forwarded-For and Referer; then every table is dumped (all columns, as text) and the server's
 * log and console output are read, and none of those values may appear anywhere; nor a time of day.
 */
import { MIN_CHUNK_BYTES } from '../protocol/limits.ts';
import { randomBytes, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptToKeys, generateSourceKeys } from '../protocol/source-keys.ts';
import { createApp } from '../server/app.ts';
import { systemClock } from '../server/clock.ts';
import { rowsOf, type Database } from '../server/db/open.ts';
import { createTestDatabase } from '../server/db/test-db.ts';
import { loadInstance } from '../server/instance.ts';
import { demoNewsroomKey } from '../server/test-helpers.ts';

const AGENT = 'Mozilla/5.0 (PrivacyProbe; rv:115.0) Gecko/20100101 Firefox/115.0 probe-7f3a9c';
const FORWARDED = '198.51.100.77';
const REFERRER = 'http://referrer-probe.example/leak?from=7f3a9c';
const CLIENT = '127.0.0.1';
const NEEDLES = [AGENT, 'probe-7f3a9c', 'PrivacyProbe', FORWARDED, REFERRER, 'referrer-probe', CLIENT, '::ffff:127.0.0.1'];

let database: Database;
let server: ServerType;
let base: string;
const logLines: string[] = [];
const consoleOutput: string[] = [];
const restore: Array<() => void> = [];

function capture(stream: NodeJS.WriteStream) {
  const original = stream.write.bind(stream);
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    consoleOutput.push(String(chunk));
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof stream.write;
  restore.push(() => {
    stream.write = original;
  });
}

beforeAll(async () => {
  capture(process.stdout);
  capture(process.stderr);
  database = await createTestDatabase();
  const newsroomKey = await demoNewsroomKey();
  const instance = await loadInstance(database.db, systemClock);
  const app = createApp({
    db: database.db,
    newsroomKey,
    instance,
    clock: systemClock,
    config: { powDifficulty: 0, onionLocation: undefined, logRequests: true },
    log: (line) => logLines.push(line),
  });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: CLIENT, port: 0 }, () => resolve(s));
  });
  base = `http://${CLIENT}:${(server.address() as AddressInfo).port}`;

  const headers = { 'User-Agent': AGENT, 'X-Forwarded-For': FORWARDED, 'X-Real-IP': FORWARDED, Referer: REFERRER, Forwarded: `for=${FORWARDED}` };
  const call = (path: string, init: RequestInit = {}) =>
    fetch(base + path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  const postJson = (path: string, body: unknown) =>
    call(path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  const putChunk = (uploadId: string, i: number, bytes: Uint8Array) =>
    call(`/api/v1/uploads/${uploadId}/chunks/${i}`, {
      method: 'PUT',
      body: bytes as Uint8Array<ArrayBuffer>,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
  const pow = async () => ((await (await postJson('/api/v1/pow', {})).json()) as { token: string }).token;

  const sourceKeys = await generateSourceKeys('b'.repeat(64), newsroomKey.key);
  const lookupIds: string[] = [];
  await call('/api/v1/config');
  for (let n = 0; n < 6; n++) {
    const returning = n >= 4;
    const lookupId = returning ? lookupIds[n - 4]! : randomBytes(32).toString('hex');
    // the message itself names the probe values: they are encrypted, so must not show in the dump
    const bytes = await encryptToKeys(new TextEncoder().encode(`tip ${n} from ${AGENT} at ${FORWARDED}`.padEnd(140_000, '.')), [newsroomKey.key]);
    const chunkSize = n % 2 ? MIN_CHUNK_BYTES : bytes.length;
    const opened = await postJson('/api/v1/uploads', {
      pow: { token: await pow(), nonce: '0' },
      lookupId,
      ...(returning ? {} : { sourceKeys }),
      size: bytes.length,
      chunkSize,
      chunks: Math.ceil(bytes.length / chunkSize),
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(opened.status).toBe(201);
    const { uploadId } = (await opened.json()) as { uploadId: string };
    for (let i = 0; i * chunkSize < bytes.length; i++) {
      const res = await putChunk(uploadId, i, bytes.subarray(i * chunkSize, (i + 1) * chunkSize));
      expect(res.status).toBe(200);
    }
    await call(`/api/v1/uploads/${uploadId}`);
    if (!returning) lookupIds.push(lookupId);
  }
  // an unfinished upload, some refusals and lookups
  const stuck = await encryptToKeys(new Uint8Array(140_000), [newsroomKey.key]);
  const open = await postJson('/api/v1/uploads', {
    pow: { token: await pow(), nonce: '0' },
    lookupId: lookupIds[0],
    size: stuck.length,
    chunkSize: MIN_CHUNK_BYTES,
    chunks: Math.ceil(stuck.length / MIN_CHUNK_BYTES),
    sha256: createHash('sha256').update(stuck).digest('hex'),
  });
  await putChunk(((await open.json()) as { uploadId: string }).uploadId, 0, stuck.subarray(0, MIN_CHUNK_BYTES));
  expect((await postJson('/api/v1/uploads', { pow: { token: 'v1.x', nonce: '0' } })).status).toBe(400);
  expect((await postJson('/api/v1/source/lookup', { lookupId: randomBytes(32).toString('hex') })).status).toBe(404);
  for (const lookupId of lookupIds) expect((await postJson('/api/v1/source/lookup', { lookupId })).status).toBe(200);
  await call('/nothing-here');
  await call('/health');
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await database?.close();
  for (const undo of restore) undo();
});

async function dumpEverything(): Promise<{ table: string; text: string }[]> {
  const tables = rowsOf<{ table_name: string }>(
    await database.db.execute(sql`select table_name::text as table_name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`),
  );
  const out: { table: string; text: string }[] = [];
  for (const { table_name } of tables) {
    const rows = rowsOf<{ row: string }>(await database.db.execute(sql.raw(`select t::text as row from "${table_name}" t`)));
    for (const { row } of rows) out.push({ table: table_name, text: row });
  }
  return out;
}

describe('privacy scan', () => {
  it('stored the batch (the scan looks at real data)', async () => {
    const counts = rowsOf<{ sources: number; received: number; chunks: number }>(
      await database.db.execute(sql`select (select count(*)::int from sources) as sources,
        (select count(*)::int from submissions where status = 'received') as received,
        (select count(*)::int from chunks) as chunks`),
    );
    expect(counts[0]).toMatchObject({ sources: 4, received: 6 });
    expect(counts[0]!.chunks).toBeGreaterThan(6);
  });

  it('finds no address, agent or referrer in any table, as text or as hex bytes', async () => {
    const dump = await dumpEverything();
    expect(dump.length).toBeGreaterThan(10);
    for (const needle of NEEDLES) {
      const hex = Buffer.from(needle).toString('hex');
      for (const { table, text } of dump) {
        expect(text.includes(needle), `${needle} in ${table}`).toBe(false);
        expect(text.toLowerCase().includes(hex), `hex of ${needle} in ${table}`).toBe(false);
      }
    }
  });

  it('finds no time of day in any table, and no column typed for one', async () => {
    const types = rowsOf<{ data_type: string }>(
      await database.db.execute(sql`select data_type::text as data_type from information_schema.columns where table_schema = 'public'`),
    );
    for (const { data_type } of types) expect(data_type).not.toMatch(/time|interval/);
    for (const { table, text } of await dumpEverything()) {
      expect(/\b\d{1,2}:\d{2}(:\d{2})?\b/.test(text), `time of day in ${table}: ${text.slice(0, 200)}`).toBe(false);
    }
  });

  it('logs nothing but method, route and status, and no probe value reaches any output', () => {
    expect(logLines.length).toBeGreaterThan(20);
    for (const line of logLines) expect(line).toMatch(/^[A-Z]+ \/\S* \d{3}$|^[A-Z]+ \* \d{3}$/);
    const everything = [...logLines, ...consoleOutput].join('\n');
    for (const needle of NEEDLES) expect(everything.includes(needle), needle).toBe(false);
  });
});
