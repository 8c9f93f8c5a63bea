/**
 * @module bench/client — what the source's browser pays. Prints figures, asserts nothing.
 *
 * 1. First-load bytes of each page with everything it fetched until it was ready to use (HTML,
 *    CSS, scripts, workers and their chunks), recorded in Chromium against a real server, then
 *    compressed here with gzip -9 and brotli (goal ≤ 200 KB per page).
 * 2. In Firefox ESR with the JIT off (Tor Browser "Safer": baselinejit, ion, wasm, native_regexp
 *    off) — and, for comparison, with the JIT on and in Chromium: the codename key derivation
 *    (protocol's deriveSourceSecrets at SCRYPT_PARAMS; goal ≤ 1 s) and raw scrypt at other N, the
 *    proof of work at the default difficulty (median of 9; goal ≤ 3 s), and encrypting 10 MB
 *    (envelope + encryptToKeys to the demo key; goal ≥ 10 MB/s).
 *
 * The browser measurements run protocol/ code bundled by esbuild exactly as the client build does
 * (lightweight OpenPGP.js), in a page served by a throwaway local server.
 * Run alone with: npx tsx bench/client.bench.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import type { Browser } from 'puppeteer-core';
import { buildClient, DIST } from '../client/build.ts';
import { POW_DEFAULT_DIFFICULTY, SCRYPT_PARAMS } from '../protocol/limits.ts';
import { launchBrowser, type BrowserName } from '../test/e2e/browsers.ts';
import { startSourceServer } from '../test/e2e/harness.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KB = 1024;
const MB = 1e6;

export type PageWeight = { page: string; files: string[]; raw: number; gzip: number; brotli: number };
export type BrowserFigures = {
  browser: string;
  kdfMs: number[];
  scryptMs: Record<string, number>;
  powMs: number[];
  powMedianMs: number;
  /** SHA-256 tries per second over all runs; 2^difficulty / rate is the expected time. */
  powHashesPerSecond: number;
  /** The same digests in batches of 64 awaited whole (a comparison for solvePow's sliding window). */
  powHashesPerSecond64InFlight: number;
  encrypt10MB: { ms: number; mbPerSecond: number; envelopeMs: number; encryptMs: number; envelopeBytes: number };
};
export type ClientBenchResult = { pages: PageWeight[]; browsers: BrowserFigures[] };

/** What the page at `path` fetched from its origin until it was ready, compressed file by file. */
async function firstLoad(browser: Browser, origin: string, path: string, ready: string): Promise<PageWeight> {
  const page = await browser.newPage();
  const urls = new Set<string>();
  // blob: URLs are the workers' checked copies of files already fetched (client/lib/verified-modules.ts)
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol !== 'blob:') urls.add(url.pathname);
  });
  await page.goto(origin + path, { waitUntil: 'networkidle0' });
  if (ready) await page.waitForSelector(ready, { timeout: 60_000 });
  await page.close();
  const files = [...urls].filter((p) => !p.startsWith('/api/')).map((p) => (p === '/' ? '/index.html' : p));
  let raw = 0;
  let gzip = 0;
  let brotli = 0;
  for (const file of files) {
    const bytes = await readFile(join(DIST, file));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
    brotli += brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  }
  return { page: path, files, raw, gzip, brotli };
}

/** The code the page runs in the worker, exposed for timing. */
const BENCH_ENTRY = `
import { scrypt } from '@noble/hashes/scrypt.js';
import { readKey } from 'openpgp';
import { generateCodename } from './protocol/codename.ts';
import { buildEnvelope } from './protocol/envelope.ts';
import { deriveSourceSecrets } from './protocol/kdf.ts';
import { leadingZeroBits, powDigest, solvePow } from './protocol/pow.ts';
import { encryptToKeys } from './protocol/source-keys.ts';

const time = async (f) => { const t = performance.now(); await f(); return performance.now() - t; };
const token = () => 'v1.' + Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b % 36).toString(36)).join('') + '.' + Date.now();

window.bench = {
  async kdf(runs) {
    const out = [];
    for (let i = 0; i < runs; i++) {
      const codename = generateCodename('english');
      out.push(await time(() => deriveSourceSecrets(codename, 'bench-instance-salt')));
    }
    return out;
  },
  async scrypt(logN) {
    return time(() => scrypt('alpha beta gamma delta epsilon zeta eta theta', 'sealdrop/v1/bench', { N: 2 ** logN, r: 8, p: 1, dkLen: 32 }));
  },
  async pow(difficulty, runs) {
    const out = [];
    let tries = 0;
    let ms = 0;
    for (let i = 0; i < runs; i++) {
      const t = token();
      let nonce = '';
      const took = await time(async () => { nonce = await solvePow(t, difficulty); });
      out.push(took);
      tries += Number(nonce) + 1;
      ms += took;
    }
    return { runs: out, hashesPerSecond: tries / (ms / 1000) };
  },
  // A comparison, not the client's code path: the same digests in batches of 64, each batch awaited
  // whole with Promise.all (solvePow keeps POW_DIGESTS_IN_FLIGHT going as a sliding window instead),
  // to show whether WebCrypto's per-call latency rather than hashing still limits solvePow.
  async powRate64(tries) {
    const t = token();
    const started = performance.now();
    for (let n = 0; n < tries; n += 64) {
      const digests = await Promise.all(Array.from({ length: 64 }, (_, i) => powDigest(t, String(n + i))));
      digests.forEach((d) => leadingZeroBits(d));
    }
    return tries / ((performance.now() - started) / 1000);
  },
  async encrypt(armoredKey, bytes) {
    const key = await readKey({ armoredKey });
    const file = crypto.getRandomValues(new Uint8Array(bytes).subarray(0, 65536)) && new Uint8Array(bytes);
    for (let i = 0; i < file.length; i += 65536) crypto.getRandomValues(file.subarray(i, i + 65536));
    let envelope;
    const envelopeMs = await time(async () => {
      envelope = await buildEnvelope({ language: 'en', message: 'bench', files: [{ name: 'data.bin', type: 'application/octet-stream', bytes: file, stripped: false }] });
    });
    const encryptMs = await time(() => encryptToKeys(envelope, [key]));
    return { envelopeMs, encryptMs, envelopeBytes: envelope.length };
  },
};
window.benchReady = true;
`;

async function serveBenchPage(): Promise<{ origin: string; close(): Promise<void> }> {
  const built = await esbuild.build({
    stdin: { contents: BENCH_ENTRY, resolveDir: ROOT, loader: 'ts', sourcefile: 'bench-entry.ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['firefox115', 'chrome115'],
    write: false,
    alias: { openpgp: 'openpgp/lightweight' },
  });
  const script = built.outputFiles[0]!.contents;
  const html = '<!doctype html><meta charset="utf-8"><title>bench</title><script type="module" src="/bench.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/bench.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measureIn(label: string, name: BrowserName, jitOff: boolean, origin: string): Promise<BrowserFigures> {
  const launched = await launchBrowser(name, { jitOff });
  try {
    const page = await launched.browser.newPage();
    page.setDefaultTimeout(600_000);
    await page.goto(origin);
    await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true);
    type Bench = {
      kdf(runs: number): Promise<number[]>;
      scrypt(logN: number): Promise<number>;
      pow(d: number, runs: number): Promise<{ runs: number[]; hashesPerSecond: number }>;
      encrypt(key: string, bytes: number): Promise<{ envelopeMs: number; encryptMs: number; envelopeBytes: number }>;
      powRate64(tries: number): Promise<number>;
    };
    const call = <K extends keyof Bench>(k: K, ...args: Parameters<Bench[K]>) =>
      page.evaluate((k, args) => ((window as unknown as { bench: Record<string, (...a: unknown[]) => unknown> }).bench[k]!(...args)), k, args) as ReturnType<Bench[K]>;
    const kdfMs = await call('kdf', 5);
    const scryptMs: Record<string, number> = {};
    for (const logN of [11, 12, 14]) scryptMs[`2^${logN}`] = await call('scrypt', logN);
    const pow = await call('pow', POW_DEFAULT_DIFFICULTY, 9);
    const powHashesPerSecond64InFlight = await call('powRate64', 2 ** 15);
    const key = await readFile(join(ROOT, 'keys.example/newsroom.pub.asc'), 'utf8');
    const bytes = 10 * MB;
    const encrypted = await call('encrypt', key, bytes);
    const ms = encrypted.envelopeMs + encrypted.encryptMs;
    return {
      browser: label,
      kdfMs,
      scryptMs,
      powMs: pow.runs,
      powMedianMs: median(pow.runs),
      powHashesPerSecond: pow.hashesPerSecond,
      powHashesPerSecond64InFlight,
      encrypt10MB: { ms, mbPerSecond: bytes / MB / (ms / 1000), ...encrypted },
    };
  } finally {
    await launched.close();
  }
}

export async function run(): Promise<ClientBenchResult> {
  await buildClient();
  const server = await startSourceServer({ powDifficulty: POW_DEFAULT_DIFFICULTY });
  const pages: PageWeight[] = [];
  try {
    const chromium = await launchBrowser('chromium');
    try {
      pages.push(await firstLoad(chromium.browser, server.origin, '/', '[data-testid=submit]:not([disabled])'));
      pages.push(await firstLoad(chromium.browser, server.origin, '/return.html', '[data-testid=check]:not([disabled])'));
      pages.push(await firstLoad(chromium.browser, server.origin, '/safety.html', ''));
    } finally {
      await chromium.close();
    }
  } finally {
    await server.close();
  }
  console.log('\nclient: first load of each page, every file fetched until ready (KB = 1024 bytes)');
  for (const p of pages) {
    console.log(
      `  ${p.page.padEnd(14)} raw ${(p.raw / KB).toFixed(1).padStart(7)} KB   gzip ${(p.gzip / KB).toFixed(1).padStart(6)} KB   brotli ${(p.brotli / KB).toFixed(1).padStart(6)} KB   (${p.files.join(' ')})`,
    );
  }

  const bench = await serveBenchPage();
  const browsers: BrowserFigures[] = [];
  try {
    browsers.push(await measureIn('Firefox ESR, JIT off (Tor Browser "Safer")', 'firefox', true, bench.origin));
    browsers.push(await measureIn('Firefox ESR, JIT on', 'firefox', false, bench.origin));
    browsers.push(await measureIn('Chromium', 'chromium', false, bench.origin));
  } finally {
    await bench.close();
  }
  console.log(`\nclient: browser costs (SCRYPT_PARAMS.N = 2^${Math.log2(SCRYPT_PARAMS.N)}, PoW difficulty ${POW_DEFAULT_DIFFICULTY})`);
  for (const b of browsers) {
    console.log(`  ${b.browser}`);
    console.log(`    codename key derivation: median ${median(b.kdfMs).toFixed(0)} ms (runs: ${b.kdfMs.map((x) => x.toFixed(0)).join(', ')})   goal ≤ 1000 ms`);
    console.log(`    raw scrypt r=8: ${Object.entries(b.scryptMs).map(([n, ms]) => `N=${n} ${ms.toFixed(0)} ms`).join(', ')}`);
    const expected = (2 ** POW_DEFAULT_DIFFICULTY / b.powHashesPerSecond) * 1000;
    console.log(
      `    proof of work: median ${b.powMedianMs.toFixed(0)} ms (runs: ${b.powMs.map((x) => x.toFixed(0)).join(', ')}); ` +
        `${b.powHashesPerSecond.toFixed(0)} SHA-256/s, so ${expected.toFixed(0)} ms expected   goal ≤ 3000 ms`,
    );
    console.log(
      `    (same digests, 64 in flight at once: ${b.powHashesPerSecond64InFlight.toFixed(0)} SHA-256/s, ` +
        `${((2 ** POW_DEFAULT_DIFFICULTY / b.powHashesPerSecond64InFlight) * 1000).toFixed(0)} ms expected)`,
    );
    const e = b.encrypt10MB;
    console.log(
      `    encrypt 10 MB: ${e.ms.toFixed(0)} ms = ${e.mbPerSecond.toFixed(1)} MB/s (buildEnvelope ${e.envelopeMs.toFixed(0)} ms, ` +
        `encryptToKeys of ${(e.envelopeBytes / MB).toFixed(2)} MB padded ${e.encryptMs.toFixed(0)} ms)   goal ≥ 10 MB/s`,
    );
  }
  return { pages, browsers };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await run();
}
