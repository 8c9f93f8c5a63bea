/**
 * `npm run bench -- large-file`: the page's memory while a source sends a 200 MB file from
 * Chromium (issue 12: goal < 64 MiB above the page's idle). The file is read, encrypted and sent
 * as a stream (client/lib/send.ts, protocol/encrypt-stream.ts); the figures:
 * - held: the JavaScript heap plus ArrayBuffer backing stores of the page and its workers, after a
 *   garbage collection in each (CDP), sampled while sending: what the page keeps alive;
 * - renderer RSS: the resident memory of Chromium's renderer processes (all of them, from /proc),
 *   without forcing collections: what the machine sees, garbage not yet collected included.
 * The server is the test harness's (PostgreSQL with TEST_DATABASE_URL, else PGlite), on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClient } from '../client/build.ts';
import { launchBrowser } from '../test/e2e/browsers.ts';
import { startSourceServer } from '../test/e2e/harness.ts';
import { sourceSendsLargeFile, writeRandomFile } from '../test/e2e/large-send.ts';

const MB = 1_000_000;
const MiB = 1024 * 1024;
const SIZE = 200 * MB;

export async function run(): Promise<void> {
  await buildClient();
  const dir = mkdtempSync(join(tmpdir(), 'sealdrop-bench-large-'));
  const [server, chromium] = await Promise.all([startSourceServer({ powDifficulty: 8 }), launchBrowser('chromium')]);
  try {
    const path = join(dir, 'archive.bin');
    await writeRandomFile(path, SIZE);
    const r = await sourceSendsLargeFile(chromium.browser, server, path);
    const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
    console.log(`  send a ${SIZE / MB} MB file from chromium: ${(r.elapsedMs / 1000).toFixed(1)} s (${((SIZE / MB) / (r.elapsedMs / 1000)).toFixed(1)} MB/s over loopback)`);
    console.log(
      `    page memory held (heap + buffers, page and workers, after GC): idle ${mib(r.heldIdleBytes)}, peak ${mib(r.heldPeakBytes)}, ` +
        `${mib(r.heldPeakBytes - r.heldIdleBytes)} above idle   goal < 64 MiB above idle`,
    );
    console.log(
      `    renderer processes' RSS (no forced GC): idle ${mib(r.idleBytes)}, peak ${mib(r.peakBytes)}, ${mib(r.peakBytes - r.idleBytes)} above idle ` +
        `(${r.samples} samples)`,
    );
  } finally {
    await chromium.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
