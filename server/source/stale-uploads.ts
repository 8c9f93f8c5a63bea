/**
 * @module server/source/stale-uploads — an upload that received no chunk for UPLOAD_STALE_HOURS is
 * deleted, and the bytes it reserved against the quotas are free again (OPERATIONS.md "Under attack").
 *
 * Nothing on the chunk path records a time: the sweep (run by the purge timer, in every process)
 * counts each upload's chunks and keeps, in `upload_progress`, that count and the sweep tick (a
 * quarter hour) at which it last changed. An upload whose count has not changed for
 * `staleHours` of ticks is deleted with its chunks. Every step is idempotent, so several
 * processes sweeping at once reach the same result. A received upload's row is deleted by the
 * next sweep; the table only ever describes uploads in progress, to the quarter hour.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/open.ts';

export const SWEEP_TICK_MS = 15 * 60 * 1000;

export const tickOf = (now: Date): number => Math.floor(now.getTime() / SWEEP_TICK_MS);

/** Notes what changed since the last sweep, then deletes the stale uploads; returns how many. */
export async function sweepStaleUploads(db: Db, now: Date, staleHours: number): Promise<number> {
  const tick = tickOf(now);
  const staleTicks = Math.round((staleHours * 3600_000) / SWEEP_TICK_MS);
  await db.execute(sql`
    insert into upload_progress (submission_id, chunks, tick)
    select s.id, (select count(*) from chunks c where c.submission_id = s.id)::int, ${tick}::int
    from submissions s where s.status = 'uploading'
    on conflict (submission_id) do update set chunks = excluded.chunks, tick = excluded.tick
    where upload_progress.chunks <> excluded.chunks`);
  // a chunk that arrived since the statement above keeps its upload: the count is compared again
  const deleted = rowsOf<{ id: string }>(
    await db.execute(sql`
      delete from submissions s using upload_progress p
      where p.submission_id = s.id and s.status = 'uploading' and p.tick <= ${tick - staleTicks}::int
        and p.chunks = (select count(*) from chunks c where c.submission_id = s.id)
      returning s.id`),
  );
  await db.execute(sql`
    delete from upload_progress p where not exists (
      select 1 from submissions s where s.id = p.submission_id and s.status = 'uploading')`);
  return deleted.length;
}
