/**
 * @module client/lib/page — what every page does first: pick the language from the URL, write
 * the catalogue's strings into the page, and keep the picker and the links in step.
 *
 * Every translated element carries `data-i18n` (and `data-i18n-values` for placeholders), so a
 * change of language rewrites the whole page in place, typed text and chosen files untouched.
 *
 * The build writes each page in every language (`index.ko.html`, served at `/?lang=ko`), so the
 * page arrives in its language; without `?lang=` in the URL the page keeps the language it was
 * built in. What works only with the script (the forms, the picker) arrives `hidden
 * data-needs-script` and is shown here, first thing: without JavaScript nothing can be typed and lost.
 */
import {
  CATALOGUES,
  LANGUAGES,
  LANGUAGE_TAGS,
  isLanguage,
  languageFromSearch,
  translate,
  type Language,
  type MessageKey,
} from '../i18n/index.ts';

export type Page = {
  readonly language: Language;
  t(key: MessageKey, values?: Record<string, string | number>): string;
  /** Show `key` in `el` now and after any change of language. */
  setText(el: HTMLElement, key: MessageKey, values?: Record<string, string | number>): void;
  onLanguageChange(listener: (language: Language) => void): void;
};

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
}

export function initPage(): Page {
  let language = new URLSearchParams(location.search).has('lang') ? languageFromSearch(location.search) : builtLanguage();
  for (const el of document.querySelectorAll<HTMLElement>('[data-needs-script]')) el.hidden = false;
  const listeners: ((language: Language) => void)[] = [];

  const page: Page = {
    get language() {
      return language;
    },
    t: (key, values) => translate(language, key, values),
    setText(el, key, values = {}) {
      el.dataset.i18n = key;
      if (Object.keys(values).length > 0) el.dataset.i18nValues = JSON.stringify(values);
      else delete el.dataset.i18nValues;
      el.textContent = translate(language, key, values);
    },
    onLanguageChange: (listener) => listeners.push(listener),
  };

  const picker = document.getElementById('language') as HTMLSelectElement | null;
  if (picker) {
    picker.value = language;
    picker.addEventListener('change', () => {
      if (!isLanguage(picker.value)) return;
      language = picker.value;
      const url = new URL(location.href);
      url.searchParams.set('lang', language);
      // The URL is the only memory of the choice: no cookie, no storage.
      history.replaceState(null, '', url);
      applyLanguage(language);
      for (const listener of listeners) listener(language);
    });
  }
  applyLanguage(language);
  return page;
}

/** The language the build wrote this page in (its `<html lang>`). */
function builtLanguage(): Language {
  return LANGUAGES.find((l) => LANGUAGE_TAGS[l] === document.documentElement.lang) ?? 'en';
}

function applyLanguage(language: Language): void {
  const root = document.documentElement;
  root.lang = LANGUAGE_TAGS[language];
  root.dir = CATALOGUES[language].dir;
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) {
    const values = el.dataset.i18nValues ? (JSON.parse(el.dataset.i18nValues) as Record<string, string>) : {};
    el.textContent = translate(language, el.dataset.i18n as MessageKey, values);
  }
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', translate(language, el.dataset.i18nAriaLabel as MessageKey));
  }
  const current = document.body.dataset.page;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('a[href^="/"]')) {
    const url = new URL(link.getAttribute('href')!, location.origin);
    if (language === 'en') url.searchParams.delete('lang');
    else url.searchParams.set('lang', language);
    link.setAttribute('href', url.pathname + url.search + url.hash);
    if (link.dataset.nav) {
      if (link.dataset.nav === current) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
  }
}

/** Show or hide; `hidden` is styled display:none so it also hides from assistive technology. */
export function show(el: HTMLElement, visible: boolean): void {
  el.hidden = !visible;
}
