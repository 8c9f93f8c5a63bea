/**
 * @module server/db/chunks — ciphertext chunks in and out of PostgreSQL/PGlite.
 *
 * A chunk is inserted with `ON CONFLICT DO NOTHING` and read back by `substring` in slices, in
 * statements that always settle. When `writeChunk` returns, its implicit transaction has committed
 * (synchronous_commit on), so a 200 built on it survives `kill -9` of the server and a restart of
 * PostgreSQL.
 *
 * Why not COPY into the table, as v1 did: postgres.js 3.4 never settles a COPY writable the
 * database rejects (a second identical COPY gets neither 'finish' nor 'error',
 * porsager/postgres#1173), its 'finish' fires when the bytes left for the socket, not at commit,
 * and a COPY readable can leave its connection hanging (#499): under concurrent uploads that gave
 * 500s, hung requests and acknowledged chunks that were never stored. (Slices are read with COPY
 * TO STDOUT on node-postgres, below, where it is an ordinary query that settles like any other.)
 *
 * On PostgreSQL chunk bytes go through node-postgres (`pg`), on a pool of their own (open.ts),
 * neither copied on the way in nor made text on the way out (server/db/pg-chunks.ts); postgres.js
 * sends every parameter as text (measured: with base64 through `decode` 70-100 MB/s and 95-123
 * MiB of RSS growth, against node-postgres's 90-144 MB/s and 29-36 MiB, 4 MiB inserts, 3 at a
 * time, a busy 2-core machine). On PGlite (in-process, one connection) chunks go in as base64
 * text through `decode` (40 MB/s; a bytea parameter is ~20x slower there) and come out the same
 * way.
 * Figures of the whole server: `npm run bench -- source-api`.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import type { Db } from './open.ts';
import { chunkPoolOf, rowsOf } from './open.ts';
import { ChunkInsertQuery, CopyIntAndBytesQuery } from './pg-chunks.ts';

type Executor = Pick<Db, 'execute'>;

/** Bytes read back per statement: bounds what a read holds. */
export const READ_SLICE_BYTES = 1024 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * A chunk's bytes: one buffer, or the pieces its request body came in, in order (the chunk gate
 * never joins them: server/source/chunk-gate.ts says why).
 */
export type ChunkBytes = Uint8Array | readonly Uint8Array[];
export const piecesOf = (bytes: ChunkBytes): readonly Uint8Array[] => (bytes instanceof Uint8Array ? [bytes] : bytes);
export const lengthOf = (bytes: ChunkBytes): number => piecesOf(bytes).reduce((n, piece) => n + piece.byteLength, 0);
/** The bytes in one buffer (a copy when there are several pieces). */
export function joined(bytes: ChunkBytes): Uint8Array {
  const pieces = piecesOf(bytes);
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

/**
 * Stores chunk `idx` unless it is already there. Returns 'stored', 'same' (already stored with these
 * very bytes: an idempotent retry), 'different' (already stored with other bytes) or 'gone' (the
 * upload was deleted while this waited on another insert of the same chunk). When it
 * returns, the row is committed. A concurrent insert of the same chunk waits for the other to
 * commit (the primary key) and then compares. Throws the driver's error otherwise: a foreign-key
 * violation when the upload is gone, a connection error when the database is unreachable
 * (server/db/errors.ts tells them apart).
 */
export async function writeChunk(
  db: Executor,
  submissionId: string,
  idx: number,
  bytes: ChunkBytes,
): Promise<'stored' | 'same' | 'different' | 'gone'> {
  const pool = chunkPoolOf(db);
  let inserted: number;
  if (pool) {
    // the chunk's bytes go to the socket as they are (pg-chunks.ts: node-postgres would copy them)
    const insert = new ChunkInsertQuery(
      'insert into chunks (submission_id, idx, data) values ($1::uuid, $2::int, $3::bytea) on conflict (submission_id, idx) do nothing',
      [submissionId, String(idx)],
      piecesOf(bytes),
    );
    // (pg-pool answers a promise of the result for a query object too; its types say otherwise)
    const result = await (pool.query(insert) as unknown as Promise<pg.QueryResult>);
    inserted = result.rowCount ?? 0;
  } else {
    const rows = rowsOf(
      await db.execute(sql`
        insert into chunks (submission_id, idx, data) values (${submissionId}::uuid, ${idx}::int, decode(${toBase64(joined(bytes))}, 'base64'))
        on conflict (submission_id, idx) do nothing returning idx`),
    );
    inserted = rows.length;
  }
  if (inserted === 1) return 'stored';
  // (the row can only vanish here when the whole upload was deleted meanwhile: 'gone')
  return compareStored(db, submissionId, idx, bytes);
}

/** The same bytes already stored? Compared inside the database, a digest each side. */
async function compareStored(db: Executor, submissionId: string, idx: number, bytes: ChunkBytes): Promise<'same' | 'different' | 'gone'> {
  const hash = createHash('sha256');
  for (const piece of piecesOf(bytes)) hash.update(piece);
  const digest = hash.digest('hex');
  const length = lengthOf(bytes);
  const query = sql`select encode(sha256(data), 'hex') = ${digest} and octet_length(data) = ${length}::int as same
    from chunks where submission_id = ${submissionId}::uuid and idx = ${idx}::int`;
  const pool = chunkPoolOf(db);
  const [row] = pool
    ? (
        await pool.query<{ same: boolean }>(
          `select encode(sha256(data), 'hex') = $3 and octet_length(data) = $4::int as same
           from chunks where submission_id = $1::uuid and idx = $2::int`,
          [submissionId, idx, digest, length],
        )
      ).rows
    : rowsOf<{ same: boolean }>(await db.execute(query));
  if (!row) return 'gone';
  return row.same === true ? 'same' : 'different';
}

/**
 * One slice of a chunk and the chunk's whole length; undefined when the chunk is not there.
 * On PostgreSQL through the chunk pool as raw bytes (binary COPY: server/db/pg-chunks.ts says
 * why; postgres.js joins a large row's socket pieces by repeated concatenation, garbage growing
 * with the square of the row's size). On PGlite base64 text through `encode`.
 */
async function readSlice(
  db: Executor,
  submissionId: string,
  idx: number,
  from: number,
): Promise<{ length: number; bytes: Buffer } | undefined> {
  const pool = chunkPoolOf(db);
  if (pool) {
    // COPY takes no parameters: the values go into its text, so they are checked first
    if (!UUID.test(submissionId) || !Number.isSafeInteger(idx) || idx < 0 || !Number.isSafeInteger(from) || from < 0) {
      throw new TypeError('readSlice: expected a lower-case uuid and whole numbers');
    }
    const copy = new CopyIntAndBytesQuery(
      `copy (select octet_length(data), substring(data from ${from + 1} for ${READ_SLICE_BYTES})
        from chunks where submission_id = '${submissionId}' and idx = ${idx}) to stdout with (format binary)`,
      READ_SLICE_BYTES + 64,
    );
    // (pg-pool answers a promise for a query object too; its types say otherwise)
    await (pool.query(copy) as unknown as Promise<unknown>);
    const [row] = copy.copiedRows();
    return row && { length: row.int, bytes: row.bytes };
  }
  const [row] = rowsOf<{ length: number; b64: string }>(
    await db.execute(sql`
      select octet_length(data) as length, encode(substring(data from ${from + 1}::int for ${READ_SLICE_BYTES}::int), 'base64') as b64
      from chunks where submission_id = ${submissionId}::uuid and idx = ${idx}::int`),
  );
  return row ? { length: Number(row.length), bytes: Buffer.from(row.b64, 'base64') } : undefined;
}

/** Chunk `idx` in slices of at most READ_SLICE_BYTES; resolves false when the chunk is not stored. */
export async function* readChunkSlices(db: Executor, submissionId: string, idx: number): AsyncGenerator<Uint8Array, boolean> {
  let from = 0;
  for (;;) {
    const slice = await readSlice(db, submissionId, idx, from);
    if (!slice) {
      if (from === 0) return false;
      throw new Error(`chunk ${idx} vanished while it was read`);
    }
    if (slice.bytes.length > 0) yield slice.bytes;
    from += slice.bytes.length;
    if (from >= slice.length || slice.bytes.length === 0) return true;
  }
}

/** The whole chunk, or undefined when it is not stored. */
export async function readChunk(db: Executor, submissionId: string, idx: number): Promise<Uint8Array | undefined> {
  const parts: Uint8Array[] = [];
  const slices = readChunkSlices(db, submissionId, idx);
  for (;;) {
    const next = await slices.next();
    if (next.done) return next.value ? (parts.length === 1 ? parts[0]! : Buffer.concat(parts)) : undefined;
    parts.push(next.value);
  }
}

/** Chunks 0..count-1 one at a time, in order; throws if one is missing. Never holds two at once. */
export async function* readChunks(db: Executor, submissionId: string, count: number): AsyncGenerator<Uint8Array> {
  for (let idx = 0; idx < count; idx++) {
    const bytes = await readChunk(db, submissionId, idx);
    if (!bytes) throw new Error(`chunk ${idx} of ${count} is missing`);
    yield bytes;
  }
}

/**
 * The whole ciphertext of a submission, in order, in slices of at most READ_SLICE_BYTES (never a
 * whole chunk held). Throws if a chunk is missing.
 */
export async function* streamCiphertext(db: Executor, submissionId: string, count: number): AsyncGenerator<Uint8Array> {
  if (!UUID.test(submissionId)) throw new TypeError('expected a lower-case uuid');
  // PGlite answers in-process without I/O, so a loop of its queries runs on microtasks alone and
  // would keep every other request waiting until the whole upload was read (seen: a status
  // request held for the 0.9 s of a 32 MiB check); let the event loop in between slices
  const yieldToEventLoop = chunkPoolOf(db) ? undefined : () => new Promise<void>((resolve) => setImmediate(resolve));
  for (let idx = 0; idx < count; idx++) {
    const slices = readChunkSlices(db, submissionId, idx);
    for (;;) {
      await yieldToEventLoop?.();
      const next = await slices.next();
      if (next.done) {
        if (!next.value) throw new Error(`chunk ${idx} of ${count} is missing`);
        break;
      }
      yield next.value;
    }
  }
}

/** Indexes of the chunks stored for a submission, ascending (read after any write that returned). */
export async function receivedChunks(db: Executor, submissionId: string): Promise<number[]> {
  const rows = rowsOf<{ idx: number }>(await db.execute(sql`select idx from chunks where submission_id = ${submissionId}::uuid order by idx`));
  return rows.map((r) => Number(r.idx));
}
