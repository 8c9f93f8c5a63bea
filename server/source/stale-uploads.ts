/**
 * @module server/source/stale-uploads — holding reserved bytes costs sending bytes, in proportion to
 * the bytes held: an upload that does not send at its required pace on average is deleted, and the
 * bytes it reserved against the quotas are free again (OPERATIONS.md "Under attack").
 *
 * An upload first seen at minute F (its open's minute: the open writes its row, migration 0010;
 * for uploads opened before, the first sweep after it) may live until
 *
 *     F + lease + (bytes stored + bytes arrived in bodies not stored yet) / rate,
 *
 * where rate is its required pace (migrations/0014_size_pace.sql, sealdrop_required_per_tick): the
 * larger of UPLOAD_PACE and its announced size over the minutes from F to the day's purge that
 * would delete it unfinished (the first purge of the second day after its open's day, so 24-48
 * hours). An upload on track to finish before that purge is kept, whatever its size; one behind it
 * by more than the lease goes, since it could not have finished anyway (a 2 GiB upload at 8 kB/s
 * after about half an hour instead of a day). Uploads under UPLOAD_PACE x that horizon (165-330 MiB)
 * are asked UPLOAD_PACE, as before. Without the size, 16 uploads of 2 GiB each at 2 185 B/s held
 * 32 GiB of reservations for a day (issue 9, the racing attacker); now holding them costs the bytes
 * that would fill them before the purge (16 x 12.4 kB/s at the cheapest).
 *
 * and no longer than UPLOAD_STALE_HOURS after the last minute it moved (a chunk stored, or bytes of
 * a body counted). Bytes, not chunks: a new chunk adds its bytes' worth of time and nothing more,
 * so the issue-9 attacker's 8 KiB chunk every 50 s (160 B/s, which reset an idle clock before)
 * runs out of the lease; any upload sending at its required pace since its open, pauses included, keeps
 * its reservation. The stored bytes are what the chunk rows hold (not counts times sizes).
 *
 * Bytes still arriving count too: a chunk body over a slow link can take longer than the lease
 * before its row is stored, so the chunk gate reports each body's bytes once a minute
 * (server/source/chunk-gate.ts) and the app adds them to `upload_progress.flowed`
 * (markUploadFlowing); once the body is stored its stored bytes count instead and the app takes
 * them out again (noteFlowStored). A body cut on its way keeps what it sent: those bytes came.
 *
 * What a deleted upload did not send (what it held less its stored octets and the bytes counted
 * arriving, never below 0: a promoted upload's size, a probe's min(size, PROBE_HOLD), migrations/
 * 0017_probe_all.sql) is noted for its source's day (migrations/0015_swept_unsent.sql, `swept_unsent`): beyond
 * the size of a large open being decided it may not pass QUOTA_SOURCE_PER_DAY (0016: 429
 * source_unsent, apart from the bytes sent): a returning source's one failed upload costs its retry
 * nothing, but re-opening as each is swept (64 KiB a minute on each of 15 uploads held 30 GiB for
 * 16 kB/s) ends the codename's large opens of the day after four of 2 GiB promoted (a probe re-opened as each
 * is swept holds 64 KiB and notes at most that: two dead 2 GiB tries that sent nothing cost the
 * codename 128 KiB). A new source's upload has no source row and notes nothing. A probe's pace and
 * lease are its size's, as any upload's; the open's bounds count it as its hold (open-limits.ts). The purge timer counts each upload deleted toward
 * the adaptive price, as an open's displaced claims are (server/source/purge.ts).
 *
 * The sweep (every SWEEP_INTERVAL_MS in every process, from the purge timer) notes each upload's
 * first minute and chunk count in `upload_progress`, then deletes the uploads past their time.
 * Every step is a function of the rows and the minute, so several processes sweeping at once
 * reach the same result. A received upload's row is deleted by the next sweep; the table only
 * ever describes uploads in progress, to the minute.
 */
import { sql, type SQL } from 'drizzle-orm';
import { isForeignKeyViolation } from '../db/errors.ts';
import { dayOf } from '../clock.ts';
import { rowsOf, type Db } from '../db/open.ts';
import { MIN_CHUNK_BYTES } from '../../protocol/limits.ts';

export const SWEEP_TICK_MS = 60 * 1000;

/** open-limits.ts PROBE_HOLD (CLAIM_SHOWN_BYTES, one minimum chunk): what a probe holds, and at most notes when swept */
const PROBE_HOLD_BYTES = MIN_CHUNK_BYTES;
/** how often the purge timer sweeps: the lease is kept to within about two ticks */
export const SWEEP_INTERVAL_MS = SWEEP_TICK_MS;
/** server/config.ts's default UPLOAD_STALE_HOURS */
export const DEFAULT_STALE_HOURS = 6;
/** server/config.ts's default UPLOAD_LEASE_MINUTES */
export const DEFAULT_LEASE_MINUTES = 10;
/**
 * server/config.ts's default UPLOAD_PACE (bytes a second): a Tor circuit of 16 kbit/s. The slowest
 * link these documents plan for sends 8 kB/s (four times this); 1 Mbit/s is 60 times.
 */
export const DEFAULT_UPLOAD_PACE = 2000;

export const tickOf = (now: Date): number => Math.floor(now.getTime() / SWEEP_TICK_MS);

/** The sweep's settings in minutes (ticks) and bytes a minute. */
export interface SweepRule {
  leaseTicks: number;
  staleTicks: number;
  bytesPerTick: number;
}

export function sweepRuleOf(staleHours: number, leaseMinutes: number, pace: number): SweepRule {
  const staleTicks = Math.round((staleHours * 3600_000) / SWEEP_TICK_MS);
  return {
    staleTicks,
    leaseTicks: Math.min(staleTicks, Math.round((leaseMinutes * 60_000) / SWEEP_TICK_MS)),
    bytesPerTick: Math.max(1, Math.round((pace * SWEEP_TICK_MS) / 1000)),
  };
}

/**
 * The minute from which the sweep deletes upload `s` (its upload_progress row `p`) unless it moves:
 * its first minute + the lease + what its stored and arriving bytes (with `extra` bytes not yet
 * reported) paid for at its required pace, or its last move + the stale time, whichever comes
 * first. The one rule of the sweep below and of a 429 source_busy's time (busy-uploads.ts). For
 * the latter (`chunks`: its stored chunk rows): an upload without its row yet is taken as first
 * seen in `tick` (the next sweep writes it so), and one with chunks its row has not counted yet (a
 * chunk stored since the last sweep) or with `extra` bytes (whose report moves it) as moved in
 * `tick + 1` at the latest (the next sweep notes it so). The sweep passes no `chunks`: it deletes
 * only uploads whose row it has just brought up to date, so their last move is the row's.
 */
export const sweptFromTick = (
  rule: SweepRule,
  tick: number,
  { extra = sql`0`, octets = STORED_OCTETS, chunks }: { extra?: SQL; octets?: SQL; chunks?: SQL } = {},
) => sql`least(
  coalesce(p.first_tick, ${tick}::int)::bigint + ${rule.leaseTicks}::bigint
    + (${octets} + coalesce(p.flowed, 0) + ${extra})
      / sealdrop_required_per_tick(s.size, s.created_day, coalesce(p.first_tick, ${tick}::int), ${rule.bytesPerTick}::bigint),
  ${chunks === undefined
    ? sql`p.tick::bigint`
    : sql`(case when p.tick is null or p.chunks <> ${chunks} or ${extra} > 0 then ${tick + 1}::bigint else p.tick::bigint end)`} + ${rule.staleTicks}::bigint)`;
/** upload `s`'s stored octets (sweptFromTick's default; a caller that has them read once passes them) */
const STORED_OCTETS = sql`(select coalesce(sum(octet_length(c.data)), 0) from chunks c where c.submission_id = s.id)::bigint`;

/**
 * Adds `bytes` of a chunk body that arrived for the upload (the chunk gate's report, once a
 * minute) to the time it has paid for, and notes that it moved now; on every process's sweep.
 */
export async function markUploadFlowing(db: Db, submissionId: string, now: Date, bytes: number): Promise<void> {
  await db.execute(sql`
    insert into upload_progress (submission_id, chunks, tick, first_tick, flowed)
    select s.id, (select count(*) from chunks c where c.submission_id = s.id)::int, ${tickOf(now)}::int, ${tickOf(now)}::int, ${bytes}::bigint
    from submissions s where s.id = ${submissionId}::uuid and s.status = 'uploading'
    on conflict (submission_id) do update set chunks = excluded.chunks, tick = greatest(upload_progress.tick, excluded.tick),
      flowed = upload_progress.flowed + excluded.flowed`);
}

/** A body whose arriving bytes were counted (`bytes`) is stored: its chunk's bytes count now instead. */
export async function noteFlowStored(db: Db, submissionId: string, bytes: number): Promise<void> {
  await db.execute(sql`
    update upload_progress set flowed = greatest(0, flowed - ${bytes}::bigint) where submission_id = ${submissionId}::uuid`);
}

/**
 * Notes the uploads first seen and the chunk counts that moved, then deletes the uploads past
 * their time (see the module comment); returns how many.
 */
export async function sweepStaleUploads(
  db: Db,
  now: Date,
  staleHours: number,
  leaseMinutes = DEFAULT_LEASE_MINUTES,
  pace = DEFAULT_UPLOAD_PACE,
): Promise<number> {
  const tick = tickOf(now);
  const rule = sweepRuleOf(staleHours, leaseMinutes, pace);
  try {
    await db.execute(sql`
      insert into upload_progress (submission_id, chunks, tick, first_tick, flowed)
      select s.id, (select count(*) from chunks c where c.submission_id = s.id)::int, ${tick}::int, ${tick}::int, 0
      from submissions s where s.status = 'uploading'
      on conflict (submission_id) do update set chunks = excluded.chunks, tick = greatest(upload_progress.tick, excluded.tick)
      where upload_progress.chunks <> excluded.chunks`);
  } catch (error) {
    // an upload this statement saw was deleted meanwhile (another process's sweep, an open taking
    // a claim's room) before its row was written: nothing to note for it; the next sweep notes the rest
    if (!isForeignKeyViolation(error)) throw error;
  }
  // past its paid time, or still for the stale time; a chunk that arrived since the statement above
  // keeps its upload until the next sweep (the count is compared again)
  // what a returning source's deleted uploads did not send counts toward its bytes of the day
  // (migrations/0015_swept_unsent.sql), in the statement that deletes them: two sweeps at once
  // note each upload once, as only one deletes it
  let deleted: Array<{ n: number }>;
  try {
    deleted = rowsOf<{ n: number }>(
      await db.execute(sql`
        with gone as (
          delete from submissions s using upload_progress p
          where p.submission_id = s.id and s.status = 'uploading'
            and ${tick}::bigint >= ${sweptFromTick(rule, tick)}
            and p.chunks = (select count(*) from chunks c where c.submission_id = s.id)
          returning s.source_id, s.created_day, greatest(0, sealdrop_held(s.size, s.probe, ${PROBE_HOLD_BYTES}::bigint) - p.flowed
            - (select coalesce(sum(octet_length(c.data)), 0) from chunks c where c.submission_id = s.id)) as unsent
        ), noted as (
          insert into swept_unsent (source_id, day, bytes)
          select g.source_id, ${dayOf(now)}::date, sum(g.unsent) from gone g
          where g.source_id is not null and g.created_day = ${dayOf(now)}::date
          group by g.source_id having sum(g.unsent) > 0
          on conflict (source_id) do update
            set bytes = case when swept_unsent.day = excluded.day then swept_unsent.bytes + excluded.bytes else excluded.bytes end,
              day = excluded.day
            where swept_unsent.day <= excluded.day
        )
        select count(*)::int as n from gone`),
    );
  } catch (error) {
    // a source deleted meanwhile (its uploads with it): the next sweep takes the rest
    if (!isForeignKeyViolation(error)) throw error;
    deleted = [{ n: 0 }];
  }
  await db.execute(sql`
    delete from upload_progress p where not exists (
      select 1 from submissions s where s.id = p.submission_id and s.status = 'uploading')`);
  return Number(deleted[0]?.n ?? 0);
}
