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
  it('control: without it both paths load the same OpenPGP.js', async () => {
    const env = { NODE_OPTIONS: `--import=${probe}` };
    const fast = await checkout.run(['decrypt', '--help'], { env });
    await checkout.useTsx();
    const viaTsx = await checkout.run(['decrypt', '--help'], { env });
    expect(loaded(fast.stderr)).toEqual(['LOADED /openpgp/dist/node/openpgp.mjs']);
    expect(loaded(viaTsx.stderr)).toEqual(loaded(fast.stderr));
  });

  // BROKEN: the bundle imports the file esbuild picked (dist/node/openpgp.mjs) whatever conditions this run has; the tsx path loads dist/openpgp.min.mjs.
  it('loads the same OpenPGP.js file on both paths, even for a bundle built under those flags', async () => {
    const env = { NODE_OPTIONS: `--import=${probe} --conditions=browser` };
    const fast = await checkout.run(['decrypt', '--help'], { env }); // builds the bundle under these flags
    const again = await checkout.run(['decrypt', '--help'], { env }); // runs it
    await checkout.useTsx();
    const viaTsx = await checkout.run(['decrypt', '--help'], { env });
    expect(fast.code).toBe(0);
    expect(viaTsx.code).toBe(0);
    expect(loaded(viaTsx.stderr)).toHaveLength(1);
    expect(loaded(fast.stderr)).toEqual(loaded(viaTsx.stderr));
    expect(loaded(again.stderr)).toEqual(loaded(viaTsx.stderr));
  });
});
