/**
 * @module server/source/stale-uploads — an upload that sits idle too long is deleted, and the bytes
 * it reserved against the quotas are free again (OPERATIONS.md "Under attack"). How long it may sit
 * idle grows with what it has received: an upload that received no chunk holds its reservation for
 * the lease (UPLOAD_LEASE_MINUTES, 10 by default) only; one that received a fraction f of its bytes
 * may sit idle for lease + f × (UPLOAD_STALE_HOURS − lease). Holding storage for hours costs
 * sending the bytes, not only the proof of work.
 *
 * Nothing on the chunk path records a time: the sweep (run every SWEEP_INTERVAL_MS by the purge
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
  // the idle ticks allowed: the lease, plus the rest of the stale time in proportion to the bytes
  // received; a chunk that arrived since the statement above keeps its upload (the count is compared again)
  const deleted = rowsOf<{ id: string }>(
    await db.execute(sql`
      delete from submissions s using upload_progress p
      where p.submission_id = s.id and s.status = 'uploading'
        and p.tick <= ${tick}::int - (${leaseTicks}::bigint
          + (${staleTicks - leaseTicks}::bigint * least(s.size, s.chunk_size::bigint * p.chunks)) / s.size)
        and p.chunks = (select count(*) from chunks c where c.submission_id = s.id)
      returning s.id`),
  );
  await db.execute(sql`
    delete from upload_progress p where not exists (
      select 1 from submissions s where s.id = p.submission_id and s.status = 'uploading')`);
  return deleted.length;
}
