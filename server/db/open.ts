/** @module server/db/open — open PGlite or PostgreSQL and apply the migrations. */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import pg from 'pg';
import postgres from 'postgres';
import * as schema from './schema.ts';

/** The one database type all server code uses, whichever driver is behind it. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

// Chunk bytes on PostgreSQL go through node-postgres (`pg`), on a small pool of their own
// (server/db/chunks.ts says why: binary parameters and results, measured). postgres.js serves
// everything else.
const CHUNK_CONNECTIONS = 3;
const chunkPools = new WeakMap<object, pg.Pool>();
const CONNECT_TIMEOUT_S = 5;
// a statement on the chunk pool that runs this long is cancelled by the server (57014: a 503)
const CHUNK_STATEMENT_TIMEOUT_MS = 60_000;

/** The node-postgres pool for chunk bytes, on PostgreSQL; undefined on PGlite. */
export function chunkPoolOf(db: object): pg.Pool | undefined {
  return chunkPools.get(db);
}

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** a postgres:// URL: use PostgreSQL through postgres.js */
  url?: string;
  /** else PGlite in this folder ('memory://' for a throw-away database in memory) */
  dataDir?: string;
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

// Any number in int8 range; the same across processes so that two servers starting at once on one
// PostgreSQL don't both run the migrations.
const MIGRATION_LOCK_KEY = 0x5ea1d209;

export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if (options.url) return openPostgres(options.url);
  return openPglite(options.dataDir ?? './data');
}

async function openPglite(dataDir: string): Promise<Database> {
  const memory = dataDir === 'memory://';
  const unlock = memory ? () => {} : lockDataDir(dataDir);
  const client = memory ? new PGlite() : new PGlite(dataDir, { startParams: PGLITE_START_PARAMS });
  try {
    await client.waitReady;
    const db = drizzlePglite({ client, schema });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    const close = async () => {
      try {
        await client.close();
      } finally {
        unlock();
      }
    };
    return { db: db as unknown as Db, kind: 'pglite', close };
  } catch (error) {
    await client.close().catch(() => {});
    unlock();
    throw new DatabaseOpenError(`could not open the embedded database in ${dataDir}: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/**
 * PGlite's own start parameters, then ours: WAL segments are removed, not recycled, and little is
 * kept (server/db/forget.ts then leaves at most its interval of WAL, as on PostgreSQL). PGlite's
 * defaults include `-F` (no fsync): a write survives `kill -9` of the process (it is in the
 * operating system's cache) but not a power cut. The trial mode is for trials.
 */
const PGLITE_START_PARAMS = [
  ...(PGlite as unknown as { defaultStartParams: string[] }).defaultStartParams,
  '-c',
  'wal_recycle=off',
  '-c',
  'min_wal_size=32MB',
  '-c',
  'max_wal_size=64MB',
];

export const PGLITE_LOCK_FILE = 'sealdrop.lock';
const heldHere = new Set<string>();

/**
 * PGlite serves one process: two on one folder don't see each other's writes and can damage it.
 * A lock file made with O_EXCL holds the folder; one left by a process that is gone is taken over.
 * Returns the function that releases it.
 */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = resolve(dataDir, PGLITE_LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldHere.add(path);
      return () => {
        heldHere.delete(path);
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new DatabaseOpenError(
        `the embedded database in ${dataDir} is in use by process ${holder}; stop it first (PGlite serves one process)`,
      );
    }
    if (heldHere.has(path)) {
      throw new DatabaseOpenError(`the embedded database in ${dataDir} is already open in this process`);
    }
    // left by a process that is gone (or by an earlier life of a container's pid 1)
    unlinkSync(path);
  }
  throw new DatabaseOpenError(`could not lock the embedded database in ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * postgres.js's settings for every connection it makes here.
 * - fetch_types: false — with it, each new connection first asks for the array types, in a
 *   promise of its own that nobody awaits: when the database ended that connection at that moment
 *   (a restart, `pg_terminate_backend`), the rejection was unhandled and ended the process (the
 *   issue-8 attacker, a storm of pg_terminate_backend). No query here uses an array type.
 * - backoff: a reconnect waits at most 1 s (postgres.js's default grows to 20 s), so the server
 *   is back within a second of the database.
 * - connect_timeout: while PostgreSQL is down or restarting, a request gets its 503 in seconds
 *   (server/db/errors.ts), not after postgres.js's default 30 s.
 * - onnotice: the migrator's "already exists, skipping" notices are not news.
 */
export const POSTGRES_JS_OPTIONS = {
  fetch_types: false,
  backoff: (attempt: number) => Math.min(0.25 * attempt, 1),
  connect_timeout: CONNECT_TIMEOUT_S,
  onnotice: () => {},
} as const;

async function openPostgres(url: string): Promise<Database> {
  const sql = postgres(url, { ...POSTGRES_JS_OPTIONS, max: 10, connection: { application_name: 'sealdrop' } });
  const chunkPool = new pg.Pool({
    connectionString: url,
    max: CHUNK_CONNECTIONS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_S * 1000,
    statement_timeout: CHUNK_STATEMENT_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'sealdrop-chunks',
  });
  // An idle connection the database drops (a restart, an administrator) is reported here; without
  // a listener node-postgres's 'error' event would end the process. The pool replaces it; the
  // queries it held were already failed to their callers (a 503).
  chunkPool.on('error', () => {});
  const endChunkPool = () => chunkPool.end().catch(() => {});
  try {
    await migrateLocked(url);
    const db = drizzlePostgres({ client: sql, schema });
    chunkPools.set(db, chunkPool);
    const close = async () => {
      await Promise.all([sql.end({ timeout: 5 }), endChunkPool()]);
    };
    return { db: db as unknown as Db, kind: 'postgres', close };
  } catch (error) {
    await Promise.all([sql.end({ timeout: 1 }), endChunkPool()]).catch(() => {});
    throw new DatabaseOpenError(`could not open PostgreSQL at ${redactUrl(url)}: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** Migrations on one dedicated connection holding an advisory lock, so concurrent starts take turns. */
async function migrateLocked(url: string): Promise<void> {
  const single = postgres(url, { ...POSTGRES_JS_OPTIONS, max: 1 });
  try {
    await single`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(drizzlePostgres({ client: single }), { migrationsFolder: MIGRATIONS_FOLDER });
    await single`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
  } finally {
    // ending the session releases the lock even when the migration failed
    await single.end({ timeout: 5 });
  }
}

/** The URL without its password, for error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The rows of `db.execute(...)`: postgres.js answers an array, PGlite an object with `rows`.
 * Use this instead of reading either shape directly.
 */
export function rowsOf<T = Record<string, unknown>>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  const rows = (result as { rows?: unknown }).rows;
  if (Array.isArray(rows)) return rows as T[];
  throw new TypeError('expected a query result with rows');
}
