/**
 * @module test/cli/attack14-shared-modules — two checkouts sharing one node_modules (a link, which
 * fast-start.js trusts) share one cache file: the bundle checked is not necessarily the bundle run.
 */

import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCheckout, makeModules, mkfifo, tempRoot, type Checkout } from './attack14-fixture.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
let a: Checkout;
let b: Checkout;

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14-shared-');
  await makeModules(join(tmp.dir, 'modules'));
  a = await makeCheckout(join(tmp.dir, 'a'), join(tmp.dir, 'modules'));
  b = await makeCheckout(join(tmp.dir, 'b'), join(tmp.dir, 'modules'));
  await b.edit('cli/main.ts', "VERSION = '0.1.0'", "VERSION = '0.1.0-checkout-B'");
});

afterEach(async () => {
  await tmp.cleanup();
});

describe('two checkouts sharing node_modules', () => {
  it('each runs its own sources, alternately (the control: the key names the checkout)', async () => {
    expect((await b.run(['--version'])).stdout).toBe('sealdrop 0.1.0-checkout-B\n');
    expect((await a.run(['--version'])).stdout).toBe('sealdrop 0.1.0\n');
    expect((await b.run(['--version'])).stdout).toBe('sealdrop 0.1.0-checkout-B\n');
  });

  // BROKEN: the bundle is verified from one read and imported from a second read of the path: B's build renamed in between runs B's code in A.
  it('never runs the other checkout\'s bundle when it lands between the check and the import', async () => {
    expect((await b.run(['--version'])).stdout).toBe('sealdrop 0.1.0-checkout-B\n');
    const bBundle = await readFile(b.bundle); // what B's build writes (tmp file + rename)
    expect((await a.run(['--version'])).stdout).toBe('sealdrop 0.1.0\n');

    // Hold A inside its key check (it reads tsconfig.json, an input, after reading the bundle) for
    // as long as B's build takes to land: tsconfig.json becomes a FIFO carrying the same bytes.
    const tsconfig = join(a.dir, 'tsconfig.json');
    const bytes = await readFile(tsconfig);
    await rm(tsconfig);
    await mkfifo(tsconfig);
    const running = a.run(['--version']);
    const writer = await open(tsconfig, 'w'); // returns once A opened it: A has read and checked its bundle
    const landing = join(a.cacheDir, '.cli.mjs.b.tmp');
    await writeFile(landing, bBundle, { mode: 0o600 });
    await rename(landing, a.bundle); // B's buildBundle finishing, exactly as it does
    await writer.write(bytes);
    await writer.close();
    const result = await running;
    await rm(tsconfig);
    await writeFile(tsconfig, bytes);
    expect(result).toEqual({ code: 0, stdout: 'sealdrop 0.1.0\n', stderr: '' });
  });
});
