/**
 * Interoperability with GnuPG, the independent implementation editors may use instead of sealdrop:
 * a key made by `sealdrop keygen` decrypts with gpg (`gpg -d | tar -x` works), and a newsroom key
 * made by gpg works with `sealdrop decrypt` and `sealdrop reply`. In CI (CI=true) a missing gpg
 * fails these tests instead of skipping them.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnvelope, encryptTip, encryptToKeys, generateSourceKeyPair } from '../../protocol/index.ts';
import { randomId } from './fixtures.ts';
import { listTree, makeTempDir, runCli, runGpg, writeBundle } from './helpers.ts';

const gpgPresent = spawnSync('gpg', ['--version']).status === 0;
if (!gpgPresent && process.env.CI === 'true') {
  throw new Error('gpg is not installed: CI must run the GnuPG interoperability tests (apt-get install gnupg)');
}

const PASSPHRASE = 'interop passphrase';
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let home: string;

beforeAll(async () => {
  tmp = await makeTempDir('sealdrop-gpg-');
  home = join(tmp.dir, 'gnupg');
  await mkdir(home, { mode: 0o700 });
});
afterAll(async () => {
  if (gpgPresent) spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
  await tmp.cleanup();
});

const envelopeInput = {
  language: 'zh-Hans',
  message: '你好，这是一条线索。\n',
  files: [{ name: 'memo 2026.txt', type: 'text/plain', bytes: new TextEncoder().encode('budget line 7\n'), stripped: false }],
};

/**
 * What the newsroom sees when it reads its copy of a reply with gpg: the text, then the zero bytes
 * of the padding; the newsroom key's good signature inside; and `gpg --verify` of the .sig beside
 * it (what the editor API checks) good over the very file.
 */
async function expectGpgReadsSignedReply(path: string, text: string, fingerprint: string): Promise<void> {
  const read = await runGpg(home, ['--status-fd', '2', '--passphrase', PASSPHRASE, '--decrypt', path]);
  expect(read.code, read.stderr).toBe(0);
  expect(read.stderr).toMatch(new RegExp(`^\\[GNUPG:\\] VALIDSIG [0-9A-F]+ .* ${fingerprint.toUpperCase()}$`, 'm'));
  expect(read.stderr).toMatch(/^\[GNUPG:\] GOODSIG /m);
  expect(read.stderr).toMatch(/^\[GNUPG:\] DECRYPTION_OKAY$/m);
  const plaintext = read.stdout;
  const textBytes = Buffer.from(text, 'utf8');
  expect(plaintext.subarray(0, textBytes.length).toString('utf8')).toBe(text);
  expect(plaintext.length).toBeGreaterThan(textBytes.length + 3000); // padded to at least 4 KiB of message
  expect(plaintext.subarray(textBytes.length).every((b) => b === 0)).toBe(true);
  const verified = await runGpg(home, ['--status-fd', '2', '--verify', `${path}.sig`, path]);
  expect(verified.code, verified.stderr).toBe(0);
  expect(verified.stderr).toMatch(new RegExp(`^\\[GNUPG:\\] VALIDSIG [0-9A-F]+ .* ${fingerprint.toUpperCase()}$`, 'm'));
  // and the detached signature covers the file's bytes: one changed byte fails
  const altered = Buffer.from(await readFile(path));
  altered[altered.length - 1]! ^= 1;
  await writeFile(`${path}.altered`, altered);
  const bad = await runGpg(home, ['--status-fd', '2', '--verify', `${path}.sig`, `${path}.altered`]);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/^\[GNUPG:\] BADSIG /m);
}

describe.skipIf(!gpgPresent)('GnuPG interoperability', () => {
  it('a key made by "sealdrop keygen" decrypts with gpg, and gpg -d | tar -x gives the files', async () => {
    const made = await runCli(['keygen', '-o', 'sd'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: PASSPHRASE } });
    expect(made.code).toBe(0);
    const imported = await runGpg(home, ['--passphrase', PASSPHRASE, '--import', join(tmp.dir, 'sd.sec.asc')]);
    expect(imported.code, imported.stderr).toBe(0);

    const envelope = await buildEnvelope(envelopeInput);
    const key = await openpgp.readKey({ armoredKey: await readFile(join(tmp.dir, 'sd.pub.asc'), 'utf8') });
    const submission = join(tmp.dir, 'sub.pgp');
    await writeFile(submission, await encryptToKeys(envelope, [key]));

    const decrypted = await runGpg(home, ['--passphrase', PASSPHRASE, '--decrypt', submission]);
    expect(decrypted.code, decrypted.stderr).toBe(0);
    expect(new Uint8Array(decrypted.stdout)).toEqual(envelope);

    const extractTo = join(tmp.dir, 'tar-x');
    await mkdir(extractTo);
    const tar = spawnSync('tar', ['-x', '-C', extractTo], { input: decrypted.stdout });
    expect(tar.status, tar.stderr.toString()).toBe(0);
    expect(await listTree(extractTo)).toEqual(['files/', 'files/memo 2026.txt', 'manifest.json', 'message.txt']);
    expect(await readFile(join(extractTo, 'message.txt'), 'utf8')).toBe(envelopeInput.message);

    // The newsroom's copy of a reply made by "sealdrop reply" is readable with gpg too.
    // Its key is pinned first, by decrypting a tip that names it (README, "Replying").
    const sourceKeys = await generateSourceKeyPair('s'.repeat(64), key);
    const sourceKeyFingerprint = sourceKeys.signingKey.getFingerprint();
    // signed by the source's key, as the page signs it
    const tip = await encryptTip(await buildEnvelope({ ...envelopeInput, sourceKeyFingerprint }), [key], sourceKeys.signingKey);
    await writeBundle(join(tmp.dir, 'replybundle'), [{ id: randomId(), handle: 'kind-wren', ciphertext: tip }], [{ handle: 'kind-wren', publicKey: sourceKeys.publicKey }]);
    const pinned = await runCli(['decrypt', '-i', 'sd.sec.asc', '--inbox', 'inbox', 'replybundle', '-o', 'replyout'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: PASSPHRASE } });
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stderr).toContain('sealdrop: pinned the key of kind-wren');
    const reply = await runCli(['reply', '-i', 'sd.sec.asc', '--inbox', 'inbox', '--bundle', 'replybundle', '--to', 'kind-wren', '-'], {
      cwd: tmp.dir,
      env: { SEALDROP_PASSPHRASE: PASSPHRASE },
      input: 'Received, thank you.',
    });
    expect(reply.code, reply.stderr).toBe(0);
    await expectGpgReadsSignedReply(join(tmp.dir, reply.stdout.trim()), 'Received, thank you.', key.getFingerprint());
  });

  it('a newsroom key made by GnuPG (future-default) works with sealdrop decrypt and reply', async () => {
    const gen = await runGpg(home, ['--passphrase', PASSPHRASE, '--quick-gen-key', 'Newsroom <tips@example.org>', 'future-default', 'default', 'never']);
    expect(gen.code, gen.stderr).toBe(0);
    const pub = await runGpg(home, ['--armor', '--export', 'tips@example.org']);
    const sec = await runGpg(home, ['--passphrase', PASSPHRASE, '--armor', '--export-secret-keys', 'tips@example.org']);
    expect(pub.code, pub.stderr).toBe(0);
    expect(sec.code, sec.stderr).toBe(0);
    await writeFile(join(tmp.dir, 'gpg.pub.asc'), pub.stdout);
    await writeFile(join(tmp.dir, 'gpg.sec.asc'), sec.stdout, { mode: 0o600 });

    // The browser's side: protocol's builder and encryptToKeys, to the GnuPG-made public key.
    const key = await openpgp.readKey({ armoredKey: pub.stdout.toString('utf8') });
    const id = randomId();
    const sourceKeys = await generateSourceKeyPair('t'.repeat(64), key);
    const sourceKeyFingerprint = sourceKeys.signingKey.getFingerprint();
    // signed by the source's key, as the page signs it
    const tip = await encryptTip(await buildEnvelope({ ...envelopeInput, sourceKeyFingerprint }), [key], sourceKeys.signingKey);
    await writeBundle(join(tmp.dir, 'gpgbundle'), [{ id, handle: 'pale-moth', ciphertext: tip }], [{ handle: 'pale-moth', publicKey: sourceKeys.publicKey }]);
    const r = await runCli(['decrypt', '-i', 'gpg.sec.asc', '--inbox', 'inbox', 'gpgbundle', '-o', 'gpgout'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: PASSPHRASE } });
    expect(r.stderr).toContain('decrypted 1 submission');
    expect(r.stderr).toContain('sealdrop: pinned the key of pale-moth');
    expect(r.code).toBe(0);
    const dir = join(tmp.dir, 'gpgout/pale-moth', `2026-11-27_${id.slice(0, 8)}`);
    expect(await readFile(join(dir, 'message.txt'), 'utf8')).toBe(envelopeInput.message);
    expect(await readFile(join(dir, 'files/memo 2026.txt'), 'utf8')).toBe('budget line 7\n');

    // And a wrong passphrase on the GnuPG key is named as such.
    const wrong = await runCli(['decrypt', '-i', 'gpg.sec.asc', 'gpgbundle', '-o', 'gpgout2'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'nope' } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('sealdrop: error: wrong passphrase for the secret key gpg.sec.asc');

    // sealdrop reply with the GnuPG-made key: gpg reads the newsroom's copy.
    // its key pinned by the decrypt above: no bundle needed
    const reply = await runCli(['reply', '-i', 'gpg.sec.asc', '--inbox', 'inbox', '--to', 'pale-moth', '-'], {
      cwd: tmp.dir,
      env: { SEALDROP_PASSPHRASE: PASSPHRASE },
      input: '回复',
    });
    expect(reply.code, reply.stderr).toBe(0);
    await expectGpgReadsSignedReply(join(tmp.dir, reply.stdout.trim()), '回复', key.getFingerprint());
  });
});
