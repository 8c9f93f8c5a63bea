/**
 * @module server/source/open-limits — what an open may reserve: bytes per source per day, bytes
 * held over all sources, and the room left in the database and on its disk (OPERATIONS.md "Under
 * attack"). Refusals touch nothing already stored: a full server stops taking new uploads and keeps
 * every received tip, and uploads already open go on.
 *
 * The quotas are decided with the upload's creation: one transaction under one advisory lock, so
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
/** pg_advisory_xact_lock key of the open's decision (the migrations use 0x5ea1d209) */
const OPEN_LOCK_KEY = 0x5ea1d20a;

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
  const [outcome] = await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${OPEN_LOCK_KEY})`);
    return rowsOf<{ known: number; created: number; source_day: number; total: number }>(
      await tx.execute(sql`
        with known as (select id from sources where lookup_hash = ${r.lookupHash}),
        usage as (
          select
            (select coalesce(sum(size), 0) from submissions
              where created_day = ${r.day}::date and ${
                r.returning
                  ? sql`source_id = (select id from known)`
                  : sql`status = 'uploading' and source_id is null and pending_lookup_hash = ${r.lookupHash}`
              })::bigint as source_day,
            (select coalesce(sum(size), 0) from submissions where status in ('uploading', 'received'))::bigint as total),
        spent as (
          insert into spent_pow (id_hash, expires_day)
          select ${r.pow.idHash}, ${r.pow.expiresDay}::date
          where exists (select 1 from known) = ${r.returning}::boolean
            and (select source_day from usage) + ${r.size}::bigint <= ${limits.quotaSourcePerDay}::bigint
            and (select total from usage) + ${r.size}::bigint <= ${limits.quotaTotal}::bigint
          on conflict (id_hash) do nothing returning 1),
        made as (
          insert into submissions (id, source_id, status, size, chunk_size, chunks, sha256,
            pending_lookup_hash, pending_public_key, pending_locked_private_key, created_day)
          select ${r.id}::uuid, (select id from known), 'uploading', ${r.size}::bigint, ${r.chunkSize}::int,
            ${r.chunks}::int, ${r.sha256}, ${r.returning ? null : r.lookupHash}::text,
            ${r.sourceKeys?.publicKey ?? null}::text, ${r.sourceKeys?.lockedPrivateKey ?? null}::text,
            ${r.day}::date
          from spent
          returning id)
        select (select count(*) from known)::int as known, (select count(*) from made)::int as created,
          (select source_day from usage) as source_day, (select total from usage) as total`),
    );
  });
  if (Number(outcome?.created) === 1) return 'created';
  const known = Number(outcome?.known) > 0;
  if (r.returning && !known) return 'unknown_codename';
  if (!r.returning && known) return 'codename_taken';
  if (Number(outcome?.source_day) + r.size > limits.quotaSourcePerDay) return 'source_quota';
  if (Number(outcome?.total) + r.size > limits.quotaTotal) return 'quota_full';
  return 'pow_spent';
}
