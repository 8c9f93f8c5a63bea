import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSourceKeys } from '../../protocol/source-keys.ts';
import { rowsOf, type Database } from '../db/open.ts';
import { createTestDatabase } from '../db/test-db.ts';
import type { NewsroomKey } from '../newsroom-key.ts';
import { buildTestApp, countRows, demoNewsroomKey } from '../test-helpers.ts';
import { createStorageWatch, DEFAULT_OPEN_LIMITS, type OpenLimits } from './open-limits.ts';
import { answer, ciphertextFor, newLookupId, openUpload, post, putChunk, sendTip } from './open.test-helpers.ts';
import { purgeExpired } from './purge.ts';

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
    for (const o of [{ bytes, lookupId }, { bytes, lookupId: newLookupId(), sourceKeys }]) {
      const refused = await answer(await openUpload(t.app, o));
      expect(refused).toMatchObject({ status: 507, body: { error: 'quota_full' } });
    }
    expect(await countRows(database.db)).toEqual(before);
    // the upload already open goes on and is received
    let last;
    for (let i = 0; i * KB < bytes.length; i++) {
      last = await answer(await putChunk(t.app, inProgress.body.uploadId, i, bytes.subarray(i * KB, (i + 1) * KB)));
    }
    expect(last?.body.complete).toBe(true);
    expect((await receivedTips()).length).toBe(tips.length + 1);
    expect((await lookup(t, lookupId)).body.submissions).toHaveLength(3);
    // a downloaded tip no longer counts against the total
    await database.db.execute(sql`update submissions set status = 'downloaded', downloaded_day = '2026-06-04' where id = ${tips[0]!.id}::uuid`);
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
    // what this process opened since the reading counts against the room left
    expect((await openUpload(t.app, { bytes, lookupId })).status).toBe(507);
  });
});

describe('stale uploads', () => {
  it('an upload without a chunk for the stale time is deleted and its reservation freed; one still receiving stays', async () => {
    now = new Date('2026-06-07T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const bytes = await ciphertextFor(newsroomKey, 3 * KB);
    const t = await app({ quotaTotal: 2 * bytes.length });
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    const stalled = await answer(await openUpload(t.app, { bytes, lookupId, chunkSize: KB }));
    expect(stalled.status).toBe(201);
    await putChunk(t.app, stalled.body.uploadId, 0, bytes.subarray(0, KB));
    expect((await openUpload(t.app, { bytes, lookupId })).status).toBe(507);
    const hours = (h: number) => new Date(Date.parse('2026-06-07T09:00:00Z') + h * 3600_000);

    now = hours(0.1);
    expect((await purgeExpired(database.db, clock, 6)).staleUploads).toBe(0);
    now = hours(5.9);
    expect((await purgeExpired(database.db, clock, 6)).staleUploads).toBe(0);
    // a chunk late in the day keeps it for another six hours
    await putChunk(t.app, stalled.body.uploadId, 1, bytes.subarray(KB, 2 * KB));
    now = hours(6.5);
    expect((await purgeExpired(database.db, clock, 6)).staleUploads).toBe(0);
    now = hours(12.5);
    expect((await purgeExpired(database.db, clock, 6)).staleUploads).toBe(1);
    expect((await t.app.request(`/api/v1/uploads/${stalled.body.uploadId}`)).status).toBe(404);
    expect(rowsOf(await database.db.execute(sql`select 1 from chunks c left join submissions s on s.id = c.submission_id where s.id is null`))).toEqual([]);
    // the reservation is free again, and the tip received before is still there
    await sendTip(t.app, { bytes, lookupId });
    expect((await lookup(t, lookupId)).body.submissions).toHaveLength(2);
    // the sweep's notes about uploads in progress go once they are received
    await purgeExpired(database.db, clock, 6);
    expect(rowsOf(await database.db.execute(sql`select 1 from upload_progress`))).toEqual([]);
  });
});
