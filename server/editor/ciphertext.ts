/**
 * @module ciphertext read back from the database one chunk at a time, and the bundle export (a
 * ustar stream: bundle.json, the sources' public keys, then each submission's ciphertext).
 * Never more than one chunk (≤ MAX_CHUNK_BYTES) of a submission is held in memory.
 */
import { asc, eq } from 'drizzle-orm';
import { readChunk } from '../db/chunks.ts';
import type { Db } from '../db/open.ts';
import { sources, submissions } from '../db/schema.ts';
import { endOfArchive, fileHeader, padding } from './ustar.ts';

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
    if (!data) throw new CiphertextReadError(`submission ${submission.id} lacks chunk ${idx}`);
    total += data.byteLength;
    if (total > submission.size) throw new CiphertextReadError(`submission ${submission.id} is longer than its recorded size`);
    yield data;
  }
  if (total !== submission.size) throw new CiphertextReadError(`submission ${submission.id} is shorter than its recorded size`);
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

export interface BundleEntry {
  id: string;
  handle: string;
  day: string;
  size: number;
  sha256: string;
  path: string;
}

export interface BundlePlan {
  manifest: {
    version: 1;
    submissions: BundleEntry[];
    sources: { handle: string; path: string }[];
  };
  keys: Map<string, string>;
  stored: Map<string, StoredSubmission>;
}

/** Everything with status `received`, oldest first, and the public keys of their sources. */
export async function planBundle(db: Db): Promise<BundlePlan> {
  const rows = await db
    .select({
      id: submissions.id,
      handle: sources.handle,
      publicKey: sources.publicKey,
      receivedDay: submissions.receivedDay,
      createdDay: submissions.createdDay,
      size: submissions.size,
      chunks: submissions.chunks,
      sha256: submissions.sha256,
    })
    .from(submissions)
    .innerJoin(sources, eq(submissions.sourceId, sources.id))
    .where(eq(submissions.status, 'received'))
    .orderBy(asc(submissions.receivedDay), asc(submissions.id));
  const keys = new Map<string, string>();
  const stored = new Map<string, StoredSubmission>();
  const entries: BundleEntry[] = [];
  for (const row of rows) {
    keys.set(row.handle, row.publicKey);
    stored.set(row.id, { id: row.id, chunks: row.chunks, size: row.size });
    entries.push({
      id: row.id,
      handle: row.handle,
      day: row.receivedDay ?? row.createdDay,
      size: row.size,
      sha256: row.sha256,
      path: `submissions/${row.id}.pgp`,
    });
  }
  return {
    manifest: {
      version: 1,
      submissions: entries,
      sources: [...keys.keys()].map((handle) => ({ handle, path: `sources/${handle}.asc` })),
    },
    keys,
    stored,
  };
}

/** The bundle as ustar parts, in the order of docs/INTERNALS.md. */
export async function* bundleParts(db: Db, plan: BundlePlan): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  const json = encoder.encode(`${JSON.stringify(plan.manifest, null, 2)}\n`);
  yield* smallFile('bundle.json', json);
  for (const source of plan.manifest.sources) {
    yield* smallFile(source.path, encoder.encode(plan.keys.get(source.handle) ?? ''));
  }
  for (const entry of plan.manifest.submissions) {
    const stored = plan.stored.get(entry.id);
    if (!stored) throw new CiphertextReadError(`submission ${entry.id} is not in the plan`);
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

