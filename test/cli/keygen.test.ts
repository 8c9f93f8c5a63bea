import { spawnSync } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { DEMO_FINGERPRINT, listTree, makeTempDir, runCli, runGpg } from './helpers.ts';

const gpgPresent = () => spawnSync('gpg', ['--version']).status === 0;

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir();
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('sealdrop keygen', () => {
  it('makes a v4 curve25519Legacy pair: public key, locked secret key with mode 0600, fingerprint on stdout', async () => {
    const r = await runCli(['keygen', '-o', 'newsroom'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'correct horse' } });
    expect(r.stderr).toContain('keep the secret key');
    expect(r.code).toBe(0);
    // grouped as the source's page shows it (protocol/fingerprint.ts), upper case as gpg prints it
    expect(r.stdout).toMatch(/^[0-9A-F]{4}( [0-9A-F]{4}){9}\n$/);
    const fingerprint = r.stdout.trim().replaceAll(' ', '').toLowerCase();

    const secretStat = await stat(join(tmp.dir, 'newsroom.sec.asc'));
    expect(secretStat.mode & 0o777).toBe(0o600);
    const publicText = await readFile(join(tmp.dir, 'newsroom.pub.asc'), 'utf8');
    expect(publicText).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    expect(publicText).not.toContain('PRIVATE');
    const publicKey = await openpgp.readKey({ armoredKey: publicText });
    expect(publicKey.getFingerprint()).toBe(fingerprint);
    expect(publicKey.keyPacket.version).toBe(4);
    expect(publicKey.getAlgorithmInfo()).toMatchObject({ algorithm: 'eddsaLegacy' });
    expect(publicKey.subkeys[0]!.getAlgorithmInfo()).toMatchObject({ algorithm: 'ecdh', curve: 'curve25519Legacy' });

    const secret = await openpgp.readPrivateKey({ armoredKey: await readFile(join(tmp.dir, 'newsroom.sec.asc'), 'utf8') });
    expect(secret.isDecrypted()).toBe(false);
    await expect(openpgp.decryptKey({ privateKey: secret, passphrase: 'wrong' })).rejects.toThrow(/passphrase/i);
    const unlocked = await openpgp.decryptKey({ privateKey: secret, passphrase: 'correct horse' });
    expect(unlocked.getFingerprint()).toBe(fingerprint);
  });

  it('makes an RFC 9580 v6 key with --v6', async () => {
    const r = await runCli(['keygen', '--v6', '-o', 'v6'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'six sided dice' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9A-F]{4}( [0-9A-F]{4}){15}\n$/);
    expect(r.stderr).toContain('sealdrop: warning: this is a v6 (RFC 9580) key: GnuPG 2.2 (Debian 12) and sqop cannot import it');
    const key = await openpgp.readKey({ armoredKey: await readFile(join(tmp.dir, 'v6.pub.asc'), 'utf8') });
    expect(formatFingerprint(key.getFingerprint())).toBe(r.stdout.trim());
    expect(key.keyPacket.version).toBe(6);
    expect(key.getAlgorithmInfo()).toMatchObject({ algorithm: 'ed25519' });
  });

  it('! refuses to overwrite either file, before asking anything', async () => {
    await writeFile(join(tmp.dir, 'taken.sec.asc'), 'precious');
    const r = await runCli(['keygen', '-o', 'taken'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'correct horse' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sealdrop: error: secret key file .*taken\.sec\.asc already exists$/m);
    expect(r.stderr).toMatch(/^sealdrop: hint: sealdrop never overwrites a file/m);
    expect(await readFile(join(tmp.dir, 'taken.sec.asc'), 'utf8')).toBe('precious');
    expect(await listTree(tmp.dir)).not.toContain('taken.pub.asc');
  });

  it('! refuses an empty passphrase', async () => {
    const r = await runCli(['keygen', '-o', 'empty'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sealdrop: error: refusing to make a secret key without a passphrase');
    expect(r.stderr).toContain('sealdrop: hint:');
    expect((await listTree(tmp.dir)).filter((p) => p.startsWith('empty'))).toEqual([]);
  });

  it('! without SEALDROP_PASSPHRASE and without a terminal, says how to give one', async () => {
    const r = await runCli(['keygen', '-o', 'noterm'], { cwd: tmp.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('sealdrop: error: a passphrase is needed but there is no terminal to ask it on');
    expect(r.stderr).toContain('sealdrop: hint: set SEALDROP_PASSPHRASE');
  });

  it('! -o is required, unknown options are usage errors', async () => {
    const missing = await runCli(['keygen'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'correct horse' } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('sealdrop: error: keygen: missing --output');
    expect(missing.stderr).toContain('sealdrop: hint: name the key pair');
  });

  it('! an unknown option, or an option without its value, is answered in the CLI\'s voice, not parseArgs\'s', async () => {
    const unknown = await runCli(['keygen', '--rsa', '-o', 'x'], { cwd: tmp.dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('sealdrop: error: unknown option --rsa\nsealdrop: hint: keygen takes -o/--output VALUE, --v6; run "sealdrop --help"\n');
    const noValue = await runCli(['decrypt', 'bundle', '-o'], { cwd: tmp.dir });
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toMatch(/^sealdrop: error: option -o\/--output of decrypt needs a value\nsealdrop: hint: decrypt takes -i\/--identity VALUE, -o\/--output VALUE, --inbox VALUE; run "sealdrop --help"\n$/);
    const flagValue = await runCli(['keygen', '--v6=yes', '-o', 'x'], { cwd: tmp.dir });
    expect(flagValue.stderr).toContain('sealdrop: error: option --v6 of keygen takes no value');
    for (const r of [unknown, noValue, flagValue]) expect(r.stderr).not.toMatch(/positional argument|Unknown option|argument missing/);
  });

  it('! refuses a short or repetitive passphrase, saying the minimum and what to use instead; nothing written', async () => {
    for (const [passphrase, expected] of [
      ['x', 'refusing a passphrase of 1 characters: it must have at least 12'],
      ['hunter2hunt', 'refusing a passphrase of 11 characters: it must have at least 12'],
      ['abababababababab', 'refusing a passphrase of only 2 different characters: it must have at least 6'],
    ] as const) {
      const r = await runCli(['keygen', '-o', 'weak'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: passphrase } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`sealdrop: error: ${expected}\n`);
      expect(r.stderr).toMatch(/^sealdrop: hint: .*four or more random words/m);
      expect(r.stdout).toBe('');
    }
    // 12 characters of which 6 differ pass; so do passphrases in any script (counted by character)
    const korean = await runCli(['keygen', '-o', 'weak'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: '바다 하늘 구름 별빛 달' } });
    expect(korean.code, korean.stderr).toBe(0);
    expect((await listTree(tmp.dir)).filter((p) => p.startsWith('weak'))).toEqual(['weak.pub.asc', 'weak.sec.asc']);
  });

  it.skipIf(process.env.CI !== 'true' && !gpgPresent())('gpg 2.2 imports the secret key without any warning about preferences, and shows the same fingerprint', async () => {
    const r = await runCli(['keygen', '-o', 'forgpg'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'correct horse' } });
    expect(r.code).toBe(0);
    const home = join(tmp.dir, 'gnupg');
    await mkdir(home, { mode: 0o700 });
    const imported = await runGpg(home, ['--passphrase', 'correct horse', '--import', join(tmp.dir, 'forgpg.sec.asc')]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain('secret key imported');
    // what OpenPGP.js's own preferences (SHA3-512, SHA3-256) made gpg print before
    expect(imported.stderr).not.toMatch(/WARNING|preference|unavailable|updpref/);
    const shown = await runGpg(home, ['--show-keys', '--fingerprint', join(tmp.dir, 'forgpg.pub.asc')]);
    // gpg prints one more space after the fifth group; the groups are the same
    expect(shown.stdout.toString()).toContain(r.stdout.trim().replace(/^((?:\S{4} ){5})/, '$1 '));
    const listed = await runGpg(home, ['--list-packets', join(tmp.dir, 'forgpg.pub.asc')]);
    expect(listed.stdout.toString()).toContain('pref-hash-algos: 10 8');
  });
});

describe('sealdrop (dispatcher)', () => {
  it('prints the one usage text with --help, on stderr with exit 2 when called bare', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const word of ['keygen', 'pull', 'decrypt', 'read', 'reply', 'push', 'Examples:', 'SEALDROP_TOKEN', 'SEALDROP_INBOX']) expect(help.stdout).toContain(word);
    const bare = await runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toBe(help.stdout);
  });

  it('! an unknown command is named, with the list of commands', async () => {
    const r = await runCli(['decrpyt']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('sealdrop: error: unknown command "decrpyt"\nsealdrop: hint: the commands are keygen, list, pull, delete, spam, decrypt, read, reply, push and check-site; run "sealdrop --help"\n');
  });

  it('the help\'s example shows a neutral fingerprint, never the demo key\'s, and says v6 keys are for sealdrop only', async () => {
    const help = await runCli(['--help']);
    expect(help.stdout).toContain('0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567');
    const demo = DEMO_FINGERPRINT.toUpperCase();
    expect(help.stdout.toUpperCase().replace(/\s/g, '')).not.toContain(demo);
    expect(help.stdout).toMatch(/Only sealdrop can use it: GnuPG 2\.2 \(Debian 12\) and sqop\s+cannot import a v6 key/);
  });
});
