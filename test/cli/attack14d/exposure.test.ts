/**
 * Nothing unauthenticated is to be visible outside the staging folder while the fast path reads:
 * decrypting into an inbox-shaped target (`target`, as `sealdrop decrypt` gives it),
 * at every progress report of the fast path (the plaintext written so far not yet checked by the
 * MDC or the SHA-256) OUT_DIR holds only `.staging-*`, the target does not exist, and a tip whose
 * last byte is flipped (the MDC fails at the end) leaves nothing at all; a valid one ends in the
 * target.
 */

import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type * as openpgp from 'openpgp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Identity } from '../../../cli/identities.ts';
import { STAGING_PREFIX } from '../../../cli/submission.ts';
import { demoKeys, envelope, handMade, ID, literalPacket, runDecrypt } from '../attack14c/_helpers.ts';

let dir: string;
let pub: openpgp.PublicKey;
let identity: Identity;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attack14d-exposure-'));
  ({ pub, identity } = await demoKeys());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const flip of [false, true]) {
  it(`${flip ? 'a flipped last byte' : 'a valid tip'}: nothing outside the staging folder before the checks pass`, async () => {
    const { message } = await handMade(pub, literalPacket(await envelope(4_500_000), { partial: 16 }), { partial: 16 });
    if (flip) message[message.length - 1]! ^= 1;
    let outDir = '';
    let target = '';
    const seen: string[] = [];
    let reports = 0;
    const extra = {
      beforeRun: (file: string) => {
        outDir = join(dirname(dirname(dirname(file))), 'out');
        target = join(outDir, 'sources/quiet-otter/tips', ID);
      },
      onCiphertextBytes: () => {
        reports++;
        for (const entry of readdirSync(outDir)) if (!entry.startsWith(STAGING_PREFIX)) seen.push(entry);
        if (existsSync(target)) seen.push(target);
      },
      // the target is known only once runDecrypt made the bundle (its options are taken after beforeRun)
      get target() {
        return target;
      },
    };
    const run = await runDecrypt(dir, message, identity, extra);
    expect(reports).toBeGreaterThan(1);
    expect(seen, 'visible outside the staging folder while reading').toEqual([]);
    if (flip) {
      expect(run.outcome.status).toBe('failed');
      expect(run.left).toEqual([]);
    } else {
      expect(run.outcome.status).toBe('ok');
      expect(run.left).toEqual(['sources']);
      expect(readdirSync(join(target, 'files'))).toEqual(run.outcome.status === 'ok' ? run.outcome.savedNames : []);
    }
  });
}
