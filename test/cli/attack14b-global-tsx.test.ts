/**
 * @module test/cli/attack14b-global-tsx — an editor whose shell loads tsx for every node process
 * (NODE_OPTIONS=--import=…/tsx/dist/esm/index.mjs, common on a TypeScript developer's machine) runs
 * sealdrop from a decrypted submission's files folder holding two attachments: tsconfig.json
 * ("include" climbing to /, "paths" mapping openpgp) and evil.mjs. That tsx reads the folder's
 * tsconfig.json; OPERATIONS.md says sealdrop is safe to run from any folder.
 */

import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCheckout, tempRoot, type Checkout } from './attack14-fixture.ts';
import { exists, ROOT } from './helpers.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
let checkout: Checkout;
let files: string;
let marker: string;
const env = { NODE_OPTIONS: `--import=${join(ROOT, 'node_modules/tsx/dist/esm/index.mjs')}` };

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14b-global-tsx-');
  checkout = await makeCheckout(join(tmp.dir, 'checkout'));
  files = join(tmp.dir, 'inbox/sources/quiet-otter/tips/1/files');
  marker = join(tmp.dir, 'SENDER-CODE-RAN');
  await mkdir(files, { recursive: true });
  await writeFile(join(files, 'tsconfig.json'), JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { openpgp: ['./evil.mjs'] } }, include: ['../../../../../../../../../../**/*'] }));
  await writeFile(join(files, 'evil.mjs'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'x');\nconsole.log('SENDER CODE RAN');\n`);
});

afterEach(async () => {
  await tmp.cleanup();
});

describe('a tsx loaded by NODE_OPTIONS, run from a folder with the sender\'s tsconfig.json', () => {
  it('control: the bundle path runs none of the folder\'s code', async () => {
    const run = await checkout.run(['decrypt', '--help'], { cwd: files, env });
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('SENDER CODE RAN');
    expect(await exists(marker)).toBe(false);
  });

  // BROKEN: on the tsx path the shell's tsx maps the sources' `import 'openpgp'` through the folder's tsconfig.json paths to the sender's evil.mjs.
  it('never runs the sender\'s code on the tsx path either (run safely, or refuse)', async () => {
    expect((await checkout.run(['--version'])).code).toBe(0); // the cache directory exists
    await checkout.useTsx();
    const run = await checkout.run(['decrypt', '--help'], { cwd: files, env });
    expect(run.stdout).not.toContain('SENDER CODE RAN');
    expect(await exists(marker)).toBe(false);
  });
});
