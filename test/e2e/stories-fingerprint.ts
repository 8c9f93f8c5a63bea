/**
 * @module test/e2e/stories-fingerprint — the source checks the key (issue 10 item 3): the page
 * shows the fingerprint of the key it encrypts to, as GnuPG computes it from keys.example/, where
 * she decides to send and on the return page before she sends more, and it reads well at 400 px
 * in Korean and Khmer. A server whose config claims another key than the one it serves is refused
 * with a clear message, and the page sends it nothing. Run in one browser per test file
 * (fingerprint-chromium.test.ts, fingerprint-firefox.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, readKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES } from '../../client/i18n/index.ts';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';
import { newsroomOpensTipOf } from './newsroom.ts';

const ROOT = new URL('../../', import.meta.url);
const AXE = readFileSync(new URL('node_modules/axe-core/axe.min.js', ROOT), 'utf8');
const DEMO_PUBLIC_KEY = new URL('keys.example/newsroom.pub.asc', ROOT).pathname;

const hasGpg = spawnSync('gpg', ['--version']).status === 0;
if (!hasGpg && process.env.CI === 'true') throw new Error('gpg is required in CI: install gnupg (apt-get install gnupg)');

/** The primary key's fingerprint as GnuPG reads the file (`fpr` right after `pub`), upper-case hex. */
function gpgFingerprint(file: string): string {
  const home = mkdtempSync(join(tmpdir(), 'sealdrop-gpg-'));
  try {
    const r = spawnSync('gpg', ['--batch', '--no-tty', '--with-colons', '--show-keys', file], { env: { ...process.env, GNUPGHOME: home }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gpg --show-keys failed: ${r.stderr}`);
    const fpr = /^pub:.*\nfpr:{9}([0-9A-F]{40}):/m.exec(r.stdout)?.[1];
    if (!fpr) throw new Error(`no primary fingerprint in gpg's listing:\n${r.stdout}`);
    return fpr;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

type Config = Record<string, unknown>;

export function defineFingerprintStories(name: BrowserName): void {
  describe.skipIf(!browserAvailable(name) || !hasGpg)(`${name}: the source checks the newsroom key`, () => {
    let launched: LaunchedBrowser;
    let server: SourceServer;
    /** Serves every config as `tamper` rewrites it (set by each test). */
    let tampered: SourceServer;
    let tamper: (config: Config) => Config = (config) => config;
    let demo: string;
    let other: { armored: string; fingerprint: string };

    beforeAll(async () => {
      demo = gpgFingerprint(DEMO_PUBLIC_KEY);
      const { publicKey } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'not the newsroom' }], format: 'armored' });
      other = { armored: publicKey, fingerprint: (await readKey({ armoredKey: publicKey })).getFingerprint() };
      [launched, server, tampered] = await Promise.all([
        launchBrowser(name),
        startSourceServer({ powDifficulty: 8 }),
        startSourceServer({ powDifficulty: 8, alterConfig: (config) => tamper(config) }),
      ]);
    });
    afterAll(async () => {
      await launched?.close();
      await server?.close();
      await tampered?.close();
    });

    it('shows the fingerprint GnuPG computes for the demo key, beside the send button, at 400 px in Korean, then in Khmer before sending more', async () => {
      const expected = formatFingerprint(demo);
      expect(expected).toBe('D595 50C5 A489 5EA5 5787 F850 CA96 8B8E C7FC 9799');
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.page.setViewport({ width: 400, height: 900 });

      await source.sourceVisits('/?lang=ko');
      await source.sourceWaitsForThePageToBeReady();
      const first = await source.sourceReadsKeyCheck();
      expect(first).toMatchObject({ shown: true, fingerprint: expected });
      expect(first.lines).toEqual([CATALOGUES.ko.key_fingerprint_label, expected, CATALOGUES.ko.key_fingerprint_compare]);
      // Where she decides: the last thing in the form before the send button.
      expect(await source.page.$eval('[data-testid=submit]', (b) => b.previousElementSibling?.id)).toBe('key-check');
      expect(first.fingerprintRows, 'ten groups cannot fit one 400-px line: the layout was put to the test').toBeGreaterThan(1);
      expect(first.right).toBeLessThanOrEqual(400);
      expect(await source.wordsBrokenAcrossLines('#key-check')).toEqual([]);
      expect(await source.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);
      expect(await source.accessibilityProblems(AXE), 'key check shown (ko)').toEqual([]);

      // Khmer writes no spaces between words: its lines may break anywhere a word ends, but not
      // inside a group of the fingerprint, and nothing may reach past the screen.
      await source.sourcePicksLanguage('km');
      const khmer = await source.sourceReadsKeyCheck();
      expect(khmer.lines).toEqual([CATALOGUES.km.key_fingerprint_label, expected, CATALOGUES.km.key_fingerprint_compare]);
      expect(khmer.right).toBeLessThanOrEqual(400);
      expect(await source.wordsBrokenAcrossLines('#key-fingerprint')).toEqual([]);
      expect(await source.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);
      await source.sourcePicksLanguage('ko');

      // What she sends goes to that key: the newsroom opens it with the demo key's secret half.
      const message = '지문을 확인하고 보낸 제보입니다.';
      const codename = await source.sourceSubmitsTip({ message });
      expect((await newsroomOpensTipOf(server.database.db, codename)).envelope.message).toBe(message);
      await source.sourceConfirmsSheWroteItDown();

      await source.sourceVisits('/return.html?lang=km');
      expect((await source.sourceReadsKeyCheck()).shown, 'not before the codename is opened').toBe(false);
      expect(await source.sourceOpensCodename(codename)).toMatchObject({ opened: true });
      const again = await source.sourceReadsKeyCheck();
      expect(again).toMatchObject({ shown: true, fingerprint: expected });
      expect(again.lines).toEqual([CATALOGUES.km.key_fingerprint_label_return, expected, CATALOGUES.km.key_fingerprint_compare]);
      expect(again.right).toBeLessThanOrEqual(400);
      expect(await source.wordsBrokenAcrossLines('#key-fingerprint')).toEqual([]);
      expect(await source.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);
      expect(await source.accessibilityProblems(AXE), 'key check shown (km)').toEqual([]);
      await source.sourceSendsFollowUp('ព័ត៌មានបន្ថែម');

      expect(await source.cspViolations()).toEqual([]);
      expect(source.foreignRequests()).toEqual([]);
      await source.page.close();
    });

    const lies: [string, (config: Config) => Config][] = [
      ['names another key’s fingerprint than the key it serves', (config) => ({ ...config, fingerprint: other.fingerprint })],
      ['serves another key under the newsroom’s fingerprint', (config) => ({ ...config, newsroomKey: other.armored })],
      ['names no fingerprint at all', ({ fingerprint: _, ...config }) => config],
      [
        'names another key’s fingerprint for its desk',
        (config) => ({ ...config, desks: (config.desks as Config[]).map((d) => ({ ...d, fingerprint: other.fingerprint })) }),
      ],
    ];
    it.each(lies)('refuses a server whose config %s, says so, and sends it nothing', async (_what, lie) => {
      tamper = lie;
      const seen = tampered.requests.length;
      const source = await SourceNavigator.open(launched.browser, tampered.origin);

      await source.sourceVisits('/');
      await source.page.waitForSelector('#status-line.error');
      expect(await source.page.$eval('#status-line', (e) => [e.textContent, e.getAttribute('role')])).toEqual([CATALOGUES.en.key_mismatch, 'alert']);
      expect((await source.sourceReadsKeyCheck()).shown).toBe(false);
      expect(await source.page.$eval('[data-testid=submit]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
      // Neither the key's fingerprint nor the server's claim is on the page, in any spelling.
      const shown = (await source.page.evaluate(() => document.body.innerText)).replace(/\s/g, '').toLowerCase();
      for (const fingerprint of [demo, other.fingerprint]) expect(shown).not.toContain(fingerprint.toLowerCase());
      // Pressing Enter in the form anyway: the form does nothing.
      await source.sourceWritesMessage('this must never leave');
      await source.page.$eval('#tip-form', (form) => (form as HTMLFormElement).requestSubmit());
      expect(await source.page.$eval('#progress-box', (e) => (e as HTMLElement).hidden)).toBe(true);
      expect(await source.accessibilityProblems(AXE), 'refused (en)').toEqual([]);

      await source.sourceVisits('/return.html?lang=ru');
      await source.page.waitForSelector('#lookup-error:not([hidden])');
      expect(await source.page.$eval('#lookup-error', (e) => e.textContent)).toBe(CATALOGUES.ru.key_mismatch);
      expect(await source.page.$eval('[data-testid=check]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
      await source.page.$eval('[data-testid=codename-input]', (el) => ((el as HTMLTextAreaElement).value = '1234 5678'));
      await source.page.$eval('#codename-form', (form) => (form as HTMLFormElement).requestSubmit());

      // Only the pages, their files and the config were fetched: no proof of work, no upload, no lookup.
      const asked = tampered.requests.slice(seen);
      expect(asked.filter((r) => r === 'GET /api/v1/config')).toHaveLength(2);
      expect(asked.filter((r) => !r.startsWith('GET '))).toEqual([]);
      expect(await source.cspViolations()).toEqual([]);
      await source.page.close();
    });

    it('shows another key’s own fingerprint when a server serves it and names it honestly: what the source compares is the key', async () => {
      // the one desk's key too: the page encrypts to the desk's key and shows its fingerprint
      tamper = (config) => ({
        ...config,
        newsroomKey: other.armored,
        fingerprint: other.fingerprint,
        desks: [{ id: 'newsroom', newsroomKey: other.armored, fingerprint: other.fingerprint }],
      });
      const source = await SourceNavigator.open(launched.browser, tampered.origin);
      await source.sourceVisits('/?lang=zh');
      await source.sourceWaitsForThePageToBeReady();
      const check = await source.sourceReadsKeyCheck();
      expect(check).toMatchObject({ shown: true, fingerprint: formatFingerprint(other.fingerprint) });
      expect(check.fingerprint).not.toBe(formatFingerprint(demo));
      expect(check.lines.at(-1)).toBe(CATALOGUES.zh.key_fingerprint_compare);
      await source.page.close();
    });
  });
}
