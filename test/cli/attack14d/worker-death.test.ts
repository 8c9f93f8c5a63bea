/**
 * The fast path's worker failing at every message it handles, not only mid-stream and at the digest
 * (the first round's three): when given the file (process.exit, or an uncaught throw there), at its
 * first read, at the end of the file before it answers, right after it answered 'end' (the digest
 * then finds it gone), on the read that reaches the size exactly, and an uncaught throw while
 * reading (outside its try). Safe means: each ends as the usual path alone — the same outcome, the
 * same files — and the bytes told to onCiphertextBytes are the file's size, once.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Identity } from '../../../cli/identities.ts';
import { demoKeys, envelope, handMade, literalPacket, runDecrypt } from '../attack14c/_helpers.ts';
import { FAST_OFF, isFastWorker } from '../attack14c/_mock-workers.ts';

const workers = vi.hoisted(() => ({ transform: (source: string) => source }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(source: string, options?: import('node:worker_threads').WorkerOptions) {
      super(workers.transform(source), options);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

let dir: string;
let pub: openpgp.PublicKey;
let identity: Identity;
let message: Uint8Array;
let usual: Awaited<ReturnType<typeof runDecrypt>>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14d-death-'));
  ({ pub, identity } = await demoKeys());
  ({ message } = await handMade(pub, literalPacket(await envelope(3_200_000), { partial: 16 }), { partial: 16 }));
  workers.transform = FAST_OFF;
  usual = await runDecrypt(dir, message, identity);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const INIT = '({ fd, chunk, seipdAt, limit, pkesks } = request);';
const READ = 'const buffer = new ArrayBuffer(chunk);';
const ENDED = 'ended = true;';
const END_POST = "parentPort.postMessage({ type: 'end', ok: result.ok, why: result.why });";
const UNFRAME = 'unframe(bytes, offset);';
const injections: [string, string, string][] = [
  ['exits when given the file', INIT, `process.exit(5); ${INIT}`],
  ['throws (uncaught) when given the file', INIT, `${INIT} throw new Error('injected at init');`],
  ['exits at its first read', READ, `process.exit(6); ${READ}`],
  ['exits at the end of the file before answering', ENDED, `process.exit(7); ${ENDED}`],
  ['exits right after answering the end', END_POST, `${END_POST} process.exit(8);`],
  ['exits on the read that reaches the size', UNFRAME, `if (position === limit) process.exit(10); ${UNFRAME}`],
  ['throws (uncaught) on the read that reaches the size', "    parentPort.postMessage({ type: 'chunk'", "    if (position === limit) setImmediate(() => { throw new Error('injected'); });\n    parentPort.postMessage({ type: 'chunk'"],
];

for (const [name, from, to] of injections) {
  it(`a worker that ${name} ends as the usual path alone, progress told once`, async () => {
    expect(usual.outcome.status).toBe('ok');
    let applied = false;
    workers.transform = (source) => {
      if (!isFastWorker(source)) return source;
      applied = source.includes(from);
      return source.replace(from, to);
    };
    let told = 0;
    const quick = await runDecrypt(dir, message, identity, { onCiphertextBytes: (n) => { told += n; } });
    expect(applied, `${name}: the injection applies`).toBe(true);
    expect(quick.outcome, name).toEqual(usual.outcome);
    expect(quick.files!.equals(usual.files!), name).toBe(true);
    expect(quick.left, name).toEqual(usual.left);
    expect(told, `${name}: bytes told for a ${message.length}-byte file`).toBe(message.length);
  });
}
