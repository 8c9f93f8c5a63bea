/**
 * @module test/e2e/stories-codename — the codename stories of issue 12 (a digits codename, the
 * forgiving entry, the order hint, codenames from before the curation, Korean that never breaks
 * inside a word), run in one browser per test file (codename-chromium.test.ts,
 * codename-firefox.test.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { wordlist as simplified } from '@scure/bip39/wordlists/simplified-chinese.js';
import { wordlist as traditional } from '@scure/bip39/wordlists/traditional-chinese.js';
import { readKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCodename, generateCodename } from '../../protocol/codename.ts';
import { buildEnvelope } from '../../protocol/envelope.ts';
import { deriveSourceSecrets } from '../../protocol/kdf.ts';
import { solvePow } from '../../protocol/pow.ts';
import { encryptToKeys, generateSourceKeys } from '../../protocol/source-keys.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';
import { newsroomReplies, sourceOf } from './stories.ts';

const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/**
 * A source made through the source API with a given codename, as the page made them before the
 * curation (the page itself now only makes new codenames): config, keys, proof of work, one chunk.
 */
async function seedSource(origin: string, codename: string): Promise<void> {
  const config = (await (await fetch(`${origin}/api/v1/config`)).json()) as { instanceSalt: string; newsroomKey: string; pow: { token: string; difficulty: number } };
  const { lookupId, keyPassphrase } = deriveSourceSecrets(codename, config.instanceSalt);
  const newsroom = await readKey({ armoredKey: config.newsroomKey });
  const ciphertext = await encryptToKeys(await buildEnvelope({ language: 'ko', message: 'an earlier tip', files: [] }), [newsroom]);
  const post = (path: string, body: unknown) =>
    fetch(origin + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const opened = await post('/api/v1/uploads', {
    pow: { token: config.pow.token, nonce: await solvePow(config.pow.token, config.pow.difficulty) },
    lookupId,
    sourceKeys: await generateSourceKeys(keyPassphrase, newsroom),
    size: ciphertext.length,
    chunkSize: ciphertext.length,
    chunks: 1,
    sha256: createHash('sha256').update(ciphertext).digest('hex'),
  });
  if (opened.status !== 201) throw new Error(`seeding a source failed: ${opened.status} ${await opened.text()}`);
  const { uploadId } = (await opened.json()) as { uploadId: string };
  const put = await fetch(`${origin}/api/v1/uploads/${uploadId}/chunks/0`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: new Uint8Array(ciphertext),
  });
  if (!((await put.json()) as { complete: boolean }).complete) throw new Error('seeding a source did not complete');
}

const toTraditional = (text: string) => [...text].map((c) => (simplified.includes(c) ? traditional[simplified.indexOf(c)]! : c)).join('');
/** Latin letters swapped for the Cyrillic ones that look the same. */
const cyrillic = (text: string) => text.replace(/[aceopxy]/g, (c) => 'асеорху'['aceopxy'.indexOf(c)]!);
const fullWidth = (text: string) => text.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));
const khmer = (text: string) => text.replace(/\d/g, (d) => String.fromCodePoint(0x17e0 + Number(d)));

export function defineCodenameStories(name: BrowserName): void {
  describe.skipIf(!browserAvailable(name))(`codenames in ${name}`, () => {
    let server: SourceServer;
    let launched: LaunchedBrowser;

    beforeAll(async () => {
      [server, launched] = await Promise.all([startSourceServer({ powDifficulty: 8 }), launchBrowser(name)]);
    });
    afterAll(async () => {
      await launched?.close();
      await server?.close();
    });

    /** Sends a tip from the submit page in `lang`, with the page's default codename; answers the boxes shown. */
    async function sendsTip(source: SourceNavigator, lang: string, message: string): Promise<string[]> {
      await source.sourceVisits(`/?lang=${lang}`);
      await source.sourceSubmitsTip({ message });
      const { boxes } = await source.sourceReadsCodenameBoxes();
      await source.sourceConfirmsSheWroteItDown();
      return boxes;
    }

    it('a Russian reader gets four groups of digits, and comes back with them in full-width and in Khmer digits', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/?lang=ru');
      await source.sourceWaitsForThePageToBeReady();
      expect(await source.page.$eval('#wordlist', (e) => (e as HTMLSelectElement).value)).toBe('digits');
      const boxes = await sendsTip(source, 'ru', 'Цифры вместо слов.');
      expect(boxes).toHaveLength(4);
      for (const box of boxes) expect(box).toMatch(/^\d{4}\u00a0\d{4}$/);
      expect(await source.accessibilityProblems(AXE), 'digits shown').toEqual([]);

      const codename = boxes.join(' ');
      const stored = await sourceOf(server.database.db, codename);
      expect(stored, 'a source for the digits shown').toBeDefined();
      await newsroomReplies(server.database.db, stored!.id, stored!.publicKey, 'Спасибо. Мы прочитали.');

      // Typed back on a Chinese or Japanese keyboard: full-width digits, an ideographic space, dashes.
      await source.sourceVisits('/return.html?lang=ru');
      const typed = boxes.map((b) => fullWidth(b.replace('\u00a0', '－'))).join('\u3000');
      const entered = await source.sourceEntersCodename(typed);
      expect(entered.bad).toEqual([]);
      expect(entered.ok).toEqual(boxes);
      expect(entered.feedback).toBe('Все четыре группы цифр выглядят правильно.');
      const account = await source.sourceOpensCodename(typed);
      expect(account).toMatchObject({ opened: true, replies: ['Спасибо. Мы прочитали.'], statuses: ['received'] });

      // And on a Khmer keyboard, in Khmer digits, one group a line.
      await source.sourceVisits('/return.html?lang=km');
      expect(await source.sourceOpensCodename(khmer(boxes.join('\n')))).toMatchObject({ opened: true, statuses: ['received'] });
      expect(await source.cspViolations()).toEqual([]);
      await source.page.close();
    });

    it('finds the source however the words are typed: commas, numbering, hyphens, run together, Cyrillic look-alikes', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      const words = await sendsTip(source, 'en', 'Nine words this time.');
      expect(words).toHaveLength(9);
      // Run together: all nine when they split one way only, else the first two that do.
      const all = words.join('');
      const pair = words.findIndex((_, i) => i < 8 && checkCodename([...words.slice(0, i), words[i]! + words[i + 1]!, ...words.slice(i + 2)].join(' ')).ok);
      expect(checkCodename(all).ok || pair >= 0, 'some run-together reading is unique').toBe(true);
      const runTogether = checkCodename(all).ok ? all : [...words.slice(0, pair), words[pair]! + words[pair + 1]!, ...words.slice(pair + 2)].join(' ');
      const looksLatin = cyrillic(words.join(' '));
      expect(looksLatin).not.toBe(words.join(' '));
      const typings = {
        commas: words.join(', '),
        numbering: words.map((w, i) => `${i + 1}. ${w}`).join(' '),
        'numbered lines, out of order': [...words.map((w, i) => `${i + 1}) ${w}`)].reverse().join('\n'),
        hyphens: words.join('-'),
        'run together': runTogether,
        'Cyrillic look-alikes': looksLatin,
      };
      for (const [how, typed] of Object.entries(typings)) {
        await source.sourceVisits('/return.html');
        const entered = await source.sourceEntersCodename(typed);
        expect(entered, how).toEqual({ words, ok: words, bad: [], feedback: 'All words look right.' });
        expect(await source.sourceOpensCodename(typed), how).toMatchObject({ opened: true, statuses: ['received'] });
      }
      // Run together where the list allows two readings: the page names the part and both readings.
      await source.sourceVisits('/return.html');
      const unclear = await source.sourceEntersCodename(['networkfish', ...words.slice(0, 6)].join(' '));
      expect(unclear.bad).toEqual(['networkfish']);
      expect(unclear.feedback).toMatch(/^“networkfish” can be split into words in more than one way: .*net work fish.*network fish|network fish.*net work fish/);
      await source.page.close();
    });

    it('finds a Chinese source typed in the other script', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      // A codename whose characters are all the same in both scripts would prove nothing: send again.
      let words: string[] = [];
      for (let tries = 0; tries < 5 && toTraditional(words.join('')) === words.join(''); tries++) {
        words = await sendsTip(source, 'zh', '用另一种字体输入。');
      }
      const typed = toTraditional(words.join(''));
      expect(typed).not.toBe(words.join(''));
      await source.sourceVisits('/return.html?lang=zh');
      expect((await source.sourceEntersCodename(typed)).bad).toEqual([]);
      expect(await source.sourceOpensCodename(typed)).toMatchObject({ opened: true, statuses: ['received'] });
      await source.page.close();
    });

    it('still opens codenames made before the curation: Korean with words now removed, Simplified typed in Traditional', async () => {
      const korean = '범인 흑인 설사 여고생 김포공항 경복궁 울산 가격';
      const chinese = simplified.slice(8, 16).join(''); // 人这中大为上个国: four differ in Traditional
      await Promise.all([seedSource(server.origin, korean), seedSource(server.origin, chinese)]);
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/return.html?lang=ko');
      const numbered = korean.split(' ').map((w, i) => `${i + 1}. ${w}`).join('\n');
      expect(await source.sourceOpensCodename(numbered)).toMatchObject({ opened: true, statuses: ['received'] });

      await source.sourceVisits('/return.html?lang=zh');
      const lookupsBefore = server.requests.filter((r) => r.includes('/source/lookup')).length;
      expect(await source.sourceOpensCodename(toTraditional(chinese))).toMatchObject({ opened: true, statuses: ['received'] });
      // Typed all in Traditional, it was first read as a Traditional codename, then as the Simplified one it is.
      expect(server.requests.filter((r) => r.includes('/source/lookup')).length).toBe(lookupsBefore + 2);
      await source.page.close();
    });

    it('says the order matters, and shows the words back, when every word is right but nothing is found', async () => {
      const codename = generateCodename('english');
      await seedSource(server.origin, codename);
      const words = codename.split(' ');
      const swapped = [words[1], words[0], ...words.slice(2)].join(' ');
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/return.html');
      const said = await source.sourceOpensCodename(swapped);
      expect(said.opened).toBe(false);
      expect(said.error).toBe('We could not find this codename. Check each word and try again.');
      expect(said.orderHint).toContain('check that they are in the right order and that none is missing: the order matters');
      expect(said.orderHint).toContain(`1. ${words[1]}  2. ${words[0]}  3. ${words[2]}`);
      expect(await source.page.$$eval('#words li', (lis) => lis.map((li) => li.textContent))).toEqual(swapped.split(' '));
      expect(await source.accessibilityProblems(AXE), 'order hint').toEqual([]);
      // In the right order it opens, and the hint is gone.
      expect(await source.sourceOpensCodename(codename)).toMatchObject({ opened: true, orderHint: '' });

      // Digits carry their order in their check digits: the page says so before asking the server.
      const digits = generateCodename('digits').split(' ');
      await source.sourceVisits('/return.html');
      const lookups = server.requests.filter((r) => r.includes('/source/lookup')).length;
      const entered = await source.sourceEntersCodename([digits[2], digits[1], digits[0], digits[3]].join(' '));
      expect(entered.feedback).toBe('The numbers are in the wrong order. Move them like this: 1 → 3, 3 → 1. The order matters.');
      await source.page.click('[data-testid=check]');
      await source.page.waitForSelector('#word-feedback:not([aria-busy])');
      expect(server.requests.filter((r) => r.includes('/source/lookup')).length).toBe(lookups);
      await source.page.close();
    });

    it('never breaks a Korean word inside at 400 px: the codename boxes, the headings, the text', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.page.setViewport({ width: 400, height: 900 });
      const boxes = await sendsTip(source, 'ko', '좁은 화면에서 보낸 제보입니다.');
      expect(boxes).toHaveLength(9);
      const layout = await source.sourceReadsCodenameBoxes();
      expect(layout.rows, 'nine boxes cannot fit one 400-px line: the layout was put to the test').toBeGreaterThan(1);
      expect(await source.wordsBrokenAcrossLines('[data-testid=codename] li')).toEqual([]);
      expect(await source.wordsBrokenAcrossLines('main')).toEqual([]);
      expect(await source.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);

      for (const path of ['/return.html?lang=ko', '/safety.html?lang=ko', '/?lang=ko']) {
        await source.sourceVisits(path);
        await source.page.waitForFunction(() => document.documentElement.lang === 'ko');
        const headings = await source.page.$$eval('h1, h2, h3', (hs) => hs.filter((h) => (h as HTMLElement).offsetParent).map((h) => h.textContent));
        expect(headings.length, path).toBeGreaterThan(0);
        expect(await source.wordsBrokenAcrossLines('header, main'), path).toEqual([]);
      }
      await source.page.close();
    });
  });
}
