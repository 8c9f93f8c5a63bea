/**
 * @module client/lib/send — one tip from the form to the server: start the streamed encryption in
 * the worker (which tells the exact size), spend the proof of work to open an upload, then send
 * the chunks as the worker encrypts them, each with its SHA-256, the last also with the SHA-256 of
 * all their digests (PROTOCOL.md, "Upload protocol"), hashed by WebCrypto. Whatever the files' size, the page holds a few chunks, never the ciphertext. For a text tip that is two round trips after
 * the page loaded (open, one chunk): the challenge came with /api/v1/config and was solved early.
 * A larger upload pays more (PROTOCOL.md "Pricing"): it asks for a challenge priced for its size.
 */
import { CHUNK_BYTES } from '../../protocol/limits.ts';
import type { Answer } from '../../protocol/answers.ts';
import { ApiError, openUpload, QUOTA_REFUSALS, type ChunkHashes, type ServerConfig, type SourceKeys } from './api.ts';
import { bytesSource, chunkCount, type ChunkSource, type RetryInfo, uploadChunks, xhrChunkSender } from './upload.ts';
import type { SourceKeyRef } from '../workers/messages.ts';
import type { CryptoWorker, PowProgress, PowSolver } from './workers.ts';

export type Identity = { lookupId: string; sourceKeys?: SourceKeys };
export type Stage = 'preparing' | 'cleaning' | 'encrypting' | 'pow' | 'uploading';
export type SendEvents = {
  onStage(stage: Stage): void;
  /** the fraction of the ciphertext the server acknowledged (committed), and the time left at the acknowledged rate */
  onUpload(fraction: number, remainingMs: number | undefined): void;
  /** a chunk failed or stalled and is sent again; the upload gives up in `giveUpInMs` without progress */
  onRetry(info: Pick<RetryInfo, 'reason' | 'giveUpInMs'>): void;
  /** a chunk got through after retries */
  onRecovered(): void;
  /** The last chunk is about to leave: cancelling can no longer stop the tip. */
  onLastChunk(): void;
  /** while the proof of work is solved: how far it is (the page shows the expected wait) */
  onPowProgress(progress: PowProgress): void;
};
/**
 * `desk`: the desk chosen, whose key (and only it) the tip is encrypted to, and whose id opens the
 * upload (a server of before desks has one desk and no id). `answers`: to the instance's
 * questions; they travel only inside the envelope (PROTOCOL.md, "Answers").
 */
export type Tip = { language: string; message: string; files: File[]; desk: { id: string | undefined; newsroomKey: string }; answers: Answer[] };

/** Codes after which a fresh challenge may succeed where the old one failed. */
const POW_REFUSALS = new Set(['pow_expired', 'pow_too_easy', 'pow_spent', 'bad_pow']);
const OPEN_TRIES = 3;

/**
 * `sourceKey` says where the worker takes the source's key from to name it in the envelope
 * (PROTOCOL.md, "Envelope"): the newsroom's offline machine pins the key it answers by it.
 */
export async function sendTip(
  context: { config: ServerConfig; crypto: CryptoWorker; pow: PowSolver },
  identity: () => Promise<Identity>,
  sourceKey: () => Promise<SourceKeyRef>,
  tip: Tip,
  signal: AbortSignal,
  events: SendEvents,
): Promise<{ submissionId: string }> {
  events.onStage('preparing');
  const onProgress = (p: { stage: string }) => events.onStage(p.stage === 'cleaning' ? 'cleaning' : 'encrypting');
  const args = {
    newsroomKey: tip.desk.newsroomKey,
    sourceKey: await sourceKey(),
    language: tip.language,
    message: tip.message,
    files: tip.files,
    ...(tip.answers.length > 0 ? { answers: tip.answers } : {}),
  };
  if (tipBytes(tip) <= WHOLE_TIP_BYTES) {
    // A tip the page can hold: encrypted whole, hashed by WebCrypto, sent from the one buffer.
    // Faster where the JIT is off (Tor Browser "Safer"), where OpenPGP.js hashes a stream's MDC
    // (SHA-1) in JavaScript, piece by piece.
    const { ciphertext, sha256 } = await context.crypto.call('encrypt', args, { onProgress });
    return await sendUpload(context, identity, { size: ciphertext.length, sha256, desk: tip.desk.id }, () => bytesSource(ciphertext, CHUNK_BYTES), signal, events);
  }
  // The files stay where they are (File objects): the worker cleans what it cleans, reads the rest
  // slice by slice as the chunks are asked for, and tells the ciphertext's exact size now.
  const { streamId, size } = await context.crypto.call('encrypt-open', args, { onProgress });
  try {
    return await sendStream(context, identity, { streamId, size, desk: tip.desk.id }, signal, events);
  } finally {
    // a no-op once the last chunk was read; otherwise stops the encryption the tip no longer needs
    void context.crypto.call('encrypt-cancel', { streamId }).catch(() => {});
  }
}

/**
 * Up to this much plaintext (the files' sizes and the message), a tip is encrypted whole ('encrypt');
 * above it, streamed ('encrypt-open'), so the page holds a few chunks rather than the ciphertext.
 * Measured in Firefox ESR with the JIT off, 10 MB file: whole 14.8 s, streamed 160.9 s from send
 * to codename (scratch measurement, see the commit), when the streamed path hashed the whole
 * ciphertext in JavaScript (10.2 s per 10 MB there; WebCrypto 0.02 s). It now hashes each chunk
 * with WebCrypto. 10 MB forced through the streamed path, loopback, a two-core machine at load
 * 9-16: median 12.0 s of 5 (8.3-17.9) against 27.4 s (17.4-32.2) before; whole 1.3 and 1.6 s
 * on the same machine. What is left is OpenPGP.js's streamed encryption (the MDC's SHA-1 in JavaScript).
 * Held whole, a tip at the limit costs about three times it (files, envelope, ciphertext).
 */
export const WHOLE_TIP_BYTES = 64 * 1024 * 1024;

function tipBytes(tip: Tip): number {
  return tip.files.reduce((n, f) => n + f.size, 0) + tip.message.length * 3;
}

async function sendStream(
  context: { config: ServerConfig; crypto: CryptoWorker; pow: PowSolver },
  identity: () => Promise<Identity>,
  { streamId, size, desk }: { streamId: number; size: number; desk: string | undefined },
  signal: AbortSignal,
  events: SendEvents,
): Promise<{ submissionId: string }> {
  const chunkSize = CHUNK_BYTES;
  /** what each chunk's URL carries, known once the worker has encrypted it */
  const hashes = new Map<number, ChunkHashes>();
  let reading: Promise<unknown> = Promise.resolve();
  const read = (index: number) => {
    const next = reading.then(async () => {
      const chunk = await context.crypto.call('encrypt-read', { streamId, chunkSize });
      const last = index === chunkCount(size, chunkSize) - 1;
      if (last !== (chunk.digests !== undefined)) throw new Error(`expected the digests with the last chunk only (chunk ${index})`);
      hashes.set(index, { sha256: chunk.sha256, ...(chunk.digests ? { digests: chunk.digests } : {}) });
      return chunk.bytes;
    });
    reading = next.catch(() => {});
    return next;
  };
  // The first chunk is encrypted while the proof of work is solved (about 5 s for 4 MiB with
  // the JIT off), so it leaves as soon as the upload is open: a reservation that has shown no byte a
  // minute after its open is only a claim, and a full pool gives its room to another open
  // (OPERATIONS.md "Under attack", CLAIM_GRACE_SECONDS).
  const first = read(0);
  first.catch(() => {});
  const source: ChunkSource = {
    size,
    chunkSize,
    // The uploader asks for each chunk once, in order, when a slot is free: at most its chunks in
    // flight (kept until acknowledged, for their retries) and the one being encrypted (or, while
    // the upload is opened, the first) are held.
    read: (index) => (index === 0 ? first : read(index)),
  };
  // no SHA-256 at the open: each chunk's goes with it, and their digests' with the last
  return sendUpload(context, identity, { size, desk, hashesOf: (index) => hashes.get(index) ?? {} }, () => source, signal, events);
}

/** Opens the upload (proof of work, retried as the refusal allows) and sends `source`'s chunks. */
async function sendUpload(
  context: { config: ServerConfig; crypto: CryptoWorker; pow: PowSolver },
  identity: () => Promise<Identity>,
  { size, sha256, desk, hashesOf }: { size: number; sha256?: string; desk: string | undefined; hashesOf?: (index: number) => ChunkHashes },
  source: () => ChunkSource,
  signal: AbortSignal,
  events: SendEvents,
): Promise<{ submissionId: string }> {
  signal.throwIfAborted();
  const { lookupId, sourceKeys } = await identity();
  signal.throwIfAborted();

  const chunkSize = CHUNK_BYTES;
  let uploadId: string | undefined;
  for (let attempt = 1; uploadId === undefined; attempt++) {
    events.onStage('pow');
    const pow = await context.pow.take(signal, { size, onProgress: (p) => events.onPowProgress(p) });
    try {
      const body = { pow, lookupId, size, chunkSize, chunks: chunkCount(size, chunkSize), ...(sha256 ? { sha256 } : {}), ...(desk !== undefined ? { desk } : {}) };
      ({ uploadId } = await openUpload(sourceKeys ? { ...body, sourceKeys } : body, signal));
    } catch (error) {
      // The token is spent or refused either way: the next try asks for a new one.
      const again =
        error instanceof ApiError && !QUOTA_REFUSALS.has(error.code) && (POW_REFUSALS.has(error.code) || error.retryable);
      if (!again || attempt >= OPEN_TRIES) throw error;
    }
  }

  events.onStage('uploading');
  return uploadChunks({
    source: source(),
    send: xhrChunkSender(uploadId, hashesOf),
    signal,
    parallel: context.config.limits?.parallelChunks,
    onProgress: ({ acknowledged, total, remainingMs }) => events.onUpload(acknowledged / total, remainingMs),
    onRetry: ({ reason, giveUpInMs }) => events.onRetry({ reason, giveUpInMs }),
    onRecovered: () => events.onRecovered(),
    onLastChunk: () => events.onLastChunk(),
  });
}
