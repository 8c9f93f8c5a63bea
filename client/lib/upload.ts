/**
 * @module client/lib/upload — send a ciphertext as numbered chunks, each retried on its own.
 *
 * Tor circuits drop and stall; a failed chunk is sent again after an exponential back-off with
 * jitter (so many sources on one flaky relay do not retry in step), up to `tries` times. A refusal
 * the server means (4xx other than 408/429) is not retried: sending it again would not help.
 * Re-sending a chunk the server already has is harmless (same bytes: a no-op 200).
 */
import { ApiError, chunkUrl, readAnswer, type ChunkAnswer } from './api.ts';

/** Sends one chunk; reports bytes sent so far within it; rejects with ApiError or AbortError. */
export type ChunkSender = (
  index: number,
  bytes: Uint8Array,
  signal: AbortSignal,
  onBytes: (sent: number) => void,
) => Promise<ChunkAnswer>;

export type UploadOptions = {
  ciphertext: Uint8Array;
  chunkSize: number;
  send: ChunkSender;
  signal: AbortSignal;
  /** Fraction 0..1 of the ciphertext acknowledged or in flight. */
  onProgress?: (fraction: number) => void;
  /**
   * Called once, before the last chunk is first sent: from then on the server may complete the
   * upload whatever the page does, so cancelling can no longer promise the tip was not delivered.
   */
  onLastChunk?: () => void;
  /** Called before waiting to try again: attempt is the try about to be made (2..tries). */
  onRetry?: (attempt: number, tries: number, error: ApiError) => void;
  tries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
};

export const DEFAULT_TRIES = 6;

export async function uploadChunks(options: UploadOptions): Promise<{ submissionId: string }> {
  const { ciphertext, chunkSize, send, signal, onProgress, onRetry } = options;
  const tries = options.tries ?? DEFAULT_TRIES;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const count = chunkCount(ciphertext.length, chunkSize);
  for (let index = 0; index < count; index++) {
    const bytes = ciphertext.subarray(index * chunkSize, Math.min(ciphertext.length, (index + 1) * chunkSize));
    const base = index * chunkSize;
    signal.throwIfAborted();
    if (index === count - 1) options.onLastChunk?.();
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      try {
        const answer = await send(index, bytes, signal, (sent) => onProgress?.((base + sent) / ciphertext.length));
        onProgress?.((base + bytes.length) / ciphertext.length);
        if (answer.complete) {
          if (index !== count - 1) throw new ApiError(200, 'bad_answer', `upload complete after chunk ${index} of ${count}`);
          return { submissionId: answer.submissionId };
        }
        break;
      } catch (error) {
        if (!(error instanceof ApiError) || !error.retryable || attempt >= tries) throw error;
        onRetry?.(attempt + 1, tries, error);
        await sleep(backoffDelay(attempt, baseDelayMs, maxDelayMs), signal);
      }
    }
  }
  throw new ApiError(200, 'bad_answer', `the server did not report the upload complete after ${count} chunks`);
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(size / chunkSize));
}

/** base · 2^(attempt-1), capped, times a random factor in [0.5, 1.5). */
export function backoffDelay(attempt: number, baseDelayMs: number, maxDelayMs: number): number {
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  const jitter = 0.5 + crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
  return Math.round(exponential * jitter);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The browser's sender: XMLHttpRequest, because fetch cannot report upload progress. */
export function xhrChunkSender(uploadId: string): ChunkSender {
  return (index, bytes, signal, onBytes) =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', chunkUrl(uploadId, index));
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      xhr.withCredentials = false;
      xhr.upload.onprogress = (event) => onBytes(event.loaded);
      xhr.onload = () => {
        try {
          resolve(readAnswer<ChunkAnswer>(xhr.status, xhr.responseText));
        } catch (error) {
          reject(error);
        }
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', `no answer for chunk ${index}`));
      xhr.ontimeout = () => reject(new ApiError(0, 'network', `chunk ${index} timed out`));
      xhr.onabort = () => reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
      // A copy that owns its buffer: XHR sends a view's whole underlying buffer in some engines.
      xhr.send(bytes.slice());
    });
}

/** A sender over fetch (no progress within a chunk), for environments without XMLHttpRequest. */
export function fetchChunkSender(uploadId: string, origin = ''): ChunkSender {
  return async (index, bytes, signal) => {
    let response: Response;
    try {
      response = await fetch(origin + chunkUrl(uploadId, index), {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes.slice(),
        credentials: 'omit',
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new ApiError(0, 'network', `no answer for chunk ${index}: ${(error as Error).message}`);
    }
    return readAnswer<ChunkAnswer>(response.status, await response.text());
  };
}
