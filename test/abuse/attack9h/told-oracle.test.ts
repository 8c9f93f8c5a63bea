/**
 * Attack 9h, the told time and code against the sweep over random mixes the earlier rounds tried
 * one at a time: one returning codename with a received upload of today, one to four uploads in
 * progress (probes and promoted mixed; chunks stored, some the progress row has not counted yet;
 * flowed bytes; first seen up to an hour ago, last moved any time since; now and then no progress
 * row), swept_unsent of today from nothing to most of the day, and an open of 2 MiB (small) to
 * 30 MiB (large, held to source_unsent) on a 64 MiB day (stale time 1 h, lease 10 min, pace 2000 B/s).
 * When the open is refused source_busy or source_quota, the estimate is what refuseBusy would say
 * (secondsUntilSwept, as the app calls it right after). Then nothing of hers moves and the sweep
 * runs at second 30 of every minute; at the start of every minute the same open is tried (a
 * transaction rolled back). Honest: after source_busy told T, the try at now + T opens (never
 * early) and no try opens more than 3 minutes before it; after source_quota (estimate undefined)
 * no try opens before the day ends (her day is spent). Asserts exactly that; prints the counts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, TransactionRollbackError } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayOf } from '../../../server/clock.ts';
import { rowsOf, type Database, type Db } from '../../../server/db/open.ts';
import { createTestDatabase } from '../../../server/db/test-db.ts';
import { secondsUntilSwept } from '../../../server/source/busy-uploads.ts';
import { DEFAULT_OPEN_LIMITS, reserveUpload, probeHoldOf, type OpenLimits } from '../../../server/source/open-limits.ts';
import { sweepStaleUploads, tickOf } from '../../../server/source/stale-uploads.ts';

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const KiB = 1024;
const MiB = 1024 ** 2;
// seeded (ORACLE_SEED, default 9h's 9): the same 300 mixes every run, so what fails once fails again
let prng = Number(process.env.ORACLE_SEED ?? 9) >>> 0;
function randomInt(n: number): number {
  prng = (prng + 0x6d2b79f5) >>> 0;
  let t = prng;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
}
const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)]!;
const limits: OpenLimits = { ...DEFAULT_OPEN_LIMITS, quotaSourcePerDay: 64 * MiB, quotaTotal: 1024 ** 4, uploadStaleHours: 1, storageFreeFloor: 0 };
const busyLimits = { ...limits, probeHold: probeHoldOf(limits) };
const HASH = 'h9h' + randomBytes(8).toString('hex');

async function seed(db: Db, now: Date) {
  await db.execute(sql`delete from submissions`);
  await db.execute(sql`delete from sources`);
  await db.execute(sql`delete from swept_unsent`);
  const today = dayOf(now);
  const tick = tickOf(now);
  const source = randomUUID();
  await db.execute(sql`insert into sources (id, lookup_hash, handle, public_key, locked_private_key, created_day)
    values (${source}::uuid, ${HASH}, ${randomBytes(6).toString('hex')}, 'k', 'l', ${today}::date)`);
  const unsent = pick([0, 0, 10 * MiB, 40 * MiB, 60 * MiB, 90 * MiB]);
  if (unsent > 0) await db.execute(sql`insert into swept_unsent (source_id, day, bytes) values (${source}::uuid, ${today}::date, ${unsent})`);
  const insert = async (status: string, size: number, probe: boolean) => {
    const id = randomUUID();
    await db.execute(sql`insert into submissions (id, source_id, status, size, chunk_size, chunks, sha256, created_day, probe)
      values (${id}::uuid, ${source}::uuid, ${status}, ${size}, ${4 * MiB}, ${Math.ceil(size / (4 * MiB))}, ${randomBytes(32).toString('hex')}, ${today}::date, ${probe})`);
    return id;
  };
  await insert('received', pick([2 * KiB, 4 * MiB, 16 * MiB]), false);
  const n = 1 + randomInt(4);
  for (let i = 0; i < n; i++) {
    const size = pick([6 * MiB, 12 * MiB, 20 * MiB, 30 * MiB, 30 * MiB]);
    const id = await insert('uploading', size, randomInt(4) === 0);
    const chunks = randomInt(4);
    for (let k = 0; k < chunks; k++) {
      await db.execute(sql`insert into chunks (submission_id, idx, data) values (${id}::uuid, ${k}, ${Buffer.from(randomBytes(pick([64 * KiB, 300 * KiB, 1 * MiB])))})`);
    }
    if (randomInt(8) !== 0) {
      const first = tick - randomInt(60);
      const last = first + randomInt(tick - first + 1);
      await db.execute(sql`insert into upload_progress (submission_id, chunks, tick, first_tick, flowed)
        values (${id}::uuid, ${Math.max(0, chunks - pick([0, 0, 1]))}, ${last}, ${first}, ${pick([0, 0, 100_000, 1 * MiB])})`);
    }
  }
  return { unsent, n };
}

/** the open, at `at`, in a transaction rolled back */
async function tryOpen(size: number, at: Date): Promise<string> {
  let outcome = '';
  try {
    await database.db.transaction(async (tx) => {
      outcome = (
        await reserveUpload(tx as unknown as Db, limits, {
          id: randomUUID(),
          lookupHash: HASH,
          returning: true,
          pow: { idHash: randomBytes(8).toString('hex'), expiresDay: dayOf(at) },
          size,
          chunkSize: 4 * MiB,
          chunks: Math.ceil(size / (4 * MiB)),
          sha256: 'x'.repeat(64),
          day: dayOf(at),
          now: at,
        })
      ).outcome;
      tx.rollback();
    });
  } catch (error) {
    if (!(error instanceof TransactionRollbackError)) throw error;
  }
  return outcome;
}

describe('attack 9h: told time and code against the sweep, random mixes of her uploads', () => {
  it('never early, at most 3 minutes late; source_quota only when the day stays spent', async () => {
    const db = database.db;
    const counts: Record<string, number> = {};
    const breaks: string[] = [];
    let late = 0;
    for (let trial = 0; trial < 300; trial++) {
      const dayStart = Date.parse('2026-11-03T00:00:00Z');
      const now = new Date(dayStart + 3_600_000 + randomInt(18 * 3_600_000));
      const { unsent, n } = await seed(db, now);
      // on time: the sweep of the minute before ran (every upload left is due now or later); late: it did not
      const onTime = trial % 2 === 0;
      if (onTime) await sweepStaleUploads(db, new Date((tickOf(now) - 1) * 60_000 + 30_000), 1, limits.uploadLeaseMinutes, limits.uploadPace);
      const size = pick([2 * MiB, 4 * MiB, 4 * MiB + 1, 6 * MiB, 16 * MiB, 30 * MiB, 40 * MiB]);
      const snapshot = JSON.stringify(rowsOf(await db.execute(sql`select s.id, s.status, s.size, s.probe, p.chunks as noted, p.tick - ${tickOf(now)} as tick, p.first_tick - ${tickOf(now)} as first, p.flowed,
        (select count(*) from chunks c where c.submission_id = s.id) as n, (select coalesce(sum(octet_length(c.data)), 0) from chunks c where c.submission_id = s.id) as octets
        from submissions s left join upload_progress p on p.submission_id = s.id`)));
      const first = await tryOpen(size, now);
      if (first !== 'source_busy' && first !== 'source_quota') {
        counts[first] = (counts[first] ?? 0) + 1;
        continue;
      }
      const told = first === 'source_busy' ? await secondsUntilSwept(db, busyLimits, { lookupHash: HASH }, dayOf(now), now, size) : undefined;
      const code = first === 'source_busy' && told !== undefined ? 'source_busy' : 'source_quota';
      counts[code] = (counts[code] ?? 0) + 1;
      const state = `${onTime ? 'ON TIME' : 'late'} trial ${trial} at ${now.toISOString()} ${snapshot}: ${n} in progress, unsent ${unsent / MiB} MiB, open ${size / MiB} MiB, ${code} ${told ?? ''}`;
      // minute by minute: a try at the minute's start, the sweep at its second 30
      const tick = tickOf(now);
      const end = told !== undefined ? Math.ceil((now.getTime() + told * 1000) / 60_000) : tick + 90;
      let opened: number | undefined;
      const outcomes: string[] = [];
      for (let m = tick; m <= end; m++) {
        const start = new Date(Math.max(m * 60_000, now.getTime()));
        if (m > tick) {
          const o = await tryOpen(size, start);
          outcomes.push(o);
          if (o === 'created' && opened === undefined) opened = start.getTime();
        }
        if (told !== undefined && m === end) break;
        await sweepStaleUploads(db, new Date(m * 60_000 + 30_000), 1, limits.uploadLeaseMinutes, limits.uploadPace);
      }
      if (told !== undefined) {
        const at = new Date(now.getTime() + told * 1000);
        const atTold = await tryOpen(size, at);
        if (atTold !== 'created') breaks.push(`${state}: at the told time ${atTold} (minutes: ${outcomes.join(',')})`);
        else if (opened !== undefined && at.getTime() - opened > 3 * 60_000) {
          late++;
          breaks.push(`${state}: opened ${Math.round((at.getTime() - opened) / 60_000)} min before the told time`);
        }
      } else if (opened !== undefined && outcomes.some((o, i) => o === 'created' && outcomes[i + 1] === 'created')) {
        // (the lead's reading: a try that fits in one minute only, between two of her dead tries'
        // sweeps, is no time a page can tell; "tomorrow" stands there. Two minutes or more it is.)
        breaks.push(`${state}: told "tomorrow", opened after ${Math.round((opened - now.getTime()) / 60_000)} min (minutes: ${outcomes.join(',')})`);
      }
    }
    console.log(`told oracle: ${JSON.stringify(counts)}; breaks ${breaks.length} (late ${late})\n${breaks.slice(0, 8).join('\n')}`);
    expect(breaks.slice(0, 5)).toEqual([]);
  }, 600_000);
});
