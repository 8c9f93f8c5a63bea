/**
 * @module test/cli/attack14-fixture — temporary checkouts for the attack14 tests (cli, protocol,
 * package.json, tsconfig.json, keys.example), as test/cli/fast-start.test.ts makes them; the
 * node_modules is a real folder of links to this checkout's packages, or one shared by two copies.
 */

import { execFile, spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers.ts';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Checkout {
  dir: string;
  cacheDir: string;
  bundle: string;
  run(args: string[], options?: { cwd?: string; env?: Record<string, string> }): Promise<Run>;
  /** Replaces `from` by `to` in a file of the copy (which must contain it). */
  edit(file: string, from: string, to: string): Promise<void>;
  /** The next runs take the tsx path (a cache directory others may read is not trusted). */
  useTsx(): Promise<void>;
  useBundle(): Promise<void>;
}

/** A folder of links to this checkout's packages (no .cache): a node_modules of its own. */
export async function makeModules(dir: string): Promise<void> {
  await mkdir(dir);
  for (const entry of await readdir(join(ROOT, 'node_modules'))) {
    if (entry !== '.cache') await symlink(join(ROOT, 'node_modules', entry), join(dir, entry));
  }
}

/** A copy of the checkout at `dir`; `modules` is where its node_modules links to (else its own). */
export async function makeCheckout(dir: string, modules?: string): Promise<Checkout> {
  await mkdir(dir, { recursive: true });
  for (const part of ['cli', 'protocol', 'keys.example']) {
    await cp(join(ROOT, part), join(dir, part), { recursive: true, filter: (source) => !source.endsWith('.test.ts') });
  }
  for (const file of ['package.json', 'tsconfig.json']) await cp(join(ROOT, file), join(dir, file));
  if (modules === undefined) await makeModules(join(dir, 'node_modules'));
  else await symlink(modules, join(dir, 'node_modules'));
  const cacheDir = join(dir, 'node_modules/.cache/sealdrop-cli');
  return {
    dir,
    cacheDir,
    bundle: join(cacheDir, 'cli.mjs'),
    run: (args, options = {}) => runBin(join(dir, 'cli/bin.js'), args, options.cwd ?? dir, options.env),
    async edit(file, from, to) {
      const path = join(dir, file);
      const text = await readFile(path, 'utf8');
      if (!text.includes(from)) throw new Error(`${file} does not contain ${from}`);
      await writeFile(path, text.replace(from, to));
    },
    useTsx: () => chmod(cacheDir, 0o755),
    useBundle: () => chmod(cacheDir, 0o700),
  };
}

export function runBin(bin: string, args: string[], cwd: string, env: Record<string, string> = {}, input = ''): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

export async function tempRoot(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** mkfifo(1): a FIFO at `path`, owner-only. */
export async function mkfifo(path: string): Promise<void> {
  await promisify(execFile)('mkfifo', ['-m', '0600', path]);
}
