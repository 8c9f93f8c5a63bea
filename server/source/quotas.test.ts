import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSourceKeys } from '../../protocol/source-keys.ts';
import { rowsOf, type Database } from '../db/open.ts';
import { createTestDatabase } from '../db/test-db.ts';
import type { NewsroomKey } from '../newsroom-key.ts';
import { buildTestApp, countRows, demoNewsroomKey } from '../test-helpers.ts';
import { createStorageWatch, DEFAULT_OPEN_LIMITS, type OpenLimits } from './open-limits.ts';
import { answer, ciphertextFor, newLookupId, openUpload, post, putChunk, sendTip } from './open.test-helpers.ts';
import { createChunkGate } from './chunk-gate.ts';
import { purgeExpired, startPurgeTimer } from './purge.ts';
import { tickOf } from './stale-uploads.ts';

let database: Database;
let newsroomKey: NewsroomKey;
let sourceKeys: { publicKey: string; lockedPrivateKey: string };
let now = new Date('2026-06-01T09:00:00Z');
const clock = () => now;
const KB = 1024;

beforeAll(async () => {
  database = await createTestDatabase();
  newsroomKey = await demoNewsroomKey();
  sourceKeys = await generateSourceKeys('c'.repeat(64), newsroomKey.key);
});
afterAll(async () => {
  await database?.close();
});

const app = (limits: Partial<OpenLimits>, extra: Parameters<typeof buildTestApp>[3] = {}) =>
  buildTestApp(database.db, newsroomKey, clock, { powDifficulty: 1, openLimits: { ...DEFAULT_OPEN_LIMITS, ...limits }, ...extra });

/** Every received tip, with its bytes' digest: what a refusal must never touch. */
async function receivedTips() {
  return rowsOf<{ id: string; status: string; digest: string }>(
    await database.db.execute(sql`
      select s.id, s.status, md5(string_agg(encode(c.data, 'hex'), '' order by c.idx)) as digest
      from submissions s join chunks c on c.submission_id = s.id
      where s.status <> 'uploading' group by s.id, s.status order by s.id`),
  );
}

async function lookup(t: Awaited<ReturnType<typeof app>>, lookupId: string) {
  return answer(await post(t.app, '/api/v1/source/lookup', { lookupId }));
}

describe('quotas', () => {
  it('refuse a source past its bytes of the day with 429 source_quota, storing nothing, until the next day', async () => {
    now = new Date('2026-06-01T09:00:00Z');
    const bytes = await ciphertextFor(newsroomKey, 3 * KB);
    const t = await app({ quotaSourcePerDay: 3 * bytes.length });
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    await sendTip(t.app, { bytes, lookupId });
    // an upload in progress counts in full
    expect((await openUpload(t.app, { bytes, lookupId })).status).toBe(201);
    const tips = await receivedTips();
    const before = await countRows(database.db);
    const refused = await answer(await openUpload(t.app, { bytes, lookupId }));
    expect(refused).toMatchObject({ status: 429, body: { error: 'source_quota' } });
    expect(typeof refused.body.message).toBe('string');
    expect(await countRows(database.db)).toEqual(before);
    expect(await receivedTips()).toEqual(tips);
    // another source is not held back by this one
    await sendTip(t.app, { bytes, lookupId: newLookupId(), sourceKeys });
    now = new Date('2026-06-02T00:00:01Z');
    await sendTip(t.app, { bytes, lookupId });
    expect((await lookup(t, lookupId)).body.submissions).toHaveLength(3);
  });

  it('hold when one source opens many uploads at once: exactly what fits is opened', async () => {
    now = new Date('2026-06-03T09:00:00Z');
    const bytes = await ciphertextFor(newsroomKey, 2 * KB);
    const t = await app({ quotaSourcePerDay: 4 * bytes.length });
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    const statuses = (await Promise.all(Array.from({ length: 12 }, () => openUpload(t.app, { bytes, lookupId })))).map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
  });

  it('refuse any open past the total held with 507 quota_full, while open uploads finish and received tips stay', async () => {
    now = new Date('2026-06-04T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const bytes = await ciphertextFor(newsroomKey, 3 * KB);
    const t = await app({ quotaTotal: 3 * bytes.length });
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    await sendTip(t.app, { bytes, lookupId });
    const inProgress = await answer(await openUpload(t.app, { bytes, lookupId, chunkSize: KB }));
    expect(inProgress.status).toBe(201);
    const tips = await receivedTips();
    const before = await countRows(database.db);
    // uploads of several chunks count what is reserved, not yet sent
    for (const o of [{ bytes, lookupId, chunkSize: KB }, { bytes, lookupId: newLookupId(), sourceKeys, chunkSize: KB }]) {
      const refused = await answer(await openUpload(t.app, o));
      expect(refused).toMatchObject({ status: 507, body: { error: 'quota_full' } });
    }
    expect(await countRows(database.db)).toEqual(before);
    // a text tip (one chunk, at most 1 MiB) counts only what is stored: room for one more, then none
    await sendTip(t.app, { bytes, lookupId });
    expect(await answer(await openUpload(t.app, { bytes, lookupId }))).toMatchObject({ status: 507, body: { error: 'quota_full' } });
    // the upload already open goes on and is received
    let last;
    for (let i = 0; i * KB < bytes.length; i++) {
      last = await answer(await putChunk(t.app, inProgress.body.uploadId, i, bytes.subarray(i * KB, (i + 1) * KB)));
    }
    expect(last?.body.complete).toBe(true);
    expect((await receivedTips()).length).toBe(tips.length + 2);
    expect((await lookup(t, lookupId)).body.submissions).toHaveLength(4);
    // downloaded tips no longer count against the total
    await database.db.execute(sql`update submissions set status = 'downloaded', downloaded_day = '2026-06-04' where id in (${tips[0]!.id}::uuid, ${tips[1]!.id}::uuid)`);
    await sendTip(t.app, { bytes, lookupId });
  });
});

describe('storage', () => {
  it('refuses new opens with 507 storage_full when the database would pass its size, and keeps everything', async () => {
    now = new Date('2026-06-05T09:00:00Z');
    const bytes = await ciphertextFor(newsroomKey, 3 * KB);
    const lookupId = newLookupId();
    await sendTip((await app({})).app, { bytes, lookupId, sourceKeys });
    const [{ size }] = rowsOf<{ size: number }>(await database.db.execute(sql`select pg_database_size(current_database())::bigint as size`)) as [{ size: number }];
    const t = await app({ storageMaxDatabase: Number(size) + bytes.length - 1 });
    const tips = await receivedTips();
    const before = await countRows(database.db);
    const refused = await answer(await openUpload(t.app, { bytes, lookupId }));
    expect(refused).toMatchObject({ status: 507, body: { error: 'storage_full' } });
    expect(await countRows(database.db)).toEqual(before);
    expect(await receivedTips()).toEqual(tips);
    // the source can still read what it has
    expect((await lookup(t, lookupId)).status).toBe(200);
  });

  it('refuses new opens when the disk\'s free space would fall below the floor, and opens again once there is room', async () => {
    now = new Date('2026-06-06T09:00:00Z');
    const bytes = await ciphertextFor(newsroomKey, 3 * KB);
    let free = 10 * 1024 ** 3 + bytes.length - 1;
    const limits = { ...DEFAULT_OPEN_LIMITS, storageFreeFloor: 10 * 1024 ** 3, storagePath: '/watched' };
    const seen: string[] = [];
    const storage = createStorageWatch({ db: database.db, limits, refreshMs: 1000, freeBytes: async (path) => (seen.push(path), free) });
    const t = await app(limits, { storage });
    await database.db.execute(sql`delete from submissions where status = 'uploading'`);
    const lookupId = newLookupId();
    const refused = await answer(await openUpload(t.app, { bytes, lookupId, sourceKeys }));
    expect(refused).toMatchObject({ status: 507, body: { error: 'storage_full' } });
    expect(seen).toEqual(['/watched']);
    free += 1;
    // read again only after refreshMs
    expect((await openUpload(t.app, { bytes, lookupId, sourceKeys })).status).toBe(507);
    now = new Date(now.getTime() + 1000);
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    // what this process opened since the reading counts against the room left (an upload of several chunks)
    expect((await openUpload(t.app, { bytes, lookupId, chunkSize: KB })).status).toBe(507);
  });
});

describe('stale uploads', () => {
  const minutes = (start: string, m: number) => new Date(Date.parse(start) + m * 60_000);

  it('an upload that received no chunk is freed after the lease; idle time grows by a minute per MiB received, not by the share of its size', async () => {
    const start = '2026-06-07T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const bytes = await ciphertextFor(newsroomKey, 3 * KB);
    const filler = new Uint8Array(3 * MiB).fill(7);
    const t = await app({});
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    const silent = await answer(await openUpload(t.app, { bytes, lookupId, size: 4 * MiB, chunkSize: 32 * KB }));
    // half of a small reservation, in 32 KiB chunks: 2 MiB (under the share rule it would have bought 175 minutes)
    const half = await answer(await openUpload(t.app, { bytes, lookupId, size: 4 * MiB, chunkSize: 32 * KB }));
    // 3 MiB of a 64 MiB upload
    const large = await answer(await openUpload(t.app, { bytes, lookupId, size: 64 * MiB, chunkSize: MiB }));
    expect([silent.status, half.status, large.status]).toEqual([201, 201, 201]);
    for (let i = 0; i < 64; i++) expect((await putChunk(t.app, half.body.uploadId, i, filler.subarray(0, 32 * KB))).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await putChunk(t.app, large.body.uploadId, i, filler.subarray(0, MiB))).status).toBe(200);
    const sweep = () => purgeExpired(database.db, clock, 6, 10);
    const alive = async () => {
      const ids = [silent, half, large].map((u) => u.body.uploadId as string);
      const statuses = await Promise.all(ids.map(async (id) => (await t.app.request(`/api/v1/uploads/${id}`)).status));
      return statuses.map((s) => s === 200);
    };

    // the first sweep sees them; the silent one holds its bytes for the lease only
    expect((await sweep()).staleUploads).toBe(0);
    now = minutes(start, 9);
    expect((await sweep()).staleUploads).toBe(0);
    now = minutes(start, 10);
    expect((await sweep()).staleUploads).toBe(1);
    expect(await alive()).toEqual([false, true, true]);
    // 2 MiB received: lease + 2 minutes; 3 MiB: lease + 3
    now = minutes(start, 11);
    expect((await sweep()).staleUploads).toBe(0);
    now = minutes(start, 12);
    expect((await sweep()).staleUploads).toBe(1);
    expect(await alive()).toEqual([false, false, true]);
    now = minutes(start, 13);
    expect((await sweep()).staleUploads).toBe(1);
    expect(await alive()).toEqual([false, false, false]);
    expect(rowsOf(await database.db.execute(sql`select 1 from chunks c left join submissions s on s.id = c.submission_id where s.id is null`))).toEqual([]);
    // the tip received before is still there
    expect((await lookup(t, lookupId)).body.submissions).toHaveLength(1);
    await sweep();
    expect(rowsOf(await database.db.execute(sql`select 1 from upload_progress`))).toEqual([]);
  });

  it('a chunk body still arriving at the minimum rate keeps its upload past the lease; a trickle below it does not', async () => {
    const start = '2026-06-09T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    // the gate's minute shortened to half a second; the rate is the default's (2000 B/s)
    const t = await app({}, { chunkGate: createChunkGate({ flowMarkMs: 500 }) });
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes: text, lookupId, sourceKeys });
    const open = () => openUpload(t.app, { bytes: text, lookupId, size: 64 * MiB, chunkSize: 4 * MiB }).then(answer);
    const [flowing, trickling] = [await open(), await open()];
    const sweep = () => purgeExpired(database.db, clock, 6, 10);
    expect((await sweep()).staleUploads).toBe(0);
    // past the lease: no chunk stored for either, one body at about 5 kB/s, the other at 10 B/s
    now = minutes(start, 11);
    const dribble = (uploadId: string, piece: number, everyMs: number) => {
      let pulls = 0;
      let stopped = false;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, everyMs));
          if (stopped) return controller.error(new Error('stopped'));
          pulls++;
          controller.enqueue(new Uint8Array(piece));
        },
      });
      const answered = t.app.request(`/api/v1/uploads/${uploadId}/chunks/0`, {
        method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body, duplex: 'half',
      } as RequestInit);
      return { pulls: () => pulls, stop: () => ((stopped = true), answered) };
    };
    const fast = dribble(flowing.body.uploadId, 1024, 200);
    const slow = dribble(trickling.body.uploadId, 1, 100);
    const ticks = async () => new Map(rowsOf<{ id: string; tick: number }>(await database.db.execute(sql`select submission_id as id, tick from upload_progress`)).map((r) => [r.id, Number(r.tick)]));
    // the flowing body marks its upload with the current minute; the trickle has passed several marks by then
    await waitFor(async () => [...(await ticks()).values()].includes(tickOf(now)) && slow.pulls() >= 25);
    expect([...(await ticks()).values()].filter((x) => x === tickOf(now))).toHaveLength(1);
    expect((await sweep()).staleUploads).toBe(1);
    expect((await t.app.request(`/api/v1/uploads/${flowing.body.uploadId}`)).status).toBe(200);
    expect((await t.app.request(`/api/v1/uploads/${trickling.body.uploadId}`)).status).toBe(404);
    await Promise.all([fast.stop(), slow.stop()]);
    // once its body stops, the kept upload has the lease again from its mark
    now = minutes(start, 11 + 10);
    expect((await sweep()).staleUploads).toBe(1);
    expect((await t.app.request(`/api/v1/uploads/${flowing.body.uploadId}`)).status).toBe(404);
  });

  it('an upload receiving chunks keeps its reservation however long it takes, and the purge timer sweeps between purges', async () => {
    const start = '2026-06-08T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const bytes = await ciphertextFor(newsroomKey, 8 * KB);
    const t = await app({});
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    const slow = await answer(await openUpload(t.app, { bytes, lookupId, chunkSize: KB }));
    expect(slow.status).toBe(201);
    const chunks = Math.ceil(bytes.length / KB);
    // a chunk every nine minutes: never past the lease, though the whole takes over an hour
    let last;
    for (let i = 0; i < chunks; i++) {
      now = minutes(start, 9 * i);
      expect((await purgeExpired(database.db, clock, 6, 10)).staleUploads).toBe(0);
      last = await answer(await putChunk(t.app, slow.body.uploadId, i, bytes.subarray(i * KB, (i + 1) * KB)));
    }
    expect(last?.body.complete).toBe(true);
    expect((await lookup(t, lookupId)).body.submissions).toHaveLength(2);

    // the timer: a silent upload, then a sweep (not a purge) a lease later
    const silent = await answer(await openUpload(t.app, { bytes, lookupId, chunkSize: KB }));
    const errors: unknown[] = [];
    let later = minutes(start, 200);
    const stop = startPurgeTimer(database.db, () => later, { intervalMs: 3600_000, sweepIntervalMs: 50, leaseMinutes: 10, onError: (e) => errors.push(e) });
    try {
      await waitFor(async () => rowsOf(await database.db.execute(sql`select 1 from upload_progress`)).length === 1);
      later = minutes(start, 215);
      await waitFor(async () => (await t.app.request(`/api/v1/uploads/${silent.body.uploadId}`)).status === 404);
      expect(errors).toEqual([]);
    } finally {
      stop();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the state was not reached in 30 s');
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

describe('reservations (the attack: many never-sent 2 GiB opens from fresh sources)', () => {
  /** A 2 GiB reservation that never sends a byte (what the attacker opened). */
  const reserveLarge = (a: Awaited<ReturnType<typeof app>>, o: { lookupId: string; sourceKeys?: typeof sourceKeys }) =>
    openUpload(a.app, { bytes: new Uint8Array(16), size: 2 * GiB, chunkSize: 4 * MiB, ...o }).then(answer);

  it('with the default quota: fresh identities hold at most their share, an honest text tip and a returning source\'s upload still open', async () => {
    now = new Date('2026-06-10T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const t = await app({});
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const returning = newLookupId();
    await sendTip(t.app, { bytes: text, lookupId: returning, sourceKeys });
    const tips = await receivedTips();

    const outcomes: string[] = [];
    let before = await countRows(database.db);
    for (let i = 0; i < 28; i++) {
      const r = await reserveLarge(t, { lookupId: newLookupId(), sourceKeys });
      if (r.status !== 201) {
        expect(r).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
        expect(typeof r.body.message).toBe('string');
        expect(await countRows(database.db)).toEqual(before);
      }
      before = await countRows(database.db);
      outcomes.push(r.status === 201 ? 'created' : r.body.error);
    }
    // 20 % of the 64 GiB free room is 12.8 GiB: six 2 GiB reservations
    expect(outcomes.filter((o) => o === 'created')).toHaveLength(6);
    expect(outcomes.slice(0, 6)).toEqual(Array(6).fill('created'));

    // an honest new source's text tip, and a returning source's large upload, still open
    await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    expect((await reserveLarge(t, { lookupId: returning })).status).toBe(201);
    // small opens are not held to the reservations' bounds
    const small = await answer(await openUpload(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys, size: 4 * MiB, chunkSize: 4 * MiB }));
    expect(small.status).toBe(201);
    expect((await receivedTips()).filter((x) => tips.some((y) => y.id === x.id))).toEqual(tips);
  });

  it('on a watched disk (the attack\'s 507 storage_full): the reservations hold at most their shares of the free room, the text tip gets in', async () => {
    now = new Date('2026-06-11T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const floor = 4 * GiB;
    const limits = { ...DEFAULT_OPEN_LIMITS, storageFreeFloor: floor, storagePath: '/watched' };
    // 20 GiB above the floor, as the chunks never come
    const storage = createStorageWatch({ db: database.db, limits, freeBytes: async () => floor + 20 * GiB });
    const t = await app(limits, { storage });
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const returning = newLookupId();
    await sendTip(t.app, { bytes: text, lookupId: returning, sourceKeys });
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await reserveLarge(t, { lookupId: newLookupId(), sourceKeys });
      outcomes.push(r.status === 201 ? 'created' : `${r.status} ${r.body.error}`);
    }
    // 20 % of 20 GiB: two
    expect(outcomes).toEqual([...Array(2).fill('created'), ...Array(10).fill('507 reservations_full')]);
    await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    // returning sources: up to 50 % of the room in all (10 GiB: three more), then refused too
    const more: string[] = [];
    for (let i = 0; i < 4; i++) {
      const lookupId = newLookupId();
      await sendTip(t.app, { bytes: text, lookupId, sourceKeys });
      const r = await reserveLarge(t, { lookupId });
      more.push(r.status === 201 ? 'created' : `${r.status} ${r.body.error}`);
    }
    expect(more).toEqual(['created', 'created', 'created', '507 reservations_full']);
    // and still a text tip
    await sendTip(t.app, { bytes: text, lookupId: returning });
  });

  it('large opens leave the small share: once only it is left, large ones get 507 and text tips still get in; received tips count, never touched', async () => {
    now = new Date('2026-06-12T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    // room for five 2 GiB reservations from returning sources beside the 2 GiB small share, all shares at 100 %
    const t = await app({ quotaTotal: 12 * GiB, reserveUnsentShare: 1, reserveNewSourceShare: 1 });
    const lookups = Array.from({ length: 6 }, newLookupId);
    for (const lookupId of lookups) await sendTip(t.app, { bytes: text, lookupId, sourceKeys });
    const statuses = [];
    for (const lookupId of lookups) {
      const r = await reserveLarge(t, { lookupId });
      statuses.push(r.status === 201 ? 'created' : `${r.status} ${r.body.error}`);
    }
    expect(statuses).toEqual([...Array(4).fill('created'), '507 quota_full', '507 quota_full']);
    for (let i = 0; i < 5; i++) await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
  });

  it('small reservations have their own pool (new sources a share of it); text tips are decided by stored bytes only, never refused by reservations', async () => {
    now = new Date('2026-06-14T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    // the second attack, scaled: 512 MiB in all, a 64 MiB small pool, new sources 20 % of it (12.8 MiB)
    const t = await app({ quotaTotal: 512 * MiB, reserveSmallShare: 64 * MiB, reserveUnsentShare: 1, reserveNewSourceShare: 0.2 });
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const returning = newLookupId();
    await sendTip(t.app, { bytes: text, lookupId: returning, sourceKeys });
    const tips = await receivedTips();
    const small = (o: { lookupId: string; sourceKeys?: typeof sourceKeys }) =>
      openUpload(t.app, { bytes: text, size: 4 * MiB, chunkSize: 32 * KB, ...o }).then(answer);
    const tally = (rs: { status: number; body: { error?: string } }[]) => rs.map((r) => (r.status === 201 ? 'created' : `${r.status} ${r.body.error}`));

    const fresh = [];
    for (let i = 0; i < 5; i++) fresh.push(await small({ lookupId: newLookupId(), sourceKeys }));
    expect(tally(fresh)).toEqual([...Array(3).fill('created'), '507 reservations_full', '507 reservations_full']);
    // a text tip from a new source still opens and arrives
    await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    // returning sources fill the rest of the pool (16 in all), then are refused too
    const back = [];
    for (let i = 0; i < 14; i++) back.push(await small({ lookupId: returning }));
    expect(tally(back)).toEqual([...Array(13).fill('created'), '507 reservations_full']);
    // large opens still have their room (512 − 64 MiB less the stored bytes: six of 64 MiB)
    const large = [];
    for (let i = 0; i < 7; i++) large.push(await answer(await openUpload(t.app, { bytes: text, lookupId: returning, size: 64 * MiB, chunkSize: 4 * MiB })));
    expect(tally(large)).toEqual([...Array(6).fill('created'), '507 quota_full']);
    // every reservation full: text tips (one chunk, at most 1 MiB) from new and returning sources still get in
    await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    await sendTip(t.app, { bytes: text, lookupId: returning });
    // a one-chunk open past 1 MiB is not a text tip: the pool refuses it
    expect(tally([await answer(await openUpload(t.app, { bytes: text, lookupId: returning, size: 2 * MiB, chunkSize: 2 * MiB }))])).toEqual(['507 reservations_full']);
    expect((await receivedTips()).filter((x) => tips.some((y) => y.id === x.id))).toEqual(tips);
  });

  it('concurrent opens on two servers (one database, several connections) never pass the bounds', async () => {
    now = new Date('2026-06-13T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const [a, b] = await Promise.all([app({}), app({})]);
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const returning = Array.from({ length: 12 }, newLookupId);
    for (const lookupId of returning) await sendTip(a.app, { bytes: text, lookupId, sourceKeys });
    const fresh = await Promise.all(Array.from({ length: 16 }, (_, i) => reserveLarge(i % 2 ? a : b, { lookupId: newLookupId(), sourceKeys })));
    expect(fresh.filter((r) => r.status === 201)).toHaveLength(6);
    expect(fresh.filter((r) => r.status === 507 && r.body.error === 'reservations_full')).toHaveLength(10);
    // 50 % of the free room (64 GiB less the received tips' bytes) is just under 16 reservations: nine more
    const back = await Promise.all(returning.map((lookupId, i) => reserveLarge(i % 2 ? a : b, { lookupId })));
    expect(back.filter((r) => r.status === 201)).toHaveLength(9);
    expect(back.filter((r) => r.status === 507 && r.body.error === 'reservations_full')).toHaveLength(3);
    const [{ unsent, open }] = rowsOf<{ unsent: number; open: number }>(
      await database.db.execute(sql`select coalesce(sum(size), 0)::bigint as unsent, count(*)::int as open from submissions where status = 'uploading'`),
    ) as [{ unsent: number; open: number }];
    expect([Number(unsent), Number(open)]).toEqual([30 * GiB, 15]);
  });
});
