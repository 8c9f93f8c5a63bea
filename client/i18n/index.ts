/**
 * @module client/i18n — the five catalogues and the language chosen in the URL (`?lang=ko`).
 *
 * Tor Browser hides the real Accept-Language, so the choice is explicit and visible; it lives in
 * the URL only (no cookie, no storage), so nothing on the machine remembers it.
 */
import type { CodenameScheme } from '../../protocol/codename.ts';
import en from './en.json';
import km from './km.json';
import ko from './ko.json';
import ru from './ru.json';
import zh from './zh.json';

export type MessageKey = keyof typeof en;
export type Catalogue = Record<MessageKey, string>;

export const LANGUAGES = ['en', 'ko', 'zh', 'ru', 'km'] as const;
export type Language = (typeof LANGUAGES)[number];

export const CATALOGUES: Record<Language, Catalogue> = { en, ko, zh, ru, km };

/**
 * The codename offered first in each page language: words where a curated list reads in that
 * language, digits where none does (a Russian or Khmer reader would otherwise carry English words).
 */
export const CODENAME_SCHEME_FOR_LANGUAGE: Record<Language, CodenameScheme> = {
  en: 'english',
  ko: 'korean',
  zh: 'simplified-chinese',
  ru: 'digits',
  km: 'digits',
};

/** BCP 47 tags for the `lang` attribute. */
export const LANGUAGE_TAGS: Record<Language, string> = { en: 'en', ko: 'ko', zh: 'zh-Hans', ru: 'ru', km: 'km' };

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

export function languageFromSearch(search: string): Language {
  const lang = new URLSearchParams(search).get('lang');
  return isLanguage(lang) ? lang : 'en';
}

/** The message with `{name}` placeholders filled; an unknown placeholder is left visible. */
export function translate(language: Language, key: MessageKey, values: Record<string, string | number> = {}): string {
  const text = CATALOGUES[language][key] ?? CATALOGUES.en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}
