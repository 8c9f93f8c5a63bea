/**
 * The README's "read a submission with GnuPG and tar" commands, run exactly as printed there, the
 * way an editor would on Debian 12: as a normal user (the test drops to `nobody` when it runs as
 * root), in a fresh folder holding `submission.pgp`, with GnuPG holding the demo newsroom key.
 * A padded submission of more than 5 MB comes out whole; an altered one and crafted archives end
 * without the final line, and nothing outside the folder changes.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnvelope, encryptTip, encryptToKeys, generateSourceKeyPair } from '../protocol/index.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const hasGpg = spawnSync('gpg', ['--version']).status === 0;
if (!hasGpg && process.env.CI === 'true') throw new Error('gpg is required in CI: install gnupg');

/** The README's block: the ```sh fence that decrypts `submission.pgp`. */
function readmeCommands(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes('--decrypt submission.pgp'));
  if (!block) throw new Error('README.md has no ```sh block that decrypts submission.pgp');
  return block;
}
const FINAL_LINE = 'submission: intact, plain files only';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
/** Runs `script` with bash in `cwd` as the editor would: their own user, never root. */
function shell(script: string, cwd: string, home: string): { status: number | null; stdout: string; stderr: string } {
  const bash = ['bash', '-c', script];
  const command = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...bash] : bash;
  const r = spawnSync(command[0]!, command.slice(1), { cwd, env: { PATH: process.env.PATH, GNUPGHOME: home, HOME: home }, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const own = (path: string) => {
  if (asRoot) chownSync(path, NOBODY, NOBODY);
};

/** One ustar header written by hand (typeflag, link name and device numbers as a hostile sender likes). */
function header(name: string, size: number, options: { type?: string; link?: string; mode?: number } = {}): Uint8Array {
  const h = new Uint8Array(512);
  const put = (at: number, text: string) => h.set(new TextEncoder().encode(text), at);
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0') + '\0';
  put(0, name);
  put(100, octal(options.mode ?? 0o644, 8));
  put(108, octal(0, 8));
  put(116, octal(0, 8));
  put(124, octal(size, 12));
  put(136, octal(0, 12));
  put(156, options.type ?? '0');
  if (options.link) put(157, options.link);
  put(257, 'ustar\0');
  put(263, '00');
  put(329, octal(1, 8)); // devmajor 1, devminor 3: /dev/null's numbers
  put(337, octal(3, 8));
  h.fill(0x20, 148, 156);
  put(148, h.reduce((a, b) => a + b, 0).toString(8).padStart(6, '0') + '\0 ');
  return h;
}
type Entry = { name: string; data?: string; type?: string; link?: string; mode?: number };
/** A tar archive, its end marker, then zeros up to `padTo` bytes, as a Sealdrop envelope is padded. */
function archive(entries: Entry[], padTo: number): Uint8Array {
  const out = new Uint8Array(padTo);
  let at = 0;
  for (const e of entries) {
    const data = new TextEncoder().encode(e.data ?? '');
    out.set(header(e.name, data.length, e), at);
    out.set(data, at + 512);
    at += 512 + Math.ceil(data.length / 512) * 512;
  }
  return out;
}

describe.skipIf(!hasGpg)('the README\'s gpg and tar commands (Debian 12: GnuPG 2.2, GNU tar 1.34)', () => {
  let base = '';
  let home = '';
  let key: openpgp.PublicKey;
  const commands = readmeCommands();
  // 6 MiB less a little: the archive then ends just past a PADMÉ step (128 KiB at this size), so
  // nearly 128 KiB of padding follow tar's end marker, twice what a pipe holds: a pipe into tar
  // always breaks on it (from about 4 MiB the steps outgrow the pipe's 64 KiB).
  const sixMB = Uint8Array.from({ length: 48 * 131_072 - 3584 + 1 }, (_, i) => (i * 2654435761) >>> 24);

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'sealdrop-readme-'));
    chmodSync(base, 0o755);
    home = join(base, 'gnupg');
    mkdirSync(home, { mode: 0o700 });
    own(home);
    // The editor has typed their passphrase; the test imports the demo key unlocked instead of typing.
    const locked = await openpgp.readPrivateKey({ armoredKey: readFileSync(join(ROOT, 'keys.example/newsroom.sec.asc'), 'utf8') });
    const unlocked = await openpgp.decryptKey({ privateKey: locked, passphrase: 'demo-never-use' });
    writeFileSync(join(base, 'key.asc'), unlocked.armor());
    chmodSync(join(base, 'key.asc'), 0o644);
    const imported = shell(`gpg --batch --quiet --import ${join(base, 'key.asc')}`, base, home);
    expect(imported.status, imported.stderr).toBe(0);
    key = unlocked.toPublic();
  });

  afterAll(() => {
    if (home) spawnSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: home } });
    if (base) rmSync(base, { recursive: true, force: true });
  });

  /** A fresh folder holding submission.pgp, beside a file and a folder a hostile archive would like to reach. */
  function folderWith(name: string, ciphertext: Uint8Array): { dir: string; outside: string; treeOutside(): string[] } {
    const outside = join(base, name);
    mkdirSync(join(outside, 'elsewhere'), { recursive: true });
    writeFileSync(join(outside, 'victim.txt'), 'untouched');
    const dir = join(outside, 'work');
    mkdirSync(dir);
    writeFileSync(join(dir, 'submission.pgp'), ciphertext);
    for (const p of [outside, join(outside, 'elsewhere'), join(outside, 'victim.txt'), dir, join(dir, 'submission.pgp')]) own(p);
    const treeOutside = () => {
      const list = (d: string): string[] => readdirSync(d).filter((n) => join(d, n) !== dir).flatMap((n) => {
        const p = join(d, n);
        return lstatSync(p).isDirectory() ? [p + '/', ...list(p)] : [`${p} ${readFileSync(p, 'utf8')}`];
      });
      return list(outside);
    };
    return { dir, outside, treeOutside };
  }

  it('unpacks a padded submission of more than 5 MB whole, and the pipe it replaces fails on it', async () => {
    const envelope = await buildEnvelope({
      language: 'en',
      message: 'six megabytes',
      files: [{ name: 'scan.bin', type: 'application/octet-stream', bytes: sixMB, stripped: false }],
    });
    expect(envelope.length).toBeGreaterThan(5 * 1024 * 1024);
    expect(envelope.length - sixMB.length).toBeGreaterThan(100 * 1024);
    // signed by the source's key, as the page signs every whole tip (gpg has no source key here)
    const source = await generateSourceKeyPair('s'.repeat(64), key);
    const { dir } = folderWith('padded', await encryptTip(envelope, [key], source.signingKey));
    const r = shell(commands, dir, home);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(FINAL_LINE);
    expect(readFileSync(join(dir, 'submission/message.txt'), 'utf8')).toBe('six megabytes');
    // (compared whole, not with toEqual, which walks 6 million elements one by one)
    expect(Buffer.compare(readFileSync(join(dir, 'submission/files/scan.bin')), sixMB)).toBe(0);

    // What the README said before: tar stops at its end marker, before the padding.
    mkdirSync(join(dir, 'piped'));
    own(join(dir, 'piped'));
    const piped = shell('set -o pipefail; gpg --decrypt submission.pgp | tar -x -C piped', dir, home);
    expect(piped.status).not.toBe(0);
    expect(piped.stderr).toMatch(/Broken pipe/);
  }, 120_000);

  it('stops at gpg for an altered submission: nothing is unpacked', async () => {
    const envelope = await buildEnvelope({ language: 'en', message: 'x', files: [{ name: 'a.bin', type: 'application/octet-stream', bytes: sixMB, stripped: false }] });
    const ciphertext = await encryptToKeys(envelope, [key]);
    ciphertext[Math.floor(ciphertext.length / 2)]! ^= 1;
    const { dir } = folderWith('altered', ciphertext);
    const r = shell(commands, dir, home);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/manipulated/);
    expect(r.stdout).not.toContain(FINAL_LINE);
    expect(existsSync(join(dir, 'submission'))).toBe(false);
  }, 120_000);

  it('refuses a crafted archive: climbing names, absolute names, links out, a device; nothing outside changes', async () => {
    const pad = 5 * 1024 * 1024 + 4096;
    const entries: Entry[] = [
      { name: 'manifest.json', data: '{}' },
      { name: 'message.txt', data: 'hello' },
      { name: '../victim.txt', data: 'overwritten through ..' },
      { name: 'files/../../victim.txt', data: 'overwritten through files/../..' },
      { name: '', data: '' }, // replaced below: an absolute name needs the folder's path
      { name: 'out', type: '2', link: '' }, // a symbolic link to the folder beside
      { name: 'out/planted.txt', data: 'written through a symbolic link' },
      { name: 'up', type: '2', link: '..' },
      { name: 'up/victim.txt', data: 'overwritten through up -> ..' },
      { name: 'hard', type: '1', link: '' }, // a hard link to the victim
      { name: 'null', type: '3' }, // a character device
      { name: 'setuid', data: '#!/bin/sh\n', mode: 0o4755 },
    ];
    const { dir, outside, treeOutside } = folderWith('crafted', new Uint8Array());
    entries[4] = { name: join(outside, 'victim.txt'), data: 'overwritten by an absolute name' };
    entries[5]!.link = join(outside, 'elsewhere');
    entries[9]!.link = join(outside, 'victim.txt');
    writeFileSync(join(dir, 'submission.pgp'), await encryptToKeys(archive(entries, pad), [key]));
    const before = treeOutside();

    const r = shell(commands, dir, home);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain(FINAL_LINE);
    expect(r.stderr).toMatch(/Member name contains '\.\.'/);
    expect(treeOutside()).toEqual(before);
    const made = readdirSync(join(dir, 'submission'));
    expect(made).not.toContain('null');
    expect(lstatSync(join(dir, 'submission/setuid')).mode & 0o7000).toBe(0);
  }, 120_000);

  it('refuses an archive that holds only a symbolic link pointing out (tar itself accepts it)', async () => {
    const { dir, outside } = folderWith('link-only', new Uint8Array());
    const entries: Entry[] = [
      { name: 'manifest.json', data: '{}' },
      { name: 'message.txt', data: 'hello' },
      { name: 'files/photo.jpg', type: '2', link: join(outside, 'victim.txt') },
    ];
    writeFileSync(join(dir, 'submission.pgp'), await encryptToKeys(archive(entries, 5 * 1024 * 1024 + 4096), [key]));
    const r = shell(commands, dir, home);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain(FINAL_LINE);
  }, 120_000);
});
