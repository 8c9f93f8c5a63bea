/**
 * @module server/source/stale-uploads — an upload that sits idle too long is deleted, and the bytes
 * it reserved against the quotas are free again (OPERATIONS.md "Under attack"). How long it may sit
 * idle grows with what it has received: an upload that received no chunk holds its reservation for
 * the lease (UPLOAD_LEASE_MINUTES, 10 by default) only; one that received B bytes may sit idle for
 * lease + ⌊B / 1 MiB⌋ minutes (IDLE_TICKS_PER_MIB), at most UPLOAD_STALE_HOURS: absolute bytes, not
 * the share of its size, so tiny chunks into small reservations buy nothing. Holding storage for
 * hours costs sending the bytes, not only the proof of work.
 *
 * Bytes still arriving count too: while a chunk's body flows at the gate's minimum rate
 * (2000 B/s over a minute, server/source/chunk-gate.ts) the app marks the upload's row with the
 * current tick (markUploadFlowing), so an honest slow link's first chunks, longer than the lease,
 * keep their upload. Otherwise the sweep (run every SWEEP_INTERVAL_MS by the purge
 * timer, in every process) counts each upload's chunks and keeps, in `upload_progress`, that count
 * and the sweep tick (a minute) at which it last changed. Every step is idempotent, so several
 * processes sweeping at once reach the same result. A received upload's row is deleted by the
 * next sweep; the table only ever describes uploads in progress, to the minute.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/open.ts';

export const SWEEP_TICK_MS = 60 * 1000;
/** how often the purge timer sweeps: the lease is kept to within about two ticks */
export const SWEEP_INTERVAL_MS = SWEEP_TICK_MS;
/** server/config.ts's default UPLOAD_LEASE_MINUTES */
export const DEFAULT_LEASE_MINUTES = 10;

export const tickOf = (now: Date): number => Math.floor(now.getTime() / SWEEP_TICK_MS);

/** idle minutes an upload earns, beyond the lease, for each MiB it has received (up to the stale time) */
export const IDLE_TICKS_PER_MIB = 1;

/**
 * Marks an upload alive now (a chunk's body is flowing for it at the gate's minimum rate:
 * server/source/chunk-gate.ts): its idle time starts again, on every process's sweep.
 */
export async function markUploadFlowing(db: Db, submissionId: string, now: Date): Promise<void> {
  await db.execute(sql`
    insert into upload_progress (submission_id, chunks, tick)
    select s.id, (select count(*) from chunks c where c.submission_id = s.id)::int, ${tickOf(now)}::int
    from submissions s where s.id = ${submissionId}::uuid and s.status = 'uploading'
    on conflict (submission_id) do update set chunks = excluded.chunks, tick = greatest(upload_progress.tick, excluded.tick)`);
}

/**
 * Notes what changed since the last sweep, then deletes the uploads idle past their time; returns
 * how many. An upload is first seen (and its idle time starts) at the first sweep after its open.
 */
export async function sweepStaleUploads(db: Db, now: Date, staleHours: number, leaseMinutes = DEFAULT_LEASE_MINUTES): Promise<number> {
  const tick = tickOf(now);
  const staleTicks = Math.round((staleHours * 3600_000) / SWEEP_TICK_MS);
  const leaseTicks = Math.min(staleTicks, Math.round((leaseMinutes * 60_000) / SWEEP_TICK_MS));
  await db.execute(sql`
    insert into upload_progress (submission_id, chunks, tick)
    select s.id, (select count(*) from chunks c where c.submission_id = s.id)::int, ${tick}::int
    from submissions s where s.status = 'uploading'
    on conflict (submission_id) do update set chunks = excluded.chunks, tick = excluded.tick
    where upload_progress.chunks <> excluded.chunks`);
  // the idle ticks allowed: the lease, plus IDLE_TICKS_PER_MIB for each whole MiB received, up to
  // the stale time; a chunk that arrived since the statement above keeps its upload (the count is compared again)
  const deleted = rowsOf<{ id: string }>(
    await db.execute(sql`
      delete from submissions s using upload_progress p
      where p.submission_id = s.id and s.status = 'uploading'
        and p.tick <= ${tick}::int - (${leaseTicks}::bigint
          + least(${staleTicks - leaseTicks}::bigint,
            (${IDLE_TICKS_PER_MIB}::bigint * least(s.size, s.chunk_size::bigint * p.chunks)) / 1048576))
        and p.chunks = (select count(*) from chunks c where c.submission_id = s.id)
      returning s.id`),
  );
  await db.execute(sql`
    delete from upload_progress p where not exists (
      select 1 from submissions s where s.id = p.submission_id and s.status = 'uploading')`);
  return deleted.length;
}
