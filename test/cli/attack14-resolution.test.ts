/**
 * @module test/cli/attack14-resolution — the bundle lives in node_modules/.cache/sealdrop-cli, so its
 * external imports ('openpgp', …) resolve from there, not from the sources' folders as under tsx:
 * a package in node_modules/.cache/node_modules or in cli/node_modules is taken by one path only.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCheckout, tempRoot, type Checkout } from './attack14-fixture.ts';
import { ROOT } from './helpers.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
let checkout: Checkout;

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14-resolution-');
  checkout = await makeCheckout(join(tmp.dir, 'checkout'));
  expect((await checkout.run(['--version'])).code).toBe(0); // the bundle is built
});

afterEach(async () => {
  await tmp.cleanup();
});

/** A package named openpgp at `dir` that says `word` and then is the real OpenPGP.js. */
async function shadowOpenpgp(dir: string, word: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), '{"name":"openpgp","type":"module","exports":"./index.js"}\n');
  await writeFile(join(dir, 'index.js'), `console.log(${JSON.stringify(word)});\nexport * from ${JSON.stringify(join(ROOT, 'node_modules/openpgp/dist/node/openpgp.mjs'))};\n`);
}

async function bothPaths(args: string[]) {
  const fast = await checkout.run(args);
  await checkout.useTsx();
  const tsx = await checkout.run(args);
  await checkout.useBundle();
  return { fast, tsx };
}

describe('the bundle\'s package imports', () => {
  // BROKEN: node_modules/.cache/node_modules/openpgp (in no key, never seen by tsx) is the OpenPGP.js the bundle path runs.
  it('never come from node_modules/.cache', async () => {
    await shadowOpenpgp(join(checkout.dir, 'node_modules/.cache/node_modules/openpgp'), 'CACHE OPENPGP');
    const { fast, tsx } = await bothPaths(['keygen', '--bogus']);
    expect(tsx.stdout).toBe('');
    expect(fast).toEqual(tsx);
  });

  // BROKEN: cli/node_modules/openpgp is what tsx resolves for cli/*.ts; the bundle path skips it (and its key does not cover it).
  it('resolve as the sources\' own imports do (cli/node_modules)', async () => {
    await shadowOpenpgp(join(checkout.dir, 'cli/node_modules/openpgp'), 'CLI-LOCAL OPENPGP');
    const { fast, tsx } = await bothPaths(['keygen', '--bogus']);
    expect(fast).toEqual(tsx);
  });
});
