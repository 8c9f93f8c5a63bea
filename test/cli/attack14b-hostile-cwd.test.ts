/**
 * @module test/cli/attack14b-hostile-cwd — the folder sealdrop runs from (a decrypted submission's,
 * or any the sender could shape) holds package.json ("type", "imports", "bin"), .npmrc, and a
 * node_modules of hostile openpgp, @noble/hashes, esbuild and tsx; NODE_PATH points there too. The
 * first run builds the bundle from that folder, the second runs it, the third takes the tsx path:
 * none runs the folder's code, and all say what a run from a clean folder says.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCheckout, tempRoot, type Checkout } from './attack14-fixture.ts';
import { exists } from './helpers.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
let checkout: Checkout;
let hostile: string;
let marker: string;

async function plant(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
}

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14b-cwd-');
  checkout = await makeCheckout(join(tmp.dir, 'checkout'));
  hostile = join(tmp.dir, 'files');
  marker = join(tmp.dir, 'SENDER-CODE-RAN');
  const evilCjs = `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x'); console.log('SENDER CODE RAN');\n`;
  const evilEsm = `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(marker)}, 'x'); console.log('SENDER CODE RAN');\nexport default {};\n`;
  await plant(hostile, {
    'package.json': JSON.stringify({ name: 'x', type: 'commonjs', imports: { '#x': './evil.cjs' }, bin: { sealdrop: 'evil.cjs' }, dependencies: { openpgp: '*' } }),
    '.npmrc': 'node-options=--require ./evil.cjs\n',
    'evil.cjs': evilCjs,
    'node_modules/openpgp/package.json': '{"name":"openpgp","version":"6.3.2","type":"module","exports":{".":{"import":"./index.js","default":"./index.js"}}}',
    'node_modules/openpgp/index.js': evilEsm,
    'node_modules/@noble/hashes/package.json': '{"name":"@noble/hashes","type":"module","exports":{"./sha2.js":"./sha2.js","./hkdf.js":"./sha2.js","./scrypt.js":"./sha2.js","./legacy.js":"./sha2.js"}}',
    'node_modules/@noble/hashes/sha2.js': evilEsm,
    'node_modules/esbuild/package.json': '{"name":"esbuild","version":"0.0.1","main":"index.js"}',
    'node_modules/esbuild/index.js': evilCjs,
    'node_modules/tsx/package.json': '{"name":"tsx","version":"4.23.15","exports":{"./esm/api":"./index.js"}}',
    'node_modules/tsx/index.js': evilCjs,
    'tsconfig.json': '{"compilerOptions":{"paths":{"openpgp":["./evil.cjs"]}}}',
  });
});

afterEach(async () => {
  await tmp.cleanup();
});

describe('a hostile folder to run from, and NODE_PATH into it', () => {
  it('builds, runs the bundle and takes the tsx path without running any of its code', async () => {
    const env = { NODE_PATH: './node_modules', npm_config_node_options: '' };
    const control = join(tmp.dir, 'clean');
    await mkdir(control);
    const runs = [];
    for (const step of ['build', 'bundle', 'tsx'] as const) {
      if (step === 'tsx') await checkout.useTsx();
      for (const args of [['decrypt', '--help'], ['keygen', '--help'], ['--version']]) {
        const run = await checkout.run(args, { cwd: hostile, env });
        expect(run.stdout).not.toContain('SENDER CODE RAN');
        expect(await exists(marker)).toBe(false);
        const clean = await checkout.run(args, { cwd: control });
        expect(run).toEqual(clean);
        runs.push(run.code);
      }
      if (step === 'build') expect(await exists(checkout.bundle)).toBe(true);
    }
    expect(runs.every((code) => code === 0)).toBe(true);
  }, 120_000);
});
