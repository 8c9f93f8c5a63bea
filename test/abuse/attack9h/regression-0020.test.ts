/**
 * Attack 9h, regressions of what existed before 0021: sealdrop_reserve_upload and
 * sealdrop_promote_probe of 0020 (loaded beside the live ones as *_0020 from
 * migrations/0020_codename_day.sql, its two functions renamed, nothing else changed) and of 0021 are called
 * on the same random states (three codenames: a returning source, a new one with uploads pending
 * under its lookup hash, another source; uploads of today and yesterday, received, downloaded, in
 * progress, probes and promoted, with chunks, progress rows, swept_unsent of today and yesterday,
 * spent tokens; tight and loose day quotas, totals, disk room and proofs), each in a transaction
 * rolled back. Every output must be the same, but 0020's source_quota may be 0021's source_busy.
 * Then, in the same transaction after 0021's source_busy, the app's estimate (busy-uploads.ts
 * secondsUntilSwept, as refuseBusy calls it: today's day, the promoted upload excepted) must
 * answer (a time of 60 s to a day, or undefined: source_quota), never throw (a 500 where 0020
 * answered 429). Asserts exactly that; prints the counts.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql, TransactionRollbackError } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dayOf } from '../../../server/clock.ts';
import { rowsOf, type Database, type Db } from '../../../server/db/open.ts';
import { createTestDatabase } from '../../../server/db/test-db.ts';
import { secondsUntilSwept } from '../../../server/source/busy-uploads.ts';
import { tickOf } from '../../../server/source/stale-uploads.ts';

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
  // 0020's two functions as its migration made them (a migration is never edited), renamed
  const migration = readFileSync(new URL('../../../migrations/0020_codename_day.sql', import.meta.url), 'utf8');
  const text = migration
    .slice(migration.indexOf('CREATE OR REPLACE FUNCTION "sealdrop_reserve_upload"'))
    .replace('"sealdrop_reserve_upload"', '"sealdrop_reserve_upload_0020"')
    .replace('"sealdrop_promote_probe"', '"sealdrop_promote_probe_0020"');
  for (const statement of text.split('--> statement-breakpoint')) await database.db.execute(sql.raw(statement));
});
afterAll(async () => {
  await database?.close();
});

const KiB = 1024;
const MiB = 1024 ** 2;
const HOLD = 64 * KiB;
const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)]!;
const hashes = { a: 'ha' + randomBytes(8).toString('hex'), b: 'hb' + randomBytes(8).toString('hex'), c: 'hc' + randomBytes(8).toString('hex') };

interface Limits {
  quotaSource: number;
  quotaTotal: number;
  room: number | null;
  smallMax: number;
  smallShare: number;
  unsentShare: number;
  newShare: number;
  proof: number;
  pace: number;
  lease: number;
  stale: number;
}

async function seed(db: Db, now: Date) {
  await db.execute(sql`delete from submissions`);
  await db.execute(sql`delete from sources`);
  await db.execute(sql`delete from swept_unsent`);
  await db.execute(sql`delete from spent_pow`);
  const today = dayOf(now);
  const yesterday = dayOf(new Date(now.getTime() - 86_400_000));
  const tick = tickOf(now);
  const a = randomUUID();
  const c = randomUUID();
  for (const [id, hash] of [[a, hashes.a], [c, hashes.c]] as const) {
    await db.execute(sql`insert into sources (id, lookup_hash, handle, public_key, locked_private_key, created_day)
      values (${id}::uuid, ${hash}, ${randomBytes(6).toString('hex')}, 'k', 'l', ${yesterday}::date)`);
    if (randomInt(2)) await db.execute(sql`insert into swept_unsent (source_id, day, bytes) values (${id}::uuid, ${pick([today, yesterday])}::date, ${pick([1, 2 * MiB, 10 * MiB, 30 * MiB, 70 * MiB])})`);
  }
  const probes: string[] = [];
  const n = randomInt(12);
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    const size = pick([2 * KiB, 60 * KiB, 1 * MiB, 3 * MiB, 4 * MiB, 4 * MiB + 1, 8 * MiB, 12 * MiB, 16 * MiB, 30 * MiB]);
    const status = pick(['uploading', 'uploading', 'uploading', 'received', 'downloaded'] as const);
    const probe = status === 'uploading' && randomInt(2) === 0;
    const owner = pick(['a', 'a', 'b', 'c'] as const);
    const sourceId = owner === 'a' ? a : owner === 'c' ? c : status === 'uploading' ? null : a;
    const pending = sourceId === null ? hashes.b : null;
    await db.execute(sql`insert into submissions (id, source_id, pending_lookup_hash, status, size, chunk_size, chunks, sha256, created_day, probe)
      values (${id}::uuid, ${sourceId}::uuid, ${pending}, ${status}, ${size}, ${4 * MiB}, ${Math.max(1, Math.ceil(size / (4 * MiB)))},
        ${randomBytes(32).toString('hex')}, ${pick([today, today, yesterday])}::date, ${probe})`);
    if (status === 'uploading') {
      if (probe) probes.push(id);
      const chunks = randomInt(3);
      for (let k = 0; k < chunks; k++) {
        await db.execute(sql`insert into chunks (submission_id, idx, data) values (${id}::uuid, ${k}, ${Buffer.from(randomBytes(pick([1, 5000, 70_000, 300_000])))})`);
      }
      if (randomInt(6) !== 0) {
        const last = tick - randomInt(400);
        await db.execute(sql`insert into upload_progress (submission_id, chunks, tick, first_tick, flowed)
          values (${id}::uuid, ${Math.max(0, chunks - pick([0, 0, 1]))}, ${last}, ${last - randomInt(300)}, ${pick([0, 0, 1000, 200_000, 3 * MiB])})`);
      }
    }
  }
  return { probes, a, c };
}

function randomLimits(): Limits {
  return {
    quotaSource: pick([8 * MiB, 16 * MiB, 32 * MiB, 64 * MiB]),
    quotaTotal: pick([20 * MiB, 64 * MiB, 1024 * MiB]),
    room: pick([null, null, 10 * MiB, 100 * MiB]),
    smallMax: 4 * MiB,
    smallShare: pick([0, 2 * MiB, 8 * MiB]),
    unsentShare: pick([0.5, 1]),
    newShare: pick([0.2, 1]),
    proof: pick([1 * MiB, 8 * MiB]),
    pace: 2000,
    lease: 10,
    stale: 6,
  };
}

type Out = Record<string, unknown>;

/** `fn` in a transaction rolled back; `after` (same transaction) sees what the call left */
async function rolledBack(fn: (tx: Db) => Promise<Out>, after?: (tx: Db, out: Out) => Promise<Out>): Promise<Out> {
  let out: Out = {};
  try {
    await database.db.transaction(async (tx) => {
      out = await fn(tx as unknown as Db);
      if (after) out = await after(tx as unknown as Db, out);
      tx.rollback();
    });
  } catch (error) {
    if (!(error instanceof TransactionRollbackError)) throw error;
  }
  return out;
}

const reserve = (name: string, l: Limits, r: { id: string; hash: string; returning: boolean; pow: string; size: number; chunks: number; day: string; tick: number }) => async (tx: Db) =>
  rowsOf<Out>(
    await tx.execute(sql`select o_outcome, o_unsent, o_unsent_new, o_free, o_displaced from ${sql.raw(name)}(${r.id}::uuid, ${r.hash}::text, ${r.returning}::boolean,
      ${r.pow}::text, ${r.day}::date, ${r.size}::bigint, ${4 * MiB}::int, ${r.chunks}::int, ${'x'.repeat(64)}::text,
      ${r.returning ? null : 'pk'}::text, ${r.returning ? null : 'lk'}::text, ${r.day}::date,
      ${l.quotaSource}::bigint, ${l.quotaTotal}::bigint, ${l.room}::bigint, ${l.smallMax}::bigint, ${l.smallShare}::bigint,
      ${l.unsentShare}::float8, ${l.newShare}::float8, ${1 * MiB}::bigint, ${r.tick}::int, 1::int, ${HOLD}::bigint, 120000::bigint, 5::int, ${HOLD}::bigint)`),
  )[0]!;

const promote = (name: string, l: Limits, p: { id: string; day: string; pending: number; tick: number }) => async (tx: Db) =>
  rowsOf<Out>(
    await tx.execute(sql`select o_outcome, o_displaced from ${sql.raw(name)}(${p.id}::uuid, ${p.day}::date, ${l.quotaTotal}::bigint, ${l.room}::bigint,
      ${l.smallMax}::bigint, ${l.smallShare}::bigint, ${l.unsentShare}::float8, ${l.newShare}::float8, ${l.proof}::bigint, ${HOLD}::bigint,
      ${p.pending}::bigint, ${p.tick}::int, 1::int, ${HOLD}::bigint, 120000::bigint, 5::int, ${l.quotaSource}::bigint)`),
  )[0]!;

const same = (old: Out, now: Out) => {
  const mapped = { ...now, o_outcome: now.o_outcome === 'source_busy' ? 'source_quota' : now.o_outcome };
  return JSON.stringify(old) === JSON.stringify(mapped);
};

describe('attack 9h: 0021 decides every open and promotion as 0020 did (source_quota may be source_busy)', () => {
  it('over random states, and the estimate after each source_busy answers', async () => {
    const counts: Record<string, number> = {};
    const breaks: string[] = [];
    const throws: string[] = [];
    let estimates = 0;
    for (let trial = 0; trial < 120; trial++) {
      const now = new Date(Date.parse('2026-11-03T00:00:00Z') + randomInt(86_400_000));
      const today = dayOf(now);
      const tick = tickOf(now);
      const { probes, a, c } = await seed(database.db, now);
      for (let call = 0; call < 8; call++) {
        const l = randomLimits();
        const limits = { quotaSourcePerDay: l.quotaSource, reserveSmallMax: l.smallMax, uploadLeaseMinutes: l.lease, uploadPace: l.pace, uploadStaleHours: l.stale, probeHold: HOLD };
        const estimate = (codename: Parameters<typeof secondsUntilSwept>[2], size: number, except: string | null) => async (tx: Db, out: Out) => {
          if (out.o_outcome !== 'source_busy') return out;
          estimates++;
          try {
            const seconds = await secondsUntilSwept(tx, limits, codename, today, now, size, except);
            if (seconds !== undefined && !(Number.isSafeInteger(seconds) && seconds >= 60 && seconds <= 24 * 3600 + 180)) throws.push(`told ${seconds}`);
          } catch (error) {
            throws.push(`${(error as Error).message.slice(0, 200)}`);
          }
          return out;
        };
        if (randomInt(3) === 0 && probes.length > 0) {
          const id = randomInt(10) === 0 ? randomUUID() : pick(probes);
          const pending = pick([0, 0, 100, 1 * MiB, 8 * MiB]);
          const [row] = rowsOf<{ source_id: string | null; pending_lookup_hash: string | null; size: string }>(
            await database.db.execute(sql`select source_id, pending_lookup_hash, size from submissions where id = ${id}::uuid`),
          );
          const p = { id, day: today, pending, tick };
          const old = await rolledBack(promote('sealdrop_promote_probe_0020', l, p));
          const fresh = await rolledBack(promote('sealdrop_promote_probe', l, p), estimate({ sourceId: row?.source_id ?? null, lookupHash: row?.pending_lookup_hash ?? null }, Number(row?.size ?? 0), id));
          counts[`promote ${old.o_outcome} -> ${fresh.o_outcome}`] = (counts[`promote ${old.o_outcome} -> ${fresh.o_outcome}`] ?? 0) + 1;
          if (!same(old, fresh)) breaks.push(`promote: 0020 ${JSON.stringify(old)}, 0021 ${JSON.stringify(fresh)}`);
        } else {
          const who = pick(['a', 'a', 'b', 'c', 'x'] as const);
          const hash = who === 'x' ? 'hx' + randomBytes(4).toString('hex') : hashes[who];
          const returning = who === 'b' || who === 'x' ? randomInt(4) === 0 : randomInt(6) !== 0;
          const size = pick([2 * KiB, 1 * MiB, 3 * MiB, 4 * MiB, 4 * MiB + 1, 8 * MiB, 16 * MiB, 24 * MiB, 32 * MiB, 64 * MiB]);
          const chunks = size <= 1 * MiB && randomInt(2) ? 1 : Math.max(1, Math.ceil(size / (4 * MiB)));
          const r = { id: randomUUID(), hash, returning, pow: randomBytes(8).toString('hex'), size, chunks, day: today, tick };
          const old = await rolledBack(reserve('sealdrop_reserve_upload_0020', l, r));
          const fresh = await rolledBack(reserve('sealdrop_reserve_upload', l, r), estimate({ lookupHash: hash }, size, null));
          counts[`open ${old.o_outcome} -> ${fresh.o_outcome}`] = (counts[`open ${old.o_outcome} -> ${fresh.o_outcome}`] ?? 0) + 1;
          if (!same(old, fresh)) breaks.push(`open: 0020 ${JSON.stringify(old)}, 0021 ${JSON.stringify(fresh)}`);
        }
      }
      void a;
      void c;
    }
    console.log(`0020 vs 0021: ${JSON.stringify(counts)}; estimates after source_busy: ${estimates}; breaks ${breaks.length}, estimate failures ${throws.length}`);
    expect(breaks.slice(0, 5)).toEqual([]);
    expect(throws.slice(0, 5)).toEqual([]);
    expect(Object.keys(counts).some((k) => k.endsWith('-> source_busy'))).toBe(true);
  }, 600_000);
});
