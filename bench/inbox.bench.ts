/**
 * @module bench/inbox — the offline inbox at newsroom scale (issue 14): one bundle of 1,000 sources
 * and 5,000 text tips, added by `sealdrop decrypt` (a child process, as the editor runs it), then
 * the read view's source list and one conversation, asked over HTTP as the browser asks them.
 * Goals: list ≤ 2 s, one conversation ≤ 200 ms (SecureDrop's client takes minutes at 100 sources).
 * Prints figures, asserts nothing. Run alone with: npx tsx bench/inbox.bench.ts
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { buildEnvelope, encryptToKeys } from '../protocol/index.ts';
import { startReadServer } from '../cli/read-server.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'cli/bin.js');
const PASSPHRASE = 'bench passphrase';
const SOURCES = Number(process.env.BENCH_INBOX_SOURCES ?? 1000);
const TIPS_PER_SOURCE = 5;
const WORDS = ['quiet', 'brave', 'pale', 'kind', 'swift', 'amber', 'silver', 'misty', 'bold', 'calm'];
const ANIMALS = ['otter', 'lynx', 'moth', 'wren', 'heron', 'fox', 'crane', 'newt', 'hare', 'owl'];

function handleOf(n: number): string {
  return `${WORDS[n % 10]}-${ANIMALS[Math.floor(n / 10) % 10]}-${Math.floor(n / 100)}`;
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr }));
  });
}

async function timed<T>(task: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await task();
  return [value, performance.now() - start];
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sealdrop-inbox-bench-'));
  try {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'bench newsroom' }], passphrase: PASSPHRASE, format: 'armored' });
    const key = await openpgp.readKey({ armoredKey: publicKey });
    await writeFile(join(dir, 'newsroom.sec.asc'), privateKey, { mode: 0o600 });
    const bundle = join(dir, 'bundle');
    await mkdir(join(bundle, 'submissions'), { recursive: true });
    await mkdir(join(bundle, 'sources'));
    const submissions: { id: string; handle: string; day: string; size: number; sha256: string; path: string }[] = [];
    const [, makeMs] = await timed(async () => {
      for (let t = 0; t < SOURCES * TIPS_PER_SOURCE; t++) {
        const handle = handleOf(t % SOURCES);
        const day = `2026-11-${String(1 + Math.floor(t / SOURCES) * 5).padStart(2, '0')}`;
        const message = `tip ${t} from ${handle}: 평양에서 온 소식입니다. ${'details '.repeat(40)}\n`;
        const ciphertext = await encryptToKeys(await buildEnvelope({ language: 'ko', message, files: [] }), [key]);
        const id = crypto.randomUUID();
        await writeFile(join(bundle, 'submissions', `${id}.pgp`), ciphertext);
        submissions.push({ id, handle, day, size: ciphertext.length, sha256: createHash('sha256').update(ciphertext).digest('hex'), path: `submissions/${id}.pgp` });
      }
    });
    submissions.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
    await writeFile(join(bundle, 'bundle.json'), JSON.stringify({ version: 1, submissions, sources: [] }));
    console.log(`made a bundle of ${SOURCES} sources, ${submissions.length} tips in ${(makeMs / 1000).toFixed(1)} s`);

    const inbox = join(dir, 'inbox');
    const env = { SEALDROP_PASSPHRASE: PASSPHRASE, SEALDROP_INBOX: inbox };
    const [added, addMs] = await timed(() => runCli(['decrypt', '-i', join(dir, 'newsroom.sec.asc'), bundle], env));
    if (added.code !== 0) throw new Error(`decrypt failed: ${added.stderr}`);
    console.log(`sealdrop decrypt into the inbox: ${(addMs / 1000).toFixed(1)} s (${(submissions.length / (addMs / 1000)).toFixed(0)} tips/s)`);
    const [plain, plainMs] = await timed(() => runCli(['decrypt', '-i', join(dir, 'newsroom.sec.asc'), bundle, '-o', join(dir, 'plain')], { SEALDROP_PASSPHRASE: PASSPHRASE }));
    if (plain.code !== 0) throw new Error(`decrypt -o failed: ${plain.stderr}`);
    console.log(`the same bundle with -o (plain folders, no inbox), for comparison: ${(plainMs / 1000).toFixed(1)} s`);
    const [again, againMs] = await timed(() => runCli(['decrypt', '-i', join(dir, 'newsroom.sec.asc'), bundle], env));
    if (again.code !== 0) throw new Error(`decrypt again failed: ${again.stderr}`);
    console.log(`the same bundle again (all skipped): ${(againMs / 1000).toFixed(1)} s`);

    const view = await startReadServer({ inbox, port: 0 });
    try {
      const get = async (path: string) => {
        const response = await fetch(view.url + path);
        const body = (await response.json()) as { sources?: unknown[]; tips?: unknown[] };
        if (!response.ok) throw new Error(`${path}: ${response.status}`);
        return body;
      };
      const lists: number[] = [];
      const opens: number[] = [];
      let listed = 0;
      for (let i = 0; i < 5; i++) {
        const [list, ms] = await timed(() => get('api/sources'));
        listed = list.sources!.length;
        lists.push(ms);
        const [conversation, openMs] = await timed(() => get(`api/sources/${handleOf((i * 197) % SOURCES)}`));
        if (conversation.tips!.length !== TIPS_PER_SOURCE) throw new Error('conversation incomplete');
        opens.push(openMs);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      console.log(`source list (${listed} sources): median ${median(lists).toFixed(1)} ms, max ${Math.max(...lists).toFixed(1)} ms of 5 (goal ≤ 2000 ms)`);
      console.log(`one conversation (${TIPS_PER_SOURCE} tips): median ${median(opens).toFixed(1)} ms, max ${Math.max(...opens).toFixed(1)} ms of 5 (goal ≤ 200 ms)`);
    } finally {
      await view.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
