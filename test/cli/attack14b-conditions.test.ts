/**
 * @module test/cli/attack14b-conditions — Node's resolution flags (NODE_OPTIONS=--conditions=…, as
 * the editor's shell may set) steer which file of a package the tsx path loads; the bundle's
 * externals were fixed by esbuild with its own conditions and its key does not say under which
 * ones, so the same run loads another OpenPGP.js build depending on whether the cache is trusted.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCheckout, tempRoot, type Checkout } from './attack14-fixture.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
let checkout: Checkout;
let probe: string;

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14b-conditions-');
  checkout = await makeCheckout(join(tmp.dir, 'checkout'));
  // Test instrumentation only: a load hook that names every OpenPGP.js file loaded, on stderr.
  probe = join(tmp.dir, 'probe.mjs');
  const hook = "export async function load(url, context, next) { if (url.includes('/openpgp/')) process._rawDebug('LOADED ' + url.slice(url.indexOf('/openpgp/'))); return next(url, context); }";
  await writeFile(probe, `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});\n`);
});

afterEach(async () => {
  await tmp.cleanup();
});

function loaded(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('LOADED '));
}

describe('NODE_OPTIONS=--conditions=browser', () => {
  // Was BROKEN: the bundle imported the file esbuild picked (dist/node/openpgp.mjs) whatever conditions the run had, the
  // tsx path dist/openpgp.min.mjs. Now cli/bin.js runs itself again without flags that load code or steer resolution
  // (--import, --conditions, …): the probe (an --import) runs only in the first process, which loads no OpenPGP.js.
  it('loads no OpenPGP.js under those flags, on either path, and answers as a clean run does', async () => {
    const env = { NODE_OPTIONS: `--import=${probe} --conditions=browser` };
    const clean = await checkout.run(['decrypt', '--help']);
    const fast = await checkout.run(['decrypt', '--help'], { env });
    const again = await checkout.run(['decrypt', '--help'], { env });
    await checkout.useTsx();
    const viaTsx = await checkout.run(['decrypt', '--help'], { env });
    for (const run of [fast, again, viaTsx]) {
      expect(run.code).toBe(clean.code);
      expect(run.stdout).toBe(clean.stdout);
      expect(loaded(run.stderr)).toEqual([]);
    }
  });

  it('control: the probe names the OpenPGP.js file a process loads when it is not dropped (a flag in the child itself)', async () => {
    const env = { NODE_OPTIONS: `--import=${probe}`, SEALDROP_CLEAN_NODE: '1' };
    const run = await checkout.run(['decrypt', '--help'], { env });
    // the child's guard refuses flags it was meant to be rid of, rather than running under them
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('sealdrop: error: Node was started with flags that load code');
    expect(run.stderr).toContain('sealdrop: hint: run sealdrop without NODE_OPTIONS');
    expect(loaded(run.stderr)).toEqual([]);
  });
});
