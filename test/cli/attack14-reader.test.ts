/**
 * @module test/cli/attack14-reader — decrypt's worker-thread reader (cli/ciphertext-reader.ts) under
 * a worker that dies, a read that fails, a file rewritten while it is read, and submission paths
 * that are not regular files: never a plaintext kept, never a partial folder left.
 */

import { mkdir, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../cli/identities.ts';
import { decryptSubmission } from '../../cli/submission.ts';
import { mkfifo, tempRoot } from './attack14-fixture.ts';
import { makeSubmission, randomId } from './fixtures.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, writeBundle } from './helpers.ts';

/** How the next worker's source is changed (the reader evaluates a source string: it is the worker). */
const inject = vi.hoisted(() => ({ transform: (source: string) => source }));

vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(source: string, options?: import('node:worker_threads').WorkerOptions) {
      super(inject.transform(source), options);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});

let identity: Identity;
let tmp: { dir: string; cleanup(): Promise<void> };
let ciphertext: Uint8Array;

beforeAll(async () => {
  const locked = await openpgp.readPrivateKey({ armoredKey: await readFile(DEMO_SECRET_KEY, 'utf8') });
  const key = await openpgp.decryptKey({ privateKey: locked, passphrase: DEMO_PASSPHRASE });
  identity = { path: DEMO_SECRET_KEY, fingerprint: key.getFingerprint(), keyIds: new Set(key.getKeyIDs().map((id) => id.toHex())), key };
  // 5 MiB of file data: five of the reader's 1 MiB chunks, so that a fault lands mid-file.
  const bytes = new Uint8Array(5 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  ciphertext = await makeSubmission({ language: 'en', message: 'the ledger\n', files: [{ name: 'ledger.bin', type: 'application/octet-stream', bytes, stripped: false }] });
});

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14-reader-');
  inject.transform = (source) => source;
});

afterEach(async () => {
  inject.transform = (source) => source;
  await tmp.cleanup();
});

async function decryptWith(prepare?: (file: string) => Promise<void>) {
  const id = randomId();
  const bundleDir = join(tmp.dir, 'bundle');
  await writeBundle(bundleDir, [{ id, handle: 'quiet-otter', ciphertext }]);
  const file = join(bundleDir, 'submissions', `${id}.pgp`);
  await prepare?.(file);
  const outDir = join(tmp.dir, 'out');
  await mkdir(outDir);
  const submission = { id, handle: 'quiet-otter', day: '2026-11-27', size: ciphertext.length, sha256: '', path: `submissions/${id}.pgp` };
  submission.sha256 = JSON.parse(await readFile(join(bundleDir, 'bundle.json'), 'utf8')).submissions[0].sha256;
  const outcome = await decryptSubmission({ submission, bundleDir, outDir, identities: [identity] });
  return { outcome, left: await readdir(outDir) };
}

/** The worker's source with `code` run before its `n`-th read (1-based). */
function beforeRead(n: number, code: string): (source: string) => string {
  return (source) => {
    const patched = source.replace(
      'const buffer = new ArrayBuffer(chunk);',
      `globalThis.__reads = (globalThis.__reads || 0) + 1; if (globalThis.__reads === ${n}) { ${code} }\n    const buffer = new ArrayBuffer(chunk);`,
    );
    if (patched === source) throw new Error('the worker source changed: this test needs updating');
    return patched;
  };
}

describe('the ciphertext reader under faults', () => {
  // HELD (control): untouched, the 5 MiB submission decrypts.
  it('decrypts the intact submission (the control)', async () => {
    const { outcome, left } = await decryptWith();
    expect(outcome.status).toBe('ok');
    expect(left).toEqual(['quiet-otter']);
  });

  // HELD: the worker dying mid-file fails the submission; nothing is kept.
  it('keeps nothing when the worker dies mid-file', async () => {
    inject.transform = beforeRead(3, 'process.exit(7);');
    const { outcome, left } = await decryptWith();
    expect(outcome.status).toBe('failed');
    expect(left).toEqual([]);
  });

  // HELD: a read error (EIO) mid-file fails the submission; nothing is kept.
  it('keeps nothing when a read fails mid-file', async () => {
    inject.transform = beforeRead(3, "const e = new Error('EIO: i/o error, read'); e.code = 'EIO'; throw e;");
    const { outcome, left } = await decryptWith();
    expect(outcome.status).toBe('failed');
    expect(left).toEqual([]);
  });

  // HELD: the file rewritten in place (same size) between two reads: the bytes hashed are the bytes decrypted, and neither is the bundle's.
  it('keeps nothing when the file is rewritten while it is read', async () => {
    let path = '';
    // 4 KiB at 4 MiB, not read yet (two 1 MiB chunks were read, and at most two more queued)
    inject.transform = (source) => beforeRead(3, `const fs = require('node:fs'); const w = fs.openSync(${JSON.stringify('@@PATH@@')}, 'r+'); fs.writeSync(w, Buffer.alloc(4096, 0x41), 0, 4096, 4 * 1024 * 1024); fs.closeSync(w);`)(source).replace('@@PATH@@', path);
    const { outcome, left } = await decryptWith(async (file) => {
      path = file;
    });
    expect(outcome.status).toBe('failed');
    expect(left).toEqual([]);
  });

  // HELD: a rewrite of bytes already read and hashed (the first 4 KiB): the bytes decrypted were the bundle's, and so is the result.
  it('decrypts what was hashed when bytes already read change afterwards', async () => {
    let path = '';
    inject.transform = (source) => beforeRead(4, `require('node:fs').writeFileSync(${JSON.stringify('@@PATH@@')}, Buffer.alloc(4096, 0x41), { flag: 'r+' });`)(source).replace('@@PATH@@', path);
    const { outcome } = await decryptWith(async (file) => {
      path = file;
    });
    expect(outcome.status).toBe('ok');
  });

  // HELD: a FIFO, a link to /dev/zero, a folder: refused before any read.
  it.each([
    ['a FIFO', async (file: string) => { await rm(file); await mkfifo(file); }],
    ['a symlink to /dev/zero', async (file: string) => { await rm(file); await symlink('/dev/zero', file); }],
    ['a folder', async (file: string) => { await rm(file); await mkdir(file); }],
  ] as const)('refuses a submission file that is %s, keeping nothing', async (_name, spoil) => {
    const { outcome, left } = await decryptWith(spoil);
    expect(outcome).toMatchObject({ status: 'failed', reason: 'not a file' });
    expect(left).toEqual([]);
  });

  // HELD: appended bytes (the file grows after its size was checked): more bytes than the bundle's, refused.
  it('keeps nothing when the file grows while it is read', async () => {
    let path = '';
    inject.transform = (source) => beforeRead(2, `require('node:fs').appendFileSync(${JSON.stringify('@@PATH@@')}, Buffer.alloc(10, 1));`)(source).replace('@@PATH@@', path);
    const { outcome, left } = await decryptWith(async (file) => {
      path = file;
    });
    expect(outcome.status).toBe('failed');
    expect(left).toEqual([]);
  });
});

