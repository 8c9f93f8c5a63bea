/**
 * @module test/e2e/large-send — a source sends one large file from a real browser, while the
 * memory of the browser's page processes is sampled; and the newsroom's side, which streams the
 * stored ciphertext into a bundle and decrypts it with `sealdrop decrypt`. Used by the large-file
 * story (test/e2e/large-file-chromium.test.ts) and its bench figure (bench/large-file.bench.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { eq } from 'drizzle-orm';
import type { Browser, CDPSession, Page } from 'puppeteer-core';
import * as openpgp from 'openpgp';
import { streamCiphertext } from '../../server/db/chunks.ts';
import { sources, submissions } from '../../server/db/schema.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, listTree, runCli } from '../cli/helpers.ts';
import type { SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';

const MiB = 1024 * 1024;

/** Writes `bytes` random bytes to `path` a MiB at a time; resolves with their SHA-256. */
export async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; left -= MiB) {
    const piece = randomBytes(Math.min(MiB, left));
    hash.update(piece);
    if (!out.write(piece)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest('hex');
}

/**
 * The resident memory (bytes) of the browser's renderer processes: the page and its workers run
 * there, with every ArrayBuffer they hold. Read from /proc (Linux), children of `rootPid`.
 */
export function rendererRss(rootPid: number): number {
  const children = new Map<number, number[]>();
  const commands = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
      commands.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8'));
    } catch {
      // the process ended while it was read
    }
  }
  let total = 0;
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      if (commands.get(child)?.includes('--type=renderer')) {
        try {
          const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child}/status`, 'utf8'));
          total += rss ? Number(rss[1]) * 1024 : 0;
        } catch {
          // ended
        }
      }
      walk(child);
    }
  };
  walk(rootPid);
  return total;
}

/**
 * What the page holds (bytes): the JavaScript heap and the ArrayBuffer backing stores of the page
 * and of each of its workers (CDP Runtime.getHeapUsage), after a garbage collection in each
 * (HeapProfiler.collectGarbage): live memory, not garbage a collector has yet to reach.
 */
async function pageHeldBytes(page: Page, pageSession: CDPSession): Promise<number> {
  const sessions: CDPSession[] = [pageSession, ...page.workers().map((w) => w.client)];
  let total = 0;
  for (const session of sessions) {
    try {
      await session.send('HeapProfiler.collectGarbage');
      const usage = await session.send('Runtime.getHeapUsage');
      total += usage.usedSize + (usage.backingStorageSize ?? 0);
    } catch {
      // a worker that ended meanwhile (the proof-of-work worker ends once solved)
    }
  }
  return total;
}

export type LargeSend = {
  codename: string;
  /** renderer RSS with the page ready and the file attached, before sending (the median of a few samples) */
  idleBytes: number;
  /** the highest renderer RSS sampled while the tip was sent */
  peakBytes: number;
  samples: number;
  /** what the page and its workers hold, live (pageHeldBytes): before sending, and the most while sending */
  heldIdleBytes: number;
  heldPeakBytes: number;
  /** renderer RSS every 200 ms while sending (MiB), for a look at its shape */
  series: number[];
  elapsedMs: number;
};

/** The source attaches `path` and sends it; memory is sampled every 200 ms until the codename shows. */
export async function sourceSendsLargeFile(browser: Browser, server: SourceServer, path: string): Promise<LargeSend> {
  const pid = browser.process()?.pid;
  if (!pid) throw new Error('expected a browser process launched by puppeteer');
  const source = await SourceNavigator.open(browser, server.origin);
  await source.sourceVisits('/');
  await source.sourceWaitsForThePageToBeReady();
  await source.sourceWritesMessage('the whole archive, as promised');
  await source.sourceAttachesFiles(path);
  const idle: number[] = [];
  for (let i = 0; i < 5; i++) {
    idle.push(rendererRss(pid));
    await new Promise((r) => setTimeout(r, 200));
  }
  idle.sort((a, b) => a - b);
  const pageSession = await source.page.createCDPSession();
  const heldIdle = await pageHeldBytes(source.page, pageSession);
  let heldPeak = 0;
  let peak = 0;
  let samples = 0;
  let sending = true;
  const series: number[] = [];
  const sampler = (async () => {
    while (sending) {
      const rss = rendererRss(pid);
      peak = Math.max(peak, rss);
      series.push(Math.round(rss / MiB));
      heldPeak = Math.max(heldPeak, await pageHeldBytes(source.page, pageSession));
      samples++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const started = Date.now();
  try {
    await source.page.click('[data-testid=submit]');
    // asked from here, one short call at a time: a page-side wait is one protocol call, which
    // puppeteer cuts after its protocol timeout (180 s), shorter than a slow machine's send
    const deadline = Date.now() + 1_500_000;
    while (
      !(await source.page.evaluate(
        () => Boolean(document.querySelector('[data-testid=codename]')?.textContent || document.querySelector('#error:not([hidden])')),
      ))
    ) {
      if (Date.now() > deadline) throw new Error('expected the tip to be sent (or refused) within 25 minutes');
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    sending = false;
    await sampler;
  }
  const error = await source.page.$eval('#error', (e) => ((e as HTMLElement).hidden ? '' : e.textContent));
  if (error) throw new Error(`the page reported: ${error}`);
  const codename = await source.page.$eval('[data-testid=codename]', (e) => e.textContent!);
  await source.page.close();
  return { codename, idleBytes: idle[2]!, peakBytes: peak, heldIdleBytes: heldIdle, heldPeakBytes: heldPeak, samples, series, elapsedMs: Date.now() - started };
}

/**
 * The newsroom's side: the submission's ciphertext streamed out of the database into a bundle (as
 * `sealdrop pull` writes one), then `sealdrop decrypt`. Resolves with the decrypted file's SHA-256.
 */
export async function newsroomDecryptsLargeSubmission(
  server: SourceServer, sourceId: string, dir: string,
): Promise<{ sha256: string; chunks: number; files: string[]; pinned: string | undefined; unsigned: boolean; named: string | undefined; sourceKeyFingerprint: string }> {
  const [row] = await server.database.db.select().from(submissions).where(eq(submissions.sourceId, sourceId));
  const [source] = await server.database.db.select().from(sources).where(eq(sources.id, sourceId));
  if (!source) throw new Error('expected the source to be stored');
  if (!row) throw new Error('expected the submission to be stored');
  const bundle = join(dir, 'bundle');
  await mkdir(join(bundle, 'submissions'), { recursive: true });
  await mkdir(join(bundle, 'sources'), { recursive: true });
  // the source's key as the editor API's bundle carries it: decrypt pins it if the envelope names it
  await writeFile(join(bundle, 'sources', 'quiet-otter.asc'), source.publicKey);
  const out = createWriteStream(join(bundle, 'submissions', `${row.id}.pgp`));
  const hash = createHash('sha256');
  for await (const piece of streamCiphertext(server.database.db, row.id, row.chunks)) {
    hash.update(piece);
    if (!out.write(piece)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const sha256 = hash.digest('hex');
  if (sha256 !== row.sha256) throw new Error(`expected the stored SHA-256 ${row.sha256}, the chunks hash to ${sha256}`);
  await writeFile(
    join(bundle, 'bundle.json'),
    JSON.stringify({
      version: 1,
      submissions: [{ id: row.id, handle: 'quiet-otter', day: '2026-11-27', size: row.size, sha256, path: `submissions/${row.id}.pgp` }],
      sources: [{ handle: 'quiet-otter', path: 'sources/quiet-otter.asc' }],
    }),
  );
  const result = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'bundle', '-o', 'out'], { cwd: dir, env: { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE } });
  if (result.code !== 0) throw new Error(`sealdrop decrypt failed (${result.code}): ${result.stderr}`);
  const files = (await listTree(join(dir, 'out'))).filter((p) => /\/files\/[^/]+$/.test(p));
  if (files.length !== 1) throw new Error(`expected one decrypted file, got ${files.join(', ')}`);
  const pinned = /^sealdrop: pinned the key of quiet-otter: (.+)$/m.exec(result.stderr)?.[1];
  // a streamed tip is unsigned (PROTOCOL.md, "Signed tips"): decrypt says so and pins nothing
  const unsigned = /^sealdrop: warning: quiet-otter: submission \S+ is unsigned/m.test(result.stderr);
  const manifest = files[0]!.replace(/\/files\/[^/]+$/, '/manifest.json');
  const named = (JSON.parse(await readFile(join(dir, 'out', manifest), 'utf8')) as { sourceKeyFingerprint?: string }).sourceKeyFingerprint;
  const sourceKeyFingerprint = (await openpgp.readKey({ armoredKey: source.publicKey })).getFingerprint();
  return { sha256: await sha256OfFile(join(dir, 'out', files[0]!)), chunks: row.chunks, files, pinned, unsigned, named, sourceKeyFingerprint };
}
