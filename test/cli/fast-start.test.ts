/**
 * @module test/cli/fast-start — bin.js's cached bundle (cli/fast-start.js) runs only what the sources
 * say: an edit is seen on the next run, a bundle whose header does not match is never run, and a
 * cache directory someone else could write to is not used at all (the tsx path runs instead).
 *
 * Each test works on a temporary copy of the checkout (cli, protocol, package.json, tsconfig.json;
 * node_modules a real folder of links to this checkout's packages, so its .cache is the copy's own).
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, cp, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let copy: string;
let cacheDir: string;
let bundle: string;

function runCopy(args: string[]): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(copy, 'cli/bin.js'), ...args], {
      cwd: copy,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const HEADER = /^\/\/ sealdrop-cli-bundle 1 key=([0-9a-f]{64}) body=([0-9a-f]{64})\n\/\/ inputs=.*\n/;

async function readHeader(): Promise<{ header: string; key: string; body: Buffer }> {
  const bytes = await readFile(bundle);
  const match = HEADER.exec(bytes.toString('latin1'));
  if (match === null) throw new Error('the bundle has no header');
  return { header: match[0], key: match[1]!, body: bytes.subarray(Buffer.byteLength(match[0], 'latin1')) };
}

/**
 * Rewrites the cached bundle so that it also prints PLANTED, its body hash made to match: what a
 * writer of the cache directory could plant. `key` replaces the header's key when given.
 */
async function plant(key?: string): Promise<void> {
  const { header, key: current, body } = await readHeader();
  const planted = Buffer.concat([body, Buffer.from('\nconsole.log("PLANTED");\n')]);
  const newHeader = header.replace(/key=[0-9a-f]{64} body=[0-9a-f]{64}/, `key=${key ?? current} body=${sha256(planted)}`);
  await writeFile(bundle, Buffer.concat([Buffer.from(newHeader, 'latin1'), planted]), { mode: 0o600 });
}

beforeEach(async () => {
  copy = await mkdtemp(join(tmpdir(), 'sealdrop-fast-start-'));
  for (const part of ['cli', 'protocol']) {
    await cp(join(ROOT, part), join(copy, part), { recursive: true, filter: (source) => !source.endsWith('.test.ts') });
  }
  for (const file of ['package.json', 'tsconfig.json']) await cp(join(ROOT, file), join(copy, file));
  await mkdir(join(copy, 'node_modules'));
  for (const entry of await readdir(join(ROOT, 'node_modules'))) {
    if (entry !== '.cache') await symlink(join(ROOT, 'node_modules', entry), join(copy, 'node_modules', entry));
  }
  cacheDir = join(copy, 'node_modules/.cache/sealdrop-cli');
  bundle = join(cacheDir, 'cli.mjs');
});

afterEach(async () => {
  await rm(copy, { recursive: true, force: true });
});

describe('the cached CLI bundle', () => {
  it('is built on the first run, owner-only, and an edited source is what the next run runs', async () => {
    expect(await runCopy(['--version'])).toEqual({ code: 0, stdout: 'sealdrop 0.1.0\n', stderr: '' });
    expect((await lstat(cacheDir)).mode & 0o777).toBe(0o700);
    expect((await stat(bundle)).mode & 0o777).toBe(0o600);
    const first = await readHeader();
    expect(first.header).toContain('"cli/main.ts"');
    expect(first.header).toContain('"protocol/');

    const main = join(copy, 'cli/main.ts');
    await writeFile(main, (await readFile(main, 'utf8')).replace("VERSION = '0.1.0'", "VERSION = '0.1.0-edited'"));
    expect(await runCopy(['--version'])).toEqual({ code: 0, stdout: 'sealdrop 0.1.0-edited\n', stderr: '' });
    const second = await readHeader();
    expect(second.key).not.toBe(first.key);

    // A change deep in the graph (a protocol module) is an input too: rebuilt, same output.
    const deep = (await readHeader()).header.match(/"(protocol\/[^"]+\.ts)"/)![1]!;
    await writeFile(join(copy, deep), `${await readFile(join(copy, deep), 'utf8')}\n// edited\n`);
    expect((await runCopy(['--version'])).stdout).toBe('sealdrop 0.1.0-edited\n');
    expect((await readHeader()).key).not.toBe(second.key);

    // Deleting the cache is safe: the next run makes it again, with the same key for the same sources.
    const third = (await readHeader()).key;
    await rm(join(copy, 'node_modules/.cache'), { recursive: true });
    expect((await runCopy(['--version'])).stdout).toBe('sealdrop 0.1.0-edited\n');
    expect((await readHeader()).key).toBe(third);
  });

  it('runs a bundle whose header matches (the control), never one with a wrong key or body', async () => {
    expect((await runCopy(['--version'])).code).toBe(0);
    // Control: in a trusted directory, a bundle whose key and body hash match is what runs.
    await plant();
    expect((await runCopy(['--version'])).stdout).toBe('PLANTED\nsealdrop 0.1.0\n');

    // A wrong key (the sources it claims are not these): not run, replaced by a fresh build.
    await plant('0'.repeat(64));
    expect(await runCopy(['--version'])).toEqual({ code: 0, stdout: 'sealdrop 0.1.0\n', stderr: '' });
    expect(await readFile(bundle, 'utf8')).not.toContain('PLANTED');

    // The right key but a body that is not the one hashed in the header: not run.
    const { header, body } = await readHeader();
    await writeFile(bundle, Buffer.concat([Buffer.from(header, 'latin1'), body, Buffer.from('\nconsole.log("PLANTED");\n')]));
    expect((await runCopy(['--version'])).stdout).toBe('sealdrop 0.1.0\n');

    // A bundle others may write (group-writable): not run.
    await plant();
    await chmod(bundle, 0o620);
    expect((await runCopy(['--version'])).stdout).toBe('sealdrop 0.1.0\n');
  });

  it.each([
    ['mode 0777', async () => chmod(cacheDir, 0o777)],
    ['another owner', async () => chown(cacheDir, 65534, 65534)],
    ['a parent others may write', async () => chmod(join(copy, 'node_modules/.cache'), 0o777)],
    ['a symlink', async () => {
      await rename(cacheDir, join(copy, 'elsewhere'));
      await symlink(join(copy, 'elsewhere'), cacheDir);
    }],
  ] as const)('is not used at all from a cache directory with %s: the tsx path runs the sources', async (_name, spoil) => {
    expect((await runCopy(['--version'])).code).toBe(0);
    await plant();
    const before = (await readdir(cacheDir)).sort();
    expect(before).toEqual([expect.stringMatching(/^cli-[0-9a-f]{64}\.mjs$/), 'cli.mjs']);
    await spoil();
    const main = join(copy, 'cli/main.ts');
    await writeFile(main, (await readFile(main, 'utf8')).replace("VERSION = '0.1.0'", "VERSION = '0.1.0-tsx'"));
    expect(await runCopy(['--version'])).toEqual({ code: 0, stdout: 'sealdrop 0.1.0-tsx\n', stderr: '' });
    // Left as found: nothing written into a directory that cannot be trusted.
    expect(await readFile(join(cacheDir, 'cli.mjs'), 'utf8')).toContain('PLANTED');
    expect((await readdir(cacheDir)).sort()).toEqual(before);
  });

  it('is used through a node_modules that is a link to a folder of this user', async () => {
    await rename(join(copy, 'node_modules'), join(copy, 'modules'));
    await symlink(join(copy, 'modules'), join(copy, 'node_modules'));
    expect((await runCopy(['--version'])).stdout).toBe('sealdrop 0.1.0\n');
    await plant();
    expect((await runCopy(['--version'])).stdout).toBe('PLANTED\nsealdrop 0.1.0\n');
    await chmod(join(copy, 'modules'), 0o777); // where the link points, others may write: not used
    expect((await runCopy(['--version'])).stdout).toBe('sealdrop 0.1.0\n');
  });

  it('is built once by several processes starting at once, each running a whole bundle', async () => {
    const runs = await Promise.all([1, 2, 3, 4].map(() => runCopy(['--version'])));
    for (const run of runs) expect(run).toEqual({ code: 0, stdout: 'sealdrop 0.1.0\n', stderr: '' });
    // One bundle, named by the SHA-256 of its bytes (what is imported), and cli.mjs, the newest: no temporary files left.
    expect((await readdir(cacheDir)).sort()).toEqual([`cli-${sha256(await readFile(bundle))}.mjs`, 'cli.mjs']);
  });

  it('says a command missing from this copy is not available, as the tsx path does, and sees it come back', async () => {
    const push = join(copy, 'cli/commands/push.ts');
    const source = await readFile(push);
    await rm(push);
    const viaBundle = await runCopy(['push', 'outbox']);
    expect(viaBundle.stderr).toBe(
      'sealdrop: error: the push command is not available in this copy of sealdrop\n'
      + 'sealdrop: hint: cli/commands/push.ts is missing; reinstall sealdrop from a complete release\n',
    );
    expect((await readHeader()).header).toMatch(/"commands":\["check-site","decrypt","delete","keygen","list","pull","read","reply","spam"\]/);
    expect((await runCopy(['--version'])).stdout).toBe('sealdrop 0.1.0\n');

    await chmod(cacheDir, 0o755); // the tsx path
    expect(await runCopy(['push', 'outbox'])).toEqual(viaBundle);
    await chmod(cacheDir, 0o700);

    await writeFile(push, source);
    const back = await runCopy(['push']);
    expect(back.stderr).toContain('sealdrop: error: push: missing the OUTBOX folder');
    expect((await readHeader()).header).toMatch(/"commands":\["check-site","decrypt","delete","keygen","list","pull","push","read","reply","spam"\]/);
  });
});
