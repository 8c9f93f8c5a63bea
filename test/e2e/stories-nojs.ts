/**
 * @module test/e2e/stories-nojs — a source whose Tor Browser is at "Safest" (JavaScript off), on a
 * phone: the server sends each page as the build wrote it in the language of `?lang=`
 * (client/build.ts, server/policies/static-pages.ts), so the page, its short notice (why
 * JavaScript, how to set "Safer") and the safety advice read in that language, the other
 * languages are plain links, and no form is shown that would lose what is typed. With JavaScript
 * on, the same page still switches language in place.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUES, LANGUAGES, LANGUAGE_TAGS, type Language, type MessageKey } from '../../client/i18n/index.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';

const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
/** A small phone, held upright. */
const PHONE = { width: 360, height: 740 };
/** The notice in one language takes less than 70 % of that screen (it was 1,400 px in all five). */
const NOTICE_MAX_PX = PHONE.height * 0.7;
const SAFETY_KEYS = ['safety_1', 'safety_2', 'safety_bridges', 'safety_3', 'safety_files', 'safety_5', 'safety_6', 'safety_7', 'safety_8'] as const;

type Shown = {
  lang: string;
  title: string;
  h1: string;
  nav: string[];
  navLabel: string | null;
  navLinks: string[];
  languageLinks: { text: string; href: string; current: boolean }[];
  notice: string;
  noticeTop: number;
  noticeHeight: number;
  /** Elements a source could type into, choose from or press, as laid out (not display:none). */
  controls: string[];
  text: string;
};

/** What the page shows, read from its layout (innerText skips what is not displayed). */
async function readPage(page: Page): Promise<Shown> {
  return page.evaluate(() => {
    const displayed = (el: Element) => (el as HTMLElement).getClientRects().length > 0;
    const notice = document.querySelector<HTMLElement>('[data-testid=noscript]');
    const box = notice?.getBoundingClientRect();
    return {
      lang: document.documentElement.lang,
      title: document.title,
      h1: document.querySelector('h1')?.textContent ?? '',
      nav: [...document.querySelectorAll('header nav a')].map((a) => a.textContent ?? ''),
      navLabel: document.querySelector('header nav')?.getAttribute('aria-label') ?? null,
      navLinks: [...document.querySelectorAll('header nav a')].map((a) => a.getAttribute('href') ?? ''),
      languageLinks: [...document.querySelectorAll('.language-links a')].filter(displayed).map((a) => ({
        text: a.textContent ?? '',
        href: a.getAttribute('href') ?? '',
        current: a.getAttribute('aria-current') === 'true',
      })),
      notice: notice && displayed(notice) ? notice.innerText : '',
      noticeTop: box ? box.top + window.scrollY : -1,
      noticeHeight: box?.height ?? 0,
      controls: [...document.querySelectorAll('form, textarea, input, select, button')].filter(displayed).map((el) => el.id || el.tagName),
      text: document.body.innerText,
    };
  });
}

/**
 * Clicks the link (or the summary) as a person does, with the mouse at its middle, and waits for the page it opens.
 * (puppeteer's element click never returns in Firefox with JavaScript off.)
 */
async function sourceFollowsLink(source: SourceNavigator, selector: string, { navigates = true } = {}): Promise<void> {
  const { x, y } = await source.page.$eval(selector, (a) => {
    a.scrollIntoView({ block: 'center' });
    const box = a.getBoundingClientRect();
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  });
  await Promise.all([navigates ? source.page.waitForNavigation() : undefined, source.page.mouse.click(x, y)]);
}

/** Every English sentence this language has its own words for: none may show. */
function englishLeftIn(text: string, language: Language): string[] {
  if (language === 'en') return [];
  return (Object.keys(CATALOGUES.en) as MessageKey[]).filter((key) => {
    const english = CATALOGUES.en[key];
    return english !== CATALOGUES[language][key] && english.length > 12 && text.includes(english);
  });
}

export function defineNoScriptStories(name: BrowserName): void {
  describe.skipIf(!browserAvailable(name))(`${name}: a source with JavaScript off (Tor Browser "Safest"), on a phone`, () => {
    let server: SourceServer;
    let noScript: LaunchedBrowser;
    let withScript: LaunchedBrowser;

    beforeAll(async () => {
      server = await startSourceServer();
      noScript = await launchBrowser(name, { javascript: false });
      // Chromium switches JavaScript off per page; Firefox only per browser (a preference).
      withScript = name === 'chromium' ? noScript : await launchBrowser(name);
    }, 240_000);
    afterAll(async () => {
      if (withScript && withScript !== noScript) await withScript.close();
      await noScript?.close();
      await server?.close();
    });

    async function sourceWithoutScript(): Promise<SourceNavigator> {
      const source = await SourceNavigator.open(noScript.browser, server.origin);
      if (name === 'chromium') await source.page.setJavaScriptEnabled(false);
      await source.page.setViewport(PHONE);
      return source;
    }

    /**
     * axe-core needs a script running in the page, which Firefox with javascript.enabled off
     * never gives (axe.run never settles): Chromium only, with JavaScript back on for the check,
     * once the page was parsed and laid out without it (its own script does not run then).
     */
    async function accessibilityProblemsAsLaidOut(source: SourceNavigator): Promise<string[]> {
      await source.page.setJavaScriptEnabled(true);
      try {
        return await source.accessibilityProblems(AXE);
      } finally {
        await source.page.setJavaScriptEnabled(false);
      }
    }

    it('reads the Korean page in Korean: title, heading, nav, notice; no form to type into, no script run', async () => {
      const source = await sourceWithoutScript();
      const before = server.requests.length;
      await source.sourceVisits('/?lang=ko');
      const ko = CATALOGUES.ko;
      const shown = await readPage(source.page);
      expect(shown.lang).toBe('ko');
      expect([shown.title, shown.h1]).toEqual([ko.submit_title, ko.submit_title]);
      expect(shown.nav).toEqual([ko.nav_submit, ko.nav_return, ko.nav_safety]);
      expect(shown.navLabel).toBe(ko.nav_label);
      expect(shown.navLinks).toEqual(['/?lang=ko', '/return.html?lang=ko', '/safety.html?lang=ko']);
      for (const key of ['noscript_title', 'noscript_safer', 'noscript_why_summary'] as const) expect(shown.notice, key).toContain(ko[key]);
      // why JavaScript, one tap away: <details> opens without a script
      expect(shown.notice).not.toContain(ko.noscript_why);
      await sourceFollowsLink(source, '[data-testid=noscript] summary', { navigates: false });
      const opened = await readPage(source.page);
      for (const key of ['noscript_why', 'noscript_safest'] as const) expect(opened.notice, key).toContain(ko[key]);
      for (const other of LANGUAGES.filter((l) => l !== 'ko')) expect(shown.text, other).not.toContain(CATALOGUES[other].noscript_safer);
      expect(englishLeftIn(shown.text, 'ko')).toEqual([]);
      // nothing to type into (it would be lost), no picker that cannot work, no "Loading…" that never ends
      expect(shown.controls).toEqual([]);
      expect(shown.text).not.toContain(ko.loading);
      expect(shown.text).not.toContain(ko.files_label);
      // the other languages, each in its own words, a link away
      expect(shown.languageLinks).toEqual(
        LANGUAGES.map((l) => ({ text: CATALOGUES[l].lang_name, href: l === 'en' ? '/' : `/?lang=${l}`, current: l === 'ko' })),
      );
      // no script ran: the page asked the server for nothing but the page and its stylesheet
      expect(server.requests.slice(before).filter((r) => !r.startsWith('GET /assets/') || r.endsWith('.js'))).toEqual(['GET /?lang=ko']);
      if (name === 'chromium') expect(await accessibilityProblemsAsLaidOut(source)).toEqual([]);
      await source.page.close();
    });

    it('follows the nav to the return page and the safety page, both in Korean; the advice comes before the notice', async () => {
      const source = await sourceWithoutScript();
      const ko = CATALOGUES.ko;
      await source.sourceVisits('/?lang=ko');
      await sourceFollowsLink(source, 'header nav a[data-nav=return]');
      let shown = await readPage(source.page);
      expect(new URL(source.page.url()).search).toBe('?lang=ko');
      expect([shown.lang, shown.h1]).toEqual(['ko', ko.return_title]);
      expect(shown.notice).toContain(ko.noscript_title);
      expect(shown.controls).toEqual([]);
      expect(englishLeftIn(shown.text, 'ko')).toEqual([]);

      await sourceFollowsLink(source, 'header nav a[data-nav=safety]');
      shown = await readPage(source.page);
      expect(new URL(source.page.url()).pathname + new URL(source.page.url()).search).toBe('/safety.html?lang=ko');
      expect([shown.lang, shown.title, shown.h1]).toEqual(['ko', ko.safety_title, ko.safety_title]);
      // ($eval, not $$eval: puppeteer's $$eval never returns in Firefox with JavaScript off)
      const advice = await source.page.$eval('ol.safety', (ol) => [...ol.children].map((li) => li.textContent));
      expect(advice).toEqual(SAFETY_KEYS.map((k) => ko[k]));
      // on a phone the first piece of advice is on the first screen, and the notice (sending needs
      // JavaScript, how to set "Safer") follows the advice
      const firstTop = await source.page.$eval('ol.safety li', (li) => li.getBoundingClientRect().top + window.scrollY);
      expect(firstTop).toBeLessThan(PHONE.height);
      expect(shown.notice).toContain(ko.noscript_tip_title);
      expect(shown.notice).toContain(ko.noscript_safer);
      const lastBottom = await source.page.$eval('ol.safety li:last-child', (li) => li.getBoundingClientRect().bottom + window.scrollY);
      expect(shown.noticeTop).toBeGreaterThan(lastBottom);
      expect(englishLeftIn(shown.text, 'ko')).toEqual([]);
      if (name === 'chromium') expect(await accessibilityProblemsAsLaidOut(source)).toEqual([]);
      await source.page.close();
    });

    it('gives every language a notice of its own that fits a phone screen, and the other languages by links', async () => {
      const source = await sourceWithoutScript();
      for (const language of LANGUAGES) {
        for (const path of ['/', '/return.html', '/safety.html']) {
          const url = language === 'en' ? path : `${path}?lang=${language}`;
          await source.sourceVisits(url);
          const shown = await readPage(source.page);
          const c = CATALOGUES[language];
          expect(shown.lang, url).toBe(LANGUAGE_TAGS[language]);
          expect(shown.notice, url).toContain(c.noscript_safer);
          expect(shown.noticeHeight, url).toBeGreaterThan(0);
          expect(shown.noticeHeight, url).toBeLessThan(NOTICE_MAX_PX);
          expect(shown.controls, url).toEqual([]);
          expect(englishLeftIn(shown.text, language), url).toEqual([]);
          expect(shown.languageLinks.map((l) => l.href), url).toEqual(LANGUAGES.map((l) => (l === 'en' ? path : `${path}?lang=${l}`)));
        }
      }
      // a link followed: from the Korean safety page to the Chinese one
      await source.sourceVisits('/safety.html?lang=ko');
      await sourceFollowsLink(source, '.language-links a[lang=zh-Hans]');
      const zh = await readPage(source.page);
      expect([zh.lang, zh.h1]).toEqual(['zh-Hans', CATALOGUES.zh.safety_title]);
      // a language the build did not write, and none at all, read English
      for (const url of ['/?lang=xx', '/?lang=../index', '/']) {
        await source.sourceVisits(url);
        const en = await readPage(source.page);
        expect([en.lang, en.h1], url).toEqual(['en', CATALOGUES.en.submit_title]);
        expect(en.notice, url).toContain(CATALOGUES.en.noscript_safer);
      }
      await source.page.close();
    });

    it('with JavaScript on, the same Korean page shows the form, no notice, and still switches language in place', async () => {
      const source = await SourceNavigator.open(withScript.browser, server.origin);
      await source.page.setViewport(PHONE);
      await source.sourceVisits('/?lang=ko');
      await source.sourceWaitsForThePageToBeReady();
      let shown = await readPage(source.page);
      expect([shown.lang, shown.h1]).toEqual(['ko', CATALOGUES.ko.submit_title]);
      expect(shown.notice).toBe('');
      expect(shown.languageLinks).toEqual([]);
      expect(shown.controls).toEqual(expect.arrayContaining(['language', 'tip-form', 'message', 'files', 'wordlist', 'submit']));
      await source.sourceWritesMessage('typed before switching');
      await source.sourcePicksLanguage('en');
      shown = await readPage(source.page);
      expect([shown.lang, shown.h1, shown.nav]).toEqual(['en', CATALOGUES.en.submit_title, [CATALOGUES.en.nav_submit, CATALOGUES.en.nav_return, CATALOGUES.en.nav_safety]]);
      expect(shown.navLinks).toEqual(['/', '/return.html', '/safety.html']);
      expect(await source.page.$eval('[data-testid=message]', (el) => (el as HTMLTextAreaElement).value)).toBe('typed before switching');
      expect(new URL(source.page.url()).search).toBe('?lang=en');

      // a page opened by its file name keeps the language it was written in
      await source.sourceVisits('/return.ru.html');
      await source.sourceWaitsForThePageToBeReady('check');
      shown = await readPage(source.page);
      expect([shown.lang, shown.h1]).toEqual(['ru', CATALOGUES.ru.return_title]);
      expect(shown.controls).toEqual(expect.arrayContaining(['language', 'codename-form', 'codename-input', 'check']));
      expect(await source.page.$eval('#language', (el) => (el as HTMLSelectElement).value)).toBe('ru');
      expect(await source.cspViolations()).toEqual([]);
      expect(source.consoleErrors).toEqual([]);
      await source.page.close();
    });
  });
}
