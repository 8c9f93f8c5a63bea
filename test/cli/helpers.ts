/**
 * @module test/cli/helpers — run `sealdrop` as the editor would (a child process: `node cli/bin.js`),
 * and make the folders and files the sessions need.
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'cli/bin.js');
export const DEMO_PUBLIC_KEY = join(ROOT, 'keys.example/newsroom.pub.asc');
export const DEMO_SECRET_KEY = join(ROOT, 'keys.example/newsroom.sec.asc');
export const DEMO_PASSPHRASE = 'demo-never-use';
export const DEMO_FINGERPRINT = 'd59550c5a4895ea55787f850ca968b8ec7fc9799';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  /** Added to a minimal environment (PATH only): nothing leaks in from the test runner's. */
  env?: Record<string, string>;
  input?: string | Uint8Array;
}

/** `sealdrop ARGS…` in a child process; resolves when it exits. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
      // No terminal: a passphrase must come from SEALDROP_PASSPHRASE, as in the tests' contract.
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      resolvePromise({ code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
    // A program may exit without reading its input (an early refusal): its exit code is the answer.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** A fresh temporary folder and its removal. */
export async function makeTempDir(prefix = 'sealdrop-cli-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every path under `dir` (relative, sorted), folders ending in '/'; symlinks are listed, not followed. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(current: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      const rel = relative(dir, full);
      if (entry.isDirectory()) {
        out.push(`${rel}/`);
        await walk(full);
      } else {
        out.push(rel);
      }
    }
  }
  await walk(dir);
  return out.sort();
}

export interface BundleEntry {
  id: string;
  handle: string;
  day?: string;
  ciphertext: Uint8Array;
  /** Override what bundle.json says (to test size / sha256 mismatches). */
  size?: number;
  sha256?: string;
}

/** Writes a bundle folder exactly as `sealdrop pull` does: bundle.json, sources/, submissions/. */
export async function writeBundle(
  dir: string,
  submissions: BundleEntry[],
  sources: { handle: string; publicKey: string }[] = [],
): Promise<void> {
  await mkdir(join(dir, 'submissions'), { recursive: true });
  await mkdir(join(dir, 'sources'), { recursive: true });
  for (const s of sources) await writeFile(join(dir, 'sources', `${s.handle}.asc`), s.publicKey);
  for (const s of submissions) await writeFile(join(dir, 'submissions', `${s.id}.pgp`), s.ciphertext);
  const json = {
    version: 1,
    submissions: submissions.map((s) => ({
      id: s.id,
      handle: s.handle,
      day: s.day ?? '2026-11-27',
      size: s.size ?? s.ciphertext.length,
      sha256: s.sha256 ?? createHash('sha256').update(s.ciphertext).digest('hex'),
      path: `submissions/${s.id}.pgp`,
    })),
    sources: sources.map((s) => ({ handle: s.handle, path: `sources/${s.handle}.asc` })),
  };
  await writeFile(join(dir, 'bundle.json'), JSON.stringify(json, null, 2));
}

export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** gpg with a private home folder; `CI=true` makes a missing gpg an error rather than a skip. */
export function runGpg(home: string, args: string[], input?: string | Uint8Array): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('gpg', ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GNUPGHOME: home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') }));
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}
