/** @module server/source/purge — forgetting what is no longer needed, on a timer. */
import { and, eq, lt } from 'drizzle-orm';
import { type Clock, dayOf, daysBefore } from '../clock.ts';
import type { Db } from '../db/open.ts';
import { spentPow, submissions } from '../db/schema.ts';

export const PURGE_INTERVAL_MS = 15 * 60 * 1000;

export interface PurgeResult {
  uploads: number;
  spentPow: number;
}

/**
 * Deletes uploads still unfinished a day after they were opened (with their chunks) and spent
 * proof-of-work rows whose token has expired. Days are all that is stored, so "after a day" means
 * "opened before yesterday's date"; a spent row goes once its expiry day is over, when the token is
 * refused as expired anyway, so forgetting it cannot allow a replay.
 */
export async function purgeExpired(db: Db, clock: Clock): Promise<PurgeResult> {
  const now = clock();
  const uploads = await db
    .delete(submissions)
    .where(and(eq(submissions.status, 'uploading'), lt(submissions.createdDay, daysBefore(now, 1))))
    .returning({ id: submissions.id });
  const pow = await db.delete(spentPow).where(lt(spentPow.expiresDay, dayOf(now))).returning({ id: spentPow.idHash });
  return { uploads: uploads.length, spentPow: pow.length };
}

/** Purges now and every `intervalMs`; returns the function that stops it. */
export function startPurgeTimer(
  db: Db,
  clock: Clock,
  { intervalMs = PURGE_INTERVAL_MS, onError = (error: unknown) => console.error('sealdrop: purge failed:', error) } = {},
): () => void {
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = running.then(() => purgeExpired(db, clock)).catch(onError);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
