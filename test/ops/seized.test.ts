/**
 * What a seized, running server reveals (issue 10, item 1), measured with the settings that ship
 * (deploy/db/postgresql.conf) on a throwaway cluster, and on PGlite:
 * - source activity through the real app (new sources, a returning one, a multi-chunk upload,
 *   replies), then every WAL segment left is read with pg_waldump, and the exact commit times it
 *   ties to a source-facing table are reported: before the forget pass (server/db/forget.ts) they
 *   go back to the first tip; after it, none is older than the pass itself;
 * - a deleted source's lookup hash and locked key, a deleted reply's bytes and a deleted upload's
 *   ciphertext are searched for in every file of the data folder (WAL included): present after the
 *   delete, gone after the pass;
 * - every file's modification time after the db container's file-time pass is the pass's own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { eq, sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashLookupId } from '../../protocol/kdf.ts';
import { encryptToKeys, generateSourceKeys } from '../../protocol/source-keys.ts';
import { forgetWal, rewriteTables, touchTree } from '../../server/db/forget.ts';
import { openDatabase, rowsOf, type Database } from '../../server/db/open.ts';
import { replies, sources } from '../../server/db/schema.ts';
import type { NewsroomKey } from '../../server/newsroom-key.ts';
import { buildTestApp, demoNewsroomKey, sha256Hex } from '../../server/test-helpers.ts';
import { ROOT } from './dockerfile.ts';
import { createPgCluster, type PgCluster } from './pg-cluster.ts';

/** The settings as shipped, but for those that only concern the container's network. */
function shippedSettings(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'deploy/db/postgresql.conf'), 'utf8');
  const settings: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z_]+)\s*=\s*(.+?)\s*(#.*)?$/.exec(line);
    if (!m) continue;
    settings[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1');
  }
  delete settings.listen_addresses;
  return settings;
}

let newsroomKey: NewsroomKey;
beforeAll(async () => {
  newsroomKey = await demoNewsroomKey();
});

/** Source activity through the app, as sources make it; returns what a deletion must erase. */
async function activity(app: Hono, db: Database['db']) {
  const post = (path: string, body: unknown) =>
    app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const put = (uploadId: string, i: number, bytes: Uint8Array) =>
    app.request(`/api/v1/uploads/${uploadId}/chunks/${i}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes as Uint8Array<ArrayBuffer>,
    });
  const send = async (lookupId: string, keys: Awaited<ReturnType<typeof generateSourceKeys>> | undefined, bytes: Uint8Array, chunkSize = bytes.length) => {
    const { token } = (await (await post('/api/v1/pow', {})).json()) as { token: string };
    const chunks = Math.ceil(bytes.length / chunkSize);
    const opened = await post('/api/v1/uploads', {
      pow: { token, nonce: '0' },
      lookupId,
      ...(keys ? { sourceKeys: keys } : {}),
      size: bytes.length,
      chunkSize,
      chunks,
      sha256: sha256Hex(bytes),
    });
    expect(opened.status).toBe(201);
    const { uploadId } = (await opened.json()) as { uploadId: string };
    let last: Response | undefined;
    for (let i = 0; i < chunks; i++) last = await put(uploadId, i, bytes.subarray(i * chunkSize, (i + 1) * chunkSize));
    expect(((await last!.json()) as { complete: boolean }).complete).toBe(true);
  };
  const lookupIds = Array.from({ length: 4 }, () => randomBytes(32).toString('hex'));
  const keys = await Promise.all(lookupIds.map((_, i) => generateSourceKeys(String(i).repeat(64), newsroomKey.key)));
  for (let i = 0; i < lookupIds.length; i++) await send(lookupIds[i]!, keys[i], await encryptToKeys(randomBytes(3000), [newsroomKey.key]));
  // a returning source, with a file in several chunks
  const file = await encryptToKeys(randomBytes(300_000), [newsroomKey.key]);
  await send(lookupIds[0]!, undefined, file, 64 * 1024);
  // a reply to source 1 (as the editor API stores them), read and deleted by the source
  const [one] = await db.select().from(sources).where(eq(sources.lookupHash, hashLookupId(lookupIds[1]!)));
  const replyBytes = await encryptToKeys(randomBytes(5000), [newsroomKey.key]);
  const [reply] = await db.insert(replies).values({ sourceId: one!.id, message: replyBytes, size: replyBytes.length, createdDay: '2026-12-01' }).returning();
  expect((await post('/api/v1/source/lookup', { lookupId: lookupIds[1] })).status).toBe(200);
  expect((await post('/api/v1/source/replies/delete', { lookupId: lookupIds[1], replyId: reply!.id })).status).toBe(200);
  // source 2 deleted with everything it sent (as retention or an editor would)
  const [two] = await db.select().from(sources).where(eq(sources.lookupHash, hashLookupId(lookupIds[2]!)));
  const [twoChunk] = rowsOf<{ data: string }>(
    await db.execute(sql`select encode(substring(c.data from 200 for 48), 'hex') as data from chunks c join submissions s on s.id = c.submission_id where s.source_id = ${two!.id}::uuid`),
  );
  await db.delete(sources).where(eq(sources.id, two!.id));
  return {
    // what must be gone from every file once deleted
    deleted: {
      'lookup hash of a deleted source': Buffer.from(two!.lookupHash),
      'locked key of a deleted source': Buffer.from(two!.lockedPrivateKey.split('\n').filter((l) => l.length >= 40)[2]!),
      'a deleted reply': Buffer.from(replyBytes.subarray(300, 348)),
      "a deleted source's ciphertext": Buffer.from(twoChunk!.data, 'hex'),
    },
  };
}

/** Every file under `dir` that holds one of the needles, by needle. */
function filesHolding(dir: string, needles: Record<string, Buffer>): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const bytes = readFileSync(path);
        for (const [what, needle] of Object.entries(needles)) if (bytes.includes(needle)) (found[what] ??= []).push(path.slice(dir.length + 1));
      }
    }
  };
  walk(dir);
  return found;
}

/** Commit times pg_waldump finds for transactions that touched one of the relations. */
function commitTimesTiedTo(cluster: PgCluster, relfilenodes: Set<string>): string[] {
  const dump = cluster.waldump();
  const touching = new Set<string>();
  for (const line of dump.split('\n')) {
    const tx = /tx:\s+(\d+)/.exec(line)?.[1];
    if (!tx || tx === '0') continue;
    for (const m of line.matchAll(/rel \d+\/\d+\/(\d+)/g)) if (relfilenodes.has(m[1]!)) touching.add(tx);
  }
  const times: string[] = [];
  for (const line of dump.split('\n')) {
    const tx = /tx:\s+(\d+)/.exec(line)?.[1];
    const time = /desc: COMMIT (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)/.exec(line)?.[1];
    if (tx && time && touching.has(tx)) times.push(time);
  }
  return times.sort();
}

/** The files of every source-facing table, its TOAST table and their indexes. */
async function sourceFacingFilenodes(db: Database['db']): Promise<Set<string>> {
  const rows = rowsOf<{ node: string }>(
    await db.execute(sql`
      with t as (select oid, reltoastrelid from pg_class where relname in ('sources', 'submissions', 'chunks', 'replies', 'spent_pow')
                 and relnamespace = 'public'::regnamespace),
      r as (select oid from t union select reltoastrelid from t where reltoastrelid <> 0),
      i as (select indexrelid as oid from pg_index where indrelid in (select oid from r))
      select pg_relation_filenode(oid)::text as node from (select oid from r union select oid from i) x`),
  );
  return new Set(rows.map((r) => r.node).filter(Boolean));
}

const asTime = (walTime: string) => new Date(`${walTime.replace(' ', 'T')}Z`).getTime();

describe('a seized PostgreSQL, with the settings that ship', () => {
  let cluster: PgCluster;
  let database: Database;
  beforeAll(async () => {
    cluster = await createPgCluster(shippedSettings());
    database = await openDatabase({ url: cluster.url });
  });
  afterAll(async () => {
    await database?.close();
    cluster?.destroy();
  });

  it('WAL ties no exact time to a source-facing table older than the forget pass, and deleted rows leave every file', async () => {
    const { app } = await buildTestApp(database.db, newsroomKey, () => new Date(), { logRequests: false });
    const started = Date.now();
    const { deleted } = await activity(app, database.db);
    await database.db.execute(sql`checkpoint`); // the data on disk, as a seizure finds it some minutes later

    const before = commitTimesTiedTo(cluster, await sourceFacingFilenodes(database.db));
    const heldBefore = filesHolding(cluster.dataDir, deleted);
    console.log(
      `[seized] before the pass: ${before.length} commit(s) tied to source-facing tables, oldest ${before[0]} UTC ` +
        `(activity began ${new Date(started).toISOString()}); deleted rows found in: ${JSON.stringify(heldBefore)}`,
    );
    // the leak is real without the pass: the first tip's commit time, to the microsecond
    expect(before.length).toBeGreaterThan(4);
    expect(asTime(before[0]!)).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000 - 1000);
    expect(Object.keys(heldBefore).length).toBeGreaterThan(0);

    const pass = Date.now();
    await rewriteTables(database.db, { chunks: true });
    await forgetWal(database.db);

    const after = commitTimesTiedTo(cluster, await sourceFacingFilenodes(database.db));
    const heldAfter = filesHolding(cluster.dataDir, deleted);
    const segments = readdirSync(join(cluster.dataDir, 'pg_wal')).filter((n) => /^[0-9A-F]{24}$/.test(n));
    console.log(
      `[seized] after the pass: ${segments.length} WAL segment(s), ${after.length} commit(s) tied to source-facing tables` +
        `${after.length ? `, oldest ${after[0]} UTC (the pass began ${new Date(pass).toISOString()})` : ''}; deleted rows found in: ${JSON.stringify(heldAfter)}`,
    );
    for (const time of after) expect(asTime(time)).toBeGreaterThanOrEqual(Math.floor(pass / 1000) * 1000);
    expect(heldAfter).toEqual({});
    // row headers no longer order the rows: one transaction id per table
    for (const table of ['sources', 'submissions', 'replies', 'spent_pow']) {
      const [row] = rowsOf<{ n: number; ids: number }>(
        await database.db.execute(sql.raw(`select count(*)::int as n, count(distinct xmin::text)::int as ids from ${table}`)),
      );
      if (row!.n > 0) expect(row!.ids, table).toBe(1);
    }
  });

  it("the db container's file-time pass leaves no file older than itself", () => {
    const pass = Date.now();
    const run = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', join(ROOT, 'deploy/db/forget-file-times.sh')]] : [join(ROOT, 'deploy/db/forget-file-times.sh'), []];
    const result = spawnSync(run[0] as string, run[1] as string[], { env: { ...process.env, PGDATA: cluster.dataDir }, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const stale: string[] = [];
    const walk = (d: string) => {
      for (const entry of readdirSync(d, { withFileTypes: true })) {
        const path = join(d, entry.name);
        if (statSync(path).mtimeMs < pass - 1000) stale.push(path);
        if (entry.isDirectory()) walk(path);
      }
    };
    walk(cluster.dataDir);
    expect(stale).toEqual([]);
  });
});

describe('a seized trial server (PGlite)', () => {
  it('deleted rows leave every file of the data folder, WAL included, and no file keeps an older time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdrop-seized-'));
    let database: Database | undefined;
    try {
      database = await openDatabase({ dataDir: dir });
      const { app } = await buildTestApp(database.db, newsroomKey, () => new Date(), { logRequests: false });
      const { deleted } = await activity(app, database.db);
      await database.db.execute(sql`checkpoint`);
      const heldBefore = filesHolding(dir, deleted);
      expect(Object.keys(heldBefore).length).toBeGreaterThan(0);
      const pass = Date.now();
      await rewriteTables(database.db, { chunks: true });
      await forgetWal(database.db);
      await touchTree(dir);
      const heldAfter = filesHolding(dir, deleted);
      console.log(`[seized] PGlite: deleted rows found before the pass in ${JSON.stringify(heldBefore)}; after: ${JSON.stringify(heldAfter)}`);
      expect(heldAfter).toEqual({});
      const stale: string[] = [];
      const walk = (d: string) => {
        for (const entry of readdirSync(d, { withFileTypes: true })) {
          const path = join(d, entry.name);
          if (statSync(path).mtimeMs < pass - 1000) stale.push(path);
          if (entry.isDirectory()) walk(path);
        }
      };
      walk(dir);
      expect(stale).toEqual([]);
    } finally {
      await database?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

