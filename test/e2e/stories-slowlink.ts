/**
 * @module test/e2e/stories-slowlink — a source on a slow, flaky link (issue 12 items 4 and 7): the
 * page reached only through the slow-link proxy (test/slow-link-proxy.ts), the limits read before
 * a file is chosen, a file too large refused at once, the time left while sending, a link that
 * freezes mid-upload shown as stalled and the tip arriving once it comes back, a text tip sent on
 * the connection the page has after a quiet while (no new Tor stream); then what the
 * screen keeps after sending, the list updated after a follow-up, and the bridges advice.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES, type Language, type MessageKey } from '../../client/i18n/index.ts';
import { CHUNK_BYTES } from '../../protocol/limits.ts';
import { startSlowLinkProxy, type SlowLinkProxy } from '../slow-link-proxy.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';

const MiB = 1024 * 1024;
/** Four chunks: when the link freezes after two and a half, a chunk that is not the last is in flight. */
const FILE_BYTES = 3 * CHUNK_BYTES + MiB;

/** A catalogue text as a pattern: its placeholders match anything. */
function pattern(language: Language, key: MessageKey): RegExp {
  const text = CATALOGUES[language][key].replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  return new RegExp(`^${text.replace(/\{\w+\}/g, '.+?')}$`);
}

export function defineSlowLinkStories(name: BrowserName, language: Language): void {
  const t = CATALOGUES[language];
  describe.skipIf(!browserAvailable(name))(`a source in ${name} on a slow, flaky link (${language})`, () => {
    let server: SourceServer;
    let proxy: SlowLinkProxy;
    let launched: LaunchedBrowser;
    let files: string;

    beforeAll(async () => {
      [server, launched] = await Promise.all([startSourceServer(), launchBrowser(name)]);
      // 200 ms each way, 1 MB/s: slow enough that the freeze below lands inside the upload
      proxy = await startSlowLinkProxy({ host: '127.0.0.1', port: Number(new URL(server.origin).port) }, { latencyMs: 200, bytesPerSecond: 1_000_000 });
      files = mkdtempSync(join(tmpdir(), 'sealdrop-e2e-slowlink-'));
    });
    afterAll(async () => {
      await launched?.close();
      await proxy?.close();
      await server?.close();
      if (files) rmSync(files, { recursive: true, force: true });
    });

    it('sends a text tip on the connection the page already has, however long she wrote: no new connection, no new Tor stream', { timeout: 300_000 }, async () => {
      const source = await SourceNavigator.open(launched.browser, proxy.origin);
      source.page.setDefaultTimeout(120_000);
      await source.sourceVisits(`/?lang=${language}`);
      await source.sourceWaitsForThePageToBeReady();
      await source.sourceWritesMessage(`the north dock ${randomBytes(4).toString('hex')}`);
      // she writes on, sending nothing, for longer than Node's default keep-alive (5 s) closed
      // idle connections after: 6 s after the page's last byte (its code, the key, the proof of work)
      for (let last = proxy.bytesUp, quietSince = Date.now(); Date.now() - quietSince < 6_000; ) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (proxy.bytesUp !== last) [last, quietSince] = [proxy.bytesUp, Date.now()];
      }
      const before = proxy.connections;
      await source.page.click('[data-testid=submit]');
      await source.page.waitForFunction(
        () => document.querySelector('[data-testid=codename]')?.textContent || document.querySelector('#error:not([hidden])'),
      );
      expect(await source.page.$eval('#error', (e) => ((e as HTMLElement).hidden ? '' : e.textContent))).toBe('');
      // the open and its chunk both went on a connection opened while the page loaded (an open
      // sent with credentials omitted and a chunk's XHR used to need one each)
      expect(proxy.connections - before).toBe(0);
      await source.sourceConfirmsSheWroteItDown();
    });

    it('reads the limits first, is refused a too-large file at once, sees the time left, then "stalled, trying again", and the tip arrives when the link comes back', { timeout: 900_000 }, async () => {
      const source = await SourceNavigator.open(launched.browser, proxy.origin);
      source.page.setDefaultTimeout(300_000);
      await source.sourceVisits(`/?lang=${language}`);
      await source.sourceWaitsForThePageToBeReady();

      // the limits, before any file is chosen
      const limits = await source.page.$eval('[data-testid=files-limits]', (e) => e.textContent!);
      expect(limits).toMatch(pattern(language, 'files_limits'));
      expect(limits).toContain('64');

      // 2.2 GB (sparse: nothing is written) is refused on choosing, before any reading or "Preparing…"
      const huge = join(files, 'archive.zip');
      closeSync(openSync(huge, 'w'));
      const { truncateSync } = await import('node:fs');
      truncateSync(huge, 2_200_000_000);
      const input = await source.page.$('[data-testid=files]');
      await (input as unknown as { uploadFile(...p: string[]): Promise<void> }).uploadFile(huge);
      await source.page.waitForSelector('#error:not([hidden])');
      expect(await source.page.$eval('#error', (e) => e.textContent)).toMatch(pattern(language, 'file_too_large'));
      expect(await source.page.$$eval('#file-list li', (items) => items.length)).toBe(0);
      expect(await source.page.$eval('#progress-box', (e) => (e as HTMLElement).hidden)).toBe(true);

      const file = join(files, 'ledger.bin');
      writeFileSync(file, randomBytes(FILE_BYTES));
      await source.sourceWatchesProgress();
      // the link freezes once two and a half chunks went up: chunks 0 and 1 are acknowledged by
      // then (their answers take 0.2 s, the half chunk 2 s), chunk 2 (not the last) is on its way
      const frozen = proxy.freezeAfter(2 * CHUNK_BYTES + CHUNK_BYTES / 2);
      await source.sourceWritesMessage(`ledger ${randomBytes(4).toString('hex')}`);
      await source.sourceAttachesFiles(file);
      await source.page.click('[data-testid=submit]');
      await frozen;
      const stalled = pattern(language, 'progress_stalled');
      // the uploader's timeouts decide when (30 s of nothing sent, or the answer timeout measured
      // by the acknowledged rate): minutes of patience on a loaded machine
      await source.page.waitForFunction(
        (source) => new RegExp(source).test(document.querySelector('#progress-text')?.textContent ?? ''),
        { timeout: 300_000 },
        stalled.source,
      );
      expect(await source.page.$eval('#error', (e) => (e as HTMLElement).hidden)).toBe(true);
      proxy.thaw();
      await source.page.waitForFunction(
        () => document.querySelector('[data-testid=codename]')?.textContent || document.querySelector('#error:not([hidden])'),
        { timeout: 300_000 },
      );
      expect(await source.page.$eval('#error', (e) => ((e as HTMLElement).hidden ? '' : e.textContent))).toBe('');

      const shown = await source.progressShown();
      // before the freeze: the share acknowledged, with the time left at the rate measured
      const withTimeLeft = shown.filter((text) =>
        (['progress_uploading_soon', 'progress_uploading_minutes', 'progress_uploading_hours'] as const).some((key) => pattern(language, key).test(text)),
      );
      expect(withTimeLeft.length, shown.join(' | ')).toBeGreaterThan(0);
      expect(shown.some((text) => stalled.test(text)), shown.join(' | ')).toBe(true);

      // after sending: the outcome, not "Send a tip" above it; no copy button against "paper only"
      expect(await source.page.$eval('#submit-heading', (e) => (e as HTMLElement).hidden)).toBe(true);
      expect(await source.page.$eval('#submit-intro', (e) => (e as HTMLElement).hidden)).toBe(true);
      expect(await source.page.$('#copy')).toBeNull();
      expect(await source.page.$eval('#done', (e) => e.textContent)).toContain(t.codename_paper_only);
      const codename = await source.page.$eval('[data-testid=codename]', (e) => e.textContent!);
      await source.sourceConfirmsSheWroteItDown();

      // back with the codename (directly, not through the slow link): one tip listed, then two
      const back = await SourceNavigator.open(launched.browser, server.origin);
      await back.sourceVisits(`/return.html?lang=${language}`);
      await back.sourceWaitsForThePageToBeReady('check');
      // (words or digits: the Russian page offers digits first)
      const opened = await back.sourceOpensCodename(codename);
      expect(opened).toMatchObject({ opened: true, statuses: ['received'] });
      await back.sourceSendsFollowUp('one more thing');
      await back.page.waitForFunction(() => document.querySelectorAll('[data-testid=status]').length === 2, { timeout: 120_000 });
      expect((await back.sourceReadsAccount()).statuses).toEqual(['received', 'received']);

      // the safety page speaks of bridges, in the page's language
      await back.sourceVisits(`/safety.html?lang=${language}`);
      await back.page.waitForFunction((text) => document.querySelector('[data-testid=safety-bridges]')?.textContent === text, {}, t.safety_bridges);
      expect(await source.cspViolations()).toEqual([]);
    });
  });
}
