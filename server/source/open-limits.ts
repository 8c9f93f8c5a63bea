/**
 * @module server/source/open-limits — what an open may reserve: bytes per source per day, bytes
 * held over all sources, and the room left in the database and on its disk (OPERATIONS.md "Under
 * attack"). Refusals touch nothing already stored: a full server stops taking new uploads and keeps
 * every received tip, and uploads already open go on.
 *
 * The quotas are decided with the upload's creation: one statement, a function that takes one
 * advisory lock (0x5ea1d20a; the migrations use 0x5ea1d209) and then reads with fresh snapshots, so
 * opens (on every process) are decided one at a time and two at once cannot both fit in the room
 * left for one. The storage figures are read at most every STORAGE_REFRESH_MS per process (a
 * directory walk in PostgreSQL, a statfs here), before the dearer steps of an open.
 */
import { statfs } from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/open.ts';
import { refuse } from './errors.ts';

export interface OpenLimits {
  quotaSourcePerDay: number;
  quotaTotal: number;
  /** unset: no limit on the database's size */
  storageMaxDatabase?: number | undefined;
  storageFreeFloor: number;
  /** unset: the free space is not watched */
  storagePath?: string | undefined;
}

/** server/config.ts's defaults, without a watched folder (tests and the bench). */
export const DEFAULT_OPEN_LIMITS: OpenLimits = {
  quotaSourcePerDay: 4 * 1024 ** 3,
  quotaTotal: 64 * 1024 ** 3,
  storageMaxDatabase: undefined,
  storageFreeFloor: 4 * 1024 ** 3,
  storagePath: undefined,
};

export const STORAGE_REFRESH_MS = 15_000;

export const STORAGE_FULL_MESSAGE = 'The server cannot take new uploads now: its storage is nearly full. Received tips are kept.';

export interface StorageWatch {
  /** Refuses (507 storage_full) an open of `size` bytes that the database or its disk has no room for. */
  check(size: number, now: Date): Promise<void>;
  /** an open of `size` bytes was made here since the last reading */
  noteOpened(size: number): void;
}

const freeBytesOf = async (path: string): Promise<number> => {
  const s = await statfs(path);
  return s.bavail * s.bsize;
};

export function createStorageWatch(options: {
  db: Db;
  limits: OpenLimits;
  refreshMs?: number;
  /** the free bytes of the file system holding `path` (tests replace it) */
  freeBytes?: (path: string) => Promise<number>;
}): StorageWatch {
  const { db, limits, refreshMs = STORAGE_REFRESH_MS, freeBytes = freeBytesOf } = options;
  const watchesDatabase = limits.storageMaxDatabase !== undefined;
  let reading: { at: number; database: number; reserved: number; free: number | undefined } | undefined;
  let openedSince = 0;
  let refreshing: Promise<void> | undefined;

  async function refresh(now: Date): Promise<void> {
    const [row] = rowsOf<{ database: number; reserved: number }>(
      await db.execute(sql`
        select ${watchesDatabase ? sql`pg_database_size(current_database())` : sql`0`}::bigint as database,
          (select coalesce(sum(size), 0) from submissions where status = 'uploading')::bigint as reserved`),
    );
    const free = limits.storagePath ? await freeBytes(limits.storagePath) : undefined;
    reading = { at: now.getTime(), database: Number(row?.database), reserved: Number(row?.reserved), free };
    openedSince = 0;
  }

  return {
    async check(size, now) {
      if (!watchesDatabase && !limits.storagePath) return;
      if (!reading || now.getTime() - reading.at >= refreshMs || now.getTime() < reading.at) {
        refreshing ??= refresh(now).finally(() => (refreshing = undefined));
        await refreshing;
      }
      // every upload in progress is counted in full: its missing chunks may still come
      const ahead = reading!.reserved + openedSince + size;
      if (limits.storageMaxDatabase !== undefined && reading!.database + ahead > limits.storageMaxDatabase) {
        refuse(507, 'storage_full', STORAGE_FULL_MESSAGE);
      }
      if (reading!.free !== undefined && reading!.free - ahead < limits.storageFreeFloor) {
        refuse(507, 'storage_full', STORAGE_FULL_MESSAGE);
      }
    },
    noteOpened(size) {
      openedSince += size;
    },
  };
}

export interface Reservation {
  id: string;
  lookupHash: string;
  returning: boolean;
  pow: { idHash: string; expiresDay: string };
  size: number;
  chunkSize: number;
  chunks: number;
  sha256: string;
  sourceKeys?: { publicKey: string; lockedPrivateKey: string } | undefined;
  day: string;
}

export type ReservationOutcome = 'created' | 'unknown_codename' | 'codename_taken' | 'pow_spent' | 'source_quota' | 'quota_full';

/**
 * One decision, all or nothing: the codename is checked (known for a returning source, unknown for
 * a new one), the quotas, the token spent, and the upload made. A refused open spends no token.
 * The source's bytes of the day count every upload it opened that day (in progress, received or
 * downloaded; a new source's, by its pending lookup hash, its uploads in progress); the total counts
 * uploads in progress and tips not yet downloaded. Both are sums over indexed rows, under the lock:
 * the adaptive price keeps the opens that reach here to about the flood threshold a minute.
 */
export async function reserveUpload(db: Db, limits: OpenLimits, r: Reservation): Promise<ReservationOutcome> {
  // one statement (no transaction held by the client: a connection lost mid-way leaves nothing
  // waiting), the function of migrations/0004_pricing.sql
  const [outcome] = rowsOf<{ known: number; created: number; source_day: number; total: number }>(
    await db.execute(sql`
      select o_known as known, o_created as created, o_source_day as source_day, o_total as total
      from sealdrop_reserve_upload(${r.id}::uuid, ${r.lookupHash}::text, ${r.returning}::boolean, ${r.pow.idHash}::text,
        ${r.pow.expiresDay}::date, ${r.size}::bigint, ${r.chunkSize}::int, ${r.chunks}::int, ${r.sha256}::text,
        ${r.sourceKeys?.publicKey ?? null}::text, ${r.sourceKeys?.lockedPrivateKey ?? null}::text, ${r.day}::date,
        ${limits.quotaSourcePerDay}::bigint, ${limits.quotaTotal}::bigint)`),
  );
  if (Number(outcome?.created) === 1) return 'created';
  const known = Number(outcome?.known) > 0;
  if (r.returning && !known) return 'unknown_codename';
  if (!r.returning && known) return 'codename_taken';
  if (Number(outcome?.source_day) + r.size > limits.quotaSourcePerDay) return 'source_quota';
  if (Number(outcome?.total) + r.size > limits.quotaTotal) return 'quota_full';
  return 'pow_spent';
}
