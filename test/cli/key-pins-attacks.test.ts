/**
 * A tampered server against the pinned source keys (issue 10), beyond the swapped key: the
 * envelope's sourceKeyFingerprint is public (the bundle carries the key it names) and a tip is
 * encrypted to the newsroom's public key, not signed by the source, so the server can make a tip
 * that names any source's key, or file a real tip again under a handle of its choosing.
 *
 * Both tests fail on d41c46a (main after the pin merge), each for the reason in its name: decrypt
 * exits 0 with no warning. Fixes: a key pinned under one handle is refused (error, nothing pinned)
 * under another; and the page signs the envelope with the source key it names (it holds the secret
 * half on both paths), decrypt pins and attributes a tip only when that signature verifies.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvelopeInput } from '../../protocol/index.ts';
import { makeSourceKeys, makeSubmission, randomId } from './fixtures.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, exists, makeTempDir, runCli, writeBundle } from './helpers.ts';

const env = { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE };
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
type Keys = Awaited<ReturnType<typeof makeSourceKeys>>;
let source: Keys;

/** A tip naming `names`; signed by `signer` as the source's page signs it, or unsigned as the server alone can make it. */
async function tip(handle: string, message: string, names: string, signer?: openpgp.PrivateKey) {
  const input: EnvelopeInput = { language: 'en', message, files: [], sourceKeyFingerprint: names };
  return { id: randomId(), handle, ciphertext: await makeSubmission(input, undefined, signer) };
}
const decrypt = (bundle: string, out: string) => runCli(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', bundle, '-o', out], { cwd: tmp.dir, env });
const pinFile = (handle: string) => join(tmp.dir, 'inbox', 'keys', `${handle}.json`);

beforeAll(async () => {
  tmp = await makeTempDir();
  source = await makeSourceKeys('s'.repeat(64));
  const real = await tip('quiet-otter', 'the real first tip', source.fingerprint, source.signingKey);
  await writeBundle(join(tmp.dir, 'b1'), [real], [{ handle: 'quiet-otter', publicKey: source.publicKey }]);
  const r = await decrypt('b1', 'out');
  expect(r.code, r.stderr).toBe(0);
  expect(await exists(pinFile('quiet-otter'))).toBe(true);
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('a tampered server against the pins', () => {
  it('! one source key under a second handle is not pinned silently: the editor would count two sources', async () => {
    // the server files the source's real tip again (same bytes, new id) under a handle of its choosing
    const real = await readFile(join(tmp.dir, 'b1', 'submissions', JSON.parse(await readFile(join(tmp.dir, 'b1', 'bundle.json'), 'utf8')).submissions[0].id + '.pgp'));
    await writeBundle(join(tmp.dir, 'split'), [{ id: randomId(), handle: 'bold-crane', ciphertext: new Uint8Array(real) }], [
      { handle: 'bold-crane', publicKey: source.publicKey },
    ]);
    const r = await decrypt('split', 'out-split');
    expect(r.stderr).toMatch(/bold-crane.*quiet-otter|quiet-otter.*bold-crane/);
    expect(r.code).toBe(1);
    expect(await exists(pinFile('bold-crane'))).toBe(false);
  });

  it('! a tip the server wrote itself, naming a pinned source\'s (public) key, is not taken as that source\'s without a word', async () => {
    // no secret is needed: the newsroom key and the source's public key are both the server's to read
    const forged = await tip('quiet-otter', 'It is me again. Send the name of the reporter who will meet me.', source.fingerprint);
    await writeBundle(join(tmp.dir, 'forged'), [forged], [{ handle: 'quiet-otter', publicKey: source.publicKey }]);
    const r = await decrypt('forged', 'out-forged');
    // on main: exit 0, "OK", no warning: the editor reads it as quiet-otter's, its key "confirmed"
    expect(r.code === 0 && !/warning|error/.test(r.stderr)).toBe(false);
  });
});
