import { randomBytes } from 'node:crypto';
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rowsOf, type Database } from './db/open.ts';
import { audit, chunks, replies, sources, submissions } from './db/schema.ts';
import { createTestDatabase } from './db/test-db.ts';
import { purgeRetention, startRetentionTimer } from './retention.ts';

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});
beforeEach(async () => {
  // sources cascade to submissions, chunks and replies; uploads of new sources have no source yet
  await database.db.delete(sources);
  await database.db.delete(submissions);
});

/** A day-granular clock: any time of that UTC day gives the same answers. */
const dayClock = (day: string, time = '12:00:00') => () => new Date(`${day}T${time}Z`);

const hex = (n: number) => randomBytes(n).toString('hex');

async function addSource(name: string) {
  const [row] = await database.db
    .insert(sources)
    .values({
      lookupHash: hex(32),
      handle: name,
      publicKey: 'public key',
      lockedPrivateKey: 'locked key',
      createdDay: '2025-12-01',
    })
    .returning();
  return row!;
}

async function addSubmission(values: {
  sourceId?: string | null;
  status: 'uploading' | 'received' | 'downloaded';
  downloadedDay?: string;
  pendingLookupHash?: string;
}) {
  const [row] = await database.db
    .insert(submissions)
    .values({
      sourceId: values.sourceId ?? null,
      status: values.status,
      size: 4096,
      chunkSize: 4096,
      chunks: 1,
      sha256: hex(32),
      pendingLookupHash: values.pendingLookupHash ?? null,
      createdDay: '2025-12-01',
      receivedDay: values.status === 'uploading' ? null : '2025-12-01',
      downloadedDay: values.downloadedDay ?? null,
    })
    .returning();
  await database.db.insert(chunks).values({ submissionId: row!.id, idx: 0, data: randomBytes(64) });
  return row!;
}

async function addReply(sourceId: string) {
  await database.db
    .insert(replies)
    .values({ sourceId, message: randomBytes(32), size: 32, createdDay: '2026-01-01' });
}

const idsOf = async (table: typeof sources | typeof submissions) =>
  (await database.db.select({ id: table.id }).from(table)).map((r) => r.id).sort();

describe('purgeRetention', () => {
  it('deletes a submission more than N days after its download day, not before', async () => {
    const source = await addSource('calm-otter');
    const edge = await addSubmission({ sourceId: source.id, status: 'downloaded', downloadedDay: '2026-01-30' });
    const older = await addSubmission({ sourceId: source.id, status: 'downloaded', downloadedDay: '2026-01-29' });

    // 2026-03-01 is 30 days after 2026-01-30 and 31 after 2026-01-29
    expect(await purgeRetention(database.db, dayClock('2026-03-01'), 30)).toMatchObject({ submissions: 1, sources: 0 });
    expect(await idsOf(submissions)).toEqual([edge.id]);
    // the chunks went with the submission
    expect(await database.db.select({ id: chunks.submissionId }).from(chunks)).toEqual([{ id: edge.id }]);

    // late in the same day: nothing more (days, not hours)
    expect(await purgeRetention(database.db, dayClock('2026-03-01', '23:59:59'), 30)).toMatchObject({
      submissions: 0,
      sources: 0,
    });
    // the next day the edge case goes, and with it the source, which has nothing left
    expect(await purgeRetention(database.db, dayClock('2026-03-02', '00:00:01'), 30)).toMatchObject({
      submissions: 1,
      sources: 1,
    });
    expect(await idsOf(submissions)).toEqual([]);
    expect(await idsOf(sources)).toEqual([]);
    expect(older.id).not.toBe(edge.id);
  });

  it('keeps what nobody has read, sources with replies or uploads in progress; deletes empty sources', async () => {
    const old = '2025-01-01';
    // never downloaded, however old
    const unread = await addSource('quiet-heron');
    const unreadSubmission = await addSubmission({ sourceId: unread.id, status: 'received' });
    // downloaded long ago, but the newsroom replied: the source keeps its reply (read or not)
    const replied = await addSource('brave-lynx');
    await addSubmission({ sourceId: replied.id, status: 'downloaded', downloadedDay: old });
    await addReply(replied.id);
    // downloaded long ago and nothing else: goes entirely
    const done = await addSource('gentle-crane');
    await addSubmission({ sourceId: done.id, status: 'downloaded', downloadedDay: old });
    // downloaded long ago, but a new upload of the same source is in progress
    const returning = await addSource('swift-finch');
    await addSubmission({ sourceId: returning.id, status: 'downloaded', downloadedDay: old });
    const inProgress = await addSubmission({ sourceId: returning.id, status: 'uploading' });
    // the same, for an upload that names the source by its lookup hash only
    const pending = await addSource('bold-raven');
    await addSubmission({ sourceId: pending.id, status: 'downloaded', downloadedDay: old });
    const pendingUpload = await addSubmission({ status: 'uploading', pendingLookupHash: pending.lookupHash });
    // a new source's first upload, no source row yet
    const firstUpload = await addSubmission({ status: 'uploading', pendingLookupHash: hex(32) });

    const result = await purgeRetention(database.db, dayClock('2026-03-01'), 30);
    expect(result).toMatchObject({ submissions: 4, sources: 1 });
    expect(await idsOf(sources)).toEqual([unread.id, replied.id, returning.id, pending.id].sort());
    expect(await idsOf(submissions)).toEqual(
      [unreadSubmission.id, inProgress.id, pendingUpload.id, firstUpload.id].sort(),
    );
    const [replyCount] = await database.db.select({ n: count() }).from(replies);
    expect(replyCount!.n).toBe(1);

    // idempotent
    expect(await purgeRetention(database.db, dayClock('2026-03-01'), 30)).toMatchObject({ submissions: 0, sources: 0 });

    // once the source deletes its reply, the next run deletes the source
    await database.db.delete(replies).where(eq(replies.sourceId, replied.id));
    expect(await purgeRetention(database.db, dayClock('2026-03-02'), 30)).toMatchObject({ submissions: 0, sources: 1 });
    expect(await idsOf(sources)).not.toContain(replied.id);
  });

  it('once a source and its submissions are gone, the audit keeps who did what on which day, but no handle or id', async () => {
    await database.db.delete(audit);
    const gone = await addSource('faded-heron');
    const goneSubmission = await addSubmission({ sourceId: gone.id, status: 'downloaded', downloadedDay: '2025-01-01' });
    const kept = await addSource('still-here');
    const keptSubmission = await addSubmission({ sourceId: kept.id, status: 'received' });
    const day = '2025-01-01';
    await database.db.insert(audit).values([
      { editor: 'alice', action: 'download', target: goneSubmission.id, day },
      { editor: 'alice', action: 'ack', target: goneSubmission.id, day },
      { editor: 'alice', action: 'source_key', target: 'faded-heron', day },
      { editor: 'alice', action: 'reply', target: `faded-heron/${hex(16)}`, day },
      { editor: 'alice', action: 'spam', target: 'faded-heron', day },
      { editor: 'bob', action: 'download', target: keptSubmission.id, day },
      { editor: 'bob', action: 'reply', target: 'still-here/abc', day },
      { editor: 'bob', action: 'list', target: 'received', day },
      { editor: 'bob', action: 'bundle', target: '2', day },
      { editor: 'admin', action: 'token_add', target: 'alice', day },
      { editor: '-', action: 'auth_failed', target: null, day },
    ]);
    const result = await purgeRetention(database.db, dayClock('2026-03-01'), 30);
    expect(result).toEqual({ submissions: 1, sources: 1, auditScrubbed: 5 });
    const rows = await database.db.select({ editor: audit.editor, action: audit.action, target: audit.target }).from(audit);
    const text = JSON.stringify(rows);
    expect(text).not.toContain('faded-heron');
    expect(text).not.toContain(goneSubmission.id);
    expect(rows).toHaveLength(11);
    expect(rows.filter((row) => row.editor === 'alice').map((row) => [row.action, row.target]).sort()).toEqual(
      [['ack', null], ['download', null], ['reply', null], ['source_key', null], ['spam', null]],
    );
    // what still exists keeps its name; targets that name no source or submission are untouched
    expect(text).toContain(keptSubmission.id);
    expect(text).toContain('still-here/abc');
    expect(rows).toContainEqual({ editor: 'bob', action: 'list', target: 'received' });
    expect(rows).toContainEqual({ editor: 'admin', action: 'token_add', target: 'alice' });
    // idempotent
    expect((await purgeRetention(database.db, dayClock('2026-03-01'), 30)).auditScrubbed).toBe(0);
  });

  // Needs two connections at once: PostgreSQL only (CI sets TEST_DATABASE_URL).
  it.skipIf(!process.env.TEST_DATABASE_URL)(
    'keeps a source whose new upload is being opened while the purge runs',
    async () => {
      const source = await addSource('early-lark');
      await addSubmission({ sourceId: source.id, status: 'downloaded', downloadedDay: '2025-01-01' });
      let inserted!: () => void;
      const insertedYet = new Promise<void>((r) => (inserted = r));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      // the returning source's upload, not yet committed when the purge starts
      const upload = database.db.transaction(async (tx) => {
        await tx.insert(submissions).values({
          sourceId: source.id,
          status: 'uploading',
          size: 4096,
          chunkSize: 4096,
          chunks: 1,
          sha256: hex(32),
          createdDay: '2026-03-01',
        });
        inserted();
        await gate;
      });
      await insertedYet;
      const purge = purgeRetention(database.db, dayClock('2026-03-01'), 30);
      // wait until the purge is blocked on the upload's lock, then let the upload commit
      for (;;) {
        const waiting = rowsOf(
          await database.db.execute(
            sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
          ),
        );
        if (waiting.length > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      release();
      await upload;
      expect(await purge).toMatchObject({ submissions: 1, sources: 0 });
      expect(await idsOf(sources)).toEqual([source.id]);
      const left = await database.db.select().from(submissions);
      expect(left.map((row) => row.status)).toEqual(['uploading']);
    },
  );

  it('refuses a retention that is not a whole number of days of at least 1', async () => {
    for (const days of [0, -1, 1.5, Number.NaN]) {
      await expect(purgeRetention(database.db, dayClock('2026-03-01'), days)).rejects.toThrow(
        /expected retention days to be an integer of at least 1/,
      );
    }
  });
});

describe('startRetentionTimer', () => {
  it('purges at start, logs counts only, and stop() waits for the run', async () => {
    const source = await addSource('keen-badger');
    await addSubmission({ sourceId: source.id, status: 'downloaded', downloadedDay: '2026-01-01' });
    const lines: string[] = [];
    const stop = startRetentionTimer({
      db: database.db,
      clock: dayClock('2026-03-01'),
      days: 30,
      log: (line) => lines.push(line),
      intervalMs: 3_600_000,
    });
    await stop();
    expect(lines).toEqual(['retention: deleted 1 submission(s) and 1 source(s)']);
    expect(await idsOf(sources)).toEqual([]);
    // stopping twice is harmless
    await stop();
    expect(lines.length).toBe(1);
  });

  it('logs a failed run and keeps the server up', async () => {
    const lines: string[] = [];
    const broken = {
      execute: async () => {
        throw new Error('connection lost');
      },
    } as unknown as Database['db'];
    const stop = startRetentionTimer({ db: broken, clock: dayClock('2026-03-01'), days: 30, log: (l) => lines.push(l) });
    await stop();
    expect(lines).toEqual(['retention: purge failed: connection lost']);
  });
});
