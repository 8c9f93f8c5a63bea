/**
 * @module server/source/busy-uploads — when a codename's own uploads in progress stop holding its
 * day (migrations/0021_source_busy.sql, 429 `source_busy`).
 *
 * An upload in progress counts in its codename's bytes of the day (a promoted one with its whole
 * size) until it completes or the sweep deletes it (server/source/stale-uploads.ts). A source whose
 * large upload died and who opens it again before the sweep took it was told "try again tomorrow"
 * (429 source_quota), which was false. The open is now refused `source_busy` when those uploads
 * alone stand in the way, and this module says when the sweep would take enough of them if none
 * moves again: the sweep's own rule (stale-uploads.ts sweptFromTick: lease plus the time their bytes
 * paid for at their required pace, or UPLOAD_STALE_HOURS after they last moved), the soonest first, until the
 * refused size fits the day (and source_unsent with what they would leave unsent). An upload that
 * still moves (a second tab) pushes that time on; the page says so. A time, not a promise: the
 * refusal itself was decided under the open's lock, this is read after it. Four attackers'
 * harnesses hold it to the sweep: test/abuse/source-busy.test.ts, attack9f-9h.
 *
 * Cost: two reads of the codename's uploads of the day, as the open's own decision reads them, the
 * second with each in-progress one's chunk rows' stored lengths and count, once (as the sweep reads
 * them); only after a refusal that needed the codename's lookup id and a valid proof of work (which
 * a refusal does not spend): `npm run bench -- busy-refusal`.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/open.ts';
import { sweepRuleOf, sweptFromTick, SWEEP_TICK_MS, tickOf } from './stale-uploads.ts';

/** Whose day: a returning source's lookup hash, or an upload's source row or the lookup hash it was opened under. */
export type Codename = { lookupHash: string; sourceId?: undefined } | { sourceId: string | null; lookupHash: string | null };

export interface BusyLimits {
  quotaSourcePerDay: number;
  /** opens of at most this size are not held to source_unsent */
  reserveSmallMax: number;
  uploadLeaseMinutes: number;
  uploadPace: number;
  uploadStaleHours: number;
  /** what a probe holds (open-limits.ts probeHoldOf) */
  probeHold: number;
}

/** The longest wait ever told: the sweep's stale rule caps every upload's life after it last moved (24 h at most). */
const MAX_WAIT_SECONDS = 24 * 3600 + 3 * 60;
const DAY_MS = 24 * 3600 * 1000;

/**
 * Seconds from `now` until the sweep will have deleted enough of the codename's uploads in progress
 * of `day` (all but `except`) for `size` to fit its day, if none of them moves again, and until
 * what they would note unsent (swept_unsent, migrations/0015) still lets an open of `size` pass
 * source_unsent (one larger than reserveSmallMax); at least 60, at most until `day` ends (a new
 * day counts none of them). Undefined when no number of them gone is enough (the day itself is
 * spent, or their unsent bytes would pass it). `unreported` gives the bytes this process's chunk
 * gate holds of an upload's bodies and has not reported yet (their report will pay for more time;
 * read before the decisive statement, so a report landing meanwhile counts twice: later, never
 * sooner). Everything decided is read in one statement, one snapshot: an upload the sweep deletes
 * meanwhile is either there with its bytes or gone with its unsent bytes noted.
 */
export async function secondsUntilSwept(
  db: Db,
  limits: BusyLimits,
  codename: Codename,
  day: string,
  now: Date,
  size: number,
  except: string | null = null,
  unreported: (submissionId: string) => number = () => 0,
): Promise<number | undefined> {
  const tick = tickOf(now);
  const rule = sweepRuleOf(limits.uploadStaleHours, limits.uploadLeaseMinutes, limits.uploadPace);
  const sourceId = codename.sourceId ?? null;
  const hash = codename.lookupHash ?? null;
  // the codename as sealdrop_of_codename sees it: its source and the uploads pending under its hash
  const codenameCte = sql`codename as (
      select coalesce(${sourceId}::uuid, (select k.id from sources k where k.lookup_hash = ${hash}::text)) as source_id,
        coalesce(${hash}::text, (select k.lookup_hash from sources k where k.id = ${sourceId}::uuid)) as hash
    )`;
  const ofTheDay = sql`s.created_day = ${day}::date and s.id is distinct from ${except}::uuid
      and sealdrop_of_codename(s.source_id, s.status, s.pending_lookup_hash, k.source_id, k.hash)`;
  // which uploads are in progress: this process's unreported bytes of theirs go into the statement
  const busyIds = rowsOf<{ id: string }>(
    await db.execute(sql`with ${codenameCte} select s.id from codename k, submissions s where ${ofTheDay} and s.status = 'uploading'`),
  ).map((row) => row.id);
  const extra = busyIds.map((id) => ({ id, bytes: Math.max(0, Math.floor(unreported(id))) })).filter((e) => e.bytes > 0);
  const inFlight = sql`coalesce(x.bytes, 0)`;
  const rows = rowsOf<{ sourceId: string | null; held: string | number; busy: boolean; deadline: string | number | null; sent: string | number; noted: string | number | null }>(
    await db.execute(sql`
      with ${codenameCte}
      select s.source_id as "sourceId", sealdrop_held(s.size, s.probe, ${limits.probeHold}::bigint) as held,
        s.status = 'uploading' as busy,
        case when s.status = 'uploading' then ${sweptFromTick(rule, tick, { extra: inFlight, octets: sql`st.octets`, chunks: sql`st.n` })} end as deadline,
        st.octets + coalesce(p.flowed, 0) + ${inFlight} as sent,
        (select u.bytes from swept_unsent u where u.source_id = k.source_id and u.day = ${day}::date) as noted
      from codename k, submissions s
        left join upload_progress p on p.submission_id = s.id
        left join jsonb_to_recordset(${JSON.stringify(extra)}::jsonb) as x(id uuid, bytes bigint) on x.id = s.id
        left join lateral (select coalesce(sum(octet_length(c.data)), 0)::bigint as octets, count(*)::int as n
          from chunks c where c.submission_id = s.id and s.status = 'uploading') st on true
      where ${ofTheDay}`),
  );
  const dayBytes = rows.reduce((sum, row) => sum + Number(row.held), 0);
  const unsent = Number(rows.find((row) => row.noted !== null)?.noted ?? 0);
  const dayEndMs = Date.parse(`${day}T00:00:00Z`) + DAY_MS;
  const waiting = rows
    .filter((row) => row.busy && row.deadline !== null)
    .map((row) => ({ held: Number(row.held), deadline: Number(row.deadline), returning: row.sourceId !== null, sent: Number(row.sent) }))
    .sort((a, b) => a.deadline - b.deadline);
  // what the sweep notes for her day: a returning source's upload, of today, what it held and did not send
  const heldUpTo = [0];
  const unsentUpTo = [0];
  for (const upload of waiting) {
    heldUpTo.push(heldUpTo.at(-1)! + upload.held);
    unsentUpTo.push(unsentUpTo.at(-1)! + (upload.returning ? Math.max(0, upload.held - upload.sent) : 0));
  }
  /** how many of them are due by minute `m` (sorted: the first index past it) */
  const dueBy = (m: number) => {
    let [lo, hi] = [0, waiting.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (waiting[mid]!.deadline <= m) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // a try in minute `at`: every upload due by the minute before is gone (its room counts), and
  // every one due by `at` may be (its unsent bytes may be noted)
  const fitsAt = (at: number) => {
    const gone = heldUpTo[dueBy(at - 1)]!;
    const noted = unsentUpTo[dueBy(at)]!;
    return (
      dayBytes - gone + size <= limits.quotaSourcePerDay &&
      (size <= limits.reserveSmallMax || unsent + noted - size <= limits.quotaSourcePerDay)
    );
  };
  // the soonest a try can be told (60 s from now): a sweep that is late (a long purge before it,
  // the database away) may take every upload past its time by then, each noting its unsent bytes
  const soonest = now.getTime() + 60_000;
  /** told to try at the start of minute `at`, or at the soonest: the wait, if a try then fits */
  const tryAt = (at: number): number | undefined => {
    const lands = Math.max(at * SWEEP_TICK_MS, soonest);
    // a try in a new day: that day counts none of them
    if (lands >= dayEndMs) return Math.max(60, Math.ceil((dayEndMs - now.getTime()) / 1000));
    if (!fitsAt(Math.floor(lands / SWEEP_TICK_MS))) return undefined;
    return Math.min(MAX_WAIT_SECONDS, Math.ceil((lands - now.getTime()) / 1000));
  };
  // swept or finished since the refusal was decided, or past their time: it fits at the soonest
  const atOnce = tryAt(0);
  if (atOnce !== undefined) return atOnce;
  for (const { deadline } of waiting) {
    // a sweep runs in every minute (SWEEP_INTERVAL_MS): the one in the deadline's minute deletes
    // the upload. Told: the minute after, and one more for a sweep that a long purge in the same
    // timer delayed; without that margin when an upload due in it would tip source_unsent
    for (const at of [deadline + 2, deadline + 1]) {
      const seconds = tryAt(at);
      if (seconds !== undefined) return seconds;
    }
  }
  return undefined;
}
