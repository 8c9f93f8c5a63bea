/**
 * @module test/e2e/stories-busy — a returning source whose earlier file upload died after its
 * proof (promoted: its whole size in her day until the sweep takes it) sends a file again at once:
 * the page tells her, in her language, that the earlier try still holds room and in how many
 * minutes the server lets it go (429 source_busy, migrations/0021_source_busy.sql), not "try
 * tomorrow"; it does not retry by itself; and once the sweep took the dead try the same file goes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zh from '../../client/i18n/zh.json' with { type: 'json' };
import { deriveSourceSecrets } from '../../protocol/kdf.ts';
import { instance, submissions } from '../../server/db/schema.ts';
import { DEFAULT_OPEN_LIMITS } from '../../server/source/open-limits.ts';
import { sweepStaleUploads } from '../../server/source/stale-uploads.ts';
import { buildTestApp, demoNewsroomKey } from '../../server/test-helpers.ts';
import { openNative, putChunkRaw } from '../abuse/_harness.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';
import { sourceOf } from './stories.ts';

const MiB = 1024 * 1024;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function defineBusyStories(name: BrowserName): void {
  describe.skipIf(!browserAvailable(name))(`a source in ${name} whose earlier upload died`, () => {
    let server: SourceServer;
    let launched: LaunchedBrowser;
    let files: string;
    // her day: 6 MiB; a file's room is earned by its first 1 MiB (RESERVE_PROOF)
    const openLimits = { ...DEFAULT_OPEN_LIMITS, quotaSourcePerDay: 6 * MiB, reserveProof: MiB };

    beforeAll(async () => {
      [server, launched] = await Promise.all([startSourceServer({ powDifficulty: 8, openLimits }), launchBrowser(name)]);
      files = mkdtempSync(join(tmpdir(), 'sealdrop-e2e-busy-'));
    });
    afterAll(async () => {
      await launched?.close();
      await server?.close();
      if (files) rmSync(files, { recursive: true, force: true });
    });

    it('in Chinese: is told how many minutes the dead try holds her day, and the same file goes once the sweep took it', { timeout: 600_000 }, async () => {
      const file = join(files, 'ledger.bin');
      writeFileSync(file, randomBytes(2 * MiB + 300 * 1024));
      const source = await SourceNavigator.open(launched.browser, server.origin);
      source.page.setDefaultTimeout(300_000);
      await source.sourceVisits('/?lang=zh');
      await source.sourceWaitsForThePageToBeReady();
      const codename = await source.sourceSubmitsTip({ message: `第一 ${randomBytes(4).toString('hex')}` });
      await source.sourceConfirmsSheWroteItDown();

      // her earlier 4 MiB file (another evening, the same codename): its first 1 MiB arrived, then Tor died
      const db = server.database.db;
      const [{ instanceSalt }] = (await db.select().from(instance)) as unknown as [{ instanceSalt: string }];
      const { lookupId } = deriveSourceSecrets(codename, instanceSalt);
      // (a second app on the server's database: as a second process, or her other tab)
      const { app } = await buildTestApp(db, await demoNewsroomKey(), () => new Date(), { powDifficulty: 8, logRequests: false, openLimits });
      const dead = await openNative(app, { lookupId, size: 4 * MiB, chunkSize: MiB });
      expect(dead.code).toBe('created');
      expect((await putChunkRaw(app, dead.uploadId!, 0, new Uint8Array(randomBytes(MiB)))).status).toBe(200);

      await source.sourceVisits('/return.html?lang=zh');
      await source.sourceReturnsWithCodename(codename);
      const opensBefore = server.requests.filter((r) => r === 'POST /api/v1/uploads').length;
      await source.sourceWritesMessage('第二');
      await source.sourceAttachesFiles(file);
      await source.page.click('[data-testid=submit]');
      await source.page.waitForSelector('#error:not([hidden])');
      const shown = await source.page.$eval('#error', (e) => e.textContent ?? '');
      // the lease (10 minutes) and what its 1 MiB paid at UPLOAD_PACE (8 minutes): gone in its 18th minute,
      // told to the end of it and one more (a sweep a long purge delayed), less the minutes since
      const [before, after] = zh.error_source_busy.split('{minutes}');
      const told = new RegExp(`^${escape(before!)}(\\d+)${escape(after!)}$`).exec(shown);
      expect(told, shown).not.toBeNull();
      expect(Number(told![1])).toBeGreaterThanOrEqual(17);
      expect(Number(told![1])).toBeLessThanOrEqual(20);
      expect(shown).not.toContain(zh.error_source_quota);
      // refused once, not tried again by the page
      expect(server.requests.filter((r) => r === 'POST /api/v1/uploads').length).toBe(opensBefore + 1);
      const stored = (await sourceOf(db, codename))!;
      const statuses = async () => (await db.select().from(submissions).where(eq(submissions.sourceId, stored.id))).map((s) => s.status).sort();
      expect(await statuses()).toEqual(['received', 'uploading']);

      // the sweep at the minute the page told (the same rule as the server's timer, run here at that clock)
      await sweepStaleUploads(db, new Date(Date.now() + Number(told![1]) * 60_000), 6, 10);
      expect(await statuses()).toEqual(['received']);
      // the same message and file, still on the page: sent now
      await source.page.click('[data-testid=submit]');
      await source.page.waitForSelector('#followup-sent:not([hidden]), #error:not([hidden])', { timeout: 180_000 });
      expect(await source.page.$eval('#error', (e) => ((e as HTMLElement).hidden ? '' : e.textContent))).toBe('');
      const sent = await db.select().from(submissions).where(eq(submissions.sourceId, stored.id));
      expect(sent.map((s) => s.status)).toEqual(['received', 'received']);
      expect(Math.max(...sent.map((s) => s.size))).toBeGreaterThan(2 * MiB + 300 * 1024);
      await source.page.close();
    });
  });
}
