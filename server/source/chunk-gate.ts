/**
 * @module server/source/chunk-gate — how many chunk bodies this process holds at once.
 *
 * A chunk request holds its body in memory (up to MAX_CHUNK_BYTES) from the first byte read until
 * its row is committed; over Tor that can be minutes. Unbounded, a crowd of uploads (or one
 * upload's chunks sent all at once, which costs its sender nothing after the proof of work) grows
 * the heap without end, and a database outage piles them up while postgres.js waits to reconnect.
 * So a request announces its length before its body is read and is admitted only while the
 * process holds less than `maxBytes` of chunks, and its upload less than `perUploadBytes` (so
 * one upload cannot take the whole budget); otherwise it is refused at once (nothing read,
 * nothing stored) and the page retries after a back-off. One chunk is always admitted, to the
 * process and to an upload. Counted per process, in memory: several processes each hold their own.
 *
 * Admitted bodies are read into buffers the gate keeps and lends again (at most as many as the
 * budget holds full chunks): a 4 MiB chunk then leaves no 4 MiB of garbage behind, which V8 would
 * collect only once tens of MiB of it had piled up (server RSS, `npm run bench -- source-api`).
 * A lent buffer is the request's alone until it calls `release`; nothing may keep a view of it.
 */
import { MAX_CHUNK_BYTES, PARALLEL_CHUNKS } from '../../protocol/limits.ts';
import { refuse } from './errors.ts';

export interface ChunkGateOptions {
  /** chunk bytes held at once by the process (default 32 MiB: 8 full chunks) */
  maxBytes?: number;
  /** chunk bytes of one upload held at once (default twice what the page keeps in flight) */
  perUploadBytes?: number;
}

export const DEFAULT_CHUNK_GATE_BYTES = 32 * 1024 * 1024;
export const DEFAULT_PER_UPLOAD_BYTES = 2 * PARALLEL_CHUNKS * MAX_CHUNK_BYTES;

export interface ChunkTicket {
  /** exactly the admitted length, for the body to be read into */
  body: Uint8Array;
  /** gives the bytes back to the budget (and the buffer to the gate); call once, when done with `body` */
  release(): void;
}

/** Bodies at least this long are read into a lent buffer; smaller ones into their own. */
const LEND_FROM_BYTES = 256 * 1024;

export interface ChunkGate {
  /** Admits a chunk of `bytes` for upload `id`, or throws the refusal (nothing read, nothing held). */
  enter(id: string, bytes: number): ChunkTicket;
  /** bytes and chunks held now (tests, the bench) */
  held(): { bytes: number; chunks: number };
}

export function createChunkGate(options: ChunkGateOptions = {}): ChunkGate {
  const maxBytes = options.maxBytes ?? DEFAULT_CHUNK_GATE_BYTES;
  const perUploadBytes = options.perUploadBytes ?? DEFAULT_PER_UPLOAD_BYTES;
  let bytesHeld = 0;
  let chunksHeld = 0;
  const perId = new Map<string, { bytes: number; chunks: number }>();
  const spare: Uint8Array[] = [];
  const maxSpare = Math.max(1, Math.floor(maxBytes / MAX_CHUNK_BYTES));
  return {
    enter(id, bytes) {
      const mine = perId.get(id) ?? { bytes: 0, chunks: 0 };
      if (mine.chunks > 0 && mine.bytes + bytes > perUploadBytes) {
        refuse(429, 'too_many_chunks', 'Too many parts of this upload are on their way at once; send this one again in a moment.');
      }
      // one chunk is always admitted, so a budget below the chunk size cannot stop every upload
      if (chunksHeld > 0 && bytesHeld + bytes > maxBytes) {
        refuse(503, 'busy', 'The server is receiving many files at once; send this part again in a moment.');
      }
      bytesHeld += bytes;
      chunksHeld++;
      mine.bytes += bytes;
      mine.chunks++;
      perId.set(id, mine);
      const lent = bytes >= LEND_FROM_BYTES && bytes <= MAX_CHUNK_BYTES ? (spare.pop() ?? new Uint8Array(MAX_CHUNK_BYTES)) : undefined;
      let released = false;
      return {
        body: lent ? lent.subarray(0, bytes) : new Uint8Array(bytes),
        release() {
          if (released) return;
          released = true;
          bytesHeld -= bytes;
          chunksHeld--;
          mine.bytes -= bytes;
          mine.chunks--;
          if (mine.chunks === 0) perId.delete(id);
          if (lent && spare.length < maxSpare) spare.push(lent);
        },
      };
    },
    held: () => ({ bytes: bytesHeld, chunks: chunksHeld }),
  };
}
