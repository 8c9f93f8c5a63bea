/**
 * @module test/cli/attack14-nested-config — esbuild reads the tsconfig.json nearest to each source
 * (cli/tsconfig.json too), tsx only the one of the current directory: a nested tsconfig.json steers
 * the bundle without being one of its key's inputs.
 */

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCheckout, tempRoot, type Checkout } from './attack14-fixture.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
let checkout: Checkout;

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14-nested-');
  checkout = await makeCheckout(join(tmp.dir, 'checkout'));
  expect((await checkout.run(['--version'])).code).toBe(0); // the bundle is built
});

afterEach(async () => {
  await tmp.cleanup();
});

/** cli/tsconfig.json mapping 'openpgp' to protocol/shim.ts (outside its folder, so the shim's own import is the real one). */
async function addNestedTsconfig(): Promise<void> {
  await writeFile(join(checkout.dir, 'cli/tsconfig.json'), '{"compilerOptions":{"baseUrl":".","paths":{"openpgp":["../protocol/shim.ts"]}}}\n');
  await writeFile(join(checkout.dir, 'protocol/shim.ts'), 'console.log("NOT WHAT TSX RUNS");\nexport * from \'openpgp\';\n');
}

const keyOf = async (c: Checkout) => /key=([0-9a-f]{64})/.exec(await readFile(c.bundle, 'latin1'))![1];

describe('a nested tsconfig.json', () => {
  // BROKEN: the next rebuild (any edit, a git pull) compiles cli/ with cli/tsconfig.json's "paths": the bundle runs protocol/shim.ts, tsx never does.
  it('never makes the bundle path run other code than the tsx path', async () => {
    await addNestedTsconfig();
    await checkout.edit('cli/main.ts', '// The command modules are loaded on demand', '// (edited)\n// The command modules are loaded on demand');
    const fast = await checkout.run(['keygen', '--bogus']);
    await checkout.useTsx();
    const tsx = await checkout.run(['keygen', '--bogus']);
    expect(tsx.stdout).toBe('');
    expect(fast).toEqual(tsx);
  });

  // BROKEN: adding cli/tsconfig.json (which changes what esbuild would build) leaves the key, and the bundle, as they were.
  it('is part of the key: adding one makes the next run rebuild', async () => {
    const before = await keyOf(checkout);
    await addNestedTsconfig();
    expect((await checkout.run(['--version'])).stdout).toBe('sealdrop 0.1.0\n');
    expect(await keyOf(checkout)).not.toBe(before);
  });
});
