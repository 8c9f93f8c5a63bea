/**
 * @module server/source/pow-load — the adaptive part of the proof-of-work price: bits added while
 * opens per minute, over every server process, pass a threshold (PROTOCOL.md "Pricing",
 * OPERATIONS.md "Under attack").
 *
 * Each process counts the opens it made (an open that spent a token; also each claim an open
 * displaced, at one unit, and each open refused as reservations_full, at its token's units:
 * re-opening into a full pool is how a pool is held, OPERATIONS.md "Under attack" (4)) in memory and adds them to
 * `pow_load`, one row per minute bucket, shared by every process on the database. An open counts
 * the work its token stood for in units of the unflooded price, 2^(bits paid beyond base + size), so
 * an attacker of fixed means shows the same load whatever the price already is, and the price holds
 * steady during a flood instead of see-sawing. A bucket of W units adds
 * floodBitsOf(W) = ⌊log2(W / threshold)⌋ + 1 bits once W passes the threshold, and one bit less for
 * each minute since: the price falls a bit a minute after the flood stops.
 *
 * What a seized server learns from this table: coarse counts for the last maxBits + 1 minutes,
 * and only of floods. A process writes its count for a bucket only once it reaches a quarter of the
 * threshold (a smaller count stays in memory and is dropped when its minute ends: alone it adds no
 * bit), so under ordinary load the table stays empty, and row versions (kept in the table file
 * until the forget pass's hourly rewrite) step by a quarter of the threshold at the finest, never
 * one open at a time. Buckets that can no longer add a bit are deleted at every read. With N
 * processes the threshold is met up to N quarters late.
 */
import { sql } from 'drizzle-orm';
import { MAX_POW_FLOOD_BITS } from '../config.ts';
import { rowsOf, type Db } from '../db/open.ts';

export const POW_LOAD_BUCKET_MS = 60_000;
/** How often a process reads the shared buckets (and writes its own counts). */
export const POW_LOAD_REFRESH_MS = 5_000;
/** How long a challenge waits for that read before it is priced from the last one (a frozen database). */
export const POW_LOAD_WAIT_MS = 1_000;

export interface PowLoadOptions {
  db: Db;
  /** opens per minute (in units of the unflooded price) above which bits are added */
  opensPerMinute: number;
  maxBits: number;
  refreshMs?: number;
}

export interface PowLoad {
  /** The bits a flood adds now (reads the shared buckets at most every refreshMs). */
  floodBits(now: Date): Promise<number>;
  /** One open spent a token that paid `extraBits` beyond the unflooded price. */
  noteOpen(extraBits: number, now: Date): void;
}

/** The bits a bucket of `work` units adds while it is the current one. */
export function floodBitsOf(work: number, opensPerMinute: number, maxBits: number): number {
  if (work <= opensPerMinute) return 0;
  return Math.min(maxBits, Math.floor(Math.log2(work / opensPerMinute)) + 1);
}

/** Buckets that can still add a bit: the current one and the maxBits before it. */
function oldestBucket(current: number, maxBits: number): number {
  return current - maxBits;
}

const bucketOf = (now: Date) => Math.floor(now.getTime() / POW_LOAD_BUCKET_MS);

/**
 * Deletes the buckets no configuration can still count (older than MAX_POW_FLOOD_BITS minutes):
 * the purge timer's part, so that a flood's counts go even when no request comes to read them.
 */
export async function forgetOldLoad(db: Db, now: Date): Promise<void> {
  await db.execute(sql`delete from pow_load where bucket < ${oldestBucket(bucketOf(now), MAX_POW_FLOOD_BITS)}::int`);
}

export function createPowLoad(options: PowLoadOptions): PowLoad {
  const { db, opensPerMinute, maxBits, refreshMs = POW_LOAD_REFRESH_MS } = options;
  /** this process's counts not yet in the table, by bucket */
  const unwritten = new Map<number, number>();
  /** the table's buckets as last read */
  let shared = new Map<number, number>();
  let readAt = -Infinity;
  let refreshing: Promise<void> | undefined;

  const bitsAt = (current: number): number => {
    let bits = 0;
    for (let bucket = oldestBucket(current, maxBits); bucket <= current; bucket++) {
      const work = (shared.get(bucket) ?? 0) + (unwritten.get(bucket) ?? 0);
      bits = Math.max(bits, floodBitsOf(work, opensPerMinute, maxBits) - (current - bucket));
    }
    return bits;
  };

  async function refresh(now: Date): Promise<void> {
    const current = bucketOf(now);
    const oldest = oldestBucket(current, maxBits);
    for (const [bucket, work] of [...unwritten]) {
      // below a quarter of the threshold a count is kept here, and dropped once its bucket ended:
      // alone it adds no bit, and the table stays empty while the load is ordinary
      if (work < opensPerMinute / 4) {
        if (bucket < current) unwritten.delete(bucket);
        continue;
      }
      await db.execute(sql`
        insert into pow_load (bucket, work) values (${bucket}::int, ${work}::bigint)
        on conflict (bucket) do update set work = pow_load.work + excluded.work`);
      unwritten.delete(bucket);
    }
    await db.execute(sql`delete from pow_load where bucket < ${oldest}::int`);
    const rows = rowsOf<{ bucket: number; work: number }>(
      await db.execute(sql`select bucket, work from pow_load where bucket >= ${oldest}::int`),
    );
    shared = new Map(rows.map((r) => [Number(r.bucket), Number(r.work)]));
    readAt = now.getTime();
  }

  return {
    async floodBits(now) {
      if (maxBits === 0) return 0;
      if (now.getTime() - readAt >= refreshMs || now.getTime() < readAt) {
        // a database that does not answer must not hold up (or fail) every challenge: after
        // POW_LOAD_WAIT_MS the price is the last one read, and the refresh goes on by itself
        refreshing ??= refresh(now)
          .catch(() => {})
          .finally(() => (refreshing = undefined));
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([refreshing, new Promise<void>((resolve) => (timer = setTimeout(resolve, POW_LOAD_WAIT_MS)))]);
        clearTimeout(timer);
      }
      return bitsAt(bucketOf(now));
    },
    noteOpen(extraBits, now) {
      if (maxBits === 0) return;
      const bucket = bucketOf(now);
      unwritten.set(bucket, (unwritten.get(bucket) ?? 0) + 2 ** Math.min(Math.max(0, extraBits), maxBits));
    },
  };
}
