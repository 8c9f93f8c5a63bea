/** @module server/retention — delete what the newsroom has had for long enough (RETENTION_DAYS). */
// The rules (docs/OPERATIONS.md, "Retention"):
// - A submission goes `days` days after the day it was downloaded: downloaded on day D, it is
//   deleted on the first purge run on day D + days + 1 or later (so it stays `days` full days after
//   its download day). Its chunks go with it (ON DELETE CASCADE).
// - A submission never downloaded is kept, however old: nobody has read it yet.
// - A source goes once it has no submission left and no reply left. A source that still has
//   replies is kept, read or not: the source may come back weeks later to read them, and deleting
//   a reply is the source's own act (or the newsroom's). A source with an upload in progress is kept.
// - The audit rows naming a submission or a source that is gone lose that name (scrubAudit).
// Days only, like everything Sealdrop stores: the clock is read as a UTC day.
import { sql } from 'drizzle-orm';
import { daysBefore, type Clock } from './clock.ts';
import { rowsOf, type Db } from './db/open.ts';

export interface RetentionResult {
  submissions: number;
  sources: number;
  /** audit rows whose target (an id or a handle) was removed because its row is gone */
  auditScrubbed: number;
}

export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
const DELETE_BATCH = 1000;

export async function purgeRetention(db: Db, clock: Clock, days: number): Promise<RetentionResult> {
  if (!Number.isInteger(days) || days < 1) {
    throw new RangeError(`expected retention days to be an integer of at least 1, got ${days}`);
  }
  // Deleted when downloaded_day < today - days, i.e. more than `days` days ago.
  const cutoff = daysBefore(clock(), days);

  const gone = rowsOf<{ id: string }>(
    await db.execute(sql`
      delete from submissions
      where status = 'downloaded' and downloaded_day < ${cutoff}::date
      returning id`),
  );

  const orphans = sql`
    not exists (select 1 from submissions m where m.source_id = s.id)
    and not exists (select 1 from submissions m where m.pending_lookup_hash = s.lookup_hash)
    and not exists (select 1 from replies r where r.source_id = s.id)`;
  // Two steps in one transaction, because a returning source may open an upload at this very
  // moment: lock the candidates (a new submission row referencing a locked source waits for us,
  // its foreign-key check needs a share lock), then check again with a fresh snapshot, which sees
  // every submission committed before the locks were granted, and delete only those still empty.
  const sourcesGone = await db.transaction(async (tx) => {
    const candidates = rowsOf<{ id: string }>(
      await tx.execute(sql`select s.id from sources s where ${orphans} for update`),
    );
    let deleted = 0;
    // In batches, to stay far below the protocol's limit of parameters per statement.
    for (let i = 0; i < candidates.length; i += DELETE_BATCH) {
      const ids = candidates.slice(i, i + DELETE_BATCH).map((row) => sql`${row.id}::uuid`);
      const rows = rowsOf<{ id: string }>(
        await tx.execute(sql`
          delete from sources s
          where s.id in (${sql.join(ids, sql`, `)}) and ${orphans}
          returning s.id`),
      );
      deleted += rows.length;
    }
    return deleted;
  });

  const auditScrubbed = await scrubAudit(db);
  return { submissions: gone.length, sources: sourcesGone, auditScrubbed };
}

/** Audit actions whose target is a submission id, and those whose target is a source handle (a reply's is `handle/replyId`). */
const SUBMISSION_ACTIONS = ['download', 'ack', 'delete_submission'];
const SOURCE_ACTIONS = ['spam', 'unspam', 'delete_source', 'source_key', 'reply_refused', 'reply'];

/**
 * Once a submission or a source is gone (retention, or an editor deleted it), the audit trail keeps
 * who did what on which day, but no longer its id or handle: its target becomes null. Otherwise
 * the audit would hold, for ever, the one list of every handle and id the server ever had, and a
 * seized server would tell which handles came back on which days long after their rows were gone.
 * The forget pass (server/db/forget.ts) then rewrites the table files, so the old values leave the
 * disk within its bound too.
 */
async function scrubAudit(db: Db): Promise<number> {
  const list = (actions: string[]) => sql.join(actions.map((action) => sql`${action}`), sql`, `);
  const rows = rowsOf<{ id: string }>(
    await db.execute(sql`
      update audit a set target = null
      where a.target is not null and (
        (a.action in (${list(SUBMISSION_ACTIONS)}) and a.target not in (select id::text from submissions))
        or (a.action in (${list(SOURCE_ACTIONS)}) and split_part(a.target, '/', 1) not in (select handle from sources))
      )
      returning a.id`),
  );
  return rows.length;
}

export interface RetentionTimerOptions {
  db: Db;
  clock: Clock;
  days: number;
  log?: (line: string) => void;
  /** how often to purge; the first run is right at start */
  intervalMs?: number;
}

/**
 * Purge now and then every `intervalMs`. Returns `stop()`, which cancels the next run and waits for
 * a run in progress (pass it to installGracefulShutdown's `stops`, before the database closes).
 * Several server processes on one database may each run it: every step is idempotent.
 */
export function startRetentionTimer(options: RetentionTimerOptions): () => Promise<void> {
  const { db, clock, days, log = () => {}, intervalMs = RETENTION_INTERVAL_MS } = options;
  if (!Number.isInteger(days) || days < 1) {
    throw new RangeError(`expected retention days to be an integer of at least 1, got ${days}`);
  }
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const runOnce = async () => {
    try {
      const result = await purgeRetention(db, clock, days);
      if (result.submissions > 0 || result.sources > 0) {
        log(`retention: deleted ${result.submissions} submission(s) and ${result.sources} source(s)`);
      }
    } catch (error) {
      // The next run tries again; a failure must not take the server down.
      log(`retention: purge failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const tick = () => {
    if (stopped) return;
    running = runOnce().finally(() => {
      if (!stopped) {
        timer = setTimeout(tick, intervalMs);
        timer.unref();
      }
    });
  };
  tick();

  return async function stopRetentionTimer() {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
