/**
 * @module client/lib/upload — send a ciphertext as numbered chunks, a few at a time, each retried
 * on its own until the server acknowledges it.
 *
 * Tor circuits drop and stall. Every request has a stall timeout: no byte of progress for
 * `stallMs` while sending, or no answer `answerMs` after the last byte left, and it is aborted and
 * sent again (re-sending a chunk the server has is harmless: the same bytes get a no-op 200).
 * A failed chunk waits an exponential back-off with jitter (so many sources on one flaky relay do
 * not retry in step). The upload gives up only when no chunk has been acknowledged, nor another
 * chunk still on its way sent a byte, for `retryBudgetMs` (minutes, not a count of tries: a
 * circuit that recovers after three minutes should not lose a long upload; and a chunk refused
 * `503 busy` again and again beside another still crossing a slow link is waiting its turn, not
 * failing: a server whose disk takes one chunk at a time refused a page's second chunk for longer
 * than the budget while its first took 11 minutes at 6 kB/s, and the page gave up, helper-82; a
 * chunk's own bytes never extend its own budget, nor those of an attempt that failed, and never
 * past three budgets without an acknowledgement: a server that keeps cutting it is left in time),
 * or on a refusal the server means (4xx other than 408/429, and
 * the quota refusals, QUOTA_REFUSALS: a probe's promotion refused is a 507 that deleted the upload).
 * A 200 means the chunk is committed on the server (protocol/PROTOCOL.md, "What an answer
 * guarantees"), so progress counts acknowledged bytes only, and the time left is estimated from the
 * rate at which bytes were acknowledged (what the browser says it sent is ahead of the link by
 * whatever its buffers and the Tor client's hold: megabytes).
 *
 * Once that rate is known, a chunk's answer timeout is measured by it (MEASURED_ANSWER_MS plus
 * RATE_SLACK times the chunk's time at the measured rate, never more than the fixed one), also
 * for the chunks already waiting when it becomes known (the first ones of every upload): a frozen
 * circuit is then noticed in about half a minute, not after the ten minutes a 4 MiB chunk is
 * given at the slowest link. The last chunk keeps `answerMs` as its fixed part (its answer waits
 * for the server's check of the whole upload). A chunk sent again after a stall goes back to the
 * fixed timeout, so a link that became much slower is not cut again and again.
 */
import { PARALLEL_CHUNKS } from '../../protocol/limits.ts';
import { ApiError, chunkUrl, QUOTA_REFUSALS, readAnswer, type ChunkAnswer, type ChunkHashes } from './api.ts';

/** Sends one chunk; reports bytes sent so far within it; rejects with ApiError or AbortError. */
export type ChunkSender = (
  index: number,
  bytes: Uint8Array,
  signal: AbortSignal,
  onBytes: (sent: number) => void,
) => Promise<ChunkAnswer>;

/**
 * Where the chunks come from: `read(index)` is called once per chunk, in increasing order, and
 * only when a sending slot is free, so at most `parallel` chunks are held at once whatever the size.
 */
export type ChunkSource = { size: number; chunkSize: number; read(index: number): Uint8Array | Promise<Uint8Array> };

export type RetryReason = 'stalled' | 'network' | 'server';
export type RetryInfo = { index: number; reason: RetryReason; error: ApiError; giveUpInMs: number };
/**
 * `bytesPerSecond`: acknowledged bytes over the time since the upload started; `remainingMs`: the
 * bytes not yet acknowledged at that rate. Both absent until a chunk was acknowledged.
 */
export type UploadProgress = { acknowledged: number; total: number; bytesPerSecond?: number; remainingMs?: number };

export type UploadOptions = {
  source: ChunkSource;
  send: ChunkSender;
  signal: AbortSignal;
  /** chunks in flight at once (the server's `limits.parallelChunks`); default PARALLEL_CHUNKS */
  parallel?: number;
  onProgress?: (progress: UploadProgress) => void;
  /**
   * Called once, before the chunk that may complete the upload is first sent (every other chunk
   * acknowledged or on its way): from then on the server may complete the upload whatever the page
   * does, so cancelling can no longer promise the tip was not delivered.
   */
  onLastChunk?: () => void;
  /** Called before waiting to send a chunk again. */
  onRetry?: (info: RetryInfo) => void;
  /** a chunk was acknowledged after retries (the page can clear its "trying again" line) */
  onRecovered?: () => void;
  /** give up when nothing was acknowledged for this long (default 10 minutes) */
  retryBudgetMs?: number;
  /** abort a request that sent nothing for this long (default 30 s) */
  stallMs?: number;
  /**
   * abort a request with no answer this long after its last byte, plus the chunk's size at
   * SLOW_LINK_BYTES_PER_SECOND times `parallel` (default 90 s: completion reads the whole upload back)
   */
  answerMs?: number;
  /** with a measured rate, the answer timeout's fixed part (default MEASURED_ANSWER_MS) */
  measuredAnswerMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** the clock (tests) */
  now?: () => number;
};

export const DEFAULT_RETRY_BUDGET_MS = 10 * 60_000;
export const DEFAULT_STALL_MS = 30_000;
export const DEFAULT_ANSWER_MS = 90_000;
/**
 * With a measured rate: the answer timeout's fixed part — the server's own work (it may wait up to
 * its 20 s database deadline before and again after a body) and round trips over Tor. 20 s with
 * 3 × the pace cut 5 healthy chunks of 8 sources sending at once (test/load/concurrency.test.ts):
 * each cut re-sends a chunk over the source's slow link, so the bound errs on the long side.
 */
export const MEASURED_ANSWER_MS = 60_000;
/** With a measured rate: how many times the chunk's expected time it is given (a Tor circuit's pace, and a busy server's, vary). */
export const RATE_SLACK = 4;
/**
 * The slowest link a chunk is given time for, in bytes per second: the answer timeout of a chunk
 * is `answerMs` plus its size at this rate, times the chunks in flight (they share the link: the
 * issue-8 attacker's 24 kB/s link never finished two chunks at once with the time of one). Browsers say "all sent" once the body is in their own
 * network buffers (Chromium fires upload.onload with 4 MiB still to cross a 46 kB/s circuit: the
 * issue-8 attacker saw such a chunk aborted at 90 s and sent again, without end), and the fetch
 * sender cannot tell at all.
 */
export const SLOW_LINK_BYTES_PER_SECOND = 16_000;

/** A request that made no progress within its timeout; the uploader aborts it and sends again. */
export class StallError extends ApiError {
  constructor(index: number, what: string) {
    super(0, 'stalled', `chunk ${index}: ${what}`);
  }
}

export async function uploadChunks(options: UploadOptions): Promise<{ submissionId: string }> {
  const { source, send, signal, onProgress, onRetry } = options;
  const now = options.now ?? (() => Date.now());
  const retryBudgetMs = options.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const count = chunkCount(source.size, source.chunkSize);
  const parallel = Math.max(1, Math.min(options.parallel ?? PARALLEL_CHUNKS, count));
  const lengthOf = (index: number) => (index < count - 1 ? source.chunkSize : source.size - source.chunkSize * (count - 1));

  signal.throwIfAborted();
  const acknowledged = new Set<number>();
  let acknowledgedBytes = 0;
  const startedAt = now();
  let lastSuccess = startedAt;
  /** when each chunk on its way last sent a byte (what the browser reports: ahead of the link, never behind it) */
  const moved = new Map<number, number>();
  /** the latest byte sent by a chunk on its way other than `index` */
  const othersMoved = (index: number) => {
    let at = startedAt;
    for (const [other, t] of moved) if (other !== index && inFlight.has(other)) at = Math.max(at, t);
    return at;
  };
  /** acknowledged bytes per second since the start; undefined until a chunk is acknowledged */
  let rate: number | undefined;
  /** the requests waiting for an answer, to time again when the rate changes */
  const waiting = new Set<() => void>();
  let nextToRead = 0;
  let announcedLast = false;
  let retrying = false;
  // stops the other workers once one has the answer or a final error
  const done = new AbortController();
  const stop = () => done.abort(signal.reason);
  signal.addEventListener('abort', stop, { once: true });
  const both = anySignal(signal, done.signal);
  let result: { submissionId: string } | undefined;
  let failure: unknown;

  const finish = (outcome: { submissionId: string } | { error: unknown }) => {
    if (result || failure !== undefined) return;
    if ('submissionId' in outcome) result = outcome;
    else failure = outcome.error;
    done.abort(new DOMException('upload finished', 'AbortError'));
  };

  /** Sends chunk `index` until acknowledged, or until the upload ended (answer, failure, abort). */
  async function sendUntilAcknowledged(index: number, bytes: Uint8Array): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (both.aborted) return;
      if (!announcedLast && nextToRead >= count && acknowledged.size + inFlight.size >= count) {
        announcedLast = true;
        options.onLastChunk?.();
      }
      try {
        const measured: MeasuredTiming | undefined =
          attempt === 1
            ? {
                rate: () => rate,
                // the last chunk's answer waits for the server's check of the whole upload
                base: index === count - 1 ? (options.answerMs ?? DEFAULT_ANSWER_MS) : (options.measuredAnswerMs ?? MEASURED_ANSWER_MS),
                waiting,
              }
            : undefined;
        const answer = await sendWithTimeouts(send, index, bytes, both, options, parallel, measured, () => moved.set(index, now()));
        if (!acknowledged.has(index)) {
          acknowledged.add(index);
          acknowledgedBytes += bytes.length;
        }
        lastSuccess = now();
        rate = (acknowledgedBytes * 1000) / Math.max(1, lastSuccess - startedAt);
        for (const retime of waiting) retime();
        if (retrying) {
          retrying = false;
          options.onRecovered?.();
        }
        onProgress?.({
          acknowledged: acknowledgedBytes,
          total: source.size,
          ...(rate ? { bytesPerSecond: rate, remainingMs: Math.round(((source.size - acknowledgedBytes) * 1000) / rate) } : {}),
        });
        if (answer.complete) finish({ submissionId: answer.submissionId });
        return;
      } catch (error) {
        if (both.aborted) return;
        // a quota or bound refused the upload (an upload, but a text tip, whose first bytes did not
        // earn its size's room is deleted with the open's 507, its one chunk's too: PROTOCOL.md,
        // "Probes"): final,
        // the page says what an open so refused would say
        if (!(error instanceof ApiError) || !error.retryable || QUOTA_REFUSALS.has(error.code)) return finish({ error });
        // only another chunk's attempt still alive counts, and never for more than three budgets
        moved.delete(index);
        const giveUpInMs = Math.min(Math.max(lastSuccess, othersMoved(index)) + retryBudgetMs, lastSuccess + 3 * retryBudgetMs) - now();
        if (giveUpInMs <= 0) return finish({ error });
        retrying = true;
        const reason: RetryReason = error instanceof StallError ? 'stalled' : error.status === 0 ? 'network' : 'server';
        onRetry?.({ index, reason, error, giveUpInMs });
        try {
          await sleep(Math.min(backoffDelay(attempt, baseDelayMs, maxDelayMs), giveUpInMs), both);
        } catch {
          return;
        }
      }
    }
  }

  const inFlight = new Set<number>();
  // kept for the case below where the last chunk must go once more
  let lastBytes: Uint8Array | undefined;
  async function worker(): Promise<void> {
    while (!both.aborted && nextToRead < count) {
      const index = nextToRead++;
      inFlight.add(index);
      try {
        const bytes = await source.read(index);
        if (bytes.length !== lengthOf(index)) {
          return finish({ error: new ApiError(0, 'bad_source', `chunk ${index} is ${bytes.length} bytes, expected ${lengthOf(index)}`) });
        }
        if (index === count - 1) lastBytes = bytes;
        await sendUntilAcknowledged(index, bytes);
      } catch (error) {
        return finish({ error });
      } finally {
        inFlight.delete(index);
        moved.delete(index);
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: parallel }, worker));
    // Every chunk acknowledged, yet no answer said "complete" (the one that completed it was lost
    // or refused for a passing reason): the last chunk again makes the server finish (or tell).
    if (!result && failure === undefined && !both.aborted && lastBytes) {
      await sendUntilAcknowledged(count - 1, lastBytes);
      finish({ error: new ApiError(200, 'bad_answer', `the server did not report the upload complete after ${count} chunks`) });
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
  if (result) return result;
  if (failure !== undefined) throw failure;
  throw signal.reason ?? new DOMException('aborted', 'AbortError');
}

/** How a first attempt's answer timeout follows the measured rate. */
type MeasuredTiming = {
  rate(): number | undefined;
  /** the timeout's fixed part with a measured rate */
  base: number;
  /** where the request registers to be timed again when the rate changes */
  waiting: Set<() => void>;
};

/** One request with the stall and answer timeouts; the caller's signal aborts it too. */
async function sendWithTimeouts(
  send: ChunkSender,
  index: number,
  bytes: Uint8Array,
  signal: AbortSignal,
  options: Pick<UploadOptions, 'stallMs' | 'answerMs'>,
  /** chunks in flight at once: they share the link, so each crosses it at 1/parallel of its pace */
  parallel: number,
  /** absent: the fixed answer timeout only */
  measured: MeasuredTiming | undefined,
  /** called whenever the body has sent more bytes */
  onMoved?: () => void,
): Promise<ChunkAnswer> {
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  const answerMs = options.answerMs ?? DEFAULT_ANSWER_MS;
  const request = new AbortController();
  let stalled: StallError | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (ms: number, what: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = new StallError(index, what);
      request.abort(stalled);
    }, ms);
  };
  /** when the page handed over the body's last byte (real time: the timers are real) */
  let sentAt: number | undefined;
  const armAnswer = () => {
    const ms = answerTimeout(bytes.length, parallel, answerMs, measured?.rate(), measured?.base);
    arm(Math.max(0, sentAt! + ms - Date.now()), `no answer ${Math.round(ms / 1000)} s after it was sent`);
  };
  const retime = () => {
    if (sentAt !== undefined) armAnswer();
  };
  const onAbort = () => request.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  measured?.waiting.add(retime);
  arm(stallMs, `nothing sent for ${Math.round(stallMs / 1000)} s`);
  let sentSoFar = 0;
  try {
    return await send(index, bytes, request.signal, (sent) => {
      if (sent > sentSoFar) {
        sentSoFar = sent;
        onMoved?.();
      }
      if (sent >= bytes.length) {
        sentAt ??= Date.now();
        armAnswer();
      } else arm(stallMs, `nothing sent for ${Math.round(stallMs / 1000)} s`);
    });
  } catch (error) {
    if (stalled) throw stalled;
    throw error;
  } finally {
    clearTimeout(timer);
    measured?.waiting.delete(retime);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * How long a request may wait for its answer after its last byte left the page: `answerMs` plus the
 * chunk's time at the slowest link; with a measured rate, MEASURED_ANSWER_MS plus RATE_SLACK times
 * its time at that rate, if that is shorter.
 */
export function answerTimeout(
  bytes: number,
  parallel: number,
  answerMs: number,
  measuredRate?: number,
  measuredAnswerMs = MEASURED_ANSWER_MS,
): number {
  const fixed = answerMs + Math.ceil((bytes * parallel * 1000) / SLOW_LINK_BYTES_PER_SECOND);
  if (!measuredRate || measuredRate <= 0) return fixed;
  return Math.min(fixed, measuredAnswerMs + Math.ceil((RATE_SLACK * bytes * parallel * 1000) / measuredRate));
}

/** A ChunkSource over a ciphertext held in memory. */
export function bytesSource(ciphertext: Uint8Array, chunkSize: number): ChunkSource {
  return {
    size: ciphertext.length,
    chunkSize,
    read: (index) => ciphertext.subarray(index * chunkSize, Math.min(ciphertext.length, (index + 1) * chunkSize)),
  };
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

/** Aborted when either is (AbortSignal.any is missing from some engines the page supports). */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const both = new AbortController();
  const onA = () => both.abort(a.reason);
  const onB = () => both.abort(b.reason);
  if (a.aborted) onA();
  else if (b.aborted) onB();
  else {
    a.addEventListener('abort', onA, { once: true });
    b.addEventListener('abort', onB, { once: true });
  }
  return both.signal;
}

/**
 * The browser's sender: XMLHttpRequest, because fetch cannot report upload progress. `hashesOf`
 * gives what a chunk's URL carries (a streamed upload's chunk SHA-256s and digests), asked when it is sent.
 */
export function xhrChunkSender(uploadId: string, hashesOf: (index: number) => ChunkHashes = () => ({})): ChunkSender {
  return (index, bytes, signal, onBytes) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', chunkUrl(uploadId, index, hashesOf(index)));
      xhr.setRequestHeader('content-type', 'application/octet-stream');
      xhr.withCredentials = false;
      xhr.upload.onprogress = (event) => onBytes(event.loaded);
      // the body is all sent: from here the answer timeout runs
      xhr.upload.onload = () => onBytes(bytes.length);
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
      // A view must be copied to a buffer of its own (XHR sends a view's whole underlying buffer
      // in some engines); a chunk that owns its buffer (the worker's) goes as it is: no copy.
      xhr.send(bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice());
    });
}

/** A sender over fetch (no progress within a chunk), for environments without XMLHttpRequest. */
export function fetchChunkSender(uploadId: string, origin = ''): ChunkSender {
  return async (index, bytes, signal, onBytes) => {
    let response: Response;
    // fetch tells nothing until the answer: the whole body counts as handed over now, and the
    // answer timeout (with its time for the body at a slow link's pace) runs from here
    onBytes(bytes.length);
    try {
      response = await fetch(origin + chunkUrl(uploadId, index), {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes.slice(),
        credentials: 'same-origin',
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new ApiError(0, 'network', `no answer for chunk ${index}: ${(error as Error).message}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new ApiError(0, 'network', `the answer for chunk ${index} was cut: ${(error as Error).message}`);
    }
    return readAnswer<ChunkAnswer>(response.status, text);
  };
}
