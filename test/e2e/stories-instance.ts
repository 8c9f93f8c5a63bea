/**
 * @module test/e2e/stories-instance — the newsroom's own tip line on the page (issue 13, part 4):
 * its name and call for tips on every page, the desk choice with the chosen desk's fingerprint,
 * the questions with their required ones enforced in the source's language, a hostile instance
 * shown as text, and the layout (axe, nothing wider than the screen) at 400 and 1280 px with a
 * very long name and a very long Khmer call for tips. The config is served as a newsroom with
 * desks would serve it (harness `alterConfig`), so the page is tested whatever instance file the
 * server read. Run in one browser per test file (instance-chromium.test.ts, instance-firefox.test.ts).
 */
import { readFileSync } from 'node:fs';
import { generateKey, readKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES, LANGUAGES, type Language } from '../../client/i18n/index.ts';
import type { Instance } from '../../client/lib/instance.ts';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { DEFAULT_INSTANCE_VIEW } from '../../protocol/instance.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { HOSTILE_INSTANCE, LONG_INSTANCE, LONG_NAME, ONION, UNSAFE_LINKS } from './instance-fixtures.ts';
import { SourceNavigator } from './navigator.ts';
import { newsroomOpensTipOf } from './newsroom.ts';

const ROOT = new URL('../../', import.meta.url);
const AXE = readFileSync(new URL('node_modules/axe-core/axe.min.js', ROOT), 'utf8');
/** Served so that /instance/logo exists (its config is replaced by each story's own). */
const EXAMPLE_INSTANCE = new URL('deploy/instance.example/instance.json', ROOT).pathname;

type Config = Record<string, unknown>;
type DeskKey = { id: string; newsroomKey: string; fingerprint: string };

/** Elements whose box reaches past the viewport (either side), and the document's scroll width. */
async function layoutProblems(source: SourceNavigator): Promise<{ wide: string[]; scrollWidth: number; innerWidth: number }> {
  return source.page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (el.classList.contains('visually-hidden')) continue;
      if (r.right > width + 0.5 || r.left < -0.5) wide.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    // text can run out of a box that fits (white-space, a word too long): each text's own glyphs
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent?.trim() || node.parentElement?.closest('.visually-hidden, script, style')) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const r = range.getBoundingClientRect();
      if (r.width > 0 && (r.right > width + 0.5 || r.left < -0.5)) wide.push(`text in ${node.parentElement!.tagName.toLowerCase()}#${node.parentElement!.id} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    return { wide, scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth };
  });
}

/** What the page shows of the newsroom: the name in the header, the call for tips, the footer. */
async function sourceReadsNewsroom(source: SourceNavigator): Promise<{ name: string; call: string; callLang: string | null; poweredBy: string }> {
  await source.page.waitForSelector('[data-testid=call-for-tips]:not([hidden])');
  return source.page.evaluate(() => ({
    name: document.querySelector('[data-testid=newsroom-name]')?.textContent ?? '',
    call: (document.querySelector('[data-testid=call-for-tips]') as HTMLElement).innerText.trim(),
    callLang: document.querySelector('[data-testid=call-for-tips]')!.getAttribute('lang'),
    poweredBy: document.querySelector('[data-testid=powered-by]')!.textContent ?? '',
  }));
}

async function sourceChoosesDesk(source: SourceNavigator, id: string): Promise<void> {
  await source.page.click(`[data-testid=desk][value="${id}"]`);
}

const blocksText = (instance: Instance, language: Language) =>
  (instance.callForTips?.[language] ?? []).map((b) => b.p.map((i) => i.text).join('')).join('\n');

export function defineInstanceStories(name: BrowserName): void {
  describe.skipIf(!browserAvailable(name))(`${name}: the newsroom's own tip line`, () => {
    let launched: LaunchedBrowser;
    let server: SourceServer;
    let serve: (config: Config) => Config = (config) => config;
    let desks: DeskKey[];

    beforeAll(async () => {
      const made = await Promise.all(
        ['workers', 'sanctions'].map(async (id) => {
          const { publicKey } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: `desk ${id}` }], format: 'armored' });
          return { id, newsroomKey: publicKey, fingerprint: (await readKey({ armoredKey: publicKey })).getFingerprint() };
        }),
      );
      [launched, server] = await Promise.all([launchBrowser(name), startSourceServer({ powDifficulty: 8, instanceFile: EXAMPLE_INSTANCE, alterConfig: (config) => serve(config) })]);
      serve = (config) => config;
      desks = made;
    });
    afterAll(async () => {
      await launched?.close();
      await server?.close();
    });

    /** The config as a newsroom with three desks (two of them the test's keys, General the demo key) serves it. */
    const withInstance = (instance: Instance) => (config: Config) => ({
      ...config,
      // the first desk's key is the top-level one, as the server sends it
      newsroomKey: desks[0]!.newsroomKey,
      fingerprint: desks[0]!.fingerprint,
      instance,
      desks: [...desks, ...(config.desks as DeskKey[]).filter((d) => d.id === 'general')],
    });

    /**
     * One desk, as a server without desks offers it: the example server's `general`, the demo
     * key, so that a tip sent to it is taken and the newsroom opens it with the demo key.
     */
    const oneDesk = (config: Config) => {
      const general = (config.desks as DeskKey[]).filter((d) => d.id === 'general');
      return { ...config, newsroomKey: general[0]!.newsroomKey, fingerprint: general[0]!.fingerprint, desks: general };
    };

    it('shows the name, the call for tips in each language and "Powered by Sealdrop" on every page', async () => {
      serve = withInstance(LONG_INSTANCE);
      const source = await SourceNavigator.open(launched.browser, server.origin);
      for (const path of ['/', '/return.html', '/safety.html']) {
        for (const language of LANGUAGES) {
          await source.sourceVisits(`${path}?lang=${language}`);
          const shown = await sourceReadsNewsroom(source);
          expect(shown.name, `${path} ${language}`).toBe(LONG_NAME);
          expect(shown.call.replace(/\s+/g, ' '), `${path} ${language}`).toBe(blocksText(LONG_INSTANCE, language).replace(/\s+/g, ' '));
          expect(shown.poweredBy).toBe(CATALOGUES[language].powered_by);
        }
      }
      // the language picker rewrites it in place, and "we" is named
      await source.sourceVisits('/?lang=ru');
      await source.sourceWaitsForThePageToBeReady();
      expect(await source.page.$eval('#submit-intro', (e) => e.textContent)).toBe(CATALOGUES.ru.submit_intro_named.replace('{name}', LONG_NAME));
      await source.sourcePicksLanguage('km');
      expect((await sourceReadsNewsroom(source)).call.replace(/\s+/g, ' ')).toBe(blocksText(LONG_INSTANCE, 'km').replace(/\s+/g, ' '));
      expect(await source.page.$eval('#submit-intro', (e) => e.textContent)).toBe(CATALOGUES.km.submit_intro_named.replace('{name}', LONG_NAME));
      expect(await source.cspViolations()).toEqual([]);
      expect(source.foreignRequests()).toEqual([]);
      await source.page.close();
    });

    it('without an instance the page says what it is, not whose: "Sealdrop" only as "Powered by", no call for tips, one desk, no question', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      // what a server without an instance file sends, and what one from before instances sent
      serve = (config) => ({ ...oneDesk(config), instance: DEFAULT_INSTANCE_VIEW });
      await source.sourceVisits('/?lang=ko');
      await source.sourceWaitsForThePageToBeReady();
      expect(await source.page.$eval('#brand', (b) => [b.textContent, b.querySelectorAll('img').length])).toEqual([CATALOGUES.ko.site_name, 0]);
      serve = ({ instance: _, desks: __, ...config }) => config;
      await source.sourceVisits('/?lang=ko');
      await source.sourceWaitsForThePageToBeReady();
      const page = await source.page.evaluate(() => ({
        brand: document.querySelector('#brand')!.textContent,
        call: (document.querySelector('[data-testid=call-for-tips]') as HTMLElement).hidden,
        desks: (document.querySelector('[data-testid=desks]') as HTMLElement).hidden,
        questions: (document.querySelector('[data-testid=questions]') as HTMLElement).hidden,
        intro: document.querySelector('#submit-intro')!.textContent,
        poweredBy: document.querySelector('[data-testid=powered-by]')!.textContent,
      }));
      expect(page).toEqual({ brand: CATALOGUES.ko.site_name, call: true, desks: true, questions: true, intro: CATALOGUES.ko.submit_intro, poweredBy: CATALOGUES.ko.powered_by });
      expect((await source.sourceReadsKeyCheck()).shown).toBe(true);
      await source.page.close();
    });

    it('shows the chosen desk’s fingerprint, changing with the desk, and sends nothing before a desk is chosen', async () => {
      serve = withInstance(LONG_INSTANCE);
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/?lang=ko');
      await source.sourceWaitsForThePageToBeReady();
      const labels = await source.page.$$eval('#desk-options label', (ls) => ls.map((l) => l.textContent));
      expect(labels).toEqual(LONG_INSTANCE.desks.map((d) => d.name.ko));
      expect((await source.sourceReadsKeyCheck()).shown, 'no key is shown before a desk is chosen').toBe(false);

      const seen = server.requests.length;
      await source.sourceWritesMessage('부서를 고르지 않은 제보');
      await source.page.click('[data-testid=submit]');
      await source.page.waitForSelector('#error:not([hidden])');
      expect(await source.page.$eval('#error', (e) => e.textContent)).toBe(CATALOGUES.ko.error_desk_required);

      for (const [i, desk] of desks.entries()) {
        await sourceChoosesDesk(source, desk.id);
        const check = await source.sourceReadsKeyCheck();
        expect(check).toMatchObject({ shown: true, fingerprint: formatFingerprint(desk.fingerprint) });
        expect(check.lines[0]).toBe(CATALOGUES.ko.key_fingerprint_label_desk.replace('{desk}', LONG_INSTANCE.desks[i]!.name.ko));
      }
      // the label follows the language, the fingerprint stays the chosen desk's
      await source.sourcePicksLanguage('zh');
      const zh = await source.sourceReadsKeyCheck();
      expect(zh.lines[0]).toBe(CATALOGUES.zh.key_fingerprint_label_desk.replace('{desk}', LONG_INSTANCE.desks[1]!.name.zh));
      expect(zh.fingerprint).toBe(formatFingerprint(desks[1]!.fingerprint));
      expect(server.requests.slice(seen).filter((r) => !r.startsWith('GET '))).toEqual([]);
      expect(await source.accessibilityProblems(AXE), 'desks and questions (zh)').toEqual([]);
      await source.page.close();
    });

    it('asks the questions in the chosen language, marks the required ones, and refuses to send without them, in the source’s language', async () => {
      serve = withInstance(LONG_INSTANCE);
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/?lang=ru');
      await source.sourceWaitsForThePageToBeReady();
      const questions = await source.page.$$eval('[data-question]', (qs) =>
        qs.map((q) => ({
          id: (q as HTMLElement).dataset.question,
          tag: q.tagName.toLowerCase(),
          heading: (q.querySelector('label, legend') as HTMLElement).textContent,
          controls: [...q.querySelectorAll('input, textarea')].map((c) => (c instanceof HTMLInputElement ? c.type : 'textarea')),
        })),
      );
      const marker = CATALOGUES.ru.question_required;
      expect(questions).toEqual([
        { id: 'where', tag: 'div', heading: `Где это произошло? ${marker}`, controls: ['text'] },
        { id: 'how', tag: 'div', heading: 'Откуда вы это знаете?', controls: ['textarea'] },
        { id: 'country', tag: 'fieldset', heading: `В какой стране? ${marker}`, controls: ['radio', 'radio', 'radio'] },
        { id: 'have', tag: 'fieldset', heading: 'Что у вас есть?', controls: ['checkbox', 'checkbox'] },
      ]);
      // the help is what the field is described by; the required text field says it is required
      expect(await source.page.$eval('#question-where', (i) => [(i as HTMLInputElement).required, document.getElementById(i.getAttribute('aria-describedby')!)?.textContent])).toEqual([
        true,
        'Город, порт, место работы.',
      ]);
      expect(await source.page.$eval('[data-question=country]', (f) => [f.getAttribute('role'), f.getAttribute('aria-required')])).toEqual(['radiogroup', 'true']);

      const seen = server.requests.length;
      await sourceChoosesDesk(source, 'workers');
      await source.sourceWritesMessage('Сообщение без ответа на обязательный вопрос');
      await source.page.click('[data-testid=submit]');
      await source.page.waitForSelector('#error:not([hidden])');
      expect(await source.page.$eval('#error', (e) => e.textContent)).toBe(CATALOGUES.ru.error_question_required.replace('{label}', 'Где это произошло?'));
      expect(await source.page.evaluate(() => [document.activeElement?.id, document.querySelector('#question-where')!.getAttribute('aria-invalid')])).toEqual([
        'question-where',
        'true',
      ]);
      await source.page.type('#question-where', 'Владивосток');
      await source.page.click('[data-testid=submit]');
      await source.page.waitForFunction((t) => document.querySelector('#error')!.textContent === t, {}, CATALOGUES.ru.error_question_required.replace('{label}', 'В какой стране?'));
      expect(await source.page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('question-country');
      expect(server.requests.slice(seen).filter((r) => !r.startsWith('GET ')), 'nothing was sent').toEqual([]);
      expect(await source.accessibilityProblems(AXE), 'a required question left empty (ru)').toEqual([]);
      await source.page.close();
    });

    it('sends the answers inside the envelope, as the source read the questions, in her language (one desk: no choice, the newsroom key)', async () => {
      serve = (config) => ({ ...oneDesk(config), instance: { ...LONG_INSTANCE, desks: [] } });
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/?lang=zh');
      await source.sourceWaitsForThePageToBeReady();
      expect(await source.page.$eval('[data-testid=desks]', (e) => (e as HTMLElement).hidden)).toBe(true);
      // pasted text with a carriage return and a control the envelope refuses: normalised, not refused
      await source.page.$eval('#question-where', (i) => ((i as HTMLInputElement).value = '金边\u0007'));
      await source.page.type('#question-how', '我在工地上亲眼看到的。');
      await source.page.click('[name=question-country][value=kh]');
      await source.page.click('[name=question-have][value=photos]');
      await source.page.click('[name=question-have][value=documents]');
      const codename = await source.sourceSubmitsTip({ message: '有关海外劳工的线索' });
      const { envelope } = await newsroomOpensTipOf(server.database.db, codename);
      expect(envelope.message).toBe('有关海外劳工的线索');
      expect(envelope.manifest.answers).toEqual([
        { id: 'where', label: '这件事发生在哪里？', value: ['金边'] },
        { id: 'how', label: '您是怎么知道这些的？', value: ['我在工地上亲眼看到的。'] },
        { id: 'country', label: '在哪个国家？', value: ['柬埔寨'] },
        { id: 'have', label: '您手上有什么？', value: ['照片', '文件'] },
      ]);
      await source.page.close();
    });

    it('shows a hostile instance as text: no markup, links only to https: and onion addresses without a referrer; refuses one with any other link', async () => {
      serve = withInstance(HOSTILE_INSTANCE);
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await sourceReadsNewsroom(source);
      await source.sourceWaitsForThePageToBeReady();
      const shown = await source.page.evaluate(() => ({
        owned: (window as unknown as { __owned?: number }).__owned,
        name: document.querySelector('[data-testid=newsroom-name]')!.textContent,
        headerImages: document.querySelectorAll('header img').length,
        scripts: document.querySelectorAll('script:not([src])').length,
        links: [...document.querySelectorAll('[data-testid=call-for-tips] a')].map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('rel')]),
        text: (document.querySelector('[data-testid=call-for-tips]') as HTMLElement).textContent,
      }));
      expect(shown.owned).toBeUndefined();
      expect(shown.name).toBe(HOSTILE_INSTANCE.name);
      expect(shown.headerImages).toBe(0);
      expect(shown.scripts).toBe(0);
      expect(shown.links).toEqual([
        ['https link', 'https://example.org/', 'noreferrer noopener'],
        ['onion link', ONION, 'noreferrer noopener'],
      ]);
      expect(shown.text).toContain('<script>window.__owned=1</script>');
      expect(await source.cspViolations()).toEqual([]);

      // an instance the check does not allow is not shown at all, and the page sends nothing
      const refused: Config[] = [
        { ...LONG_INSTANCE, name: { text: 'not a string' } },
        ...UNSAFE_LINKS.map((href) => ({ ...LONG_INSTANCE, intro: { ...LONG_INSTANCE.intro!, km: [{ p: [{ text: 'link', href }] }] } })),
      ];
      for (const instance of refused) {
        const seen = server.requests.length;
        serve = (config) => ({ ...withInstance(LONG_INSTANCE)(config), instance });
        await source.sourceVisits('/?lang=km');
        await source.page.waitForSelector('#status-line.error');
        expect(await source.page.$eval('#status-line', (e) => e.textContent)).toBe(CATALOGUES.km.load_failed);
        expect(await source.page.$eval('[data-testid=submit]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
        expect(await source.page.evaluate(() => [document.querySelectorAll('[data-testid=newsroom-name]').length, document.querySelectorAll('main a[href^="javascript"], main a[href^="data"]').length])).toEqual([0, 0]);
        expect(server.requests.slice(seen).filter((r) => !r.startsWith('GET ')), JSON.stringify(instance).slice(0, 80)).toEqual([]);
      }
      expect(await source.page.evaluate(() => (window as unknown as { __owned?: number }).__owned)).toBeUndefined();
      await source.page.close();
    });

    for (const width of [400, 1280]) {
      it(`fits ${width} px with a long name and a long Khmer call for tips: nothing wider than the screen, no serious axe finding`, async () => {
        serve = withInstance({ ...LONG_INSTANCE, logo: '/instance/logo' });
        const source = await SourceNavigator.open(launched.browser, server.origin);
        await source.page.setViewport({ width, height: 900 });
        for (const [path, ready] of [
          ['/?lang=km', 'submit'],
          ['/?lang=en', 'submit'],
          ['/return.html?lang=km', 'check'],
          ['/safety.html?lang=km', undefined],
        ] as const) {
          await source.sourceVisits(path);
          await sourceReadsNewsroom(source);
          if (ready) await source.sourceWaitsForThePageToBeReady(ready);
          if (ready === 'submit') await sourceChoosesDesk(source, 'workers');
          const layout = await layoutProblems(source);
          expect(layout.wide, `${path} at ${width} px`).toEqual([]);
          expect(layout.scrollWidth, `${path} at ${width} px`).toBeLessThanOrEqual(layout.innerWidth);
          if (ready === 'submit') expect(await source.wordsBrokenAcrossLines('#key-fingerprint')).toEqual([]);
          // SEALDROP_SCREENSHOTS=folder keeps what was checked, to look at
          const keep = process.env.SEALDROP_SCREENSHOTS;
          if (keep) await source.page.screenshot({ path: `${keep}/${name}-${width}-${path.replace(/\W+/g, '_')}.png`, fullPage: true });
          expect(await source.accessibilityProblems(AXE), `${path} at ${width} px`).toEqual([]);
        }
        expect(await source.cspViolations()).toEqual([]);
        await source.page.close();
      });
    }
  });
}
