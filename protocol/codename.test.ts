import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { wordlist as korean } from '@scure/bip39/wordlists/korean.js';
import { describe, expect, it } from 'vitest';
import { CODENAME_LANGUAGES, checkCodename, generateCodename, normalizeCodename } from './codename.ts';
import { CodenameError } from './errors.ts';

describe('generateCodename', () => {
  it.each(CODENAME_LANGUAGES)('makes 8 words in %s that check back to the same language', (language) => {
    const codename = generateCodename(language);
    expect(codename.split(' ')).toHaveLength(8);
    const check = checkCodename(codename);
    expect(check.ok).toBe(true);
    // Traditional and simplified Chinese share words; a draw may fit both.
    if (check.ok && !language.endsWith('chinese')) expect(check.language).toBe(language);
  });
  it('draws different codenames and every word of the list can appear', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) for (const w of generateCodename('english').split(' ')) seen.add(w);
    expect(seen.size).toBeGreaterThan(1900); // 16000 draws over 2048 words: all but a handful appear
    expect(generateCodename('english')).not.toBe(generateCodename('english'));
  });
  it('refuses an unknown language', () => {
    expect(() => generateCodename('klingon' as never)).toThrow(CodenameError);
  });
});

describe('normalizeCodename', () => {
  it('NFKD, lower case, single spaces', () => {
    expect(normalizeCodename('  Abandon\u3000ABILITY \n able ')).toBe('abandon ability able');
    expect(normalizeCodename('가격')).toBe('가격'.normalize('NFKD'));
    expect(normalizeCodename('ＡＢＡＮＤＯＮ')).toBe('abandon'); // full-width letters
  });
  it('splits Chinese words typed without spaces', () => {
    expect(normalizeCodename('的一是在不了有和')).toBe('的 一 是 在 不 了 有 和');
    expect(checkCodename('的一是在不了有和')).toMatchObject({ ok: true, language: 'simplified-chinese' });
    expect(checkCodename('的一是在不龘有和')).toEqual({ ok: false, badWords: [5], reason: 'unknown_words' });
    expect(normalizeCodename('abc的')).toBe('abc的'); // only all-Han runs are split
  });
});

describe('checkCodename', () => {
  const good = english.slice(0, 8).join(' ');
  it('accepts a good codename, however typed', () => {
    expect(checkCodename(good.toUpperCase())).toEqual({ ok: true, codename: good, language: 'english' });
    expect(checkCodename(korean.slice(100, 108).join('  '))).toMatchObject({ ok: true, language: 'korean' });
  });
  it('points at typos', () => {
    const words = good.split(' ');
    words[2] = 'abel';
    words[6] = 'absorbb';
    expect(checkCodename(words.join(' '))).toEqual({ ok: false, badWords: [2, 6], reason: 'unknown_words' });
  });
  it('refuses the wrong count', () => {
    expect(checkCodename(english.slice(0, 7).join(' '))).toEqual({ ok: false, badWords: [], reason: 'word_count' });
    expect(checkCodename(english.slice(0, 9).join(' '))).toMatchObject({ ok: false, reason: 'word_count' });
    expect(checkCodename('')).toMatchObject({ ok: false, reason: 'word_count' });
  });
  it('refuses mixed languages, pointing at the minority', () => {
    const words = english.slice(0, 8);
    words[5] = korean[0]!;
    expect(checkCodename(words.join(' '))).toEqual({ ok: false, badWords: [5], reason: 'mixed_languages' });
  });
});
