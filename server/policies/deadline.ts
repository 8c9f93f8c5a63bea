/**
 * @module server/policies/deadline — every source request's database work answers in bounded
 * time, whatever the database does.
 *
 * postgres.js queues a query while it reconnects and waits on a connection that does not answer;
 * a frozen PostgreSQL (a stopped process, a hung disk, a lost network) leaves a request waiting
 * until the client gives up, holding its memory all the while (measured by the issue-8 attacker:
 * requests unanswered for minutes). So a request is answered 503 `database_unavailable` once its
 * deadline passes; the work it started goes on and settles on its own (its outcome is dropped, its
 * error handled): the statements are idempotent or all-or-nothing, so the client's retry finds
 * either nothing or the work done (protocol/PROTOCOL.md, "What an answer guarantees").
 */
import type { MiddlewareHandler } from 'hono';
import { RefusalError } from '../source/errors.ts';

/** How long a source request may wait on the database before it is answered 503. */
export const DATABASE_DEADLINE_MS = 20_000;

export const databaseTooSlow = () =>
  new RefusalError(503, 'database_unavailable', 'The database is not answering right now; try again in a moment.');

/** `work`, or `refusal()` thrown once `ms` pass first; `work`'s later rejection is handled, never unhandled. */
export async function withDeadline<T>(work: Promise<T>, ms: number, refusal: () => Error = databaseTooSlow): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(refusal()), ms);
  });
  work.catch(() => {});
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The route's whole handler under a deadline (503 with Retry-After once it passes). */
export const deadline = (ms: number): MiddlewareHandler =>
  async function deadline(c, next) {
    await withDeadline(next(), ms);
  };
