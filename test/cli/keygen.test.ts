import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTree, makeTempDir, runCli } from './helpers.ts';

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
    const fingerprint = r.stdout.trim();
    expect(fingerprint).toMatch(/^[0-9a-f]{40}$/);

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
    const r = await runCli(['keygen', '--v6', '-o', 'v6'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'pw pw pw' } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    const key = await openpgp.readKey({ armoredKey: await readFile(join(tmp.dir, 'v6.pub.asc'), 'utf8') });
    expect(key.keyPacket.version).toBe(6);
    expect(key.getAlgorithmInfo()).toMatchObject({ algorithm: 'ed25519' });
  });

  it('! refuses to overwrite either file, before asking anything', async () => {
    await writeFile(join(tmp.dir, 'taken.sec.asc'), 'precious');
    const r = await runCli(['keygen', '-o', 'taken'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'pw' } });
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
    const missing = await runCli(['keygen'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: 'pw' } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('sealdrop: error: keygen: missing --output');
    expect(missing.stderr).toContain('sealdrop: hint: name the key pair');
    const unknown = await runCli(['keygen', '--rsa', '-o', 'x'], { cwd: tmp.dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("sealdrop: error: keygen: unknown option '--rsa'");
  });
});

describe('sealdrop (dispatcher)', () => {
  it('prints the one usage text with --help, on stderr with exit 2 when called bare', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const word of ['keygen', 'pull', 'decrypt', 'reply', 'push', 'Examples:', 'SEALDROP_TOKEN']) expect(help.stdout).toContain(word);
    const bare = await runCli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toBe(help.stdout);
  });

  it('! an unknown command is named, with the list of commands', async () => {
    const r = await runCli(['decrpyt']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('sealdrop: error: unknown command "decrpyt"\nsealdrop: hint: the commands are keygen, list, pull, delete, spam, decrypt, reply, push and check-site; run "sealdrop --help"\n');
  });
});
