/**
 * @module bench/pow-rate — the hash rate of the page's own proof-of-work worker
 * (client/workers/pow.worker.ts, bundled as the client build bundles it) in Firefox ESR with the
 * JIT off (Tor Browser "Safer"), the figure the size curve of protocol/PROTOCOL.md ("Pricing") is
 * computed from. Prints figures, asserts nothing. Run alone with: npx tsx bench/pow-rate.bench.ts
 *
 * The worker is given a difficulty it will not reach (40 bits) and its progress messages are timed
 * for SECONDS; the rate is the tries counted between the first and the last progress message over
 * the time between them (the worker's start-up excluded).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { powSeconds, powSizeBits } from '../protocol/pow.ts';
import { MAX_CIPHERTEXT_BYTES, POW_DEFAULT_DIFFICULTY } from '../protocol/limits.ts';
import { launchBrowser } from '../test/e2e/browsers.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = 20;
const RUNS = 3;

const PAGE = `<!doctype html><meta charset="utf-8"><title>pow rate</title><script type="module">
window.measure = (seconds) => new Promise((resolve, reject) => {
  const worker = new Worker('/pow.worker.js', { type: 'module' });
  let first, last;
  worker.onmessage = (event) => {
    const m = event.data;
    if (m.kind !== 'progress') return reject(new Error(JSON.stringify(m)));
    const now = performance.now();
    first ??= { tries: m.tries, now };
    last = { tries: m.tries, now };
    if (now - first.now >= seconds * 1000) {
      worker.terminate();
      resolve((last.tries - first.tries) / ((last.now - first.now) / 1000));
    }
  };
  worker.onerror = (e) => reject(new Error(e.message));
  worker.postMessage({ token: 'v1.AAAAAAAAAAAAAAAAAAAAAA.1796000000.40.' + 'A'.repeat(43), difficulty: 40 });
});
window.ready = true;
</script>`;

export async function run(): Promise<void> {
  const built = await esbuild.build({
    entryPoints: [resolve(ROOT, 'client/workers/pow.worker.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['firefox115'],
    write: false,
  });
  const worker = built.outputFiles[0]!.contents;
  const server = createServer((req, res) => {
    if (req.url === '/pow.worker.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(worker);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const launched = await launchBrowser('firefox', { jitOff: true });
  try {
    const page = await launched.browser.newPage();
    page.setDefaultTimeout(600_000);
    await page.goto(origin);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const rates: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      rates.push(await page.evaluate((s) => (window as unknown as { measure(s: number): Promise<number> }).measure(s), SECONDS));
    }
    const rate = [...rates].sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
    console.log(`pow worker, Firefox ESR JIT off: ${rates.map((r) => Math.round(r)).join(', ')} SHA-256/s (median ${Math.round(rate)})`);
    console.log('size → difficulty at the default base, expected seconds at the median rate:');
    for (const size of [4096, 256 * 1024, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20, 1 << 30, MAX_CIPHERTEXT_BYTES]) {
      const bits = POW_DEFAULT_DIFFICULTY + powSizeBits(size);
      console.log(`  ${String(size).padStart(10)} B  ${bits} bits  ${powSeconds(bits, rate).toFixed(1)} s`);
    }
  } finally {
    await launched.close();
    server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
