/**
 * @module test/e2e/stories-integrity — a server whose worker files were altered on disk: the page
 * checks every worker module against the build's SHA-256 before running it
 * (client/lib/verified-modules.ts), so it refuses to start, or to send a tip that needs an altered
 * lazy part, and tells the source in their language. Each altered file, if it ran, would ask the
 * server for /tampered-ran: that request never comes.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST } from '../../client/build.ts';
import { CATALOGUES } from '../../client/i18n/index.ts';
import { pngWithMetadata } from '../../client/strip/test-images.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';

/** The chunk both workers import statically (what pow.worker.js names). */
function sharedChunk(): string {
  const pow = readFileSync(join(DIST, 'assets', 'pow.worker.js'), 'utf8');
  const name = /from"\.\/(chunks\/[\w.-]+\.js)"/.exec(pow)?.[1];
  if (!name) throw new Error('pow.worker.js imports no chunk: the test needs another shared file');
  return name;
}
/** The metadata cleaners, loaded by the crypto worker only for a tip with a file to clean. */
function cleanersChunk(): string {
  const name = readdirSync(join(DIST, 'assets', 'chunks')).find((f) => f.startsWith('strip-'));
  if (!name) throw new Error('no strip-*.js chunk in the build');
  return `chunks/${name}`;
}

export function defineIntegrityStories(name: BrowserName): void {
  describe.skipIf(!browserAvailable(name))(`${name}: a page whose worker files were altered on the server`, () => {
    let launched: LaunchedBrowser;
    const folders: string[] = [];
    const servers: SourceServer[] = [];

    beforeAll(async () => {
      launched = await launchBrowser(name);
    }, 60_000);
    afterAll(async () => {
      await launched?.close();
      for (const s of servers) await s.close();
      for (const f of folders) rmSync(f, { recursive: true, force: true });
    });

    /** The built site, copied, with `asset` (below /assets/) altered so that running it would show. */
    async function siteWithAltered(asset: string): Promise<SourceServer> {
      const root = mkdtempSync(join(tmpdir(), 'sealdrop-tampered-'));
      folders.push(root);
      cpSync(DIST, root, { recursive: true });
      const file = join(root, 'assets', asset);
      writeFileSync(file, `${readFileSync(file, 'utf8')}\n;fetch("/tampered-ran?" + ${JSON.stringify(asset)});\n`);
      const server = await startSourceServer({ staticRoot: root });
      servers.push(server);
      return server;
    }

    const cases: [string, () => string][] = [
      ['the crypto worker', () => 'crypto.worker.js'],
      ['the proof-of-work worker', () => 'pow.worker.js'],
      ['the chunk both workers import', sharedChunk],
    ];
    it.each(cases)('does not run %s when it was altered, and says why in the source\'s language', async (_what, asset) => {
      const server = await siteWithAltered(asset());
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/?lang=ko');
      await source.page.waitForFunction(
        (text) => document.querySelector('#status-line')?.textContent === text,
        {},
        CATALOGUES.ko.code_altered,
      );
      expect(await source.page.$eval('[data-testid=submit]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);

      await source.sourceVisits('/return.html');
      await source.page.waitForSelector('#lookup-error:not([hidden])');
      expect(await source.page.$eval('#lookup-error', (e) => e.textContent)).toBe(CATALOGUES.en.code_altered);
      expect(await source.page.$eval('[data-testid=check]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);

      expect(server.requests.filter((r) => r.includes('/tampered-ran'))).toEqual([]);
      expect(await source.cspViolations()).toEqual([]);
      await source.page.close();
    });

    it('does not run an altered lazy part (the metadata cleaners), and sends nothing', async () => {
      const server = await siteWithAltered(cleanersChunk());
      const photo = join(folders.at(-1)!, 'photo.png');
      writeFileSync(photo, pngWithMetadata());
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/?lang=ru');
      await source.sourceWaitsForThePageToBeReady('submit');
      await source.sourceWritesMessage('a tip with a photo');
      await source.sourceAttachesFiles(photo);
      await source.page.click('[data-testid=submit]');
      await source.page.waitForSelector('#error:not([hidden])', { timeout: 180_000 });
      expect(await source.page.$eval('#error', (e) => e.textContent)).toBe(CATALOGUES.ru.code_altered);
      expect(server.requests.filter((r) => r.includes('/tampered-ran'))).toEqual([]);
      expect(server.requests.filter((r) => r.startsWith('POST /api/v1/uploads'))).toEqual([]);
      await source.page.close();
    }, 240_000);
  });
}
