/**
 * @module test/cli/attack14-tamper-paths — a bundle with a tampered and a truncated SEIPD (only the
 * MDC / the packet's end can tell) decrypted into the inbox by the checkout before c145f90 (tsx
 * only), by this one's bundle path and by its tsx path: the same output, exit code and inbox.
 */

import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCheckout, makeModules, runBin, tempRoot, type Checkout, type Run } from './attack14-fixture.ts';
import { makeSubmission, randomId } from './fixtures.ts';
import { DEMO_PASSPHRASE, listTree, ROOT, writeBundle } from './helpers.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
let checkout: Checkout;
let before: string;
const ids = { intact: randomId(), tampered: randomId(), mdc: randomId(), short: randomId() };

beforeAll(async () => {
  tmp = await tempRoot('sealdrop-attack14-tamper-');
  checkout = await makeCheckout(join(tmp.dir, 'now'));
  before = join(tmp.dir, 'before');
  await mkdir(before);
  // The sources as they were before the merge (its parent b1c0ade), with their own node_modules.
  execFileSync('sh', ['-c', `git -C "${ROOT}" archive b1c0ade cli protocol keys.example package.json tsconfig.json | tar -x -C "${before}"`]);
  await makeModules(join(before, 'node_modules'));

  const intact = await makeSubmission({ language: 'en', message: 'intact\n', files: [{ name: 'a.txt', type: 'text/plain', bytes: new Uint8Array(300_000).fill(0x61), stripped: false }] });
  const tampered = intact.slice();
  tampered[Math.floor(tampered.length / 2)]! ^= 0x01;
  const mdc = intact.slice();
  mdc[mdc.length - 1]! ^= 0x80;
  // bundle.json's size and SHA-256 are of the bytes as stored: only OpenPGP can tell these apart.
  await writeBundle(join(tmp.dir, 'bundle'), [
    { id: ids.intact, handle: 'quiet-otter', ciphertext: intact },
    { id: ids.tampered, handle: 'quiet-otter', ciphertext: tampered },
    { id: ids.mdc, handle: 'brave-lynx', ciphertext: mdc },
    { id: ids.short, handle: 'brave-lynx', ciphertext: intact.subarray(0, intact.length - 40) },
  ]);
});

afterAll(async () => {
  await tmp.cleanup();
});

async function decryptWith(bin: string): Promise<{ run: Run; tree: string[] }> {
  const inbox = join(tmp.dir, 'inbox');
  await rm(inbox, { recursive: true, force: true });
  const run = await runBin(bin, ['decrypt', '-i', join(ROOT, 'keys.example/newsroom.sec.asc'), '--inbox', inbox, join(tmp.dir, 'bundle')], tmp.dir, { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE });
  return { run, tree: await listTree(inbox) };
}

describe('tampered and truncated ciphertexts into the inbox', () => {
  // HELD: before, bundle path and tsx path print the same, exit non-zero, and keep only the intact tip.
  it('are refused alike before and after the change, on both paths', async () => {
    const old = await decryptWith(join(before, 'cli/bin.js'));
    expect((await checkout.run(['--version'])).code).toBe(0); // the bundle is built
    const fast = await decryptWith(join(checkout.dir, 'cli/bin.js'));
    await checkout.useTsx();
    const tsx = await decryptWith(join(checkout.dir, 'cli/bin.js'));
    await checkout.useBundle();

    expect(old.run.code).not.toBe(0);
    expect(old.run.stderr).toMatch(/^sealdrop: error: /m);
    expect(old.run.stdout.match(/FAILED integrity check failed$/gm)).toHaveLength(2);
    expect(old.run.stdout).toMatch(/FAILED truncated$/m);
    for (const id of [ids.tampered, ids.mdc, ids.short]) expect(old.tree.join('\n')).not.toContain(id);
    expect(old.tree.join('\n')).toContain(ids.intact);
    expect(fast).toEqual(old);
    expect(tsx).toEqual(old);
  });
});
