/**
 * @module ciphertext read back from the database one chunk at a time, and the bundle export (a
 * ustar stream: bundle.json, the sources' public keys, then each submission's ciphertext), of
 * everything new or of an editor's selection.
 * Never more than one chunk (≤ MAX_CHUNK_BYTES) of a submission is held in memory.
 */
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { readChunk } from '../db/chunks.ts';
import type { Db } from '../db/open.ts';
import { replies, sources, submissions } from '../db/schema.ts';
import { BLOCK_BYTES, endOfArchive, fileHeader, padding } from './ustar.ts';
import { BUNDLE_VERSION, type BundleManifest, type BundleSubmission } from '../../protocol/bundle.ts';

/**
 * Stored ciphertext does not add up. Its message names no id: @hono/node-server prints a stream's
 * error to the console, and ids stay out of the server's output (docs: request-log policy).
 */
export class CiphertextReadError extends Error {
  override name = 'CiphertextReadError';
}

export interface StoredSubmission {
  id: string;
  chunks: number;
  size: number;
}

/** Yields a submission's chunks in order, checking that they add up to the recorded size. */
export async function* readCiphertext(db: Db, submission: StoredSubmission): AsyncGenerator<Uint8Array> {
  let total = 0;
  for (let idx = 0; idx < submission.chunks; idx++) {
    const data = await readChunk(db, submission.id, idx);
    if (!data) throw new CiphertextReadError(`a stored submission lacks chunk ${idx}`);
    total += data.byteLength;
    if (total > submission.size) throw new CiphertextReadError('a stored submission is longer than its recorded size');
    yield data;
  }
  if (total !== submission.size) throw new CiphertextReadError('a stored submission is shorter than its recorded size');
}

/** A pull-driven web stream over an async iterable: the next part is read only when asked for. */
export function toReadableStream(parts: AsyncIterable<Uint8Array>, onError?: (error: unknown) => void): ReadableStream<Uint8Array> {
  const iterator = parts[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          onError?.(error);
          controller.error(error);
        }
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

export interface BundlePlan {
  manifest: BundleManifest;
  /** bundle.json exactly as sent */
  manifestBytes: Uint8Array;
  /** armored public key bytes by handle */
  keys: Map<string, Uint8Array>;
  stored: Map<string, StoredSubmission>;
  /** the whole tar's length, for Content-Length */
  length: number;
}

/** An editor's choice instead of everything new: submissions of any status but `uploading`, and source keys. */
export interface BundleSelection {
  submissions: string[];
  /** sources whose key the bundle carries even when none of their submissions is in it */
  sources: string[];
}

/** The submissions asked for are not all there (ids or handles unknown, or a submission still uploading). */
export class BundleSelectionError extends Error {
  override name = 'BundleSelectionError';
  constructor(readonly missing: { submissions: string[]; sources: string[] }) {
    super(`${missing.submissions.length + missing.sources.length} of the selection are unknown`);
  }
}

/**
 * Without a selection: everything with status `received`, oldest first, and the public keys of
 * their sources. With one: exactly the submissions and the source keys it names (a submission
 * already pulled is sent again, its status left as it is), or BundleSelectionError naming what
 * is not there.
 */
export async function planBundle(db: Db, selection?: BundleSelection, desks: string[] | null = null): Promise<BundlePlan> {
  // a token scoped to desks: what is outside them is as if absent (a selection naming it is refused as unknown)
  const inDesks = desks === null ? undefined : inArray(submissions.desk, desks);
  const rows = selection?.submissions.length === 0 ? [] : await db
    .select({
      id: submissions.id,
      handle: sources.handle,
      publicKey: sources.publicKey,
      receivedDay: submissions.receivedDay,
      createdDay: submissions.createdDay,
      size: submissions.size,
      chunks: submissions.chunks,
      sha256: submissions.sha256,
      desk: submissions.desk,
    })
    .from(submissions)
    .innerJoin(sources, eq(submissions.sourceId, sources.id))
    .where(
      selection
        ? and(inArray(submissions.id, selection.submissions), inArray(submissions.status, ['received', 'downloaded']), inDesks)
        : and(eq(submissions.status, 'received'), inDesks),
    )
    .orderBy(asc(submissions.receivedDay), asc(submissions.daySeq), asc(submissions.id));
  const extraKeys = selection && selection.sources.length > 0
    ? await db
        .select({ handle: sources.handle, publicKey: sources.publicKey })
        .from(sources)
        .where(and(inArray(sources.handle, selection.sources), sourceInDesks(desks)))
    : [];
  if (selection) {
    const found = new Set(rows.map((row) => row.id));
    const foundHandles = new Set(extraKeys.map((row) => row.handle));
    const missing = {
      submissions: selection.submissions.filter((id) => !found.has(id)),
      sources: selection.sources.filter((handle) => !foundHandles.has(handle)),
    };
    if (missing.submissions.length + missing.sources.length > 0) throw new BundleSelectionError(missing);
  }
  const encoder = new TextEncoder();
  const keys = new Map<string, Uint8Array>();
  const stored = new Map<string, StoredSubmission>();
  const entries: BundleSubmission[] = [];
  for (const row of rows) {
    if (!keys.has(row.handle)) keys.set(row.handle, encoder.encode(row.publicKey));
    stored.set(row.id, { id: row.id, chunks: row.chunks, size: row.size });
    entries.push({
      id: row.id,
      handle: row.handle,
      day: row.receivedDay ?? row.createdDay,
      size: row.size,
      sha256: row.sha256,
      path: `submissions/${row.id}.pgp`,
      desk: row.desk,
    });
  }
  for (const row of extraKeys) if (!keys.has(row.handle)) keys.set(row.handle, encoder.encode(row.publicKey));
  const manifest: BundleManifest = {
    version: BUNDLE_VERSION,
    submissions: entries,
    sources: [...keys.keys()].map((handle) => ({ handle, path: `sources/${handle}.asc` })),
  };
  const manifestBytes = encoder.encode(`${JSON.stringify(manifest, null, 2)}\n`);
  const fileBytes = (size: number) => BLOCK_BYTES + Math.ceil(size / BLOCK_BYTES) * BLOCK_BYTES;
  let length = fileBytes(manifestBytes.byteLength) + 2 * BLOCK_BYTES;
  for (const key of keys.values()) length += fileBytes(key.byteLength);
  for (const entry of entries) length += fileBytes(entry.size);
  return { manifest, manifestBytes, keys, stored, length };
}

/**
 * A source is within a token's desks when it sent one of them a submission the editors may see,
 * or one of them replied to it; null desks: every source. Outside, it is as if absent.
 */
export function sourceInDesks(desks: string[] | null): SQL | undefined {
  if (desks === null) return undefined;
  if (desks.length === 0) return sql`false`;
  const list = sql.join(desks.map((desk) => sql`${desk}`), sql`, `);
  return sql`(exists (select 1 from ${submissions} s where s.source_id = ${sources.id} and s.status in ('received', 'downloaded') and s.desk in (${list}))
    or exists (select 1 from ${replies} r where r.source_id = ${sources.id} and r.desk in (${list})))`;
}

/** The bundle as ustar parts, in the order of docs/INTERNALS.md. */
export async function* bundleParts(db: Db, plan: BundlePlan): AsyncGenerator<Uint8Array> {
  yield* smallFile('bundle.json', plan.manifestBytes);
  for (const source of plan.manifest.sources) {
    const key = plan.keys.get(source.handle);
    if (!key) throw new CiphertextReadError('a bundle source is not in the plan');
    yield* smallFile(source.path, key);
  }
  for (const entry of plan.manifest.submissions) {
    const stored = plan.stored.get(entry.id);
    if (!stored) throw new CiphertextReadError('a bundle entry is not in the plan');
    yield fileHeader(entry.path, entry.size);
    yield* readCiphertext(db, stored);
    yield padding(entry.size);
  }
  yield endOfArchive();
}

function* smallFile(name: string, bytes: Uint8Array): Generator<Uint8Array> {
  yield fileHeader(name, bytes.byteLength);
  yield bytes;
  yield padding(bytes.byteLength);
}

