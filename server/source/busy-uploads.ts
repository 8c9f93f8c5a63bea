/**
 * @module server/source/busy-uploads — when a codename's own uploads in progress stop holding its
 * day (migrations/0021_source_busy.sql, 429 `source_busy`).
 *
 * An upload in progress counts in its codename's bytes of the day (a promoted one with its whole
 * size) until it completes or the sweep deletes it (server/source/stale-uploads.ts). A source whose
 * large upload died and who opens it again before the sweep took it was told "try again tomorrow"
 * (429 source_quota), which was false. The open is now refused `source_busy` when those uploads
 * alone stand in the way, and this module says when the sweep would take enough of them if none
 * moves again: the same rule as the sweep's (lease plus the time their bytes paid for at their
 * required pace, or UPLOAD_STALE_HOURS after they last moved), the soonest first, until the
 * refused size fits the day. An upload that still moves (a second tab) pushes that time on; the
 * page says so. A time, not a promise: the refusal itself was decided under the open's lock, this
 * is read after it.
 *
 * Cost: two indexed sums over the codename's uploads of the day and, for each upload in progress,
 * its chunk rows' stored lengths (the sweep reads the same); only after a refusal that needed the
 * codename's lookup hash and a valid proof of work (which a refusal does not spend).
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/open.ts';
import { SWEEP_TICK_MS, tickOf } from './stale-uploads.ts';

/** Whose day: a returning source's lookup hash, or an upload's source row or the lookup hash it was opened under. */
export type Codename = { lookupHash: string; sourceId?: undefined } | { sourceId: string | null; lookupHash: string | null };

export interface BusyLimits {
  quotaSourcePerDay: number;
  uploadLeaseMinutes: number;
  uploadPace: number;
  uploadStaleHours: number;
  /** what a probe holds (open-limits.ts probeHoldOf) */
  probeHold: number;
}

/** The longest wait ever told: the sweep's stale rule caps every upload's life after it last moved (24 h at most). */
const MAX_WAIT_SECONDS = 24 * 3600 + 2 * 60;

/**
 * Seconds from `now` until the sweep will have deleted enough of the codename's uploads in progress
 * of `day` (all but `except`) for `size` to fit its day, if none of them moves again; at least 60.
 * Undefined when deleting all of them would not be enough (the day itself is spent).
 */
export async function secondsUntilSwept(
  db: Db,
  limits: BusyLimits,
  codename: Codename,
  day: string,
  now: Date,
  size: number,
  except: string | null = null,
): Promise<number | undefined> {
  const tick = tickOf(now);
  const staleTicks = Math.round((limits.uploadStaleHours * 3600_000) / SWEEP_TICK_MS);
  const leaseTicks = Math.min(staleTicks, Math.round((limits.uploadLeaseMinutes * 60_000) / SWEEP_TICK_MS));
  const bytesPerTick = Math.max(1, Math.round((limits.uploadPace * SWEEP_TICK_MS) / 1000));
  const sourceId = codename.sourceId ?? null;
  const hash = codename.lookupHash ?? null;
  // the codename as sealdrop_of_codename sees it: its source and the uploads pending under its hash
  const rows = rowsOf<{ held: string | number; busy: boolean; deadline: string | number | null }>(
    await db.execute(sql`
      with codename as (
        select coalesce(${sourceId}::uuid, (select s.id from sources s where s.lookup_hash = ${hash}::text)) as source_id,
          coalesce(${hash}::text, (select s.lookup_hash from sources s where s.id = ${sourceId}::uuid)) as hash
      )
      select sealdrop_held(m.size, m.probe, ${limits.probeHold}::bigint) as held, m.status = 'uploading' as busy,
        case when m.status = 'uploading' then least(
          coalesce(p.first_tick, ${tick}::int)::bigint + ${leaseTicks}::bigint
            + ((select coalesce(sum(octet_length(c.data)), 0) from chunks c where c.submission_id = m.id)::bigint + coalesce(p.flowed, 0))
              / sealdrop_required_per_tick(m.size, m.created_day, coalesce(p.first_tick, ${tick}::int), ${bytesPerTick}::bigint),
          coalesce(p.tick, ${tick}::int)::bigint + ${staleTicks}::bigint) end as deadline
      from codename k, submissions m left join upload_progress p on p.submission_id = m.id
      where m.created_day = ${day}::date and m.id is distinct from ${except}::uuid
        and sealdrop_of_codename(m.source_id, m.status, m.pending_lookup_hash, k.source_id, k.hash)`),
  );
  let dayBytes = 0;
  for (const row of rows) dayBytes += Number(row.held);
  // swept or finished since the refusal was decided: it fits now (the next minute's try)
  if (dayBytes + size <= limits.quotaSourcePerDay) return 60;
  const waiting = rows
    .filter((row) => row.busy && row.deadline !== null)
    .map((row) => ({ held: Number(row.held), deadline: Number(row.deadline) }))
    .sort((a, b) => a.deadline - b.deadline);
  for (const upload of waiting) {
    dayBytes -= upload.held;
    if (dayBytes + size <= limits.quotaSourcePerDay) {
      // a sweep runs in every minute (SWEEP_INTERVAL_MS): the one in the deadline's minute deletes it
      const seconds = Math.ceil(((upload.deadline + 1) * SWEEP_TICK_MS - now.getTime()) / 1000);
      return Math.min(MAX_WAIT_SECONDS, Math.max(60, seconds));
    }
  }
  return undefined;
}
