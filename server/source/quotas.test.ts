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
import { markUploadFlowing } from './stale-uploads.ts';
import { MIN_CHUNK_BYTES } from '../../protocol/limits.ts';
import { submissionIdOf } from './uploads.ts';

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

/**
 * The bounds as opens made them before migrations/0017 (every upload but a text tip a probe holding
 * 64 KiB until its bytes promote it): with a hold of any size a probe holds its whole size from its
 * open, and the bounds, the claims and their displacement (sealdrop_bounds, the same at a promotion)
 * are decided at the open, where these tests watch them. The probes themselves: "every reservation
 * earned by bytes" below.
 */
const SIZE_HELD = { probeHold: 4 * 1024 ** 3 };

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
    // an upload in progress counts in full: while it alone stands in the way the refusal says so
    // (source_busy, migrations/0021: the sweep would free it), once it is received the day is spent
    const inProgress = await answer(await openUpload(t.app, { bytes, lookupId }));
    expect(inProgress.status).toBe(201);
    let tips = await receivedTips();
    let before = await countRows(database.db);
    const busy = await answer(await openUpload(t.app, { bytes, lookupId }));
    expect(busy).toMatchObject({ status: 429, body: { error: 'source_busy' } });
    expect(busy.body.retryAfterSeconds).toBeGreaterThanOrEqual(60);
    expect(await countRows(database.db)).toEqual(before);
    expect(await receivedTips()).toEqual(tips);
    expect((await answer(await putChunk(t.app, inProgress.body.uploadId, 0, bytes))).body.complete).toBe(true);
    tips = await receivedTips();
    before = await countRows(database.db);
    const refused = await answer(await openUpload(t.app, { bytes, lookupId }));
    expect(refused).toMatchObject({ status: 429, body: { error: 'source_quota' } });
    expect(typeof refused.body.message).toBe('string');
    expect(await countRows(database.db)).toEqual(before);
    expect(await receivedTips()).toEqual(tips);
    // another source is not held back by this one
    await sendTip(t.app, { bytes, lookupId: newLookupId(), sourceKeys });
    now = new Date('2026-06-02T00:00:01Z');
    await sendTip(t.app, { bytes, lookupId });
    expect((await lookup(t, lookupId)).body.submissions).toHaveLength(4);
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
    // three chunks of the smallest size an upload of several chunks may have
    const bytes = await ciphertextFor(newsroomKey, 130 * KB);
    const CH = MIN_CHUNK_BYTES;
    const t = await app({ ...SIZE_HELD, quotaTotal: 3 * bytes.length });
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    await sendTip(t.app, { bytes, lookupId });
    const inProgress = await answer(await openUpload(t.app, { bytes, lookupId, chunkSize: CH }));
    expect(inProgress.status).toBe(201);
    const tips = await receivedTips();
    const before = await countRows(database.db);
    // uploads of several chunks count what is reserved, not yet sent
    for (const o of [{ bytes, lookupId, chunkSize: CH }, { bytes, lookupId: newLookupId(), sourceKeys, chunkSize: CH }]) {
      const refused = await answer(await openUpload(t.app, o));
      expect(refused).toMatchObject({ status: 507, body: { error: 'quota_full' } });
    }
    expect(await countRows(database.db)).toEqual(before);
    // a text tip (one chunk, at most 1 MiB) counts only what is stored: room for one more, then none
    await sendTip(t.app, { bytes, lookupId });
    expect(await answer(await openUpload(t.app, { bytes, lookupId }))).toMatchObject({ status: 507, body: { error: 'quota_full' } });
    // the upload already open goes on and is received
    let last;
    for (let i = 0; i * CH < bytes.length; i++) {
      last = await answer(await putChunk(t.app, inProgress.body.uploadId, i, bytes.subarray(i * CH, (i + 1) * CH)));
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

  it('counts the chunk bodies spilled onto the watched disk as free, as they are at each decision, never above what they held at the reading', async () => {
    now = new Date('2026-06-06T08:00:00Z');
    await database.db.execute(sql`delete from submissions where status = 'uploading'`);
    const MB = 1024 * 1024;
    const floor = 64 * MB;
    // 20 MiB of bodies on their way have taken the disk 10 MiB under its floor
    let free = floor - 10 * MB;
    let spilled = 20 * MB;
    const limits = { ...DEFAULT_OPEN_LIMITS, storageFreeFloor: floor, storagePath: '/watched' };
    const storage = createStorageWatch({ db: database.db, limits, refreshMs: 1000, freeBytes: async () => free, spilledBytes: () => spilled });
    // without them, 10 MiB above the floor: a text tip of 4 MiB is taken (helper-83: all refused)
    expect(await storage.room(now)).toBe(10 * MB);
    expect(await storage.check(4 * MB, now, true)).toBe(10 * MB);
    // 15 MiB of them read back to be stored: they count no more, though the reading is the same
    // (helper-84: counted for the reading's 15 s, sixteen bodies stored at once went under half the floor)
    spilled = 5 * MB;
    expect(await storage.room(now)).toBe(-5 * MB);
    await expect(storage.check(4 * MB, now, true)).rejects.toMatchObject({ status: 507, code: 'storage_full' });
    // bodies grown since the reading took nothing the reading saw: at most what they held then
    spilled = 40 * MB;
    expect(await storage.room(now)).toBe(10 * MB);
    // the next reading sees the disk as it is, with them
    free = floor - 30 * MB;
    now = new Date(now.getTime() + 1000);
    expect(await storage.room(now)).toBe(10 * MB);
    spilled = 0;
    expect(await storage.room(now)).toBe(-30 * MB);
  });

  it('refuses new opens when the disk\'s free space would fall below the floor, and opens again once there is room', async () => {
    now = new Date('2026-06-06T09:00:00Z');
    const bytes = await ciphertextFor(newsroomKey, 130 * KB);
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
    expect((await openUpload(t.app, { bytes, lookupId, chunkSize: MIN_CHUNK_BYTES })).status).toBe(507);
  });
});

describe('stale uploads: holding reserved bytes costs sending them (lease + bytes / pace)', () => {
  const minutes = (start: string, m: number) => new Date(Date.parse(start) + m * 60_000);
  const at = (start: string, s: number) => new Date(Date.parse(start) + s * 1000);
  /** bytes a tick (minute) buys at the default pace of 2000 B/s */
  const PER_MINUTE = 2000 * 60;
  const statusOf = async (t: { app: { request: (p: string) => Response | Promise<Response> } }, uploadId: string) =>
    (await t.app.request(`/api/v1/uploads/${uploadId}`)).status;

  it('an upload lives the lease plus its stored bytes at the pace; chunks buy their bytes\' worth and do not reset the clock', async () => {
    const start = '2026-06-07T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const bytes = await ciphertextFor(newsroomKey, 3 * KB);
    const filler = new Uint8Array(3 * MiB).fill(7);
    const t = await app({});
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    const tips = await receivedTips();
    const silent = await answer(await openUpload(t.app, { bytes, lookupId, size: 4 * MiB, chunkSize: 64 * KB }));
    // half of a small reservation in 64 KiB chunks: 2 MiB buys 17 minutes; 3 MiB of a 64 MiB upload, 26
    const half = await answer(await openUpload(t.app, { bytes, lookupId, size: 4 * MiB, chunkSize: 64 * KB }));
    const large = await answer(await openUpload(t.app, { bytes, lookupId, size: 64 * MiB, chunkSize: MiB }));
    expect([silent.status, half.status, large.status]).toEqual([201, 201, 201]);
    for (let i = 0; i < 32; i++) expect((await putChunk(t.app, half.body.uploadId, i, filler.subarray(0, 64 * KB))).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await putChunk(t.app, large.body.uploadId, i, filler.subarray(0, MiB))).status).toBe(200);
    expect([Math.floor((2 * MiB) / PER_MINUTE), Math.floor((3 * MiB) / PER_MINUTE)]).toEqual([17, 26]);
    const sweep = () => purgeExpired(database.db, clock, 6, 10);
    const alive = async () => (await Promise.all([silent, half, large].map((u) => statusOf(t, u.body.uploadId)))).map((s) => s === 200);

    // the first sweep sees them; the silent one holds its bytes for the lease only
    expect((await sweep()).staleUploads).toBe(0);
    now = minutes(start, 9);
    expect((await sweep()).staleUploads).toBe(0);
    now = minutes(start, 10);
    expect((await sweep()).staleUploads).toBe(1);
    expect(await alive()).toEqual([false, true, true]);
    // a late chunk adds its 64 KiB's worth (33 s, here into an 18th minute) and resets nothing: a
    // clock started again by the chunk (the rule before) would keep it to minute 26 + 10 + 18
    now = minutes(start, 26);
    expect((await putChunk(t.app, half.body.uploadId, 32, filler.subarray(0, 64 * KB))).status).toBe(200);
    expect(Math.floor((2 * MiB + 64 * KB) / PER_MINUTE)).toBe(18);
    expect((await sweep()).staleUploads).toBe(0);
    now = minutes(start, 27);
    expect((await sweep()).staleUploads).toBe(0);
    now = minutes(start, 28);
    expect((await sweep()).staleUploads).toBe(1);
    expect(await alive()).toEqual([false, false, true]);
    now = minutes(start, 35);
    expect((await sweep()).staleUploads).toBe(0);
    now = minutes(start, 36);
    expect((await sweep()).staleUploads).toBe(1);
    expect(await alive()).toEqual([false, false, false]);
    expect(rowsOf(await database.db.execute(sql`select 1 from chunks c left join submissions s on s.id = c.submission_id where s.id is null`))).toEqual([]);
    // the tip received before is still there, byte for byte
    expect(await receivedTips()).toEqual(tips);
    await sweep();
    expect(rowsOf(await database.db.execute(sql`select 1 from upload_progress`))).toEqual([]);
  });

  it('however much an upload sent, it goes once it has not moved for the stale time', async () => {
    const start = '2026-06-15T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const bytes = await ciphertextFor(newsroomKey, 3 * KB);
    const t = await app({});
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    const upload = await answer(await openUpload(t.app, { bytes, lookupId, size: 64 * MiB, chunkSize: MiB }));
    const filler = new Uint8Array(MiB).fill(3);
    for (let i = 0; i < 3; i++) expect((await putChunk(t.app, upload.body.uploadId, i, filler)).status).toBe(200);
    // at 100 B/s 3 MiB would buy 524 minutes; a stale time of one hour bounds it
    const sweep = () => purgeExpired(database.db, clock, 1, 10, 100);
    expect((await sweep()).staleUploads).toBe(0);
    now = minutes(start, 59);
    expect((await sweep()).staleUploads).toBe(0);
    now = minutes(start, 60);
    expect((await sweep()).staleUploads).toBe(1);
    expect(await statusOf(t, upload.body.uploadId)).toBe(404);
  });

  it('the trickle attack: fresh sources sending a minimum chunk every 50 s lose their small reservations in about 29 minutes; then an honest 2 MiB file opens and arrives (two processes)', async () => {
    const start = '2026-06-16T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    // the new sources' small pool scaled to eight 4 MiB reservations (the default holds about a hundred)
    const limits = { ...SIZE_HELD, reserveSmallShare: 64 * MiB, reserveNewSourceShare: 0.5 };
    const [a, b] = await Promise.all([app(limits), app(limits)]);
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    await sendTip(a.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    const tips = await receivedTips();
    const attackers: string[] = [];
    for (let i = 0; i < 9; i++) {
      const r = await answer(await openUpload((i % 2 ? a : b).app, { bytes: text, lookupId: newLookupId(), sourceKeys, size: 4 * MiB, chunkSize: MIN_CHUNK_BYTES }));
      if (r.status === 201) attackers.push(r.body.uploadId);
      else expect(r).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
    }
    expect(attackers).toHaveLength(8);
    const honest = await ciphertextFor(newsroomKey, 2 * MiB - 4 * KB);
    const honestOpen = () => openUpload(a.app, { bytes: honest, lookupId: newLookupId(), sourceKeys });
    expect(await answer(await honestOpen())).toMatchObject({ status: 507, body: { error: 'reservations_full' } });

    // one 64 KiB chunk per reservation every 50 s (1 311 B/s, eight times the 8 KiB of the attack
    // that held them for good); both processes sweep every 50 s, at once
    const piece = new Uint8Array(MIN_CHUNK_BYTES).fill(9);
    const gone = new Map<string, number>();
    for (let k = 0; k < 40; k++) {
      now = at(start, 50 * k);
      for (const [i, id] of attackers.entries()) {
        if (gone.has(id)) continue;
        const status = (await putChunk((i % 2 ? a : b).app, id, k, piece)).status;
        if (status === 404) gone.set(id, 50 * k);
        else expect(status).toBe(200);
      }
      const [x, y] = await Promise.all([purgeExpired(database.db, clock, 6, 10), purgeExpired(database.db, clock, 6, 10)]);
      for (const id of attackers) if (!gone.has(id) && (await statusOf(a, id)) === 404) gone.set(id, 50 * k);
      // every upload deleted once, whichever process saw it first
      expect(x.staleUploads + y.staleUploads).toBe([...gone.values()].filter((s) => s === 50 * k).length);
    }
    // lease / (1 − 1 311 / 2 000) = 600 s / 0.345 ≈ 29 minutes; nobody went before the 25th
    expect(gone.size).toBe(8);
    for (const s of gone.values()) {
      expect(s).toBeGreaterThanOrEqual(25 * 60);
      expect(s).toBeLessThanOrEqual(31 * 60);
    }
    const opened = await answer(await honestOpen());
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const arrived = await answer(await putChunk(b.app, opened.body.uploadId, 0, honest));
    expect(arrived.body.complete, JSON.stringify(arrived.body)).toBe(true);
    expect((await receivedTips()).filter((x) => tips.some((y) => y.id === x.id))).toEqual(tips);
  });

  it('an honest slow upload, a little above the pace with a five-minute pause, keeps its reservation and completes', async () => {
    const start = '2026-06-17T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const t = await app({});
    const bytes = await ciphertextFor(newsroomKey, 3 * MiB);
    const chunks = Math.ceil(bytes.length / MIN_CHUNK_BYTES);
    const opened = await answer(await openUpload(t.app, { bytes, lookupId: newLookupId(), sourceKeys, chunkSize: MIN_CHUNK_BYTES }));
    expect(opened.status).toBe(201);
    // a 64 KiB chunk every 32 s (2 048 B/s), and five minutes of nothing (a lost circuit) half-way
    let s = 0;
    let last: Awaited<ReturnType<typeof answer>> | undefined;
    for (let i = 0; i < chunks; i++) {
      if (i === Math.floor(chunks / 2)) {
        for (let m = 0; m < 5; m++) {
          now = at(start, (s += 60));
          expect((await purgeExpired(database.db, clock, 6, 10)).staleUploads).toBe(0);
        }
      }
      now = at(start, (s += 32));
      expect((await purgeExpired(database.db, clock, 6, 10)).staleUploads).toBe(0);
      last = await answer(await putChunk(t.app, opened.body.uploadId, i, bytes.subarray(i * MIN_CHUNK_BYTES, (i + 1) * MIN_CHUNK_BYTES)));
      expect(last.status, JSON.stringify(last.body)).toBe(200);
    }
    expect(s).toBeGreaterThan(30 * 60);
    expect(last?.body.complete).toBe(true);
  });

  it('bytes of a body still arriving pay for its upload\'s time; once stored they count once; a trickle buys what it sends', async () => {
    const start = '2026-06-09T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    // the gate's minute shortened to a fifth of a second
    const t = await app({}, { chunkGate: createChunkGate({ flowMarkMs: 200 }) });
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes: text, lookupId, sourceKeys });
    const open = () => openUpload(t.app, { bytes: text, lookupId, size: 64 * MiB, chunkSize: 4 * MiB }).then(answer);
    const [flowing, trickling, stored] = [await open(), await open(), await open()];
    const sweep = () => purgeExpired(database.db, clock, 6, 10);
    expect((await sweep()).staleUploads).toBe(0);
    const dribble = (uploadId: string, piece: number, everyMs: number, total = Infinity) => {
      let sent = 0;
      let stopped = false;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, everyMs));
          if (stopped) return controller.error(new Error('stopped'));
          controller.enqueue(new Uint8Array(Math.min(piece, total - sent)).fill(5));
          sent += Math.min(piece, total - sent);
          if (sent >= total) controller.close();
        },
      });
      const answered = t.app.request(`/api/v1/uploads/${uploadId}/chunks/0`, {
        method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body, duplex: 'half',
      } as RequestInit);
      return { sent: () => sent, answered, stop: () => ((stopped = true), answered) };
    };
    const flowedOf = async () =>
      new Map(rowsOf<{ id: string; flowed: number }>(await database.db.execute(sql`select submission_id as id, flowed from upload_progress`)).map((r) => [r.id, Number(r.flowed)]));
    const idOf = (u: { body: Record<string, any> }) => submissionIdOf(u.body.uploadId)!;
    // past the lease, nothing stored: one body at about 800 kB/s, one at 10 B/s, one whole 4 MiB chunk
    now = minutes(start, 11);
    const fast = dribble(flowing.body.uploadId, 16 * KB, 20);
    const slow = dribble(trickling.body.uploadId, 1, 100);
    const whole = dribble(stored.body.uploadId, 16 * KB, 5, 4 * MiB);
    await waitFor(async () => ((await flowedOf()).get(idOf(flowing)) ?? 0) >= 3 * PER_MINUTE && slow.sent() >= 20);
    expect((await whole.answered).status).toBe(200);
    expect((await sweep()).staleUploads).toBe(1);
    expect(await statusOf(t, flowing.body.uploadId)).toBe(200);
    expect(await statusOf(t, trickling.body.uploadId)).toBe(404);
    expect(await statusOf(t, stored.body.uploadId)).toBe(200);
    expect((await fast.stop()).status).toBe(400);
    await slow.stop();
    // a stored body's bytes count once: what was counted on its way is taken out again
    await waitFor(async () => (await flowedOf()).get(idOf(stored)) === 0);
    // the stopped body keeps what it sent (reported when it was cut): its time runs out at 10 + flowed / 120 000
    let flowed = -1;
    await waitFor(async () => {
      const before = (await flowedOf()).get(idOf(flowing))!;
      await new Promise((r) => setTimeout(r, 300));
      const after = (await flowedOf()).get(idOf(flowing))!;
      flowed = after;
      return before === after;
    });
    const end = 10 + Math.floor(flowed / PER_MINUTE);
    expect(end).toBeGreaterThanOrEqual(13);
    now = minutes(start, end - 1);
    await sweep();
    expect(await statusOf(t, flowing.body.uploadId)).toBe(200);
    now = minutes(start, end);
    await sweep();
    expect(await statusOf(t, flowing.body.uploadId)).toBe(404);
    // 4 MiB stored buys 34 minutes from the first sweep
    now = minutes(start, 10 + 34 - 1);
    await sweep();
    expect(await statusOf(t, stored.body.uploadId)).toBe(200);
    now = minutes(start, 10 + 34);
    await sweep();
    expect(await statusOf(t, stored.body.uploadId)).toBe(404);
  });

  it('the purge timer sweeps between purges', async () => {
    const start = '2026-06-08T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const bytes = await ciphertextFor(newsroomKey, 8 * KB);
    const t = await app({});
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes, lookupId, sourceKeys });
    // a silent upload (its open notes its minute), then a sweep (not a purge) a lease later
    const silent = await answer(await openUpload(t.app, { bytes, lookupId, size: 4 * MiB, chunkSize: MIN_CHUNK_BYTES }));
    expect(silent.status).toBe(201);
    expect(rowsOf(await database.db.execute(sql`select 1 from upload_progress`))).toHaveLength(2);
    const errors: unknown[] = [];
    let later = minutes(start, 5);
    const stop = startPurgeTimer(database.db, () => later, { intervalMs: 3600_000, sweepIntervalMs: 50, leaseMinutes: 10, onError: (e) => errors.push(e) });
    try {
      // the received tip's row goes with the first sweep; the silent upload's lease runs from its open
      await waitFor(async () => rowsOf(await database.db.execute(sql`select 1 from upload_progress`)).length === 1);
      expect((await t.app.request(`/api/v1/uploads/${silent.body.uploadId}`)).status).toBe(200);
      later = minutes(start, 10);
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

describe('claims: a reservation that has shown no byte can be displaced once past its grace', () => {
  const at = (start: string, s: number) => new Date(Date.parse(start) + s * 1000);
  // the new sources' small pool scaled to eight 4 MiB reservations (the default holds about a hundred)
  const limits = { ...SIZE_HELD, reserveSmallShare: 64 * MiB, reserveNewSourceShare: 0.5 };
  const statusOf = async (t: { app: { request: (p: string) => Response | Promise<Response> } }, uploadId: string) =>
    (await t.app.request(`/api/v1/uploads/${uploadId}`)).status;
  const uploading = async () =>
    rowsOf<{ id: string; size: number }>(await database.db.execute(sql`select id, size from submissions where status = 'uploading' order by id`));
  const claimOpen = (t: Awaited<ReturnType<typeof app>>, text: Uint8Array) =>
    openUpload(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys, size: 4 * MiB, chunkSize: MIN_CHUNK_BYTES }).then(answer);
  let text: Uint8Array;
  let honest: Uint8Array;
  beforeAll(async () => {
    text = await ciphertextFor(newsroomKey, 2 * KB);
    honest = await ciphertextFor(newsroomKey, 2 * MiB - 4 * KB);
  });
  const honestOpen = (t: Awaited<ReturnType<typeof app>>) => openUpload(t.app, { bytes: honest, lookupId: newLookupId(), sourceKeys }).then(answer);

  it('the zero-byte re-open attack (two processes) holds no honest file out: the oldest claims past the grace make room, just as many as needed, and the file arrives', async () => {
    const start = '2026-07-01T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const [a, b] = await Promise.all([app(limits), app(limits)]);
    await sendTip(a.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    const tips = await receivedTips();
    // the attacker fills the pool, sends nothing, and opens each reservation again as the sweep
    // takes it (its lease, ten minutes): for 25 minutes the pool stays full of claims
    let attackers: string[] = [];
    for (let m = 0; m <= 25; m++) {
      now = at(start, 60 * m);
      await Promise.all([purgeExpired(database.db, clock, 6, 10), purgeExpired(database.db, clock, 6, 10)]);
      const alive: string[] = [];
      for (const id of attackers) if ((await statusOf(a, id)) === 200) alive.push(id);
      attackers = alive;
      while (attackers.length < 8) {
        const r = await claimOpen(attackers.length % 2 ? a : b, text);
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        attackers.push(r.body.uploadId);
      }
      // one more claim does not fit: the attacker's own claims are not displaced by a claim inside
      // the first minute (none is past its grace yet), later it only trades one claim for another
      if (m === 0) expect(await claimOpen(a, text)).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
    }
    expect(attackers).toHaveLength(8);
    expect((await uploading()).length).toBe(8);
    // an honest new source's 2 MiB file, 30 s into minute 25: the oldest claim (past its grace) goes
    now = at(start, 25 * 60 + 30);
    const ages = new Map(rowsOf<{ id: string; opened: number }>(await database.db.execute(sql`select submission_id as id, first_tick as opened from upload_progress`)).map((r) => [r.id, Number(r.opened)]));
    const key = (x: string) => [ages.get(submissionIdOf(x)!)!, submissionIdOf(x)!] as const;
    const oldest = [...attackers].sort((x, y) => key(x)[0] - key(y)[0] || (key(x)[1] < key(y)[1] ? -1 : 1))[0]!;
    const opened = await honestOpen(b);
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    // 2 MiB needed, one 4 MiB claim gave it: seven claims left beside the honest upload
    const left = [];
    for (const id of attackers) if ((await statusOf(a, id)) === 200) left.push(id);
    expect(left).toHaveLength(7);
    expect(left).not.toContain(oldest);
    expect((await uploading()).length).toBe(8);
    // the displaced claim's chunks get what a swept upload's get
    expect(await answer(await putChunk(a.app, oldest, 0, new Uint8Array(MIN_CHUNK_BYTES)))).toMatchObject({ status: 404, body: { error: 'unknown_upload' } });
    const arrived = await answer(await putChunk(a.app, opened.body.uploadId, 0, honest));
    expect(arrived.body.complete, JSON.stringify(arrived.body)).toBe(true);
    // a second honest file fits in what the first left (2 MiB) without displacing anyone
    const second = await honestOpen(a);
    expect(second.status).toBe(201);
    const stillLeft = [];
    for (const id of attackers) if ((await statusOf(a, id)) === 200) stillLeft.push(id);
    expect(stillLeft).toEqual(left);
    expect((await receivedTips()).filter((x) => tips.some((y) => y.id === x.id))).toEqual(tips);
  });

  it('the one-byte-last-chunk attack (issue 9, attacker 6): reservations whose 1-byte last chunk is stored are no claims; re-opened as swept they hold no honest file out', async () => {
    // A reservation of 63 minimum chunks and one byte: its last chunk is one byte long, and once it
    // is stored the reservation is never displaced and "got" counts a whole chunk. Sending that one
    // byte per reservation (and re-opening each as its lease ends) must not hold the pool.
    const start = '2026-07-09T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const [a, b] = await Promise.all([app(limits), app(limits)]);
    await sendTip(a.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    const tips = await receivedTips();
    const size = 63 * MIN_CHUNK_BYTES + 1;
    let attackers: string[] = [];
    let opens = 0;
    let bytesSent = 0;
    for (let m = 0; m <= 25; m++) {
      now = at(start, 60 * m);
      await Promise.all([purgeExpired(database.db, clock, 6, 10), purgeExpired(database.db, clock, 6, 10)]);
      const alive: string[] = [];
      for (const id of attackers) if ((await statusOf(a, id)) === 200) alive.push(id);
      attackers = alive;
      while (attackers.length < 8) {
        const r = await openUpload((attackers.length % 2 ? a : b).app, { bytes: text, lookupId: newLookupId(), sourceKeys, size, chunkSize: MIN_CHUNK_BYTES }).then(answer);
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        opens++;
        expect((await putChunk(a.app, r.body.uploadId, 63, new Uint8Array([7]))).status).toBe(200);
        bytesSent++;
        attackers.push(r.body.uploadId);
      }
    }
    // one open a minute or so (24 in 26 minutes on main), one byte each: the pool is full, nine do not fit
    expect(attackers).toHaveLength(8);
    expect(bytesSent).toBe(opens);
    // an honest new source's 2 MiB file, 30 s into minute 25
    now = at(start, 25 * 60 + 30);
    const opened = await honestOpen(b);
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect((await receivedTips()).filter((x) => tips.some((y) => y.id === x.id))).toEqual(tips);
  });

  it('the 64-KiB-then-nothing attack (issue 9, attacker 7; two processes): reservations that showed their first 64 KiB and stopped fall behind the pace; an honest 2 MiB file opens about half a lease after their open and arrives', async () => {
    // Each reservation shows one minimum chunk (64 KiB: no claim) and then nothing; the sweep takes
    // it after its lease (ten minutes; 64 KiB pays for no whole minute more) and it is opened again.
    // Past the grace (1 minute) and the slack (half the lease, 5), 64 KiB is behind the pace.
    const start = '2026-07-11T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const [a, b] = await Promise.all([app(limits), app(limits)]);
    await sendTip(a.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    const tips = await receivedTips();
    let attackers: string[] = [];
    let honestAt: number | undefined;
    let opened: Awaited<ReturnType<typeof honestOpen>> | undefined;
    let displaced: string[] = [];
    for (let m = 0; m <= 25 && honestAt === undefined; m++) {
      now = at(start, 60 * m);
      await Promise.all([purgeExpired(database.db, clock, 6, 10), purgeExpired(database.db, clock, 6, 10)]);
      const alive: string[] = [];
      for (const id of attackers) if ((await statusOf(a, id)) === 200) alive.push(id);
      attackers = alive;
      while (attackers.length < 8) {
        const r = await claimOpen(attackers.length % 2 ? a : b, text);
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        expect((await putChunk(a.app, r.body.uploadId, 0, new Uint8Array(MIN_CHUNK_BYTES).fill(3))).status).toBe(200);
        attackers.push(r.body.uploadId);
      }
      // an honest new source tries 30 s into every minute
      now = at(start, 60 * m + 30);
      const before = await countRows(database.db);
      const r = await honestOpen(m % 2 ? a : b);
      if (r.status === 201) {
        honestAt = m;
        opened = r;
        for (const id of attackers) if ((await statusOf(a, id)) !== 200) displaced.push(id);
      } else {
        expect(r).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
        expect(await countRows(database.db)).toEqual(before);
      }
    }
    // on main (0011) it never got in: the sweep's re-opened reservations were no claims. Now the
    // first wave (opened at minute 0) is behind the pace in minute 7: age 7 > grace 1 + slack 5
    expect(honestAt).toBe(7);
    // one 4 MiB reservation gave the 2 MiB needed
    expect(displaced).toHaveLength(1);
    expect(await answer(await putChunk(a.app, displaced[0]!, 1, new Uint8Array(MIN_CHUNK_BYTES)))).toMatchObject({ status: 404, body: { error: 'unknown_upload' } });
    const arrived = await answer(await putChunk(b.app, opened!.body.uploadId, 0, honest));
    expect(arrived.body.complete, JSON.stringify(arrived.body)).toBe(true);
    expect((await receivedTips()).filter((x) => tips.some((y) => y.id === x.id))).toEqual(tips);
  });

  it('an upload keeping the pace (64 KiB every 32 s) is never displaced while zero-byte claims keep the pool full and displace each other', async () => {
    const start = '2026-07-12T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const t = await app(limits);
    await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    const tips = await receivedTips();
    const file = await ciphertextFor(newsroomKey, 4 * MiB - 4 * KB);
    const chunks = Math.ceil(file.length / MIN_CHUNK_BYTES);
    expect(chunks).toBe(64);
    const up = await openUpload(t.app, { bytes: file, lookupId: newLookupId(), sourceKeys, size: file.length, chunkSize: MIN_CHUNK_BYTES }).then(answer);
    expect(up.status).toBe(201);
    let claimsOpened = 0;
    let claimsDisplacing = 0;
    let lastTick = -1;
    for (let i = 0; i < chunks; i++) {
      now = at(start, 32 * i);
      const tick = Math.floor(now.getTime() / 60_000);
      if (tick !== lastTick) {
        await purgeExpired(database.db, clock, 6, 10);
        lastTick = tick;
      }
      const res = await answer(await putChunk(t.app, up.body.uploadId, i, file.subarray(i * MIN_CHUNK_BYTES, (i + 1) * MIN_CHUNK_BYTES)));
      expect(res.status, `chunk ${i}: ${JSON.stringify(res.body)}`).toBe(200);
      if (i === chunks - 1) expect(res.body.complete).toBe(true);
      else {
        // the attacker keeps the pool full: claims until one is refused
        for (;;) {
          const before = (await uploading()).length;
          const r = await claimOpen(t, text);
          if (r.status !== 201) {
            expect(r).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
            break;
          }
          claimsOpened++;
          if ((await uploading()).length === before) claimsDisplacing++;
        }
      }
    }
    // the pool was full and its claims were displaced all along (the upload was the oldest)
    expect(claimsOpened).toBeGreaterThan(20);
    expect(claimsDisplacing).toBeGreaterThan(10);
    expect((await receivedTips()).filter((x) => tips.some((y) => y.id === x.id))).toEqual(tips);
    expect((await receivedTips()).length).toBe(tips.length + 1);
  });

  it('the zero-byte re-open attack raises the price: each displaced claim and each refusal of a full pool counts as an open', async () => {
    // The flood threshold scaled like the pool: eight reservations opened again every two minutes
    // are eight opens in a minute at most, no flood under a threshold of 8 when only opens count
    // (0011); with their displacements and refusals it is one (two bits at the first re-opening).
    const start = '2026-07-13T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    await database.db.execute(sql`delete from pow_load`);
    const [a, b] = await Promise.all([app(limits, { powFloodOpensPerMinute: 8, powFloodMaxBits: 4 }), app(limits, { powFloodOpensPerMinute: 8, powFloodMaxBits: 4 })]);
    const priceOf = async (x: typeof a) => (await answer(await post(x.app, '/api/v1/pow', { size: 4 * MiB }))).body.difficulty as number;
    const base = await priceOf(a);
    const prices: number[] = [];
    let displaced = 0;
    for (let m = 0; m <= 4; m++) {
      now = at(start, 60 * m);
      for (let n = 0; ; n++) {
        const before = (await uploading()).length;
        const r = await claimOpen(n % 2 ? a : b, text);
        if (r.status !== 201) {
          expect(r).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
          break;
        }
        if ((await uploading()).length === before) displaced++;
      }
      // the next read of the shared counts (every 5 s)
      now = at(start, 60 * m + 30);
      prices.push(Math.max(await priceOf(a), await priceOf(b)));
    }
    expect(displaced).toBeGreaterThanOrEqual(8);
    expect(prices[0]).toBeGreaterThan(base);
    expect(prices[2]).toBeGreaterThanOrEqual(base + 2);
  });

  it('a claim inside its grace is not displaced: the open gets 507 and nothing changes; in the second minute after its own it is', async () => {
    const start = '2026-07-02T09:00:00Z';
    now = at(start, 50);
    await database.db.execute(sql`delete from submissions`);
    const t = await app(limits);
    await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    const tips = await receivedTips();
    for (let i = 0; i < 8; i++) expect((await claimOpen(t, text)).status).toBe(201);
    // 59 s after the claims' open, a minute later on the clock; then 69 s, still the next minute
    for (const s of [109, 119]) {
      now = at(start, s);
      const before = await countRows(database.db);
      expect(await honestOpen(t)).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
      expect(await countRows(database.db)).toEqual(before);
    }
    now = at(start, 120);
    expect((await honestOpen(t)).status).toBe(201);
    expect((await uploading()).length).toBe(8);
    expect(await receivedTips()).toEqual(tips);
  });

  it('an upload with a chunk stored or a body arriving is not displaced (not behind the pace: inside the grace and the slack); claims are, until none is left', async () => {
    const start = '2026-07-03T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const t = await app(limits);
    await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    const tips = await receivedTips();
    // the two oldest: one with a chunk stored, one whose first chunk is on its way
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      now = at(start, i);
      // the arriving one sends its 4 MiB as one chunk
      const r = i === 1
        ? await openUpload(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys, size: 4 * MiB, chunkSize: 4 * MiB }).then(answer)
        : await claimOpen(t, text);
      expect(r.status).toBe(201);
      ids.push(r.body.uploadId);
    }
    const [stored, arriving, ...claims] = ids as [string, string, ...string[]];
    expect((await putChunk(t.app, stored, 0, new Uint8Array(MIN_CHUNK_BYTES).fill(1))).status).toBe(200);
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= MIN_CHUNK_BYTES + 16 * KB) {
          await held;
          return controller.error(new Error('stopped'));
        }
        controller.enqueue(new Uint8Array(16 * KB).fill(2));
        sent += 16 * KB;
      },
    });
    // 80 KiB of a 4 MiB body, and then it waits: its first 64 KiB were reported as they came
    const answered = Promise.resolve(t.app.request(`/api/v1/uploads/${arriving}/chunks/0`, {
      method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body, duplex: 'half',
    } as RequestInit));
    await waitFor(async () =>
      rowsOf<{ flowed: number }>(await database.db.execute(sql`select flowed from upload_progress where submission_id = ${submissionIdOf(arriving)!}::uuid`)).some((r) => Number(r.flowed) >= MIN_CHUNK_BYTES));
    // well past the grace, inside the slack (five minutes after the opens: 64 KiB shown is not behind
    // the pace yet): six claims make room for twelve honest 2 MiB files, then the pool is full
    now = at(start, 300);
    let opened = 0;
    for (;;) {
      const r = await honestOpen(t);
      if (r.status !== 201) {
        expect(r).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
        break;
      }
      opened++;
    }
    expect(opened).toBe(12);
    expect(await statusOf(t, stored)).toBe(200);
    expect(await statusOf(t, arriving)).toBe(200);
    for (const id of claims) expect(await statusOf(t, id)).toBe(404);
    expect((await uploading()).length).toBe(14);
    release();
    expect((await answered).status).toBe(400);
    expect(await receivedTips()).toEqual(tips);
  });

  it('a large open takes the room of large claims only, in the new sources\' large bound; small claims stay', async () => {
    const start = '2026-07-05T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    // new sources' large unsent bytes within 10 % of a 1 GiB total: two 50 MiB claims fill it (each
    // holding its size: SIZE_HELD)
    const t = await app({ ...SIZE_HELD, quotaTotal: 1024 * MiB, reserveSmallShare: 64 * MiB, reserveUnsentShare: 1, reserveNewSourceShare: 0.1 });
    await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    const tips = await receivedTips();
    const large = () => openUpload(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys, size: 50 * MiB, chunkSize: 4 * MiB }).then(answer);
    const first = await large();
    now = at(start, 60);
    const second = await large();
    const small = await claimOpen(t, text);
    expect([first.status, second.status, small.status]).toEqual([201, 201, 201]);
    expect(await large()).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
    // a 10 MiB file from a new source, once both are past their grace: the older claim goes
    now = at(start, 240);
    const file = await ciphertextFor(newsroomKey, 10 * MiB);
    const opened = await openUpload(t.app, { bytes: file, lookupId: newLookupId(), sourceKeys, chunkSize: 4 * MiB }).then(answer);
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect(await statusOf(t, first.body.uploadId)).toBe(404);
    expect(await statusOf(t, second.body.uploadId)).toBe(200);
    expect(await statusOf(t, small.body.uploadId)).toBe(200);
    let last: Awaited<ReturnType<typeof answer>> | undefined;
    for (let i = 0; i * 4 * MiB < file.length; i++) last = await answer(await putChunk(t.app, opened.body.uploadId, i, file.subarray(i * 4 * MiB, (i + 1) * 4 * MiB)));
    expect(last?.body.complete, JSON.stringify(last?.body)).toBe(true);
    expect((await receivedTips()).filter((x) => tips.some((y) => y.id === x.id))).toEqual(tips);
  });

  it('opens on two processes at once into a full pool never take the same claim\'s room nor overfill the pool', async () => {
    const start = '2026-07-04T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const [a, b] = await Promise.all([app(limits), app(limits)]);
    await sendTip(a.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    const tips = await receivedTips();
    const claims: string[] = [];
    for (let i = 0; i < 8; i++) claims.push((await claimOpen(i % 2 ? a : b, text)).body.uploadId);
    now = at(start, 120);
    // sixteen claim-sized opens at once: eight claims give room for eight of them
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => claimOpen(i % 2 ? a : b, text)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(8);
    expect(results.filter((r) => r.status === 507 && r.body.error === 'reservations_full')).toHaveLength(8);
    for (const id of claims) expect(await statusOf(a, id)).toBe(404);
    const rows = await uploading();
    expect(rows).toHaveLength(8);
    expect(rows.reduce((n, r) => n + Number(r.size), 0)).toBe(32 * MiB);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(results.filter((r) => r.status === 201).map((r) => submissionIdOf(r.body.uploadId))));
    expect(await receivedTips()).toEqual(tips);
  });
});

describe('reservations (the attack: many never-sent 2 GiB opens from fresh sources)', () => {
  /**
   * The bounds as an open sees them when it holds its size (SIZE_HELD); with the default hold (64 KiB,
   * migrations/0017) a 2 GiB open counts that until it is promoted (the first test here, and "every
   * reservation earned by bytes" below).
   */
  const noProbes = SIZE_HELD;
  /** A 2 GiB reservation that never sends a byte (what the attacker opened). */
  const reserveLarge = (a: Awaited<ReturnType<typeof app>>, o: { lookupId: string; sourceKeys?: typeof sourceKeys }) =>
    openUpload(a.app, { bytes: new Uint8Array(16), size: 2 * GiB, chunkSize: 4 * MiB, ...o }).then(answer);

  it('with the default quota: fresh identities hold at most their share, an honest text tip and a returning source\'s upload still open', async () => {
    now = new Date('2026-06-10T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const t = await app(noProbes);
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
    // with the default hold the same never-sent opens are probes, 64 KiB each of the bound: the 22
    // refused above all open (12 GiB + 22 x 64 KiB), none holding more than its hold
    const probes = await app({});
    const more: number[] = [];
    for (let i = 0; i < 22; i++) more.push((await reserveLarge(probes, { lookupId: newLookupId(), sourceKeys })).status);
    expect(more).toEqual(Array(22).fill(201));
    // every upload above is a probe (0017: all but text tips), the 22 too
    const [{ n }] = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from submissions where probe`)) as [{ n: number }];
    expect(Number(n)).toBe(6 + 1 + 1 + 22);
  });

  it('on a watched disk (the attack\'s 507 storage_full): the reservations hold at most their shares of the free room, the text tip gets in', async () => {
    now = new Date('2026-06-11T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const floor = 4 * GiB;
    const limits = { ...DEFAULT_OPEN_LIMITS, ...noProbes, storageFreeFloor: floor, storagePath: '/watched' };
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
    const t = await app({ ...SIZE_HELD, quotaTotal: 12 * GiB, reserveUnsentShare: 1, reserveNewSourceShare: 1 });
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
    const t = await app({ ...SIZE_HELD, quotaTotal: 512 * MiB, reserveSmallShare: 64 * MiB, reserveUnsentShare: 1, reserveNewSourceShare: 0.2 });
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const returning = newLookupId();
    await sendTip(t.app, { bytes: text, lookupId: returning, sourceKeys });
    const tips = await receivedTips();
    const small = (o: { lookupId: string; sourceKeys?: typeof sourceKeys }) =>
      openUpload(t.app, { bytes: text, size: 4 * MiB, chunkSize: 64 * KB, ...o }).then(answer);
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
    const [a, b] = await Promise.all([app(noProbes), app(noProbes)]);
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

describe('the size\'s pace: a large reservation must stay on track to finish before the day\'s purge (migrations/0014)', () => {
  /** bytes a minute of 2 GiB (and 1 GiB) over the 2 880 minutes from an open at midnight to the purge that would delete it */
  const TWO_GIB_PER_MINUTE = Math.ceil((2 * GiB) / 2880);
  const ONE_GIB_PER_MINUTE = Math.ceil(GiB / 2880);
  const minutes = (start: string, m: number) => new Date(Date.parse(start) + m * 60_000);
  const statusOf = async (t: Awaited<ReturnType<typeof app>>, uploadId: string) => (await t.app.request(`/api/v1/uploads/${uploadId}`)).status;
  const large = (t: Awaited<ReturnType<typeof app>>, lookupId: string, size: number) =>
    openUpload(t.app, { bytes: new Uint8Array(16), lookupId, size, chunkSize: 4 * MiB }).then(answer);
  /** Each minute, every upload still there sends its bytes a minute (the chunk gate's report of a body arriving). */
  async function flow(uploads: { uploadId: string; perMinute: number }[]) {
    for (const u of uploads) await markUploadFlowing(database.db, submissionIdOf(u.uploadId)!, now, u.perMinute);
  }

  it('sealdrop_required_per_tick: size over the minutes from the open to the purge\'s midnight (24-48 h), never under the pace', async () => {
    const tickOfIso = (iso: string) => Math.floor(Date.parse(iso) / 60_000);
    const rate = async (size: number, day: string, openedAt: string, pacePerTick = 120_000) =>
      Number(
        rowsOf<{ r: string }>(
          await database.db.execute(sql`select sealdrop_required_per_tick(${size}::bigint, ${day}::date, ${tickOfIso(openedAt)}::int, ${pacePerTick}::bigint) as r`),
        )[0]!.r,
      );
    expect(await rate(2 * GiB, '2026-06-21', '2026-06-21T00:00:00Z')).toBe(Math.ceil((2 * GiB) / 2880));
    expect(await rate(2 * GiB, '2026-06-21', '2026-06-21T23:59:00Z')).toBe(Math.ceil((2 * GiB) / 1441));
    // 329 MiB at midnight asks less than the pace (2 000 B/s x 48 h is 329.6 MiB): the pace; 330 MiB more
    expect(await rate(329 * MiB, '2026-06-21', '2026-06-21T00:00:00Z')).toBe(120_000);
    expect(await rate(330 * MiB, '2026-06-21', '2026-06-21T00:00:00Z')).toBe(Math.ceil((330 * MiB) / 2880));
    expect(await rate(64 * MiB, '2026-06-21', '2026-06-21T23:59:00Z', 1)).toBe(Math.ceil((64 * MiB) / 1441));
    // first seen past its purge's midnight (a purge not yet run): all of it at once
    expect(await rate(2 * GiB, '2026-06-21', '2026-06-23T00:05:00Z')).toBe(2 * GiB);
  });

  it('the sweep: a 2 GiB upload at 2 185 B/s (the racing attacker) and one at 8 kB/s go; 1 GiB at 8 kB/s and 64 MiB at 2 185 B/s (today\'s rule) stay', async () => {
    expect([TWO_GIB_PER_MINUTE, ONE_GIB_PER_MINUTE]).toEqual([745_655, 372_828]);
    const start = '2026-06-21T00:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const t = await app({});
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const [a, b] = [newLookupId(), newLookupId()];
    for (const lookupId of [a, b]) await sendTip(t.app, { bytes: text, lookupId, sourceKeys });
    const tips = await receivedTips();
    const uploads = {
      trickle: { ...(await large(t, a, 2 * GiB)), perMinute: 131_072 },
      slowLink: { ...(await large(t, b, 2 * GiB)), perMinute: 480_000 },
      onTrack: { ...(await large(t, a, GiB)), perMinute: 480_000 },
      small: { ...(await large(t, b, 64 * MiB)), perMinute: 131_072 },
    };
    for (const u of Object.values(uploads)) expect(u.status).toBe(201);
    const live = Object.entries(uploads).map(([name, u]) => ({ name, uploadId: u.body.uploadId as string, perMinute: u.perMinute }));
    const goneAt: Record<string, number> = {};
    for (let m = 1; m <= 40; m++) {
      now = minutes(start, m);
      await flow(live.filter((u) => goneAt[u.name] === undefined));
      await purgeExpired(database.db, clock, 6, 10);
      for (const u of live) if (goneAt[u.name] === undefined && (await statusOf(t, u.uploadId)) === 404) goneAt[u.name] = m;
    }
    // past the lease, behind their size's pace by more than it: the trickle (above UPLOAD_PACE, kept
    // for a day by the rule before) goes in its eleventh minute, 2 GiB at 8 kB/s (which could not
    // finish before the purge: 74 hours) about half an hour after its open
    expect(goneAt.trickle).toBe(11);
    expect(goneAt.slowLink).toBeGreaterThan(20);
    expect(goneAt.slowLink).toBeLessThanOrEqual(30);
    expect(goneAt.onTrack).toBeUndefined();
    expect(goneAt.small).toBeUndefined();
    expect(await receivedTips()).toEqual(tips);
  });

  it('the sweep: an upload opened later in the day has less time and is asked more; on track it stays', async () => {
    // opened at 12:00: 2 160 minutes to the purge, so 1 GiB asks 497 104 B a minute
    const start = '2026-06-23T12:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const t = await app({});
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const [a, b] = [newLookupId(), newLookupId()];
    for (const lookupId of [a, b]) await sendTip(t.app, { bytes: text, lookupId, sourceKeys });
    const behind = { ...(await large(t, a, GiB)), perMinute: 480_000 };
    const ahead = { ...(await large(t, b, GiB)), perMinute: 520_000 };
    expect([behind.status, ahead.status]).toEqual([201, 201]);
    let behindGone: number | undefined;
    for (let m = 1; m <= 400 && behindGone === undefined; m++) {
      now = minutes(start, m);
      await flow([behind, ahead].map((u) => ({ uploadId: u.body.uploadId, perMinute: u.perMinute })));
      await purgeExpired(database.db, clock, 6, 10);
      if ((await statusOf(t, behind.body.uploadId)) === 404) behindGone = m;
    }
    // 480 000 a minute falls a lease (4 971 040 B) behind 497 104 in about 290 minutes
    expect(behindGone).toBeGreaterThan(250);
    expect(behindGone).toBeLessThan(320);
    expect(await statusOf(t, ahead.body.uploadId)).toBe(200);
  });

  it('a full large bound: a 2 GiB reservation behind its size\'s pace (yet above UPLOAD_PACE) is displaced by an honest 2 GiB open; one on track never is', async () => {
    const start = '2026-06-22T00:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    // a 10 GiB total: 5 GiB for unsent reservations, two 2 GiB ones and no third
    const t = await app({ ...SIZE_HELD, quotaTotal: 10 * GiB });
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const [a, b, honest, honest2] = [newLookupId(), newLookupId(), newLookupId(), newLookupId()];
    for (const lookupId of [a, b, honest, honest2]) await sendTip(t.app, { bytes: text, lookupId, sourceKeys });
    const tips = await receivedTips();
    const trickle = { ...(await large(t, a, 2 * GiB)), perMinute: 131_072 };
    const onTrack = { ...(await large(t, b, 2 * GiB)), perMinute: TWO_GIB_PER_MINUTE + 1000 };
    expect([trickle.status, onTrack.status]).toEqual([201, 201]);
    const outcomes: string[] = [];
    let opened: { status: number; body: Record<string, any> } | undefined;
    for (let m = 1; m <= 9 && !opened; m++) {
      now = minutes(start, m);
      await flow([trickle, onTrack].map((u) => ({ uploadId: u.body.uploadId, perMinute: u.perMinute })));
      const before = await countRows(database.db);
      const r = await large(t, honest, 2 * GiB);
      outcomes.push(r.status === 201 ? `${m}: created` : `${m}: ${r.body.error}`);
      if (r.status === 201) opened = r;
      else expect(await countRows(database.db)).toEqual(before);
      await purgeExpired(database.db, clock, 6, 10);
    }
    // shown 131 072 B a minute against 64 KiB + 745 655 a minute past the grace and the slack
    // (six minutes): behind from its eighth minute. At UPLOAD_PACE (the rule before) it never was.
    expect(outcomes).toEqual([...[1, 2, 3, 4, 5, 6, 7].map((m) => `${m}: reservations_full`), '8: created']);
    expect(await statusOf(t, trickle.body.uploadId)).toBe(404);
    expect(await statusOf(t, onTrack.body.uploadId)).toBe(200);
    // the bound is full again (the honest upload inside its grace, the other on track): refused, nothing displaced
    now = minutes(start, 9);
    await flow([{ uploadId: onTrack.body.uploadId, perMinute: onTrack.perMinute }]);
    expect(await large(t, honest2, 2 * GiB)).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
    expect(await statusOf(t, onTrack.body.uploadId)).toBe(200);
    expect(await statusOf(t, opened!.body.uploadId)).toBe(200);
    expect((await receivedTips()).filter((x) => tips.some((y) => y.id === x.id))).toEqual(tips);
  });
});

describe('the re-opening attacker: what a swept or displaced upload did not send counts toward its codename\'s day (migrations/0015)', () => {
  const minutes = (start: string, m: number) => new Date(Date.parse(start) + m * 60_000);
  const statusOf = async (t: Awaited<ReturnType<typeof app>>, uploadId: string) => (await t.app.request(`/api/v1/uploads/${uploadId}`)).status;
  const sweptUnsent = async () =>
    rowsOf<{ source_id: string; day: string; bytes: string }>(
      await database.db.execute(sql`select source_id::text, to_char(day, 'YYYY-MM-DD') as day, bytes::text from swept_unsent order by source_id`),
    ).map((r) => ({ source: r.source_id, day: r.day, bytes: Number(r.bytes) }));
  const sourceOf = async (submissionId: string) =>
    rowsOf<{ source_id: string }>(await database.db.execute(sql`select source_id::text from submissions where id = ${submissionId}::uuid`))[0]!.source_id;

  it('re-opening a 2 GiB upload as each is swept burns the codename\'s large opens of the day once it is promoted: four opens, then 429 source_unsent until the next day; unpromoted, each costs at most 64 KiB (0017)', async () => {
    const start = '2026-08-01T00:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    await database.db.execute(sql`delete from swept_unsent`);
    const t = await app({});
    const lookupId = newLookupId();
    const tip = await sendTip(t.app, { bytes: await ciphertextFor(newsroomKey, 2 * KB), lookupId, sourceKeys });
    const source = await sourceOf(tip.submissionId);
    const tips = await receivedTips();
    // the attacker of the bench (FLOW_PER_MINUTE=65536): 64 KiB a minute shown on its upload, and
    // opened again as soon as it is swept; before 0015 it opened again every 11 minutes all day. As a
    // probe (0017) each holds 64 KiB and shows it: it notes nothing (what it held less what it sent)
    for (let k = 0; k < 6; k++) {
      now = minutes(start, 11 * k);
      const opened = await answer(await openUpload(t.app, { bytes: new Uint8Array(16), lookupId, size: 2 * GiB, chunkSize: 4 * MiB }));
      expect(opened.status).toBe(201);
      await markUploadFlowing(database.db, submissionIdOf(opened.body.uploadId)!, now, 65_536);
      now = minutes(start, 11 * k + 11);
      await purgeExpired(database.db, clock, 6, 10);
      expect(await statusOf(t, opened.body.uploadId)).toBe(404);
    }
    expect(await sweptUnsent()).toEqual([]);
    // to hold 2 GiB it must store its proof (8 MiB, two chunks): then, swept, what it did not send counts
    const filler = new Uint8Array(4 * MiB).fill(3);
    const opens: number[] = [];
    const refusals: string[] = [];
    let expected = 0;
    let held: { uploadId: string; sent: number } | undefined;
    for (let m = 0; m <= 200; m++) {
      now = minutes(start, 66 + m);
      if (held && (await statusOf(t, held.uploadId)) === 404) {
        expected += 2 * GiB - held.sent;
        held = undefined;
      }
      if (!held) {
        const opened = await answer(await openUpload(t.app, { bytes: new Uint8Array(16), lookupId, size: 2 * GiB, chunkSize: 4 * MiB }));
        if (opened.status === 201) {
          held = { uploadId: opened.body.uploadId, sent: 0 };
          opens.push(m);
          for (const idx of [0, 1]) expect((await putChunk(t.app, held.uploadId, idx, filler)).status).toBe(200);
          held.sent += 2 * filler.length;
          expect(rowsOf<{ probe: boolean }>(await database.db.execute(sql`select probe from submissions where id = ${submissionIdOf(held.uploadId)!}::uuid`))[0]!.probe).toBe(false);
        } else refusals.push(`${opened.status} ${opened.body.error}`);
      }
      if (held) {
        await markUploadFlowing(database.db, submissionIdOf(held.uploadId)!, now, 65_536);
        held.sent += 65_536;
      }
      await purgeExpired(database.db, clock, 6, 10);
    }
    // each goes after the lease and its bytes' worth of the size's pace; the unsent bytes beyond the
    // open's own size may reach the day's 4 GiB (0016: apart from what was sent), so the fourth fits
    // and the fifth does not (0015: three, then source_quota)
    expect(opens).toHaveLength(4);
    expect(held).toBeUndefined();
    expect(refusals.length).toBeGreaterThan(70);
    expect(new Set(refusals)).toEqual(new Set(['429 source_unsent']));
    // what is stored: one sum for the source and the day, the bytes the four did not send
    expect(await sweptUnsent()).toEqual([{ source, day: '2026-08-01', bytes: expected }]);
    expect(expected).toBeGreaterThan(4 * 2 * GiB - 4 * 40 * MiB);
    // the refusal is true: it names what failed, not what was sent
    const refused = await answer(await openUpload(t.app, { bytes: new Uint8Array(16), lookupId, size: 2 * GiB, chunkSize: 4 * MiB }));
    expect(refused.body.message).toBe(
      'Uploads from this codename that stopped before finishing today add up to the most the tip line keeps open for one codename in a day; ' +
        'a message or files of up to 4 MiB still go through now, larger files again after midnight (UTC).',
    );
    expect(await receivedTips()).toEqual(tips);
    // the next day the codename has its room again, and the purge forgets the last day's sum
    now = new Date('2026-08-02T00:00:30Z');
    expect((await answer(await openUpload(t.app, { bytes: new Uint8Array(16), lookupId, size: 2 * GiB, chunkSize: 4 * MiB }))).status).toBe(201);
    await purgeExpired(database.db, clock, 6, 10);
    expect(await sweptUnsent()).toEqual([]);
  });

  it('Break B: a source that sent a 2 KB message and lost 2 GiB uploads (Tor died) before their proof loses 64 KiB of her day for each (0017): a fifth and a sixth try open, a message and a 4 MiB file go through', async () => {
    const start = '2026-08-08T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    await database.db.execute(sql`delete from swept_unsent`);
    const t = await app({});
    const lookupId = newLookupId();
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const tip = await sendTip(t.app, { bytes: text, lookupId, sourceKeys });
    const source = await sourceOf(tip.submissionId);
    const twoGiB = () => openUpload(t.app, { bytes: new Uint8Array(16), lookupId, size: 2 * GiB, chunkSize: 4 * MiB }).then(answer);
    // each try opens and sends nothing (the circuit died): swept after the lease; a probe held 64 KiB
    // and notes that (0016 noted 2 GiB each and refused the fifth: 429 source_unsent)
    for (let attempt = 1; attempt <= 6; attempt++) {
      const opened = await twoGiB();
      expect(opened.status, `try ${attempt}: ${JSON.stringify(opened.body)}`).toBe(201);
      now = minutes(start, 11 * attempt);
      await purgeExpired(database.db, clock, 6, 10);
      expect(await statusOf(t, opened.body.uploadId)).toBe(404);
      expect(await sweptUnsent()).toEqual([{ source, day: '2026-08-08', bytes: attempt * MIN_CHUNK_BYTES }]);
    }
    // a message and a file of RESERVE_SMALL_MAX (a probe promoted with its last chunk) still go through
    await sendTip(t.app, { bytes: text, lookupId });
    const file = await ciphertextFor(newsroomKey, 4 * MiB - 4 * KB);
    await sendTip(t.app, { bytes: file, lookupId, chunkSize: MIN_CHUNK_BYTES });
    expect(file.length).toBeLessThanOrEqual(DEFAULT_OPEN_LIMITS.reserveSmallMax);
    expect((await lookup(t, lookupId)).body.submissions).toHaveLength(3);
  });

  it('an honest retry after a failed upload gets through, whatever else the source sent that day; failed small files cost nothing', async () => {
    const start = '2026-08-03T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    await database.db.execute(sql`delete from swept_unsent`);
    // a day's quota of 12 MiB: a 4 MiB tip received, then an 8 MiB file (two chunks) whose circuit
    // dies after its first chunk
    const t = await app({ quotaSourcePerDay: 12 * MiB });
    const lookupId = newLookupId();
    const first = await sendTip(t.app, { bytes: await ciphertextFor(newsroomKey, 4 * MiB - 4 * KB), lookupId, sourceKeys });
    const source = await sourceOf(first.submissionId);
    const file = await ciphertextFor(newsroomKey, 8 * MiB - 4 * KB);
    const CH = 4 * MiB;
    const failed = await answer(await openUpload(t.app, { bytes: file, lookupId, chunkSize: CH }));
    expect(failed.status).toBe(201);
    expect((await answer(await putChunk(t.app, failed.body.uploadId, 0, file.subarray(0, CH)))).status).toBe(200);
    // the lease and its stored bytes at the pace: 10 + 35 minutes
    let m = 0;
    while ((await statusOf(t, failed.body.uploadId)) !== 404) {
      expect(++m).toBeLessThan(60);
      now = minutes(start, m);
      await purgeExpired(database.db, clock, 6, 10);
    }
    // a probe (its 4 MiB stored short of the 8 MiB proof) held 64 KiB and sent more: nothing noted (0017)
    expect(await sweptUnsent()).toEqual([]);
    expect(source).toBeTruthy();
    // the retry is the same file: 4 + 8 MiB, exactly the day's quota, as the first open was
    const retry = await sendTip(t.app, { bytes: file, lookupId, chunkSize: CH });
    expect(retry.submissionId).toBeTruthy();
    expect((await lookup(t, lookupId)).body.submissions).toHaveLength(2);

    // another codename, another day: a 4 MiB upload (RESERVE_SMALL_MAX: small) that fails twice with
    // nothing sent, noting its hold (64 KiB) each time (0017). Small opens are never refused for what
    // failed (0016; 0015 charged the 8 MiB and left room for one more): the day holds three more, by
    // what is sent (2 KiB + 3 x 4 MiB > 12 MiB)
    now = new Date('2026-08-04T09:00:00Z');
    const other = newLookupId();
    const tip = await sendTip(t.app, { bytes: await ciphertextFor(newsroomKey, 2 * KB), lookupId: other, sourceKeys });
    const fourMiB = () => openUpload(t.app, { bytes: new Uint8Array(16), lookupId: other, size: 4 * MiB, chunkSize: MIN_CHUNK_BYTES }).then(answer);
    for (let failure = 0; failure < 2; failure++) {
      const opened = await fourMiB();
      expect(opened.status).toBe(201);
      now = minutes('2026-08-04T09:00:00Z', 11 * (failure + 1));
      await purgeExpired(database.db, clock, 6, 10);
      expect(await statusOf(t, opened.body.uploadId)).toBe(404);
    }
    expect((await sweptUnsent()).find((r) => r.day === '2026-08-04')).toEqual({ source: await sourceOf(tip.submissionId), day: '2026-08-04', bytes: 2 * MIN_CHUNK_BYTES });
    expect((await fourMiB()).status).toBe(201);
    expect((await fourMiB()).status).toBe(201);
    // the third opens too (0019): until promoted, a probe counts its hold in the codename's day, and
    // each promotion checks the day with its whole size (test/abuse/swept-retries.test.ts)
    expect((await fourMiB()).status).toBe(201);
  });

  it('a new source\'s failed upload leaves nothing behind: its codename is only a pending hash, and it opens again', async () => {
    const start = '2026-08-05T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    await database.db.execute(sql`delete from swept_unsent`);
    const t = await app({ quotaSourcePerDay: 6 * MiB });
    const lookupId = newLookupId();
    const file = await ciphertextFor(newsroomKey, 4 * MiB - 4 * KB);
    for (let attempt = 0; attempt < 3; attempt++) {
      const opened = await answer(await openUpload(t.app, { bytes: file, lookupId, sourceKeys, chunkSize: MIN_CHUNK_BYTES }));
      expect(opened.status).toBe(201);
      now = minutes(start, 11 * (attempt + 1));
      await purgeExpired(database.db, clock, 6, 10);
      expect(await statusOf(t, opened.body.uploadId)).toBe(404);
    }
    expect(await sweptUnsent()).toEqual([]);
    await sendTip(t.app, { bytes: file, lookupId, sourceKeys, chunkSize: MIN_CHUNK_BYTES });
  });

  it('a displaced claim\'s unsent bytes count toward its source\'s day too', async () => {
    const start = '2026-08-06T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    await database.db.execute(sql`delete from swept_unsent`);
    // the small pool scaled to sixteen 4 MiB reservations, all of one returning codename's claims,
    // each holding its size (SIZE_HELD; a displaced probe's hold: "every reservation earned by bytes")
    const t = await app({ ...SIZE_HELD, reserveSmallShare: 64 * MiB, quotaSourcePerDay: 100 * MiB });
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const attacker = newLookupId();
    const tip = await sendTip(t.app, { bytes: text, lookupId: attacker, sourceKeys });
    const claim = () => openUpload(t.app, { bytes: text, lookupId: attacker, size: 4 * MiB, chunkSize: MIN_CHUNK_BYTES }).then(answer);
    let claims = 0;
    for (;;) {
      const r = await claim();
      if (r.status !== 201) {
        expect(r).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
        break;
      }
      claims++;
    }
    expect(claims).toBe(16);
    // past the grace an honest returning source's file takes the room of one claim
    now = minutes(start, 3);
    const honest = newLookupId();
    await sendTip(t.app, { bytes: text, lookupId: honest, sourceKeys });
    const file = await ciphertextFor(newsroomKey, 4 * MiB - 4 * KB);
    await sendTip(t.app, { bytes: file, lookupId: honest, chunkSize: MIN_CHUNK_BYTES });
    expect(await sweptUnsent()).toEqual([{ source: await sourceOf(tip.submissionId), day: '2026-08-06', bytes: 4 * MiB }]);
  });

  it('each upload the sweep deletes counts toward the adaptive price (the purge timer), at the unflooded price', async () => {
    const start = '2026-08-07T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const t = await app({});
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const opened = await answer(await openUpload(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys, size: 4 * MiB, chunkSize: MIN_CHUNK_BYTES }));
      expect(opened.status).toBe(201);
      ids.push(opened.body.uploadId);
    }
    const notes: number[] = [];
    const errors: unknown[] = [];
    let later = minutes(start, 5);
    const stop = startPurgeTimer(database.db, () => later, {
      intervalMs: 3600_000, sweepIntervalMs: 50, leaseMinutes: 10, onError: (e) => errors.push(e),
      powLoad: { noteOpen: (extraBits) => notes.push(extraBits) },
    });
    try {
      await waitFor(async () => rowsOf(await database.db.execute(sql`select 1 from upload_progress`)).length === 3);
      expect(notes).toEqual([]);
      later = minutes(start, 11);
      await waitFor(async () => (await Promise.all(ids.map((id) => statusOf(t, id)))).every((s) => s === 404));
      await waitFor(async () => notes.length === 3);
      expect(notes).toEqual([0, 0, 0]);
      expect(errors).toEqual([]);
    } finally {
      stop();
    }
  });
});

describe('Break A: a new source\'s large room is earned by bytes (probes, migrations/0016)', () => {
  const minutes = (start: string, m: number) => new Date(Date.parse(start) + m * 60_000);
  const filler = new Uint8Array(4 * MiB).fill(9);
  const statusOf = async (t: Awaited<ReturnType<typeof app>>, uploadId: string) => (await t.app.request(`/api/v1/uploads/${uploadId}`)).status;
  const probeOf = async (uploadId: string) =>
    rowsOf<{ probe: boolean }>(await database.db.execute(sql`select probe from submissions where id = ${submissionIdOf(uploadId)!}::uuid`))[0]?.probe;
  /** an attacker's fresh-codename open (a new source each time) of `size` bytes in 4 MiB chunks */
  const attackerOpen = (t: Awaited<ReturnType<typeof app>>, size: number) =>
    openUpload(t.app, { bytes: new Uint8Array(16), lookupId: newLookupId(), sourceKeys, size, chunkSize: 4 * MiB }).then(answer);

  it('fresh codenames re-opening 2 GiB uploads that show 64 KiB each no longer keep an honest new source\'s 64 MiB file out: it opens, sends its proof, is promoted and arrives', async () => {
    const start = '2026-08-10T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const t = await app({});
    const file = await ciphertextFor(newsroomKey, 64 * MiB - 64 * KB);
    let attackerOpens = 0;
    let attackerShown = 0;
    const honest: string[] = [];
    let honestUpload: string | undefined;
    for (let m = 0; m < 16; m++) {
      now = minutes(start, m);
      await purgeExpired(database.db, clock, 6, 10);
      // the attacker tops up each minute: 2 GiB opens, then 256 MiB and 16 MiB fillers, each showing
      // CLAIM_SHOWN_BYTES (the chunk gate's report), until refused (at most three of each a minute)
      for (const size of [2 * GiB, 256 * MiB, 16 * MiB]) {
        for (let i = 0; i < 3; i++) {
          const opened = await attackerOpen(t, size);
          if (opened.status !== 201) {
            expect(opened).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
            break;
          }
          attackerOpens++;
          await markUploadFlowing(database.db, submissionIdOf(opened.body.uploadId)!, now, MIN_CHUNK_BYTES);
          attackerShown += MIN_CHUNK_BYTES;
        }
      }
      // from the eighth minute (the attacker's first reservations are past the grace and the slack)
      // an honest new source's 64 MiB file tries once a minute until it is open
      if (m >= 8 && !honestUpload) {
        const opened = await answer(await openUpload(t.app, { bytes: file, lookupId: newLookupId(), sourceKeys, chunkSize: 4 * MiB }));
        honest.push(`${opened.status} ${opened.body.error ?? ''}`.trim());
        if (opened.status === 201) honestUpload = opened.body.uploadId;
      }
    }
    console.log(`Break A, claims: attacker ${attackerOpens} opens in 16 minutes, ${attackerShown} B shown; honest 64 MiB opens: ${honest.join(', ')}`);
    expect(honest[0]).toBe('201');
    expect(honestUpload).toBeDefined();
    expect(await probeOf(honestUpload!)).toBe(true);
    // its first 4 MiB: still a probe; the second brings its stored octets to the proof (8 MiB): promoted
    expect((await putChunk(t.app, honestUpload!, 0, file.subarray(0, 4 * MiB))).status).toBe(200);
    expect(await probeOf(honestUpload!)).toBe(true);
    expect((await putChunk(t.app, honestUpload!, 1, file.subarray(4 * MiB, 8 * MiB))).status).toBe(200);
    expect(await probeOf(honestUpload!)).toBe(false);
    // a copy of a chunk after promotion changes nothing
    expect((await putChunk(t.app, honestUpload!, 1, file.subarray(4 * MiB, 8 * MiB))).status).toBe(200);
    let last;
    for (let i = 2; i * 4 * MiB < file.length; i++) last = await answer(await putChunk(t.app, honestUpload!, i, file.subarray(i * 4 * MiB, (i + 1) * 4 * MiB)));
    expect(last?.body.complete).toBe(true);
  });

  it('an attacker that sends its proof on each claim still competes for the room, at the cost of 8 MiB stored per 2 GiB held', async () => {
    const start = '2026-08-11T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    const t = await app({});
    let opens = 0;
    let sent = 0;
    let promoted = 0;
    const honest: number[] = [];
    for (let m = 0; m < 12; m++) {
      now = minutes(start, m);
      await purgeExpired(database.db, clock, 6, 10);
      // one fresh 2 GiB open a minute, its proof (two 4 MiB chunks) sent at once
      const opened = await attackerOpen(t, 2 * GiB);
      if (opened.status === 201) {
        opens++;
        for (let i = 0; i < 2; i++) {
          const r = await answer(await putChunk(t.app, opened.body.uploadId, i, filler));
          // a refused promotion deletes the upload: the chunk that reached the proof gets the open's 507
          sent += filler.length;
          if (r.status !== 200) {
            expect(r).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
            expect(await statusOf(t, opened.body.uploadId)).toBe(404);
          }
        }
        if ((await probeOf(opened.body.uploadId)) === false) promoted++;
      }
      const probe = await attackerOpen(t, 64 * MiB);
      honest.push(probe.status);
      if (probe.status === 201) await database.db.execute(sql`delete from submissions where id = ${submissionIdOf(probe.body.uploadId)!}::uuid`);
    }
    const [held] = rowsOf<{ bytes: string }>(await database.db.execute(sql`select coalesce(sum(size), 0)::text as bytes from submissions where status = 'uploading' and not probe`));
    console.log(`Break A, proofs: ${opens} opens, ${promoted} promoted, ${sent} B stored (${(sent / (12 * 60)).toFixed(0)} B/s over 12 minutes), holding ${Number(held!.bytes) / GiB} GiB; honest 64 MiB opens: ${honest.join(' ')}`);
    // every 2 GiB it holds cost its 8 MiB of bytes sent, where a claim cost 64 KiB shown; the room
    // (20 % of 64 GiB) takes six, the seventh's promotion is refused and it is deleted
    expect(promoted).toBe(6);
    expect(sent).toBe(opens * 8 * MiB);
    expect(Number(held!.bytes)).toBe(promoted * 2 * GiB);
  });
});

describe('probes at once (migrations/0016): the promotion is decided under the open\'s lock', () => {
  const filler = new Uint8Array(4 * MiB).fill(5);
  const rows = async () =>
    rowsOf<{ id: string; probe: boolean }>(await database.db.execute(sql`select id::text, probe from submissions where status = 'uploading' order by id`));

  it('three new sources\' proofs sent at once, both chunks of each together, on two processes: exactly what fits is promoted, once; the rest is deleted with the open\'s 507', async () => {
    now = new Date('2026-08-12T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    // free room 20 GiB: the new sources' 20 % holds two 2 GiB uploads, not three; each opens as an 8 MiB probe
    const limits = { quotaTotal: 20 * GiB };
    const [one, two] = [await app(limits), await app(limits)];
    const uploads: string[] = [];
    for (let i = 0; i < 3; i++) {
      const opened = await answer(await openUpload(one.app, { bytes: new Uint8Array(16), lookupId: newLookupId(), sourceKeys, size: 2 * GiB, chunkSize: 4 * MiB }));
      expect(opened.status).toBe(201);
      uploads.push(opened.body.uploadId);
    }
    expect((await rows()).map((r) => r.probe)).toEqual([true, true, true]);
    const answers = await Promise.all(
      uploads.flatMap((u, n) => [0, 1].map((idx) => putChunk((n + idx) % 2 === 0 ? one.app : two.app, u, idx, filler).then(answer))),
    );
    const byUpload = uploads.map((_, n) => answers.slice(2 * n, 2 * n + 2).map((a) => `${a.status}${a.body.error ? ' ' + a.body.error : ''}`));
    const left = await rows();
    expect(left).toHaveLength(2);
    expect(left.every((r) => !r.probe)).toBe(true);
    const refused = uploads.filter((u) => !left.some((r) => r.id === submissionIdOf(u)));
    expect(refused).toHaveLength(1);
    for (const [n, u] of uploads.entries()) {
      if (refused.includes(u)) {
        expect(byUpload[n]).toContain('507 reservations_full');
        for (const s of byUpload[n]!) expect(['200', '507 reservations_full', '404 unknown_upload']).toContain(s);
      } else expect(byUpload[n]).toEqual(['200', '200']);
    }
    // its chunks went with it
    expect(rowsOf(await database.db.execute(sql`select 1 from chunks c where not exists (select 1 from submissions s where s.id = c.submission_id)`))).toEqual([]);
    // copies of the chunks after promotion, at once on both processes: 200, nothing changes
    const promoted = uploads.filter((u) => !refused.includes(u));
    const copies = await Promise.all(promoted.flatMap((u) => [one, two].map((p) => putChunk(p.app, u, 0, filler).then(answer))));
    expect(copies.map((c) => c.status)).toEqual([200, 200, 200, 200]);
    expect(await rows()).toEqual(left);
    // the room they hold is their sizes now: a third new source's 2 GiB open is a probe and fits, its promotion does not
    const third = await answer(await openUpload(two.app, { bytes: new Uint8Array(16), lookupId: newLookupId(), sourceKeys, size: 2 * GiB, chunkSize: 4 * MiB }));
    expect(third.status).toBe(201);
    expect((await answer(await putChunk(one.app, third.body.uploadId, 0, filler))).status).toBe(200);
    expect(await answer(await putChunk(one.app, third.body.uploadId, 1, filler))).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
    expect(await rows()).toEqual(left);
  });

  it('every upload but a text tip is a probe, a returning source\'s and one of at most the proof too (0017); the storage watch counts a probe by its hold', async () => {
    now = new Date('2026-08-13T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const t = await app({});
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const lookupId = newLookupId();
    await sendTip(t.app, { bytes: text, lookupId, sourceKeys });
    const returning = await answer(await openUpload(t.app, { bytes: text, lookupId, size: 2 * GiB, chunkSize: 4 * MiB }));
    const small = await answer(await openUpload(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys, size: 8 * MiB, chunkSize: 4 * MiB }));
    const probe = await answer(await openUpload(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys, size: 2 * GiB, chunkSize: 4 * MiB }));
    const photo = await answer(await openUpload(t.app, { bytes: text, lookupId, size: 4 * MiB, chunkSize: 4 * MiB }));
    const probeOf = async (u: string) =>
      rowsOf<{ probe: boolean }>(await database.db.execute(sql`select probe from submissions where id = ${submissionIdOf(u)!}::uuid`))[0]!.probe;
    expect(await Promise.all([returning, small, probe, photo].map((o) => probeOf(o.body.uploadId)))).toEqual([true, true, true, true]);
    // the watch's early refusal: four probes hold 64 KiB each of the disk's room (2 GiB + 20 MiB)
    const limits = { ...DEFAULT_OPEN_LIMITS, storagePath: '/watched', storageFreeFloor: 0 };
    const storage = createStorageWatch({ db: database.db, limits, freeBytes: async () => 2 * GiB + 20 * MiB });
    expect(await storage.check(2 * GiB + 20 * MiB - 4 * MIN_CHUNK_BYTES, now)).toBe(2 * GiB + 20 * MiB);
    await expect(storage.check(2 * GiB + 20 * MiB - 4 * MIN_CHUNK_BYTES + 1, now)).rejects.toMatchObject({ status: 507 });
  });
});

describe('every reservation earned by bytes (issue 9, migrations/0017): every upload but a text tip is a probe holding 64 KiB', () => {
  const minutes = (start: string, m: number) => new Date(Date.parse(start) + m * 60_000);
  const statusOf = async (t: Awaited<ReturnType<typeof app>>, uploadId: string) => (await t.app.request(`/api/v1/uploads/${uploadId}`)).status;
  const probeOf = async (uploadId: string) =>
    rowsOf<{ probe: boolean }>(await database.db.execute(sql`select probe from submissions where id = ${submissionIdOf(uploadId)!}::uuid`))[0]?.probe;
  const sendAll = async (t: Awaited<ReturnType<typeof app>>, uploadId: string, bytes: Uint8Array, chunkSize: number) => {
    let last;
    for (let i = 0; i * chunkSize < bytes.length; i++) last = await answer(await putChunk(t.app, uploadId, i, bytes.subarray(i * chunkSize, (i + 1) * chunkSize)));
    return last!;
  };

  it('(d) returning codenames cycling 2 GiB opens that show 64 KiB a minute no longer keep an honest returning source\'s 64 MiB file out', async () => {
    const start = '2026-09-01T09:00:00Z';
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const file = await ciphertextFor(newsroomKey, 64 * MiB - 64 * KB);
    // the large unsent share scaled: 50 % of 16 GiB + 64 MiB (the small share 0): four 2 GiB uploads
    // fill it but for 32 MiB
    const scaled = { quotaTotal: 16 * GiB + 64 * MiB, reserveSmallShare: 0 };
    for (const [limits, expected] of [[{ ...SIZE_HELD, ...scaled }, '507 reservations_full'], [scaled, '201']] as const) {
      now = new Date(start);
      await database.db.execute(sql`delete from submissions`);
      await database.db.execute(sql`delete from swept_unsent`);
      const t = await app(limits);
      // sixteen returning codenames, a 2 GiB open each (with their text tip, what their day allows)
      const codenames = Array.from({ length: 16 }, newLookupId);
      for (const lookupId of codenames) await sendTip(t.app, { bytes: text, lookupId, sourceKeys });
      const honestId = newLookupId();
      await sendTip(t.app, { bytes: text, lookupId: honestId, sourceKeys });
      let opened = 0;
      for (const lookupId of codenames) {
        const r = await answer(await openUpload(t.app, { bytes: new Uint8Array(16), lookupId, size: 2 * GiB, chunkSize: 4 * MiB }));
        if (r.status === 201) {
          opened++;
          await markUploadFlowing(database.db, submissionIdOf(r.body.uploadId)!, now, MIN_CHUNK_BYTES);
        } else expect(r).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
      }
      const honest = await answer(await openUpload(t.app, { bytes: file, lookupId: honestId, chunkSize: 4 * MiB }));
      expect(`${honest.status}${honest.body.error ? ' ' + honest.body.error : ''}`, `${JSON.stringify(limits)}: ${opened} attacker opens`).toBe(expected);
      if (honest.status !== 201) {
        // the bounds as opens held them before 0017: the attacker's opens hold the room
        expect(opened).toBe(4);
        continue;
      }
      // every attacker open is in, 64 KiB each of the bounds; the honest file sends its proof, is promoted and arrives
      expect(opened).toBe(16);
      expect(await probeOf(honest.body.uploadId)).toBe(true);
      expect((await putChunk(t.app, honest.body.uploadId, 0, file.subarray(0, 4 * MiB))).status).toBe(200);
      expect(await probeOf(honest.body.uploadId)).toBe(true);
      expect((await putChunk(t.app, honest.body.uploadId, 1, file.subarray(4 * MiB, 8 * MiB))).status).toBe(200);
      expect(await probeOf(honest.body.uploadId)).toBe(false);
      expect((await sendAll(t, honest.body.uploadId, file, 4 * MiB)).body.complete).toBe(true);
      // the attacker's probes, swept, noted what they held less what they showed: nothing
      now = minutes(start, 11);
      await purgeExpired(database.db, clock, 6, 10);
      expect(rowsOf(await database.db.execute(sql`select 1 from submissions where status = 'uploading'`))).toEqual([]);
      expect(rowsOf(await database.db.execute(sql`select 1 from swept_unsent`))).toEqual([]);
    }
  });

  it('(e) fresh codenames\' 4 MiB opens showing 64 KiB no longer keep an honest new source\'s 4 MiB document out, of many chunks or of one; the small upload is promoted with its last chunk', async () => {
    const start = '2026-09-02T09:00:00Z';
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const doc = await ciphertextFor(newsroomKey, 4 * MiB - 4 * KB);
    // the new sources' small pool scaled to eight 4 MiB reservations (as "claims" above)
    const scaled = { reserveSmallShare: 64 * MiB, reserveNewSourceShare: 0.5 };
    for (const [limits, expected] of [[{ ...SIZE_HELD, ...scaled }, '507 reservations_full'], [scaled, '201']] as const) {
      now = new Date(start);
      await database.db.execute(sql`delete from submissions`);
      const t = await app(limits);
      await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
      const tips = await receivedTips();
      // forty fresh-codename 4 MiB opens, each shown its 64 KiB (inside the grace: no claims yet)
      let opened = 0;
      for (let i = 0; i < 40; i++) {
        const r = await answer(await openUpload(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys, size: 4 * MiB, chunkSize: MIN_CHUNK_BYTES }));
        if (r.status !== 201) continue;
        opened++;
        await markUploadFlowing(database.db, submissionIdOf(r.body.uploadId)!, now, MIN_CHUNK_BYTES);
      }
      const many = await answer(await openUpload(t.app, { bytes: doc, lookupId: newLookupId(), sourceKeys, chunkSize: MIN_CHUNK_BYTES }));
      const one = await answer(await openUpload(t.app, { bytes: doc, lookupId: newLookupId(), sourceKeys, chunkSize: 4 * MiB }));
      for (const r of [many, one]) expect(`${r.status}${r.body.error ? ' ' + r.body.error : ''}`, `${opened} attacker opens`).toBe(expected);
      if (many.status !== 201) {
        expect(opened).toBe(8);
        continue;
      }
      expect(opened).toBe(40);
      // the document of 64 chunks: a probe until its last chunk brings its stored octets to its size
      const chunks = Math.ceil(doc.length / MIN_CHUNK_BYTES);
      for (let i = 0; i < chunks - 1; i++) expect((await putChunk(t.app, many.body.uploadId, i, doc.subarray(i * MIN_CHUNK_BYTES, (i + 1) * MIN_CHUNK_BYTES))).status).toBe(200);
      expect(await probeOf(many.body.uploadId)).toBe(true);
      const last = await answer(await putChunk(t.app, many.body.uploadId, chunks - 1, doc.subarray((chunks - 1) * MIN_CHUNK_BYTES)));
      expect(last.body.complete, JSON.stringify(last.body)).toBe(true);
      // the one-chunk document (a photo sent as one chunk): promoted from its body in hand and completed
      expect(await probeOf(one.body.uploadId)).toBe(true);
      const single = await answer(await putChunk(t.app, one.body.uploadId, 0, doc));
      expect(single.body.complete, JSON.stringify(single.body)).toBe(true);
      const received = await receivedTips();
      expect(received).toHaveLength(tips.length + 2);
      expect(received.filter((x) => tips.some((y) => y.id === x.id))).toEqual(tips);
    }
  });

  it('a one-chunk 4 MiB upload whose body finds no room at its store (disk or total) is refused 507 with nothing kept; with room it completes', async () => {
    now = new Date('2026-09-03T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const doc = await ciphertextFor(newsroomKey, 4 * MiB - 4 * KB);
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    // the disk: room for the 64 KiB the open holds, then less than the body when it comes
    let free = 64 * MiB;
    const limits = { ...DEFAULT_OPEN_LIMITS, storagePath: '/watched', storageFreeFloor: 0 };
    const storage = createStorageWatch({ db: database.db, limits, freeBytes: async () => free });
    const t = await app(limits, { storage });
    await sendTip(t.app, { bytes: text, lookupId: newLookupId(), sourceKeys });
    const tips = await receivedTips();
    const opened = await answer(await openUpload(t.app, { bytes: doc, lookupId: newLookupId(), sourceKeys, chunkSize: 4 * MiB }));
    expect(opened.status).toBe(201);
    free = 4 * MiB - 8 * KB;
    now = new Date(now.getTime() + 20_000);
    const before = await countRows(database.db);
    expect(await answer(await putChunk(t.app, opened.body.uploadId, 0, doc))).toMatchObject({ status: 507, body: { error: 'storage_full' } });
    expect(await statusOf(t, opened.body.uploadId)).toBe(404);
    const after = await countRows(database.db);
    expect(after).toEqual({ ...before, submissions: before.submissions - 1, upload_progress: before.upload_progress - 1 });
    expect(await receivedTips()).toEqual(tips);
    // with room, the same document opens and completes
    free = 64 * MiB;
    now = new Date(now.getTime() + 20_000);
    const again = await answer(await openUpload(t.app, { bytes: doc, lookupId: newLookupId(), sourceKeys, chunkSize: 4 * MiB }));
    expect((await answer(await putChunk(t.app, again.body.uploadId, 0, doc))).body.complete).toBe(true);

    // the total: room for the open, then a text tip (stored bytes only) takes it before the body comes
    await database.db.execute(sql`delete from submissions`);
    const u = await app({ quotaTotal: 6 * MiB });
    const small = await answer(await openUpload(u.app, { bytes: doc, lookupId: newLookupId(), sourceKeys, chunkSize: 4 * MiB }));
    expect(small.status).toBe(201);
    const big = await ciphertextFor(newsroomKey, 1024 * KB - 4 * KB);
    for (let i = 0; i < 3; i++) await sendTip(u.app, { bytes: big, lookupId: newLookupId(), sourceKeys });
    const kept = await receivedTips();
    expect(await answer(await putChunk(u.app, small.body.uploadId, 0, doc))).toMatchObject({ status: 507, body: { error: 'quota_full' } });
    expect(await statusOf(u, small.body.uploadId)).toBe(404);
    expect(await receivedTips()).toEqual(kept);
    expect(rowsOf(await database.db.execute(sql`select 1 from submissions where status = 'uploading'`))).toEqual([]);
  });

  it('copies of a one-chunk probe\'s chunk at once, on two processes, and again after: each answers the completion, one tip kept', async () => {
    now = new Date('2026-09-05T09:00:00Z');
    await database.db.execute(sql`delete from submissions`);
    const doc = await ciphertextFor(newsroomKey, 4 * MiB - 4 * KB);
    const [a, b] = await Promise.all([app({}), app({})]);
    const opened = await answer(await openUpload(a.app, { bytes: doc, lookupId: newLookupId(), sourceKeys, chunkSize: 4 * MiB }));
    expect(await probeOf(opened.body.uploadId)).toBe(true);
    const answers = await Promise.all([a, b, a, b].map((p) => putChunk(p.app, opened.body.uploadId, 0, doc).then(answer)));
    for (const r of answers) expect(r.body, JSON.stringify(r.body)).toMatchObject({ complete: true, submissionId: submissionIdOf(opened.body.uploadId) });
    expect((await answer(await putChunk(b.app, opened.body.uploadId, 0, doc))).body.complete).toBe(true);
    expect(rowsOf(await database.db.execute(sql`select 1 from submissions where status = 'received'`))).toHaveLength(1);
  });

  it('a returning source\'s probe displaced as a claim notes what it held less what it showed, at most 64 KiB', async () => {
    const start = '2026-09-04T09:00:00Z';
    now = new Date(start);
    await database.db.execute(sql`delete from submissions`);
    await database.db.execute(sql`delete from swept_unsent`);
    // the small pool: 1 MiB, sixteen probes of 64 KiB fill it
    const t = await app({ reserveSmallShare: 1 * MiB, quotaSourcePerDay: 100 * MiB });
    const text = await ciphertextFor(newsroomKey, 2 * KB);
    const attacker = newLookupId();
    const tip = await sendTip(t.app, { bytes: text, lookupId: attacker, sourceKeys });
    let claims = 0;
    for (;;) {
      const r = await answer(await openUpload(t.app, { bytes: text, lookupId: attacker, size: 4 * MiB, chunkSize: MIN_CHUNK_BYTES }));
      if (r.status !== 201) {
        expect(r).toMatchObject({ status: 507, body: { error: 'reservations_full' } });
        break;
      }
      claims++;
    }
    expect(claims).toBe(16);
    now = minutes(start, 3);
    const honest = await answer(await openUpload(t.app, { bytes: text, lookupId: attacker, size: 4 * MiB, chunkSize: MIN_CHUNK_BYTES }));
    expect(honest.status).toBe(201);
    const [source] = rowsOf<{ source_id: string }>(await database.db.execute(sql`select source_id::text from submissions where id = ${tip.submissionId}::uuid`));
    expect(rowsOf<{ source_id: string; bytes: string }>(await database.db.execute(sql`select source_id::text, bytes::text from swept_unsent`))).toEqual([
      { source_id: source!.source_id, bytes: String(MIN_CHUNK_BYTES) },
    ]);
  });
});
