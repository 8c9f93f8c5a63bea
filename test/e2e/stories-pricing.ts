/**
 * @module test/e2e/stories-pricing — what a source sees of the proof of work's price and of the
 * server's quotas (issue 9 items 2 and 3), in the page's own language.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ko from '../../client/i18n/ko.json' with { type: 'json' };
import { powSizeBits } from '../../protocol/pow.ts';
import { DEFAULT_OPEN_LIMITS } from '../../server/source/open-limits.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';

const MiB = 1024 * 1024;
const FILE_BYTES = 3 * MiB;

export function definePricingStories(name: BrowserName, base: number): void {
  describe.skipIf(!browserAvailable(name))(`a source in ${name} meets the price and the quotas`, () => {
    let server: SourceServer;
    let launched: LaunchedBrowser;
    let files: string;

    beforeAll(async () => {
      // room for one tip with the file, not for two
      const openLimits = { ...DEFAULT_OPEN_LIMITS, quotaTotal: FILE_BYTES + MiB };
      [server, launched] = await Promise.all([startSourceServer({ powDifficulty: base, openLimits }), launchBrowser(name)]);
      files = mkdtempSync(join(tmpdir(), 'sealdrop-e2e-pricing-'));
    });
    afterAll(async () => {
      await launched?.close();
      await server?.close();
      if (files) rmSync(files, { recursive: true, force: true });
    });

    it('in Korean: sees how long the check takes on her device for a larger tip, then why a tip the full server refused was not sent', { timeout: 900_000 }, async () => {
      const file = join(files, 'ledger.bin');
      writeFileSync(file, randomBytes(FILE_BYTES));
      expect(powSizeBits(FILE_BYTES + 64 * 1024)).toBe(1);

      const source = await SourceNavigator.open(launched.browser, server.origin);
      source.page.setDefaultTimeout(300_000);
      await source.sourceVisits('/?lang=ko');
      await source.sourceWaitsForThePageToBeReady();
      await source.sourceWatchesProgress();
      const seenBefore = server.requests.length;
      // (a proof of work's time is random: minutes of patience for one that averages well under one)
      const codename = await source.sourceSubmitsTip({ message: `장부 ${randomBytes(4).toString('hex')}`, files: [file] }, { timeoutMs: 480_000 });
      expect(codename.split(' ').length).toBeGreaterThan(1);
      // the file makes the tip dearer than the challenge solved at page load: a new one, priced for its size
      expect(server.requests.slice(seenBefore).filter((r) => r.startsWith('POST /api/v1/pow'))).toHaveLength(1);
      const progress = await source.progressShown();
      const wait = progress.find((text) => text.includes('평균'));
      expect(wait, progress.join(' | ')).toMatch(/^보내기 전에 확인 계산을 하는 중입니다\. 이 기기에서는 평균 \d+(초|분)쯤 걸립니다/);
      await source.sourceConfirmsSheWroteItDown();

      // a new source, the same file: the server has no room left for it
      await source.sourceVisits('/?lang=ko');
      await source.sourceWaitsForThePageToBeReady();
      await source.sourceWritesMessage('두 번째');
      await source.sourceAttachesFiles(file);
      await source.page.click('[data-testid=submit]');
      await source.page.waitForSelector('#error:not([hidden])');
      expect(await source.page.$eval('#error', (e) => e.textContent)).toBe(ko.error_storage_full);
      // refused once, not tried again
      expect(server.requests.filter((r) => r === 'POST /api/v1/uploads')).toHaveLength(2);
    });
  });
}
