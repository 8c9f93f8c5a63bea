/**
 * Attack 9g, the sweep itself: a53471f made sweepStaleUploads's delete use sweptFromTick (the rule
 * the 429 source_busy's time reads). Any upload the sweep now deletes earlier or later than the
 * rule before it (e5ff51f^, copied below as `oldGone`) is a break. Random states: uploads with and
 * without progress rows, chunk counts changed since the note, flowed bytes, probes, sizes from a
 * few KiB to 2 GiB (the size-paced rate), opens of today and yesterday, stale and lease settings
 * from minutes to a day (a lease longer than the stale time is capped). For each state the note
 * step runs (the same statement before and after), the old predicate names what it would delete,
 * then the real sweep runs: the ids it deleted must be exactly those. Asserts equality; prints the
 * counts. (Its second case, the cost of the delete, was run once and left out: 500 uploads x 100
 * chunks, old delete 126 ms, new 111 ms; 2 000 x 100: 497 and 466 ms, PostgreSQL, the lead's run.)
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../../../server/db/open.ts';
import { createTestDatabase } from '../../../server/db/test-db.ts';
import type { Database } from '../../../server/db/open.ts';
import { sweepStaleUploads, SWEEP_TICK_MS, tickOf } from '../../../server/source/stale-uploads.ts';
import { dayOf } from '../../../server/clock.ts';
import { afterAll, beforeAll } from 'vitest';

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)]!;

/** the note step, unchanged by a53471f */
async function note(db: Database['db'], tick: number) {
  await db.execute(sql`
    insert into upload_progress (submission_id, chunks, tick, first_tick, flowed)
    select s.id, (select count(*) from chunks c where c.submission_id = s.id)::int, ${tick}::int, ${tick}::int, 0
    from submissions s where s.status = 'uploading'
    on conflict (submission_id) do update set chunks = excluded.chunks, tick = greatest(upload_progress.tick, excluded.tick)
    where upload_progress.chunks <> excluded.chunks`);
}

/** e5ff51f^'s delete predicate, as a select */
async function oldGone(db: Database['db'], tick: number, staleHours: number, leaseMinutes: number, pace: number): Promise<string[]> {
  const staleTicks = Math.round((staleHours * 3600_000) / SWEEP_TICK_MS);
  const leaseTicks = Math.min(staleTicks, Math.round((leaseMinutes * 60_000) / SWEEP_TICK_MS));
  const bytesPerTick = Math.max(1, Math.round((pace * SWEEP_TICK_MS) / 1000));
  return rowsOf<{ id: string }>(
    await db.execute(sql`
      select s.id from submissions s join upload_progress p on p.submission_id = s.id
      where s.status = 'uploading'
        and (${tick}::bigint - p.first_tick >= ${leaseTicks}::bigint
              + ((select coalesce(sum(octet_length(c.data)), 0) from chunks c where c.submission_id = s.id)::bigint + p.flowed)
                / sealdrop_required_per_tick(s.size, s.created_day, p.first_tick, ${bytesPerTick}::bigint)
          or ${tick}::bigint - p.tick >= ${staleTicks}::bigint)
        and p.chunks = (select count(*) from chunks c where c.submission_id = s.id)`),
  )
    .map((r) => r.id)
    .sort();
}

const uploadingIds = async (db: Database['db']) =>
  rowsOf<{ id: string }>(await db.execute(sql`select id from submissions where status = 'uploading'`)).map((r) => r.id);

async function clear(db: Database['db']) {
  await db.execute(sql`delete from submissions`);
  await db.execute(sql`delete from sources`);
  await db.execute(sql`delete from swept_unsent`);
}

async function seed(db: Database['db'], now: Date, n: number, staleTicks: number) {
  const tick = tickOf(now);
  const sourceId = randomUUID();
  await db.execute(sql`insert into sources (id, lookup_hash, handle, public_key, locked_private_key, created_day)
    values (${sourceId}::uuid, ${randomBytes(16).toString('hex')}, ${randomBytes(6).toString('hex')}, 'k', 'l', ${dayOf(now)}::date)`);
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    const size = pick([4 * 1024, 64 * 1024, 4 * 1024 ** 2, 64 * 1024 ** 2, 300 * 1024 ** 2, 2 * 1024 ** 3]);
    const day = pick([dayOf(now), dayOf(new Date(now.getTime() - 86_400_000))]);
    const probe = size > 1024 * 1024 && randomInt(2) === 0;
    const status = randomInt(8) === 0 ? 'received' : 'uploading';
    const owner = status === 'uploading' && randomInt(3) === 0 ? null : sourceId;
    await db.execute(sql`insert into submissions (id, source_id, pending_lookup_hash, status, size, chunk_size, chunks, sha256, created_day, probe)
      values (${id}::uuid, ${owner}::uuid, ${owner ? null : 'h' + randomBytes(8).toString('hex')}, ${status}, ${size}, ${4 * 1024 ** 2}, ${Math.ceil(size / (4 * 1024 ** 2))},
        ${randomBytes(32).toString('hex')}, ${day}::date, ${status === 'uploading' && probe})`);
    const chunks = randomInt(5);
    for (let c = 0; c < chunks; c++) {
      await db.execute(sql`insert into chunks (submission_id, idx, data) values (${id}::uuid, ${c}, ${Buffer.from(randomBytes(pick([1, 100, 5000, 60_000, 200_000])))})`);
    }
    if (status === 'uploading' && randomInt(5) !== 0) {
      const last = tick - randomInt(staleTicks + 40);
      const first = last - randomInt(600);
      const noted = Math.max(0, chunks - pick([0, 0, 0, 1, 2]));
      await db.execute(sql`insert into upload_progress (submission_id, chunks, tick, first_tick, flowed)
        values (${id}::uuid, ${noted}, ${last}, ${first}, ${pick([0, 0, 1, 5000, 120_000, 2_000_000])})`);
    }
  }
}

describe('attack 9g: the sweep deletes exactly what it deleted before sweptFromTick', () => {
  it('over random states and settings', async () => {
    const db = database.db;
    let total = 0;
    let deleted = 0;
    const mismatches: string[] = [];
    for (let trial = 0; trial < 60; trial++) {
      const staleHours = pick([0.25, 1, 6, 24]);
      const leaseMinutes = pick([1, 10, 30, 600, 2000]);
      const pace = pick([1, 50, 2000, 8000]);
      const now = new Date(Date.parse('2026-11-03T00:00:00Z') + randomInt(2 * 86_400_000));
      const tick = tickOf(now);
      await clear(db);
      await seed(db, now, 30, Math.round(staleHours * 60));
      await note(db, tick);
      const expected = await oldGone(db, tick, staleHours, leaseMinutes, pace);
      const before = new Set(await uploadingIds(db));
      const n = await sweepStaleUploads(db, now, staleHours, leaseMinutes, pace);
      const after = new Set(await uploadingIds(db));
      const gone = [...before].filter((id) => !after.has(id)).sort();
      total += before.size;
      deleted += gone.length;
      if (JSON.stringify(gone) !== JSON.stringify(expected) || n !== gone.length)
        mismatches.push(`trial ${trial} (stale ${staleHours} h, lease ${leaseMinutes} min, pace ${pace}): old ${expected.length}, new ${gone.length}`);
    }
    console.log(`sweep equivalence: 60 states, ${total} uploads in progress, ${deleted} deleted; mismatches: ${mismatches.length}`);
    expect(mismatches).toEqual([]);
  }, 300_000);

});
