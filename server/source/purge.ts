/** @module server/source/purge — forgetting what is no longer needed, on a timer. */
import { and, eq, lt } from 'drizzle-orm';
import { type Clock, dayOf, daysBefore } from '../clock.ts';
import type { Db } from '../db/open.ts';
import { spentPow, submissions, sweptUnsent } from '../db/schema.ts';
import { forgetOldLoad, type PowLoad } from './pow-load.ts';
import { DEFAULT_LEASE_MINUTES, DEFAULT_STALE_HOURS, DEFAULT_UPLOAD_PACE, sweepStaleUploads, SWEEP_INTERVAL_MS } from './stale-uploads.ts';

export const PURGE_INTERVAL_MS = 15 * 60 * 1000;

export interface PurgeResult {
  uploads: number;
  /** uploads deleted because they did not send at the pace, or nothing for the stale time (server/source/stale-uploads.ts) */
  staleUploads: number;
  spentPow: number;
}

/**
 * Deletes uploads still unfinished a day after they were opened (with their chunks) and spent
 * proof-of-work rows whose token has expired. Days are all that is stored, so "after a day" means
 * "opened before yesterday's date"; a spent row goes once its expiry day is over, when the token is
 * refused as expired anyway, so forgetting it cannot allow a replay. Then uploads past the time
 * their bytes paid for (`leaseMinutes` plus their bytes at `pace` bytes a second, or at the pace that
 * would finish them before this purge when their size asks more, and at most
 * `staleHours` since they last moved) go too, and their reservations with them.
 */
export async function purgeExpired(
  db: Db,
  clock: Clock,
  staleHours = DEFAULT_STALE_HOURS,
  leaseMinutes = DEFAULT_LEASE_MINUTES,
  pace = DEFAULT_UPLOAD_PACE,
): Promise<PurgeResult> {
  const now = clock();
  // the horizon of the size's pace (migrations/0014_size_pace.sql: the open's day + 2, at midnight)
  // is this rule's: change both together
  const uploads = await db
    .delete(submissions)
    .where(and(eq(submissions.status, 'uploading'), lt(submissions.createdDay, daysBefore(now, 1))))
    .returning({ id: submissions.id });
  const pow = await db.delete(spentPow).where(lt(spentPow.expiresDay, dayOf(now))).returning({ id: spentPow.idHash });
  // a day's unsent bytes count toward that day's quota only (migrations/0015_swept_unsent.sql)
  await db.delete(sweptUnsent).where(lt(sweptUnsent.day, dayOf(now)));
  const staleUploads = await sweepStaleUploads(db, now, staleHours, leaseMinutes, pace);
  // the adaptive price's old minutes, also when no request came to read (and delete) them
  await forgetOldLoad(db, now);
  return { uploads: uploads.length, staleUploads, spentPow: pow.length };
}

/**
 * Purges now and every `intervalMs`, and sweeps the idle uploads every `sweepIntervalMs` between
 * (so a lease of minutes means minutes); returns the function that stops both. One run at a time.
 * Each upload a sweep deletes counts toward the adaptive price (`powLoad`) as one open at the
 * unflooded price, as an open's displaced claims do (server/source/uploads.ts): a reservation that
 * did not hold was an open that bought nothing but time, and re-opening is how such a hold goes on.
 */
export function startPurgeTimer(
  db: Db,
  clock: Clock,
  {
    intervalMs = PURGE_INTERVAL_MS,
    sweepIntervalMs = SWEEP_INTERVAL_MS,
    staleHours = DEFAULT_STALE_HOURS,
    leaseMinutes = DEFAULT_LEASE_MINUTES,
    pace = DEFAULT_UPLOAD_PACE,
    powLoad,
    onError = (error: unknown) => console.error('sealdrop: purge failed:', error),
  }: {
    intervalMs?: number;
    sweepIntervalMs?: number;
    staleHours?: number;
    leaseMinutes?: number;
    pace?: number;
    powLoad?: Pick<PowLoad, 'noteOpen'> | undefined;
    onError?: (error: unknown) => void;
  } = {},
): () => void {
  let running: Promise<unknown> = Promise.resolve();
  const noteSwept = (count: number, now: Date) => {
    for (let i = 0; i < count; i++) powLoad?.noteOpen(0, now);
  };
  const purge = () => {
    running = running
      .then(async () => {
        const result = await purgeExpired(db, clock, staleHours, leaseMinutes, pace);
        noteSwept(result.staleUploads, clock());
      })
      .catch(onError);
  };
  const sweep = () => {
    running = running
      .then(async () => {
        const now = clock();
        noteSwept(await sweepStaleUploads(db, now, staleHours, leaseMinutes, pace), now);
      })
      .catch(onError);
  };
  purge();
  const timers = [setInterval(purge, intervalMs), setInterval(sweep, sweepIntervalMs)];
  for (const t of timers) t.unref();
  return () => timers.forEach(clearInterval);
}
