/**
 * @module client/lib/send — one tip from the form to the server: encrypt in the worker, spend the
 * proof of work to open an upload, send the chunks. For a text tip that is two round trips after
 * the page loaded (open, one chunk): the challenge came with /api/v1/config and was solved early.
 * A larger upload pays more (PROTOCOL.md "Pricing"): it asks for a challenge priced for its size.
 */
import { CHUNK_BYTES } from '../../protocol/limits.ts';
import { ApiError, openUpload, type ServerConfig, type SourceKeys } from './api.ts';
import { bytesSource, chunkCount, type RetryInfo, uploadChunks, xhrChunkSender } from './upload.ts';
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
export type Tip = { language: string; message: string; files: File[] };

/** Codes after which a fresh challenge may succeed where the old one failed. */
const POW_REFUSALS = new Set(['pow_expired', 'pow_too_easy', 'pow_spent', 'bad_pow']);
/** Refusals a new try cannot change today (429 and 507 would otherwise count as passing failures). */
const QUOTA_REFUSALS = new Set(['source_quota', 'quota_full', 'storage_full', 'reservations_full']);
const OPEN_TRIES = 3;

export async function sendTip(
  context: { config: ServerConfig; crypto: CryptoWorker; pow: PowSolver },
  identity: () => Promise<Identity>,
  tip: Tip,
  signal: AbortSignal,
  events: SendEvents,
): Promise<{ submissionId: string }> {
  events.onStage('preparing');
  const files = await Promise.all(
    tip.files.map(async (file) => ({ name: file.name, type: file.type, bytes: new Uint8Array(await file.arrayBuffer()) })),
  );
  signal.throwIfAborted();
  const { ciphertext, sha256 } = await context.crypto.call(
    'encrypt',
    { newsroomKey: context.config.newsroomKey, language: tip.language, message: tip.message, files },
    {
      onProgress: (p) => events.onStage(p.stage === 'cleaning' ? 'cleaning' : 'encrypting'),
      transfer: files.map((f) => f.bytes.buffer),
    },
  );
  signal.throwIfAborted();
  const { lookupId, sourceKeys } = await identity();
  signal.throwIfAborted();

  const chunkSize = CHUNK_BYTES;
  let uploadId: string | undefined;
  for (let attempt = 1; uploadId === undefined; attempt++) {
    events.onStage('pow');
    const pow = await context.pow.take(signal, { size: ciphertext.length, onProgress: (p) => events.onPowProgress(p) });
    try {
      const body = { pow, lookupId, size: ciphertext.length, chunkSize, chunks: chunkCount(ciphertext.length, chunkSize), sha256 };
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
    source: bytesSource(ciphertext, chunkSize),
    send: xhrChunkSender(uploadId),
    signal,
    parallel: context.config.limits?.parallelChunks,
    onProgress: ({ acknowledged, total, remainingMs }) => events.onUpload(acknowledged / total, remainingMs),
    onRetry: ({ reason, giveUpInMs }) => events.onRetry({ reason, giveUpInMs }),
    onRecovered: () => events.onRecovered(),
    onLastChunk: () => events.onLastChunk(),
  });
}
