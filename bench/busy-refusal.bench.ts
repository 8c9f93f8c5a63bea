/**
 * @module bench/busy-refusal.bench — what one replayed 429 source_busy costs the server (issue 9,
 * migrations/0021_source_busy.sql, server/source/busy-uploads.ts), beside a source_quota refusal.
 *
 * A refusal spends no proof-of-work token, so one solved token can be shown again and again. A
 * source_busy answer adds busy-uploads.ts's reads to the open's decision: the codename's uploads of
 * the day, and for each of them in progress its chunk rows' stored lengths and count. The most chunk
 * rows a codename's day can hold in progress (the attacker of 0021, attack 9f): 64 KiB chunks and at
 * most MAX_CHUNKS (512) of them, so 127 promoted uploads of 32 MiB with 511 chunks stored each fill a
 * 4 GiB day (≈ 64 900 rows, 4 GiB sent once). Built here by SQL (the state, not the sending), each
 * chunk's data stored out of line as random bytes would be. On PostgreSQL (BENCH_DATABASE_URL,
 * default the local server), in a database made and dropped here; the app in process, PoW off.
 * Prints the median time of N refusals each: source_busy over those rows, source_quota of another
 * codename, source_busy over an upload of 2 chunks; and an honest text tip's open alone and beside 4
 * loops of replayed refusals of each kind. Asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { hashLookupId } from '../protocol/kdf.ts';
import { generateSourceKeys } from '../protocol/source-keys.ts';
import { rowsOf, type Db } from '../server/db/open.ts';
import { createTestDatabase } from '../server/db/test-db.ts';
import { ciphertextFor } from '../server/source/open.test-helpers.ts';
import { tickOf } from '../server/source/stale-uploads.ts';
import { buildTestApp, demoNewsroomKey, sha256Hex } from '../server/test-helpers.ts';
import { DATABASE_URL, fmt, median } from './_load.ts';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const N = Number(process.env.BENCH_BUSY_N ?? 60);
const UPLOADS = Number(process.env.BENCH_BUSY_UPLOADS ?? 127);
const hex = () => randomBytes(32).toString('hex');

async function post(app: Hono, path: string, body: unknown) {
  const res = await app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** An open with a token solved once (difficulty 0: any nonce), shown as often as asked. */
async function opener(app: Hono, size: number) {
  const challenge = await post(app, '/api/v1/pow', { size });
  const pow = { token: challenge.body.token as string, nonce: '0' };
  return async (o: { lookupId: string; size: number; chunkSize: number; sha256?: string; sourceKeys?: unknown }) => {
    const answer = await post(app, '/api/v1/uploads', { pow, ...o, chunks: Math.ceil(o.size / o.chunkSize), sha256: o.sha256 ?? hex() });
    return answer.status === 201 ? 'created' : String(answer.body.error);
  };
}

export async function run(): Promise<void> {
  process.env.TEST_DATABASE_URL ??= DATABASE_URL;
  const database = await createTestDatabase();
  const db: Db = database.db;
  try {
    const now = new Date();
    const day = now.toISOString().slice(0, 10);
    const newsroomKey = await demoNewsroomKey();
    const sourceKeys = await generateSourceKeys('c'.repeat(64), newsroomKey.key);
    const { app } = await buildTestApp(db, newsroomKey, () => now, { powDifficulty: 0, logRequests: false });
    const [heavy, spent, light, honest] = [hex(), hex(), hex(), hex()];
    const text = await ciphertextFor(newsroomKey, 2 * KiB);
    for (const lookupId of [heavy, spent, light, honest]) {
      const tip = await post(app, '/api/v1/pow', {});
      const opened = await post(app, '/api/v1/uploads', {
        pow: { token: tip.body.token, nonce: '0' }, lookupId, sourceKeys, size: text.length, chunkSize: text.length, chunks: 1, sha256: sha256Hex(text),
      });
      const put = await app.request(`/api/v1/uploads/${opened.body.uploadId}/chunks/0`, {
        method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: text as Uint8Array<ArrayBuffer>,
      });
      if (put.status !== 200) throw new Error(`text tip ${put.status}`);
    }
    const sourceOf = async (lookupId: string) =>
      rowsOf<{ id: string }>(await db.execute(sql`select id from sources where lookup_hash = ${hashLookupId(lookupId)}`))[0]!.id;
    const tick = tickOf(now);
    // pglz gives up on data with no match in its first 1024 bytes: stored out of line, as random chunks are
    const r1 = randomBytes(500).toString('hex');
    const block = r1 + r1 + randomBytes(3000).toString('hex');
    const heavySource = await sourceOf(heavy);
    await db.execute(sql`
      insert into submissions (id, source_id, status, size, chunk_size, chunks, sha256, created_day, probe)
      select gen_random_uuid(), ${heavySource}::uuid, 'uploading', ${32 * MiB}::bigint, ${64 * KiB}::int, 512, ${hex()}, ${day}::date, false
      from generate_series(1, ${UPLOADS}::int)`);
    const [first] = rowsOf<{ id: string }>(await db.execute(sql`select id from submissions where source_id = ${heavySource}::uuid and status = 'uploading' limit 1`));
    await db.execute(sql`insert into chunks (submission_id, idx, data)
      values (${first!.id}::uuid, 0, decode(${block}::text || repeat('00', ${64 * KiB - 4000}::int), 'hex'))`);
    await db.execute(sql`insert into chunks (submission_id, idx, data)
      select m.id, g, (select c.data from chunks c where c.submission_id = ${first!.id}::uuid and c.idx = 0)
      from submissions m, generate_series(0, 510) g
      where m.source_id = ${heavySource}::uuid and m.status = 'uploading' and not (m.id = ${first!.id}::uuid and g = 0)`);
    await db.execute(sql`insert into upload_progress (submission_id, chunks, tick, first_tick, flowed)
      select m.id, 511, ${tick}::int, ${tick}::int, 0 from submissions m where m.status = 'uploading'`);
    // the spent codename: a received tip fills its day (no chunk rows needed for its day's sum)
    await db.execute(sql`insert into submissions (source_id, status, size, chunk_size, chunks, sha256, created_day, received_day)
      values (${await sourceOf(spent)}::uuid, 'received', ${4 * GiB - 64 * KiB}::bigint, ${4 * MiB}::int, 1024, ${hex()}, ${day}::date, ${day}::date)`);
    // the light codename: one promoted 2 GiB upload of 2 chunks
    const lightUpload = await post(app, '/api/v1/uploads', {
      pow: { token: (await post(app, '/api/v1/pow', { size: 2 * GiB })).body.token, nonce: '0' }, lookupId: light, size: 2 * GiB, chunkSize: 4 * MiB, chunks: 512, sha256: hex(),
    });
    if (lightUpload.status !== 201) throw new Error(`light upload ${lightUpload.status}`);
    for (let i = 0; i < 2; i++) {
      await app.request(`/api/v1/uploads/${lightUpload.body.uploadId}/chunks/${i}`, {
        method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array(randomBytes(4 * MiB)),
      });
    }
    await db.execute(sql`analyze`);
    const [shape] = rowsOf<{ rows: number }>(await db.execute(sql`select count(*)::int as rows from chunks`));

    const replay = async (lookupId: string, size: number, want: string) => {
      const o = await opener(app, size);
      const times: number[] = [];
      for (let i = 0; i < N; i++) {
        const t = performance.now();
        const code = await o({ lookupId, size, chunkSize: size > 32 * MiB ? 4 * MiB : 64 * KiB });
        times.push(performance.now() - t);
        if (code !== want) throw new Error(`expected ${want}, got ${code}`);
      }
      return times;
    };
    const busyHeavy = [...(await replay(heavy, 32 * MiB, 'source_busy')), ...(await replay(heavy, 32 * MiB, 'source_busy'))];
    const quota = [...(await replay(spent, 32 * MiB, 'source_quota')), ...(await replay(spent, 32 * MiB, 'source_quota'))];
    const busyLight = await replay(light, 2 * GiB, 'source_busy');
    console.log(
      `one replayed refusal, median of ${2 * N} (${database.kind}, ${shape!.rows} chunk rows): source_busy over ${UPLOADS} uploads × 511 chunks ${fmt(median(busyHeavy))} ms; ` +
        `source_quota ${fmt(median(quota))} ms; source_busy over one upload of 2 chunks ${fmt(median(busyLight))} ms (median of ${N})`,
    );
    const honestOpens = async () => {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const o = await opener(app, 2048);
        const t = performance.now();
        const code = await o({ lookupId: honest, size: 2048, chunkSize: 2048 });
        times.push(performance.now() - t);
        if (code !== 'created') throw new Error(`honest open: ${code}`);
      }
      return median(times);
    };
    const beside = async (lookupId: string, size: number, want: string) => {
      let stop = false;
      let refused = 0;
      const loops = Array.from({ length: 4 }, async () => {
        const o = await opener(app, size);
        while (!stop) {
          const code = await o({ lookupId, size, chunkSize: 64 * KiB });
          if (code !== want) throw new Error(`expected ${want}, got ${code}`);
          refused++;
        }
      });
      const t = performance.now();
      const h = await honestOpens();
      stop = true;
      await Promise.all(loops);
      return { honest: h, perSecond: refused / ((performance.now() - t) / 1000) };
    };
    const calm = await honestOpens();
    const underBusy = await beside(heavy, 32 * MiB, 'source_busy');
    const underQuota = await beside(spent, 32 * MiB, 'source_quota');
    console.log(
      `an honest text tip's open, median of 10: ${fmt(calm)} ms alone; ${fmt(underBusy.honest)} ms beside 4 loops of replayed source_busy ` +
        `(${fmt(underBusy.perSecond)}/s); ${fmt(underQuota.honest)} ms beside 4 loops of replayed source_quota (${fmt(underQuota.perSecond)}/s)`,
    );
  } finally {
    await database.close();
  }
}
