import { describe, expect, it } from 'vitest';
import { CATALOGUES, LANGUAGES, languageFromSearch, translate } from './index.ts';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('catalogues', () => {
  const english = CATALOGUES.en;

  it.each(LANGUAGES)('%s has every key of English, no extra key, and the same placeholders', (lang) => {
    const catalogue = CATALOGUES[lang];
    expect(Object.keys(catalogue).sort()).toEqual(Object.keys(english).sort());
    for (const [key, text] of Object.entries(english)) {
      const translated = catalogue[key as keyof typeof english];
      expect(translated.trim(), `${lang}.${key}`).not.toBe('');
      expect(placeholders(translated), `${lang}.${key}`).toEqual(placeholders(text));
    }
    expect(['ltr', 'rtl']).toContain(catalogue.dir);
  });

  it.each(LANGUAGES.filter((l) => l !== 'en'))('%s is translated, not copied from English', (lang) => {
    const same = Object.entries(english).filter(
      ([key, text]) => key !== 'dir' && CATALOGUES[lang][key as keyof typeof english] === text,
    );
    expect(same.map(([key]) => key)).toEqual([]);
  });

  it('never holds markup: every string goes in with textContent', () => {
    for (const lang of LANGUAGES) {
      for (const text of Object.values(CATALOGUES[lang])) expect(text).not.toMatch(/[<>]/);
    }
  });
});

describe('languageFromSearch', () => {
  it('takes a known language from ?lang= and falls back to English', () => {
    expect(languageFromSearch('?lang=ko')).toBe('ko');
    expect(languageFromSearch('?lang=km&x=1')).toBe('km');
    expect(languageFromSearch('?lang=xx')).toBe('en');
    expect(languageFromSearch('?lang=__proto__')).toBe('en');
    expect(languageFromSearch('')).toBe('en');
  });
});

describe('translate', () => {
  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('en', 'progress_uploading', { percent: 42 })).toBe('Sending… 42%');
    expect(translate('ru', 'progress_uploading', {})).toBe('Отправка… {percent}%');
  });
});
