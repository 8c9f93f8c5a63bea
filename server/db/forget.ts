/**
 * @module server/db/forget — keep what a seized, running server tells about time and deleted
 * rows within a bound (docs/OPERATIONS.md, "What a seized server reveals").
 *
 * Measured here (test/ops/seized.test.ts): PostgreSQL's WAL keeps a commit record with a
 * microsecond time for every transaction, tied to the tables it touched, until its segment is
 * removed, and removal waits for a checkpoint past a segment switch: with built-in settings and
 * an idle server that is never. A deleted or updated row's bytes (a source's lookup hash and
 * locked key, a reply, a pending key) stay in the table file until the page is reused.
 * So, on a timer:
 * - every FORGET_WAL_INTERVAL_MS: `pg_switch_wal()` then `CHECKPOINT`, which (with
 *   `wal_recycle = off`, deploy/db/postgresql.conf) unlinks every segment but the current one:
 *   WAL holds at most that interval of history;
 * - every REWRITE_INTERVAL_MS: the small tables rewritten (CLUSTER: a new file without dead rows,
 *   the old one unlinked; every row with one transaction id, in a random order), and `chunks`
 *   by VACUUM FULL when chunks were deleted since its last rewrite
 *   (the `chunks_deleted` flag, raised by a trigger), at most every CHUNKS_REWRITE_INTERVAL_MS
 *   (it rewrites every stored chunk and locks the table meanwhile); then the WAL again;
 * - on PGlite (trial mode, one process) the same statements, and the data folder's file times
 *   set to now (a file's modification time would tell when its table was last written; in the
 *   Compose stack the db container does this, deploy/db/entrypoint.sh).
 * `CHECKPOINT` and `pg_switch_wal()` need a superuser or the grants in OPERATIONS.md; without them
 * the failure is logged once and the PostgreSQL settings alone bound the WAL (checkpoint_timeout,
 * archive_timeout).
 */
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from './open.ts';

export const FORGET_WAL_INTERVAL_MS = 5 * 60 * 1000;
export const REWRITE_INTERVAL_MS = 60 * 60 * 1000;
export const CHUNKS_REWRITE_INTERVAL_MS = 24 * 60 * 60 * 1000;

/**
 * The end of a `set` clause: the row's place among its day's numbered rows, by (day_seq, id), one
 * window pass joined back on id (every row is in it, so every row is still written); null stays null.
 */
function renumbered(table: string, day: string): string {
  return `case when ${table}.day_seq is null then null else r.n end
    from (select id, row_number() over (partition by ${day}, day_seq is null order by day_seq, id) as n from ${table}) r
    where r.id = ${table}.id`;
}

/**
 * Every table but chunks: small, rewritten every time (updates leave dead rows too). Each is first
 * updated whole in one statement, so that every row carries the same transaction id (row headers
 * keep the id that wrote them, which orders rows within a day, and VACUUM FULL keeps them), then
 * rewritten by CLUSTER in the order of a random key (a uuid, a hash), not of arrival. `touch`
 * rewrites each row without changing it (for replies, a new TOAST value too, whose rows carry the
 * new id as well).
 */
export const SMALL_TABLES = [
  { table: 'sources', touch: 'lookup_hash = lookup_hash', order: 'sources_pkey' },
  // the touch of these two also renumbers each day's day_seq 1..n in its order: a deleted row
  // leaves no gap that would tell a tip or a reply was there (migration 0007)
  { table: 'submissions', touch: `day_seq = ${renumbered('submissions', 'received_day')}`, order: 'submissions_pkey' },
  { table: 'replies', touch: `message = message || ''::bytea, day_seq = ${renumbered('replies', 'created_day')}`, order: 'replies_pkey' },
  { table: 'spent_pow', touch: 'expires_day = expires_day', order: 'spent_pow_pkey' },
  { table: 'pow_load', touch: 'work = work', order: 'pow_load_pkey' },
  { table: 'upload_progress', touch: 'tick = tick', order: 'upload_progress_pkey' },
  { table: 'swept_unsent', touch: 'day = day', order: 'swept_unsent_pkey' },
  { table: 'editor_tokens', touch: 'name = name', order: 'editor_tokens_pkey' },
  { table: 'audit', touch: 'day = day', order: 'audit_pkey' },
  { table: 'housekeeping', touch: 'flag = flag', order: 'housekeeping_pkey' },
  { table: 'instance', touch: 'id = id', order: 'instance_pkey' },
] as const;

/** Ends the current WAL segment and checkpoints, so that every older segment is removed. */
export async function forgetWal(db: Db): Promise<void> {
  await db.execute(sql`select pg_switch_wal()`);
  await db.execute(sql`checkpoint`);
}

/** Rewrites the small tables, and chunks too when asked and chunks were deleted since. */
export async function rewriteTables(db: Db, { chunks }: { chunks: boolean }): Promise<{ chunks: boolean }> {
  for (const { table, touch, order } of SMALL_TABLES) {
    await db.execute(sql.raw(`update ${table} set ${touch}`));
    await db.execute(sql.raw(`cluster ${table} using ${order}`));
    await db.execute(sql.raw(`analyze ${table}`));
  }
  let rewroteChunks = false;
  if (chunks) {
    const [raised] = rowsOf<{ n: number }>(
      await db.execute(sql`select count(*)::int as n from housekeeping where flag = 'chunks_deleted'`),
    );
    if (Number(raised?.n) > 0) {
      // lower the flag first: a deletion during the rewrite raises it again for the next one
      await db.execute(sql`delete from housekeeping where flag = 'chunks_deleted'`);
      await db.execute(sql`vacuum (full, analyze) chunks`);
      rewroteChunks = true;
    } else {
      // no dead chunk rows to remove; keep the statistics fresh without the rewrite
      await db.execute(sql`vacuum (analyze) chunks`);
    }
  }
  return { chunks: rewroteChunks };
}

/** Sets every file's access and modification time under `dir` to now (PGlite's data folder). */
export async function touchTree(dir: string, now = new Date()): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await touchTree(path, now);
    if (entry.isFile() || entry.isDirectory()) await utimes(path, now, now).catch(() => {});
  }
}

export interface ForgetTimerOptions {
  db: Db;
  /** PGlite's data folder, whose file times are reset with each WAL pass (and at start) */
  dataDir?: string;
  log?: (line: string) => void;
  walIntervalMs?: number;
  rewriteIntervalMs?: number;
  chunksRewriteIntervalMs?: number;
}

/**
 * Runs the passes on their intervals, the first after a random half to whole WAL interval (so
 * processes started together, or a process restarted in a loop, do not all checkpoint at once);
 * returns `stop()`, which cancels the next run and waits for one in progress. Several processes
 * on one database may each run them: they are idempotent, and a second rewrite waits for the first.
 */
export function startForgetTimer(options: ForgetTimerOptions): () => Promise<void> {
  const {
    db,
    dataDir,
    log = () => {},
    walIntervalMs = FORGET_WAL_INTERVAL_MS,
    rewriteIntervalMs = REWRITE_INTERVAL_MS,
    chunksRewriteIntervalMs = CHUNKS_REWRITE_INTERVAL_MS,
  } = options;
  let stopped = false;
  let running: Promise<void> = dataDir ? touchTree(dataDir).catch(() => {}) : Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let lastRewrite = -Infinity;
  let lastChunksRewrite = -Infinity;
  const reported = new Set<string>();
  const report = (what: string, error: unknown) => {
    // once per kind of failure: a missing privilege would otherwise log every few minutes
    const key = `${what}:${(error as { code?: string }).code ?? (error instanceof Error ? error.name : 'error')}`;
    if (reported.has(key)) return;
    reported.add(key);
    log(`forget: ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
  };

  const runOnce = async () => {
    const now = Date.now();
    if (now - lastRewrite >= rewriteIntervalMs) {
      const chunks = now - lastChunksRewrite >= chunksRewriteIntervalMs;
      try {
        const done = await rewriteTables(db, { chunks });
        lastRewrite = now;
        if (done.chunks) lastChunksRewrite = now;
      } catch (error) {
        report('rewriting tables', error);
      }
    }
    try {
      await forgetWal(db);
    } catch (error) {
      report('removing old WAL', error);
    }
    if (dataDir) await touchTree(dataDir).catch((error: unknown) => report('resetting file times', error));
  };
  const tick = () => {
    if (stopped) return;
    running = runOnce().finally(() => {
      if (!stopped) {
        timer = setTimeout(tick, walIntervalMs);
        timer.unref();
      }
    });
  };
  timer = setTimeout(tick, Math.round(walIntervalMs * (0.5 + Math.random() / 2)));
  timer.unref();
  return async function stopForgetTimer() {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
