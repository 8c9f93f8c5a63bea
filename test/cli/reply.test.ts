import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReplySignature, generateSourceKeys, inspectMessage, MAX_REPLY_BYTES, openReply, paddedLength } from '../../protocol/index.ts';
import {
  DEMO_PASSPHRASE, DEMO_PUBLIC_KEY, DEMO_SECRET_KEY, listTree, makeTempDir, runCli, runGpg, writeBundle,
} from './helpers.ts';
import { pinSourceKey } from '../../cli/key-pins.ts';

const gpgPresent = spawnSync('gpg', ['--version']).status === 0;
if (!gpgPresent && process.env.CI === 'true') throw new Error('gpg is required in CI: install gnupg (apt-get install gnupg)');

const SOURCE_PASSPHRASE = 'a'.repeat(64);
const env: Record<string, string> = { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE };
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let sourceKeys: { publicKey: string; lockedPrivateKey: string };
let bundleDir: string;

beforeAll(async () => {
  tmp = await makeTempDir();
  const newsroom = await openpgp.readKey({ armoredKey: await readFile(DEMO_PUBLIC_KEY, 'utf8') });
  sourceKeys = await generateSourceKeys(SOURCE_PASSPHRASE, newsroom);
  // A key that did not come from a source's browser: a person's name, today's date.
  const { publicKey: foreign } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Mallory' }], format: 'armored' });
  // quiet-otter's key pinned as "sealdrop decrypt" pins it (test/cli/key-pins.test.ts runs that whole story)
  env.SEALDROP_INBOX = join(tmp.dir, 'inbox');
  await pinSourceKey(env.SEALDROP_INBOX, 'quiet-otter', { fingerprint: (await openpgp.readKey({ armoredKey: sourceKeys.publicKey })).getFingerprint(), armored: sourceKeys.publicKey });
  bundleDir = join(tmp.dir, 'bundle');
  await writeBundle(bundleDir, [], [
    { handle: 'quiet-otter', publicKey: sourceKeys.publicKey },
    { handle: 'odd-fox', publicKey: foreign },
  ]);
});
afterAll(async () => {
  await tmp.cleanup();
});

/**
 * What the source's page shows: the text, once the newsroom's signature inside checks and names the
 * source key (the newsroom, opening its own copy, names the source's key itself).
 */
async function decryptWith(armoredPrivate: string, passphrase: string, message: Uint8Array): Promise<string> {
  const key = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: armoredPrivate }), passphrase });
  const newsroom = await openpgp.readKey({ armoredKey: await readFile(DEMO_PUBLIC_KEY, 'utf8') });
  const source = await openpgp.readKey({ armoredKey: sourceKeys.publicKey });
  const opened = await openReply(message, key, newsroom, source.getFingerprint());
  if (!opened.ok) throw new Error(`reply refused: ${opened.problem}`);
  return opened.text;
}

describe('sealdrop reply', () => {
  it('signs, pads and encrypts the reply to the source and to the newsroom, into OUTBOX/HANDLE/<random>.pgp and its .sig', async () => {
    const text = 'Thank you. 감사합니다 — спасибо.\nCan you tell us more?\n';
    await writeFile(join(tmp.dir, 'reply.txt'), text);
    const r = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '--to', 'quiet-otter', 'reply.txt'], { cwd: tmp.dir, env });
    expect(r.stderr).toContain('sealdrop push');
    expect(r.code).toBe(0);
    const written = r.stdout.trim();
    expect(written).toMatch(/^outbox\/quiet-otter\/[0-9a-f]{32}\.pgp$/);
    const ciphertext = new Uint8Array(await readFile(join(tmp.dir, written)));
    expect(ciphertext.length).toBe(paddedLength(ciphertext.length));
    const info = await inspectMessage(ciphertext);
    expect(info.recipientKeyIds).toHaveLength(2);
    const signature = new Uint8Array(await readFile(join(tmp.dir, `${written}.sig`)));
    await checkReplySignature(ciphertext, signature, await openpgp.readKey({ armoredKey: await readFile(DEMO_PUBLIC_KEY, 'utf8') }));
    expect(await decryptWith(sourceKeys.lockedPrivateKey, SOURCE_PASSPHRASE, ciphertext)).toBe(text);
    expect(await decryptWith(await readFile(DEMO_SECRET_KEY, 'utf8'), DEMO_PASSPHRASE, ciphertext)).toBe(text);
  });

  it.skipIf(!gpgPresent)('binds the reply to the source key: gpg decrypts the newsroom copy, verifies the signature inside and shows its notation to@sealdrop.org = the source fingerprint', async () => {
    const r = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '--to', 'quiet-otter', '--outbox', 'out-gpg', '-'], { cwd: tmp.dir, env, input: 'bound to you' });
    expect(r.code, r.stderr).toBe(0);
    const home = join(tmp.dir, 'gnupg');
    await mkdir(home, { mode: 0o700 });
    try {
      expect((await runGpg(home, ['--import', DEMO_SECRET_KEY])).code).toBe(0);
      const read = await runGpg(home, ['--status-fd', '2', '--pinentry-mode', 'loopback', '--passphrase', DEMO_PASSPHRASE, '--decrypt', join(tmp.dir, r.stdout.trim())]);
      expect(read.code, read.stderr).toBe(0);
      expect(read.stderr).toMatch(/^\[GNUPG:\] GOODSIG /m);
      expect(read.stderr).toMatch(/^\[GNUPG:\] VALIDSIG [0-9A-F]+ .* D59550C5A4895EA55787F850CA968B8EC7FC9799$/m);
      const source = await openpgp.readKey({ armoredKey: sourceKeys.publicKey });
      // gpg lists the hashed notations of the signature it verified: ours, not critical, human-readable
      expect(read.stderr).toMatch(/^\[GNUPG:\] NOTATION_NAME to@sealdrop\.org$/m);
      expect(read.stderr).toMatch(/^\[GNUPG:\] NOTATION_FLAGS 0 1$/m);
      expect(read.stderr).toMatch(new RegExp(`^\\[GNUPG:\\] NOTATION_DATA ${source.getFingerprint()}$`, 'm'));
      expect(source.getFingerprint()).toMatch(/^[0-9a-f]{40}$/);
      expect(read.stdout.subarray(0, 12).toString()).toBe('bound to you');
    } finally {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
    }
  });

  it('reads the reply from stdin with -, and each reply gets its own file', async () => {
    const r1 = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '--to', 'quiet-otter', '--outbox', 'out2', '-'], { cwd: tmp.dir, env, input: 'first' });
    const r2 = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '--to', 'quiet-otter', '--outbox', 'out2', '-'], { cwd: tmp.dir, env, input: 'second' });
    expect([r1.code, r2.code]).toEqual([0, 0]);
    const all = await readdir(join(tmp.dir, 'out2/quiet-otter'));
    const files = all.filter((f) => f.endsWith('.pgp'));
    expect(files).toHaveLength(2);
    expect(all.sort()).toEqual([...files, ...files.map((f) => `${f}.sig`)].sort());
    const texts = await Promise.all(files.map(async (f) => decryptWith(sourceKeys.lockedPrivateKey, SOURCE_PASSPHRASE, new Uint8Array(await readFile(join(tmp.dir, 'out2/quiet-otter', f))))));
    expect(texts.sort()).toEqual(['first', 'second']);
  });

  it('! refuses a source key that a source\'s browser did not make', async () => {
    const r = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '--to', 'odd-fox', '--outbox', 'out3', '-'], { cwd: tmp.dir, env: { SEALDROP_INBOX: env.SEALDROP_INBOX! }, input: 'hello' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sealdrop: error: refusing the key of source odd-fox: expected creation date/m);
    expect(r.stderr).toMatch(/^sealdrop: hint: .*tampered/m);
    expect(await listTree(tmp.dir)).not.toContain('out3/');
  });

  it('! an unknown handle lists the handles the bundle has', async () => {
    const r = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '--to', 'loud-crow', '-'], { cwd: tmp.dir, env: { SEALDROP_INBOX: env.SEALDROP_INBOX! }, input: 'hello' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sealdrop: error: the bundle has no key for the source loud-crow');
    expect(r.stderr).toContain('sealdrop: hint: this bundle has keys for: quiet-otter, odd-fox');
  });

  it('! a handle that could climb out of the outbox is refused', async () => {
    const r = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '--to', '../../etc', '-'], { cwd: tmp.dir, env: { SEALDROP_INBOX: env.SEALDROP_INBOX! }, input: 'hello' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sealdrop: error: "../../etc" is not a source handle');
  });

  it('! a wrong passphrase writes nothing and says so', async () => {
    const r = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '--to', 'quiet-otter', '--outbox', 'out5', '-'], { cwd: tmp.dir, env: { ...env, SEALDROP_PASSPHRASE: 'not it' }, input: 'hello' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sealdrop: error: wrong passphrase for the secret key/m);
    expect(await listTree(tmp.dir)).not.toContain('out5/');
  });

  it('! refuses text that is not UTF-8, empty, holds NUL, or too long', async () => {
    const args = ['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '--to', 'quiet-otter', '--outbox', 'out4', '-'];
    const latin1 = await runCli(args, { cwd: tmp.dir, env: { SEALDROP_INBOX: env.SEALDROP_INBOX! }, input: new Uint8Array([0x63, 0x61, 0x66, 0xe9]) });
    expect(latin1.code).toBe(1);
    expect(latin1.stderr).toContain('sealdrop: error: the reply is not UTF-8 text');
    expect(latin1.stderr).toContain('sealdrop: hint: save the reply as plain UTF-8 text');
    const empty = await runCli(args, { cwd: tmp.dir, env: { SEALDROP_INBOX: env.SEALDROP_INBOX! }, input: ' \n' });
    expect(empty.stderr).toContain('sealdrop: error: the reply is empty');
    const nul = await runCli(args, { cwd: tmp.dir, env, input: 'yes\0' });
    expect(nul.code).toBe(1);
    expect(nul.stderr).toContain('sealdrop: error: the reply holds NUL bytes');
    const long = await runCli(args, { cwd: tmp.dir, env: { SEALDROP_INBOX: env.SEALDROP_INBOX! }, input: 'x'.repeat(MAX_REPLY_BYTES + 1) });
    expect(long.code).toBe(1);
    expect(long.stderr).toContain(`sealdrop: error: the reply is longer than ${MAX_REPLY_BYTES} bytes`);
    expect(await listTree(tmp.dir)).not.toContain('out4/');
  });

  it('! the public key given as -i gets a hint to use the secret key file', async () => {
    const r = await runCli(['reply', '-i', DEMO_PUBLIC_KEY, '--bundle', 'bundle', '--to', 'quiet-otter', '-'], { cwd: tmp.dir, env: { SEALDROP_INBOX: env.SEALDROP_INBOX! }, input: 'hi' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sealdrop: error: .*newsroom\.pub\.asc is a public key, not a secret key$/m);
    expect(r.stderr).toContain('sealdrop: hint: use the secret half');
  });

  it('! a missing --to or reply file is a usage error', async () => {
    const noTo = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '-'], { cwd: tmp.dir });
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toContain('sealdrop: error: reply: missing --to');
    const noFile = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--bundle', 'bundle', '--to', 'quiet-otter'], { cwd: tmp.dir });
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('sealdrop: error: reply: missing the reply FILE');
  });
});
