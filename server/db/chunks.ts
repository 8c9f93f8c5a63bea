/**
 * @module server/db/chunks — ciphertext chunks in and out of PostgreSQL/PGlite.
 *
 * Measured here with 4 MiB chunks (scratch benchmarks, 2 shared and busy cores):
 * - PGlite writes 40 MB/s as base64 text through `decode` (hex 25, a Buffer parameter ~2) and reads
 *   230 MB/s through `encode(data, 'base64')` (a bytea column read as Uint8Array: 11 MB/s).
 * - postgres.js: base64 through `decode` 51-144 MB/s but each chunk becomes a 5.6 MB string plus a
 *   5.6 MB query buffer, and a 1 GiB upload grew the RSS by ~50 MiB before the GC caught up;
 *   binary `COPY ... FROM STDIN` through `.writable()` ran at 35-41 MB/s with no RSS growth: it
 *   sends the chunk's own bytes. Writes use COPY on PostgreSQL. Reads use `encode(.., 'base64')`
 *   (223 MB/s; plain bytea 175); `COPY ... TO STDOUT` would be faster still, but postgres.js can
 *   leave the connection hanging after a COPY readable (porsager/postgres#499, fix PR #1016 open),
 *   and we measured that hang here.
 * Everyone reading chunk bytes (the editor API too) should use `readChunk`/`readChunks`.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Sql } from 'postgres';
import type { Db } from './open.ts';
import postgres from 'postgres';
import { chunkClientOf, postgresUrlOf, rowsOf } from './open.ts';

type Executor = Pick<Db, 'execute'>;

/**
 * Stores chunk `idx` unless it is already there. Returns 'stored', 'same' (already stored with these
 * very bytes: an idempotent retry) or 'different' (already stored with other bytes).
 */
export async function writeChunk(
  db: Executor,
  submissionId: string,
  idx: number,
  bytes: Uint8Array,
): Promise<'stored' | 'same' | 'different'> {
  const client = chunkClientOf(db);
  if (client) return writeChunkByCopy(db, client, submissionId, idx, bytes);
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const inserted = rowsOf(
    await db.execute(sql`
      insert into chunks (submission_id, idx, data) values (${submissionId}, ${idx}, decode(${b64}, 'base64'))
      on conflict (submission_id, idx) do nothing returning idx`),
  );
  if (inserted.length === 1) return 'stored';
  // (the row can only vanish here when the whole upload was deleted meanwhile: 'different')
  return compareStored(db, submissionId, idx, bytes);
}

/** The same bytes already stored? Compared inside the database, a digest each side. */
async function compareStored(db: Executor, submissionId: string, idx: number, bytes: Uint8Array): Promise<'same' | 'different'> {
  const digest = createHash('sha256').update(bytes).digest('hex');
  const [row] = rowsOf<{ same: boolean }>(
    await db.execute(sql`
      select encode(sha256(data), 'hex') = ${digest} and octet_length(data) = ${bytes.length} as same
      from chunks where submission_id = ${submissionId} and idx = ${idx}`),
  );
  return row?.same ? 'same' : 'different';
}

// PGCOPY binary format (PostgreSQL docs, "COPY", Binary Format): signature, flags, extension
// length; per tuple a field count and each field as length + bytes; -1 ends the data.
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** The COPY stream before the chunk's bytes (signature, header, tuple up to the bytea length). */
function copyHead(submissionId: string, idx: number, length: number): Buffer {
  const head = Buffer.alloc(COPY_SIGNATURE.length + 8 + 2 + 4 + 16 + 4 + 4 + 4);
  let o = COPY_SIGNATURE.copy(head, 0);
  o = head.writeInt32BE(0, o); // flags
  o = head.writeInt32BE(0, o); // header extension length
  o = head.writeInt16BE(3, o); // fields
  o = head.writeInt32BE(16, o); // uuid
  o += Buffer.from(submissionId.replaceAll('-', ''), 'hex').copy(head, o);
  o = head.writeInt32BE(4, o); // int4
  o = head.writeInt32BE(idx, o);
  head.writeInt32BE(length, o); // bytea
  return head;
}

const COPY_TRAILER = Buffer.from([0xff, 0xff]);

async function writeChunkByCopy(
  db: Executor,
  client: Sql,
  submissionId: string,
  idx: number,
  bytes: Uint8Array,
): Promise<'stored' | 'same' | 'different'> {
  // COPY has no ON CONFLICT: look first, and treat a unique violation (a concurrent retry of the
  // same chunk) like finding it there
  const [exists] = await client`select 1 from chunks where submission_id = ${submissionId} and idx = ${idx}`;
  if (exists) return compareStored(db, submissionId, idx, bytes);
  try {
    const writable = await client`copy chunks (submission_id, idx, data) from stdin with (format binary)`.writable();
    await new Promise<void>((resolve, reject) => {
      writable.once('error', reject);
      writable.once('finish', resolve);
      // three writes, so the chunk's bytes are not copied once more into one buffer
      writable.write(copyHead(submissionId, idx, bytes.length));
      writable.write(bytes);
      writable.end(COPY_TRAILER);
    });
    return 'stored';
  } catch (error) {
    if ((error as { code?: string }).code === '23505') return compareStored(db, submissionId, idx, bytes);
    throw error;
  }
}

export async function readChunk(db: Executor, submissionId: string, idx: number): Promise<Uint8Array | undefined> {
  const client = chunkClientOf(db);
  if (client) {
    const [row] = await client<{ b64: string }[]>`
      select encode(data, 'base64') as b64 from chunks where submission_id = ${submissionId} and idx = ${idx}`;
    return row ? Buffer.from(row.b64, 'base64') : undefined;
  }
  const [row] = rowsOf<{ b64: string }>(
    await db.execute(sql`
      select encode(data, 'base64') as b64 from chunks where submission_id = ${submissionId} and idx = ${idx}`),
  );
  return row ? Buffer.from(row.b64, 'base64') : undefined;
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
 * The whole ciphertext of a submission, in order, as pieces of any size, never holding a whole
 * chunk. On PostgreSQL: binary `COPY ... TO STDOUT` on a connection of its own that is closed
 * afterwards (postgres.js can leave a connection hanging after a COPY readable, see above, so it
 * never goes back to a pool): ~240 MB/s and ~3 MiB of memory, where base64 reads of 4 MiB chunks
 * grew the heap by ~90 MiB over 1 GiB. Elsewhere: `readChunks`. Throws if a chunk is missing.
 */
export async function* streamCiphertext(db: Executor, submissionId: string, count: number): AsyncGenerator<Uint8Array> {
  const url = postgresUrlOf(db);
  if (!url) {
    yield* readChunks(db, submissionId, count);
    return;
  }
  // COPY takes no parameters: the id goes in as a literal, so it must be exactly a uuid
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(submissionId)) {
    throw new TypeError('expected a lower-case uuid');
  }
  const one = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'sealdrop-read' } });
  try {
    const readable = await one.unsafe(
      `copy (select idx, data from chunks where submission_id = '${submissionId}' order by idx) to stdout with (format binary)`,
    ).readable();
    yield* parseCopyRows(readable as AsyncIterable<Uint8Array>, count);
  } finally {
    await one.end({ timeout: 0 });
  }
}

/**
 * Walks a PGCOPY binary stream of (idx int4, data bytea) rows, yielding the data's pieces as they
 * come and checking that the rows are 0..count-1.
 */
async function* parseCopyRows(input: AsyncIterable<Uint8Array>, count: number): AsyncGenerator<Uint8Array> {
  let pending = Buffer.alloc(0);
  let state: 'header' | 'row' | 'data' | 'end' = 'header';
  let dataLeft = 0;
  let expectIdx = 0;
  const fail = (what: string): never => {
    throw new Error(`reading chunks: ${what}`);
  };
  for await (const piece of input) {
    let buf: Buffer = pending.length ? Buffer.concat([pending, piece]) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    pending = Buffer.alloc(0);
    let o = 0;
    for (;;) {
      if (state === 'data') {
        const take = Math.min(dataLeft, buf.length - o);
        if (take > 0) yield buf.subarray(o, o + take);
        o += take;
        dataLeft -= take;
        if (dataLeft > 0) break;
        state = 'row';
        continue;
      }
      if (state === 'header') {
        if (buf.length - o < 19) break;
        if (!buf.subarray(o, o + 11).equals(COPY_SIGNATURE)) fail('not a PGCOPY stream');
        const extension = buf.readInt32BE(o + 15);
        if (buf.length - o < 19 + extension) break;
        o += 19 + extension;
        state = 'row';
        continue;
      }
      if (state === 'row') {
        if (buf.length - o < 2) break;
        const fields = buf.readInt16BE(o);
        if (fields === -1) {
          o += 2;
          state = 'end';
          continue;
        }
        // fields(2) idx-length(4) idx(4) data-length(4)
        if (buf.length - o < 14) break;
        if (fields !== 2 || buf.readInt32BE(o + 2) !== 4) fail('unexpected row shape');
        const idx = buf.readInt32BE(o + 6);
        if (idx !== expectIdx) fail(`chunk ${expectIdx} of ${count} is missing`);
        expectIdx++;
        dataLeft = buf.readInt32BE(o + 10);
        if (dataLeft < 0) fail('a NULL chunk');
        o += 14;
        state = 'data';
        continue;
      }
      break; // 'end': anything after the trailer is ignored
    }
    if (o < buf.length && state !== 'end') pending = Buffer.from(buf.subarray(o));
    buf = Buffer.alloc(0);
  }
  if (state !== 'end') fail('the stream ended early');
  if (expectIdx !== count) fail(`chunk ${expectIdx} of ${count} is missing`);
}

/** Indexes of the chunks stored for a submission, ascending. */
export async function receivedChunks(db: Executor, submissionId: string): Promise<number[]> {
  const rows = rowsOf<{ idx: number }>(
    await db.execute(sql`select idx from chunks where submission_id = ${submissionId} order by idx`),
  );
  return rows.map((r) => Number(r.idx));
}
