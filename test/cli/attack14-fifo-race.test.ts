/**
 * @module test/cli/attack14-fifo-race — the submission file is checked with stat() and then opened
 * by name: swapped for a FIFO in between (a bundle on a shared or hostile medium), the open blocks.
 */

import { openSync, closeSync, constants } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../cli/identities.ts';
import { decryptSubmission } from '../../cli/submission.ts';
import { tempRoot } from './attack14-fixture.ts';
import { makeSubmission, randomId } from './fixtures.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, writeBundle } from './helpers.ts';

/** The next open() of a .pgp file first finds it replaced by a FIFO (the race, landed). */
const race = vi.hoisted(() => ({ armed: false, fifo: '' }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const { execFileSync } = await import('node:child_process');
  const open = (async (path: Parameters<typeof real.open>[0], ...rest: unknown[]) => {
    if (race.armed && String(path).endsWith('.pgp')) {
      race.armed = false;
      await real.rm(path);
      execFileSync('mkfifo', ['-m', '0600', String(path)]);
      race.fifo = String(path);
    }
    return (real.open as (...args: unknown[]) => ReturnType<typeof real.open>)(path, ...rest);
  }) as typeof real.open;
  return { ...real, open, default: { ...real, open } };
});

let identity: Identity;
let tmp: { dir: string; cleanup(): Promise<void> };

beforeAll(async () => {
  const locked = await openpgp.readPrivateKey({ armoredKey: await readFile(DEMO_SECRET_KEY, 'utf8') });
  const key = await openpgp.decryptKey({ privateKey: locked, passphrase: DEMO_PASSPHRASE });
  identity = { path: DEMO_SECRET_KEY, fingerprint: key.getFingerprint(), keyIds: new Set(key.getKeyIDs().map((id) => id.toHex())), key };
});

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14-fifo-');
  race.armed = false;
  race.fifo = '';
});

afterEach(async () => {
  // Let a blocked open() go (a writer that opens and closes at once), then clean up.
  if (race.fifo !== '') {
    try {
      closeSync(openSync(race.fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader was waiting
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  await tmp.cleanup();
});

describe('a submission file swapped for a FIFO after its check', () => {
  // BROKEN (as before c145f90): stat() then open(path, 'r'): a FIFO swapped in between blocks decrypt forever (no O_NONBLOCK, no fstat of the descriptor).
  it('is refused as not a regular file, promptly, keeping nothing', async () => {
    const ciphertext = await makeSubmission({ language: 'en', message: 'hello\n', files: [] });
    const id = randomId();
    const bundleDir = join(tmp.dir, 'bundle');
    await writeBundle(bundleDir, [{ id, handle: 'quiet-otter', ciphertext }]);
    const submission = JSON.parse(await readFile(join(bundleDir, 'bundle.json'), 'utf8')).submissions[0];
    const outDir = join(tmp.dir, 'out');
    await mkdir(outDir);
    race.armed = true;
    const outcome = await Promise.race([
      decryptSubmission({ submission, bundleDir, outDir, identities: [identity] }),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000)),
    ]);
    expect(race.fifo).not.toBe(''); // the swap happened
    expect(outcome).not.toBe('hung');
    expect(outcome).toMatchObject({ status: 'failed' });
    expect(await readdir(outDir)).toEqual([]);
  });
});
