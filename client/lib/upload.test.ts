import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from './api.ts';
import { backoffDelay, chunkCount, fetchChunkSender, uploadChunks } from './upload.ts';

/**
 * A real HTTP server that plays the chunk route of docs/INTERNALS.md and misbehaves on request:
 * `faults` maps "uploadId/index" to the failures to serve before accepting ('503', 'drop', '422').
 */
let server: Server;
let origin: string;
const received = new Map<string, Map<number, Buffer>>();
const faults = new Map<string, string[]>();
const attempts: string[] = [];

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
    const bytes = await body(req);
    attempts.push(`${id}/${idx}`);
    const fault = faults.get(`${id}/${idx}`)?.shift();
    if (fault === 'drop') return req.socket.destroy();
    if (fault === '503') return res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy","message":"try later"}');
    if (fault === '422') return res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"bad_ciphertext","message":"no"}');
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
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const ciphertext = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);

describe('uploadChunks', () => {
  it('sends every chunk in order and returns the submission id', async () => {
    const progress: number[] = [];
    const result = await uploadChunks({
      ciphertext,
      chunkSize: 300,
      send: fetchChunkSender('plainx4', origin),
      signal: new AbortController().signal,
      onProgress: (f) => progress.push(f),
    });
    expect(result).toEqual({ submissionId: 'sub-plainx4' });
    const chunks = received.get('plainx4')!;
    expect(Buffer.concat([0, 1, 2, 3].map((i) => chunks.get(i)!)).equals(Buffer.from(ciphertext))).toBe(true);
    expect(chunks.get(3)!.length).toBe(100);
    expect(progress.at(-1)).toBe(1);
  });

  it('announces the last chunk once, before it is first sent', async () => {
    const events: string[] = [];
    const send = fetchChunkSender('lastx3', origin);
    await uploadChunks({
      ciphertext,
      chunkSize: 400,
      send: (index, bytes, signal, onBytes) => {
        events.push(`send ${index}`);
        return send(index, bytes, signal, onBytes);
      },
      signal: new AbortController().signal,
      onLastChunk: () => events.push('last'),
    });
    expect(events).toEqual(['send 0', 'send 1', 'last', 'send 2']);
  });

  it('retries a chunk that failed with a 503 and one whose connection dropped, then completes', async () => {
    faults.set('flakyx3/1', ['503', 'drop']);
    const retries: [number, string][] = [];
    const result = await uploadChunks({
      ciphertext,
      chunkSize: 400,
      send: fetchChunkSender('flakyx3', origin),
      signal: new AbortController().signal,
      onRetry: (attempt, _tries, error) => retries.push([attempt, error.code]),
      baseDelayMs: 1,
    });
    expect(result.submissionId).toBe('sub-flakyx3');
    expect(retries).toEqual([
      [2, 'busy'],
      [3, 'network'],
    ]);
    expect(attempts.filter((a) => a.startsWith('flakyx3/'))).toEqual(['flakyx3/0', 'flakyx3/1', 'flakyx3/1', 'flakyx3/1', 'flakyx3/2']);
  });

  it('gives up after the last try with the last error', async () => {
    faults.set('deadx2/0', ['503', '503', '503']);
    const run = uploadChunks({
      ciphertext,
      chunkSize: 500,
      send: fetchChunkSender('deadx2', origin),
      signal: new AbortController().signal,
      tries: 3,
      baseDelayMs: 1,
    });
    await expect(run).rejects.toMatchObject({ name: 'ApiError', status: 503, code: 'busy' });
    expect(attempts.filter((a) => a.startsWith('deadx2/'))).toEqual(['deadx2/0', 'deadx2/0', 'deadx2/0']);
  });

  it('does not retry a refusal the server means', async () => {
    faults.set('refusedx2/1', ['422']);
    const run = uploadChunks({
      ciphertext,
      chunkSize: 500,
      send: fetchChunkSender('refusedx2', origin),
      signal: new AbortController().signal,
      baseDelayMs: 1,
    });
    await expect(run).rejects.toMatchObject({ status: 422, code: 'bad_ciphertext' });
    expect(attempts.filter((a) => a === 'refusedx2/1')).toHaveLength(1);
  });

  it('stops when cancelled, also while waiting to retry', async () => {
    faults.set('cancelx2/0', ['503', '503']);
    const controller = new AbortController();
    const run = uploadChunks({
      ciphertext,
      chunkSize: 500,
      send: fetchChunkSender('cancelx2', origin),
      signal: controller.signal,
      onRetry: () => controller.abort(new DOMException('cancelled by the source', 'AbortError')),
      baseDelayMs: 60_000,
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(received.has('cancelx2')).toBe(false);
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
