import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from './api.ts';
import {
  answerTimeout,
  backoffDelay,
  bytesSource,
  chunkCount,
  fetchChunkSender,
  MEASURED_ANSWER_MS,
  RATE_SLACK,
  type RetryInfo,
  SLOW_LINK_BYTES_PER_SECOND,
  type UploadProgress,
  uploadChunks,
} from './upload.ts';

/**
 * A real HTTP server that plays the chunk route of docs/INTERNALS.md and misbehaves on request:
 * `faults` maps "uploadId/index" to the failures to serve before accepting ('503', 'drop', '422',
 * 'stall': read the body, never answer). It counts the requests in flight per upload.
 */
let server: Server;
let origin: string;
const received = new Map<string, Map<number, Buffer>>();
const faults = new Map<string, string[]>();
const attempts: string[] = [];
const inFlight = new Map<string, number>();
const maxInFlight = new Map<string, number>();
const stalled: ServerResponse[] = [];

async function body(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const m = /^\/api\/v1\/uploads\/(\w+)\/chunks\/(\d+)$/.exec(req.url ?? '');
    if (!m || req.method !== 'PUT') return res.writeHead(404).end();
    const [, id, idx] = m as unknown as [string, string, string];
    inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
    maxInFlight.set(id, Math.max(maxInFlight.get(id) ?? 0, inFlight.get(id)!));
    res.on('close', () => inFlight.set(id, inFlight.get(id)! - 1));
    const bytes = await body(req);
    attempts.push(`${id}/${idx}`);
    const fault = faults.get(`${id}/${idx}`)?.shift();
    if (fault === 'stall') return void stalled.push(res);
    if (fault === 'drop') return req.socket.destroy();
    if (fault === '503') return res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy","message":"try later"}');
    if (fault === '422') return res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"bad_ciphertext","message":"no"}');
    if (fault === '507') {
      return res.writeHead(507, { 'content-type': 'application/json' }).end('{"error":"reservations_full","message":"Too many uploads are waiting"}');
    }
    // a little latency, so that parallel requests overlap
    await new Promise((resolve) => setTimeout(resolve, 20));
    const chunks = received.get(id) ?? new Map<number, Buffer>();
    received.set(id, chunks);
    chunks.set(Number(idx), bytes);
    const total = Number(id.split('x')[1]);
    res.writeHead(200, { 'content-type': 'application/json' });
    if (chunks.size === total) res.end(JSON.stringify({ complete: true, submissionId: `sub-${id}` }));
    else res.end(JSON.stringify({ complete: false, received: [...chunks.keys()] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  for (const res of stalled) res.destroy();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

const ciphertext = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
const never = () => new AbortController().signal;

describe('uploadChunks', () => {
  it('sends every chunk, two at a time, counts only acknowledged bytes, and returns the submission id', async () => {
    const progress: number[] = [];
    const result = await uploadChunks({
      source: bytesSource(ciphertext, 100),
      send: fetchChunkSender('plainx10', origin),
      signal: never(),
      parallel: 2,
      onProgress: ({ acknowledged, total }) => progress.push(acknowledged / total),
    });
    expect(result).toEqual({ submissionId: 'sub-plainx10' });
    const chunks = received.get('plainx10')!;
    expect(Buffer.concat([...Array(10).keys()].map((i) => chunks.get(i)!)).equals(Buffer.from(ciphertext))).toBe(true);
    expect(maxInFlight.get('plainx10')).toBe(2);
    expect(progress).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  });

  it('reads each chunk once, in order, and holds no more than `parallel` at a time', async () => {
    const reads: number[] = [];
    let held = 0;
    let maxHeld = 0;
    const source = bytesSource(ciphertext, 100);
    const send = fetchChunkSender('heldx10', origin);
    await uploadChunks({
      source: {
        ...source,
        read: (index) => {
          reads.push(index);
          maxHeld = Math.max(maxHeld, ++held);
          return source.read(index);
        },
      },
      send: async (...args) => {
        try {
          return await send(...args);
        } finally {
          held--;
        }
      },
      signal: never(),
      parallel: 3,
    });
    expect(reads).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(maxHeld).toBe(3);
  });

  it('announces the chunk that may complete the upload once, before it is first sent', async () => {
    const events: string[] = [];
    const send = fetchChunkSender('lastx3', origin);
    await uploadChunks({
      source: bytesSource(ciphertext, 400),
      send: (index, bytes, signal, onBytes) => {
        events.push(`send ${index}`);
        return send(index, bytes, signal, onBytes);
      },
      signal: never(),
      parallel: 1,
      onLastChunk: () => events.push('last'),
    });
    expect(events).toEqual(['send 0', 'send 1', 'last', 'send 2']);
  });

  it('retries a chunk that failed with a 503 and one whose connection dropped, then completes', async () => {
    faults.set('flakyx3/1', ['503', 'drop']);
    const retries: Pick<RetryInfo, 'index' | 'reason'>[] = [];
    let recovered = 0;
    const result = await uploadChunks({
      source: bytesSource(ciphertext, 400),
      send: fetchChunkSender('flakyx3', origin),
      signal: never(),
      parallel: 1,
      onRetry: ({ index, reason, giveUpInMs }) => {
        expect(giveUpInMs).toBeGreaterThan(0);
        retries.push({ index, reason });
      },
      onRecovered: () => recovered++,
      baseDelayMs: 1,
    });
    expect(result.submissionId).toBe('sub-flakyx3');
    expect(retries).toEqual([
      { index: 1, reason: 'server' },
      { index: 1, reason: 'network' },
    ]);
    expect(recovered).toBe(1);
    expect(attempts.filter((a) => a.startsWith('flakyx3/'))).toEqual(['flakyx3/0', 'flakyx3/1', 'flakyx3/1', 'flakyx3/1', 'flakyx3/2']);
  });

  it('aborts a request that gets no answer, says it stalled, sends it again and completes', async () => {
    faults.set('stallx2/1', ['stall']);
    const retries: RetryInfo[] = [];
    const result = await uploadChunks({
      source: bytesSource(ciphertext, 500),
      send: fetchChunkSender('stallx2', origin),
      signal: never(),
      parallel: 1,
      answerMs: 300,
      stallMs: 300,
      baseDelayMs: 1,
      onRetry: (info) => retries.push(info),
    });
    expect(result.submissionId).toBe('sub-stallx2');
    expect(retries.map((r) => [r.index, r.reason, r.error.code])).toEqual([[1, 'stalled', 'stalled']]);
    expect(attempts.filter((a) => a === 'stallx2/1')).toHaveLength(2);
  });

  it("gives a chunk time to cross a slow link after the browser says it is sent (Chromium's early upload.onload)", async () => {
    // 32,000 bytes "sent" at once, answered 1.2 s later, as over a 27 kB/s circuit: past the bare
    // answer timeout (100 ms), inside it plus the chunk's time at SLOW_LINK_BYTES_PER_SECOND (2 s)
    const big = new Uint8Array(2 * SLOW_LINK_BYTES_PER_SECOND);
    const retries: RetryInfo[] = [];
    let sends = 0;
    const result = await uploadChunks({
      source: bytesSource(big, big.length),
      send: (_index, bytes, signal, onBytes) =>
        new Promise((resolve, reject) => {
          sends++;
          onBytes(bytes.length);
          const timer = setTimeout(() => resolve({ complete: true, submissionId: 'sub-slow' }), 1200);
          signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
        }),
      signal: never(),
      answerMs: 100,
      stallMs: 100,
      baseDelayMs: 1,
      onRetry: (info) => retries.push(info),
    });
    expect(result.submissionId).toBe('sub-slow');
    expect(retries).toEqual([]);
    expect(sends).toBe(1);
  });

  it('estimates the time left from the acknowledged rate, nothing before the first acknowledgement', async () => {
    let clock = 0;
    const progress: UploadProgress[] = [];
    await uploadChunks({
      source: bytesSource(ciphertext, 250),
      // each chunk "takes" two seconds to be acknowledged: 125 bytes per second
      send: async (...args) => {
        clock += 2000;
        return fetchChunkSender('ratex4', origin)(...args);
      },
      signal: never(),
      parallel: 1,
      now: () => clock,
      onProgress: (p) => progress.push(p),
    });
    expect(progress.map((p) => [p.acknowledged, p.bytesPerSecond, p.remainingMs])).toEqual([
      [250, 125, 6000],
      [500, 125, 4000],
      [750, 125, 2000],
      [1000, 125, 0],
    ]);
  });

  it('once the rate is known, notices a frozen chunk by it (not after the slowest link\'s time), and sends it again', async () => {
    // chunk 0 acknowledged at once; chunk 1 "sent" but never answered the first time
    const big = new Uint8Array(3 * 8000);
    const sends: number[] = [];
    const retries: RetryInfo[] = [];
    const result = await uploadChunks({
      source: bytesSource(big, 8000),
      send: (index, bytes, signal, onBytes) =>
        new Promise((resolve, reject) => {
          sends.push(index);
          onBytes(bytes.length);
          if (index === 1 && sends.filter((i) => i === 1).length === 1) {
            signal.addEventListener('abort', () => reject(signal.reason), { once: true });
            return;
          }
          resolve(index === 2 ? { complete: true, submissionId: 'sub-frozen' } : { complete: false, received: [index] });
        }),
      signal: never(),
      parallel: 1,
      // the fixed timeout alone is 60 s plus 0.5 s for the 8000 bytes at the slowest link
      answerMs: 60_000,
      measuredAnswerMs: 200,
      baseDelayMs: 1,
      onRetry: (info) => retries.push(info),
    });
    expect(result.submissionId).toBe('sub-frozen');
    expect(sends).toEqual([0, 1, 1, 2]);
    expect(retries.map((r) => [r.index, r.reason])).toEqual([[1, 'stalled']]);
  }, 20_000);

  it('times again by the measured rate a chunk that was already waiting when the rate became known', async () => {
    // chunks 0 and 1 leave together, before any rate; 0 is never answered the first time, 1 at once
    const big = new Uint8Array(3 * 8000);
    const answered = new Set<number>();
    const sends: number[] = [];
    const retries: RetryInfo[] = [];
    const result = await uploadChunks({
      source: bytesSource(big, 8000),
      send: (index, bytes, signal, onBytes) =>
        new Promise((resolve, reject) => {
          sends.push(index);
          onBytes(bytes.length);
          if (index === 0 && sends.filter((i) => i === 0).length === 1) {
            signal.addEventListener('abort', () => reject(signal.reason), { once: true });
            return;
          }
          // complete once every chunk is in, as the server is
          answered.add(index);
          resolve(answered.size === 3 ? { complete: true, submissionId: 'sub-retimed' } : { complete: false, received: [...answered] });
        }),
      signal: never(),
      parallel: 2,
      answerMs: 60_000,
      measuredAnswerMs: 200,
      baseDelayMs: 1,
      onRetry: (info) => retries.push(info),
    });
    expect(result.submissionId).toBe('sub-retimed');
    expect(retries.map((r) => [r.index, r.reason])).toEqual([[0, 'stalled']]);
    expect(sends.filter((i) => i === 0)).toHaveLength(2);
  }, 20_000);

  it('gives up when nothing was acknowledged within the retry budget, with the last error', async () => {
    faults.set('deadx2/0', Array(50).fill('503'));
    let clock = 0;
    const run = uploadChunks({
      source: bytesSource(ciphertext, 500),
      send: async (...args) => {
        clock += 60_000; // each try "takes" a minute
        return fetchChunkSender('deadx2', origin)(...args);
      },
      signal: never(),
      parallel: 1,
      retryBudgetMs: 5 * 60_000,
      baseDelayMs: 1,
      maxDelayMs: 1,
      now: () => clock,
    });
    await expect(run).rejects.toMatchObject({ name: 'ApiError', status: 503, code: 'busy' });
    expect(attempts.filter((a) => a === 'deadx2/0')).toHaveLength(5);
  });

  it("keeps retrying a chunk refused 503 beside another still crossing a slow link past the budget (the server takes one at a time), and gives up when nothing else moves, or after three budgets", async () => {
    // chunk 0 crosses for 12 "minutes" (a byte report each minute), chunk 1 is refused meanwhile
    const busy = () => new ApiError(503, 'busy', 'one at a time');
    const run = (crossing: boolean, minutes = 12) => {
      let clock = 0;
      let zeroDone = false;
      const tries: number[] = [];
      return {
        tries,
        result: uploadChunks({
          source: bytesSource(ciphertext, 500),
          send: async (index, bytes, _signal, onBytes) => {
            tries.push(index);
            if (index === 0) {
              for (let minute = 1; minute <= minutes; minute++) {
                clock += 60_000;
                // the bytes move only while the link carries them: without it, nothing after the first
                if (crossing || minute === 1) onBytes(Math.floor((bytes.length * minute) / (minutes + 1)));
                await new Promise((r) => setTimeout(r, 1));
              }
              onBytes(bytes.length);
              zeroDone = true;
              return { complete: false, received: [0] };
            }
            if (!zeroDone) {
              clock += 1000;
              throw busy();
            }
            onBytes(bytes.length);
            return { complete: true, submissionId: 'sub-turn' };
          },
          signal: never(),
          parallel: 2,
          retryBudgetMs: 5 * 60_000,
          baseDelayMs: 1,
          maxDelayMs: 1,
          stallMs: 3_600_000,
          answerMs: 3_600_000,
          now: () => clock,
        }),
      };
    };
    const waiting = run(true);
    expect(await waiting.result).toEqual({ submissionId: 'sub-turn' });
    expect(waiting.tries.filter((i) => i === 1).length).toBeGreaterThan(1);
    // chunk 0 sends nothing after its first minute: the budget runs from then, and the upload ends
    await expect(run(false).result).rejects.toMatchObject({ status: 503, code: 'busy' });
    // and never past three budgets without an acknowledgement, however long chunk 0 keeps sending
    await expect(run(true, 20).result).rejects.toMatchObject({ status: 503, code: 'busy' });
  });

  it('does not retry a refusal the server means, and stops the other chunks in flight', async () => {
    faults.set('refusedx4/1', ['422']);
    const run = uploadChunks({
      source: bytesSource(ciphertext, 250),
      send: fetchChunkSender('refusedx4', origin),
      signal: never(),
      parallel: 2,
      baseDelayMs: 1,
    });
    await expect(run).rejects.toMatchObject({ status: 422, code: 'bad_ciphertext' });
    expect(attempts.filter((a) => a === 'refusedx4/1')).toHaveLength(1);
    expect(attempts.filter((a) => a === 'refusedx4/3')).toHaveLength(0);
  });

  it('ends on a 507 quota refusal of a chunk (a probe whose promotion was refused: the upload is gone), without retrying', async () => {
    faults.set('probex4/1', ['507']);
    const run = uploadChunks({
      source: bytesSource(ciphertext, 250),
      send: fetchChunkSender('probex4', origin),
      signal: never(),
      parallel: 2,
      baseDelayMs: 1,
    });
    await expect(run).rejects.toMatchObject({ name: 'ApiError', status: 507, code: 'reservations_full' });
    expect(attempts.filter((a) => a === 'probex4/1')).toHaveLength(1);
    expect(attempts.filter((a) => a === 'probex4/3')).toHaveLength(0);
  });

  it('stops when cancelled, also while waiting to retry', async () => {
    faults.set('cancelx2/0', ['503', '503']);
    const controller = new AbortController();
    const run = uploadChunks({
      source: bytesSource(ciphertext, 500),
      send: fetchChunkSender('cancelx2', origin),
      signal: controller.signal,
      parallel: 1,
      onRetry: () => controller.abort(new DOMException('cancelled by the source', 'AbortError')),
      baseDelayMs: 60_000,
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(received.has('cancelx2')).toBe(false);
  });

  it('sends the last chunk again when every chunk was acknowledged but none said complete', async () => {
    // the server answers "not complete" to everything the first time round: a lost completion
    let answered = 0;
    const send = fetchChunkSender('lostx2', origin);
    const result = await uploadChunks({
      source: bytesSource(ciphertext, 500),
      send: async (index, bytes, signal, onBytes) => {
        const answer = await send(index, bytes, signal, onBytes);
        return answered++ < 2 ? { complete: false, received: [index] } : answer;
      },
      signal: never(),
      parallel: 2,
    });
    expect(result.submissionId).toBe('sub-lostx2');
    expect(attempts.filter((a) => a === 'lostx2/1')).toHaveLength(2);
  });
});

describe('backoffDelay', () => {
  it('doubles per attempt within ±50% jitter and stays under the cap', () => {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const d = backoffDelay(attempt, 1000, 30_000);
      const nominal = Math.min(30_000, 1000 * 2 ** (attempt - 1));
      expect(d).toBeGreaterThanOrEqual(nominal * 0.5);
      expect(d).toBeLessThanOrEqual(nominal * 1.5);
    }
  });
});

describe('answerTimeout', () => {
  it('is the fixed time plus the chunk at the slowest link, or the measured one when shorter', () => {
    const MiB = 1024 * 1024;
    expect(answerTimeout(4 * MiB, 2, 90_000)).toBe(90_000 + Math.ceil((8 * MiB * 1000) / SLOW_LINK_BYTES_PER_SECOND));
    // at 125 kB/s (1 Mbit/s) two 4 MiB chunks in flight: 20 s + 3 × 67 s
    expect(answerTimeout(4 * MiB, 2, 90_000, 125_000)).toBe(MEASURED_ANSWER_MS + Math.ceil((RATE_SLACK * 8 * MiB * 1000) / 125_000));
    // a measured rate slower than the slowest link never lengthens it
    expect(answerTimeout(4 * MiB, 2, 90_000, 1000)).toBe(answerTimeout(4 * MiB, 2, 90_000));
  });
});

describe('chunkCount', () => {
  it('counts a last partial chunk and gives an empty ciphertext one chunk', () => {
    expect(chunkCount(1000, 300)).toBe(4);
    expect(chunkCount(900, 300)).toBe(3);
    expect(chunkCount(0, 300)).toBe(1);
  });
  it('is consistent with ApiError retryable', () => {
    expect(new ApiError(0, 'network', '').retryable).toBe(true);
    expect(new ApiError(409, 'conflict', '').retryable).toBe(false);
  });
});
