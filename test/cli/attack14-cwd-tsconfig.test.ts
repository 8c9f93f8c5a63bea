/**
 * @module test/cli/attack14-cwd-tsconfig — the tsx path (taken whenever the cache cannot be trusted
 * or built) reads tsconfig.json from the current directory, whose "paths" can map 'openpgp' to a
 * file beside it: a hostile submission decrypted into OUT_DIR carries both, by their own names.
 */

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCheckout, tempRoot, type Checkout } from './attack14-fixture.ts';
import { makeSubmission, randomId } from './fixtures.ts';
import { DEMO_PASSPHRASE, exists, writeBundle } from './helpers.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
let checkout: Checkout;

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14-cwd-');
  checkout = await makeCheckout(join(tmp.dir, 'checkout'));
});

afterEach(async () => {
  await tmp.cleanup();
});

const encode = (text: string) => new TextEncoder().encode(text);

describe('the current directory', () => {
  // BROKEN (tsx path, as before c145f90 on every run): a decrypted tsconfig.json + evil.cjs in the cwd run the sender's code.
  it('never steers which code runs, on either path, even when it is a hostile submission\'s files folder', async () => {
    const marker = join(tmp.dir, 'PWNED');
    const id = randomId();
    const ciphertext = await makeSubmission({
      language: 'en',
      message: 'see the attached project\n',
      files: [
        { name: 'tsconfig.json', type: 'application/json', bytes: encode('{"compilerOptions":{"baseUrl":".","paths":{"openpgp":["./evil.cjs"]}}}\n'), stripped: false },
        { name: 'evil.cjs', type: 'text/javascript', bytes: encode(`require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x'); console.log('SENDER CODE RAN');\n`), stripped: false },
      ],
    });
    await writeBundle(join(tmp.dir, 'bundle'), [{ id, handle: 'quiet-otter', ciphertext }]);
    const env = { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE };
    const decrypted = await checkout.run(['decrypt', '-i', join(checkout.dir, 'keys.example/newsroom.sec.asc'), join(tmp.dir, 'bundle'), '-o', join(tmp.dir, 'out')], { env });
    expect(decrypted.code).toBe(0);
    const [day] = await readdir(join(tmp.dir, 'out/quiet-otter'));
    const files = join(tmp.dir, 'out/quiet-otter', day!, 'files');
    expect((await readdir(files)).sort()).toEqual(['evil.cjs', 'tsconfig.json']);

    // The editor, in that folder, runs a command that loads OpenPGP.
    const fast = await checkout.run(['keygen', '--bogus'], { cwd: files });
    expect(fast.stdout).toBe('');
    expect(await exists(marker)).toBe(false);
    await checkout.useTsx();
    const viaTsx = await checkout.run(['keygen', '--bogus'], { cwd: files });
    expect(await exists(marker)).toBe(false);
    expect(viaTsx).toEqual(fast);
  });
});
