/**
 * @module cli/ciphertext-reader — a submission's ciphertext read and hashed (SHA-256) on a worker
 * thread, handed to the decryption as a stream of the very chunks that were hashed (each chunk's
 * buffer is transferred, not copied). The main thread is left to OpenPGP (AES, SHA-1 MDC) and the
 * envelope: at 100 MB the hash and the reads were about a tenth of its time. It serves what the
 * fast path (cli/seipd.ts, whose worker decrypt starts early) declines: signed tips, compression,
 * SEIPD v2, any other shape.
 */

import { Worker } from 'node:worker_threads';

// Plain CommonJS evaluated in the worker (no loader hooks there). The first message names the
// file, { fd, chunk }, unanswered; then it reads `fd` from offset 0 in chunks of `chunk` bytes, one
// per 'read' request, and answers 'digest' with the byte count and the SHA-256 of every chunk it has
// sent so far. Messages are answered in the order they came; one worker reads one file.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { createHash } = require('node:crypto');
let fd;
let chunk;
const hash = createHash('sha256');
let position = 0;
let ended = false;
parentPort.on('message', (request) => {
  if (fd === undefined) {
    ({ fd, chunk } = request);
    return;
  }
  if (request === 'digest') {
    parentPort.postMessage({ type: 'digest', bytes: position, sha256: hash.copy().digest('hex') });
    return;
  }
  if (ended) {
    parentPort.postMessage({ type: 'end' });
    return;
  }
  try {
    const buffer = new ArrayBuffer(chunk);
    const view = new Uint8Array(buffer);
    let length = 0;
    while (length < chunk) {
      const n = readSync(fd, view, length, chunk - length, position + length);
      if (n === 0) break;
      length += n;
    }
    if (length === 0) {
      ended = true;
      parentPort.postMessage({ type: 'end' });
      return;
    }
    hash.update(view.subarray(0, length));
    position += length;
    parentPort.postMessage({ type: 'chunk', buffer, length }, [buffer]);
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message || error) });
  }
});
`;

type Reply =
  | { type: 'chunk'; buffer: ArrayBuffer; length: number }
  | { type: 'end' }
  | { type: 'digest'; bytes: number; sha256: string }
  | { type: 'error'; message: string };

export interface CiphertextReader {
  /** The file's bytes, from its start; errors if a read fails or the worker dies. */
  stream: ReadableStream<Uint8Array>;
  /** Bytes handed to `stream` so far, and the SHA-256 of exactly those bytes. */
  digest(): Promise<{ bytes: number; sha256: string }>;
  /** Whether a request (a read, the digest) is with the worker, unanswered. */
  inFlight(): boolean;
  /** Stops the worker; resolves once it can no longer touch `fd` (close the file only after). */
  close(): Promise<void>;
}

/**
 * Reads the open file `fd` on a worker: `readAhead` chunks of `chunkSize` bytes queued ahead of the
 * consumer at most (memory: readAhead × chunkSize); `onBytes` is told each chunk's length.
 */
export function openCiphertextReader(fd: number, options: { chunkSize: number; readAhead: number; onBytes?: (n: number) => void }): CiphertextReader {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  const waiting: { resolve(reply: Reply): void; reject(error: Error): void }[] = [];
  let failure: Error | undefined;
  let closed = false;
  const fail = (error: Error): void => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  worker.on('message', (reply: Reply) => waiting.shift()?.resolve(reply));
  worker.on('error', (error) => fail(error));
  worker.on('exit', (code) => fail(new Error(closed ? 'the ciphertext reader was closed' : `the ciphertext reader stopped (exit code ${code})`)));
  worker.postMessage({ fd, chunk: options.chunkSize });

  const ask = (request: 'read' | 'digest'): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      waiting.push({ resolve, reject });
      worker.postMessage(request);
    });

  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const reply = await ask('read');
        if (reply.type === 'chunk') {
          options.onBytes?.(reply.length);
          controller.enqueue(new Uint8Array(reply.buffer, 0, reply.length));
        } else if (reply.type === 'end') {
          controller.close();
        } else if (reply.type === 'error') {
          throw new Error(`cannot read the ciphertext: ${reply.message}`);
        } else {
          throw new Error('the ciphertext reader answered out of turn');
        }
      },
    },
    { highWaterMark: options.readAhead },
  );

  return {
    stream,
    async digest() {
      const reply = await ask('digest');
      if (reply.type !== 'digest') throw new Error('the ciphertext reader answered out of turn');
      return { bytes: reply.bytes, sha256: reply.sha256 };
    },
    inFlight: () => waiting.length > 0,
    async close() {
      closed = true;
      await worker.terminate();
    },
  };
}
