import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { wordlist as korean } from '@scure/bip39/wordlists/korean.js';
import { wordlist as simplified } from '@scure/bip39/wordlists/simplified-chinese.js';
import { wordlist as traditional } from '@scure/bip39/wordlists/traditional-chinese.js';
import { describe, expect, it } from 'vitest';
import { northKoreanSpellings } from './_codename-entry.ts';
import { lists, normalizeText } from './_codename-lists.ts';
import {
  CODENAME_LANGUAGES, CODENAME_SCHEMES, checkCodename, codenameBoxes, curatedWords, dammDigit, DIGIT_ZEROS,
  generateCodename, normalizeCodename,
} from './codename.ts';
import { CodenameError } from './errors.ts';
import { CODENAME_WORDS } from './limits.ts';
import { CHINESE_REMOVED, ENGLISH_REMOVED, KOREAN_REMOVED, removedWords } from './wordlists/curation.ts';

/** normalizeCodename as it was before the curation (commit a7a409d), for the legacy property test. */
function oldNormalize(input: string): string {
  const words = normalizeText(input).trim().split(/\s+/u).filter((w) => w !== '');
  const inAny = (w: string) => CODENAME_LANGUAGES.some((l) => lists().legacy[l].has(w));
  return words.flatMap((w) => ([...w].length > 1 && /^\p{Script=Han}+$/u.test(w) && !inAny(w) ? [...w] : [w])).join(' ');
}

const pick = <T,>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)]!;

describe('generateCodename', () => {
  it.each(CODENAME_SCHEMES)('makes a %s codename that checks back to itself, in the new format', (scheme) => {
    for (let i = 0; i < 50; i++) {
      const codename = generateCodename(scheme);
      const check = checkCodename(codename);
      expect(check).toMatchObject({ ok: true, codename });
      if (!check.ok) return;
      expect(check.format).toBe(scheme === 'digits' ? 'digits' : 'words');
      expect(check.language).toBe(scheme === 'digits' ? 'digits' : scheme.endsWith('chinese') ? 'chinese' : scheme);
      expect(codename.split(' ')).toHaveLength(scheme === 'digits' ? 4 : CODENAME_WORDS);
    }
  });

  it('draws every curated word and never a removed one', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) for (const w of generateCodename('english').split(' ')) seen.add(w);
    // 18 000 draws over 1 947 words: on average 0.2 words are missed.
    expect(seen.size).toBeGreaterThan(curatedWords('english').length - 6);
    const removed = new Set(removedWords(KOREAN_REMOVED).map(normalizeText));
    for (let i = 0; i < 2000; i++) for (const w of generateCodename('korean').split(' ')) expect(removed.has(w)).toBe(false);
    expect(generateCodename('english')).not.toBe(generateCodename('english'));
  });

  it('draws digits uniformly: 28 000 random digits, each value near 2 800 times', () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i++) {
      for (const group of generateCodename('digits').split(' ')) for (const d of group.slice(0, 7)) counts[Number(d)]!++;
    }
    for (const c of counts) expect(Math.abs(c - 2800)).toBeLessThan(300); // ±5.7 standard deviations
  });

  it('refuses an unknown scheme', () => {
    expect(() => generateCodename('japanese' as never)).toThrow(CodenameError);
  });
});

describe('codenameBoxes', () => {
  it('shows digits as phone numbers and Chinese in the chosen script', () => {
    expect(codenameBoxes('48210933 77153025 00600489 93142765', 'digits')).toEqual(['4821\u00a00933', '7715\u00a03025', '0060\u00a00489', '9314\u00a02765']);
    const zh = curatedWords('chinese').slice(0, 9).join(' ');
    const boxes = codenameBoxes(zh, 'traditional-chinese');
    expect(boxes.join('')).toBe(curatedWords('chinese').slice(0, 9).map((c) => traditional[simplified.indexOf(c)]).join(''));
    expect(checkCodename(boxes.join(' '))).toMatchObject({ ok: true, codename: zh });
    expect(codenameBoxes(zh, 'simplified-chinese')).toEqual(zh.split(' '));
  });
  it('gives back, typed as shown, the same codename', () => {
    for (const scheme of CODENAME_SCHEMES) {
      const codename = generateCodename(scheme);
      const boxes = codenameBoxes(codename, scheme);
      expect(checkCodename(boxes.join(' ')), scheme).toMatchObject({ ok: true, codename });
      expect(checkCodename(boxes.map((b, i) => `${i + 1}. ${b}`).join('\n')), scheme).toMatchObject({ ok: true, codename });
      expect(normalizeCodename(boxes.join(', '))).toBe(codename);
    }
  });
  it('refuses what is not a codename', () => {
    expect(() => codenameBoxes('whale', 'english')).toThrow(CodenameError);
  });
});

describe('codenames made before the curation', () => {
  it.each(CODENAME_LANGUAGES)('%s: any 8 stock words give the key derivation the same text as before', (language) => {
    const list = { english, korean, 'simplified-chinese': simplified, 'traditional-chinese': traditional }[language as string] as
      | readonly string[]
      | undefined;
    const words = list ?? [...lists().legacy[language]];
    for (let i = 0; i < 300; i++) {
      const typed = Array.from({ length: 8 }, () => pick(words));
      for (const input of [typed.join(' '), typed.join('\t').toUpperCase(), `  ${typed.join('   ')}\n`, typed.join(' ').normalize('NFD')]) {
        const check = checkCodename(input);
        expect(check.ok, input).toBe(true);
        expect(normalizeCodename(input), input).toBe(oldNormalize(input));
        if (check.ok) expect(check.format).toBe('legacy');
      }
    }
  });
});

describe('checkCodename', () => {
  const en9 = curatedWords('english').slice(0, 9);
  it('reads numbering and puts numbered words in order', () => {
    const shuffled = [3, 0, 8, 1, 7, 2, 6, 4, 5];
    expect(normalizeCodename(shuffled.map((i) => `${i + 1}) ${en9[i]}`).join(' '))).toBe(en9.join(' '));
    // Numbers that are not 1…n once each are dropped and the order stays as typed.
    expect(normalizeCodename(en9.map((w) => `7. ${w}`).join(' '))).toBe(en9.join(' '));
  });
  it('reads a Latin word with one Cyrillic look-alike, and leaves a word with other Cyrillic letters alone', () => {
    expect(checkCodename(['аbandon', ...english.slice(1, 8)].join(' '))).toMatchObject({ ok: true, words: english.slice(0, 8) });
    expect(checkCodename(['abanдon', ...english.slice(1, 8)].join(' '))).toMatchObject({ ok: false, reason: 'unknown_words', badWords: [0] });
  });
  it('names the run that splits two ways, with both readings', () => {
    const check = checkCodename(['networkfish', ...en9.slice(0, 6)].join(' '));
    expect(check).toMatchObject({ ok: false, reason: 'ambiguous_split', badWords: [0], split: { part: 'networkfish' } });
    if (!check.ok) expect(check.split!.ways).toEqual(expect.arrayContaining([['net', 'work', 'fish'], ['network', 'fish']]));
  });
  it('tells the groups in the wrong place apart from a wrong digit', () => {
    const g = generateCodename('digits').split(' ');
    expect(checkCodename([g[0], g[2], g[1], g[3]].join(' '))).toMatchObject({ ok: false, reason: 'group_order', moves: [[1, 2], [2, 1]] });
    const typo = g[2]!.replace(/^./, (d) => String((Number(d) + 5) % 10));
    expect(checkCodename([g[0], g[1], typo, g[3]].join(' '))).toMatchObject({ ok: false, reason: 'bad_group', badWords: [2] });
  });
  it('judges complete groups while the rest is still being typed', () => {
    const g = generateCodename('digits').split(' ');
    const wrong = g[0]!.slice(0, 7) + ((Number(g[0]![7]) + 1) % 10);
    expect(checkCodename(`${wrong} ${g[1]!.slice(0, 3)}`)).toMatchObject({ ok: false, reason: 'digit_count', count: 11, badWords: [0] });
  });
  it('refuses what is not a string', () => {
    expect(() => checkCodename(42 as never)).toThrow(CodenameError);
  });
});

describe('Damm check digits', () => {
  it('match the published example and catch every single error and every neighbour swap', () => {
    expect(dammDigit([5, 7, 2])).toBe(4);
    for (let n = 0; n < 300; n++) {
      const digits = Array.from({ length: 8 }, () => Math.floor(Math.random() * 10));
      const group = [...digits, dammDigit(digits)];
      expect(dammDigit(group)).toBe(0);
      for (let i = 0; i < group.length; i++) {
        for (let d = 0; d < 10; d++) if (d !== group[i]) expect(dammDigit(group.map((x, k) => (k === i ? d : x)))).not.toBe(0);
        if (i + 1 < group.length && group[i] !== group[i + 1]) {
          const swapped = [...group];
          [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
          expect(dammDigit(swapped)).not.toBe(0);
        }
      }
    }
  });
  it('refuse what is not a digit', () => {
    expect(() => dammDigit([1, 10])).toThrow(/expected decimal digits 0-9, got 10/);
    expect(() => dammDigit([Number.NaN])).toThrow(TypeError);
  });
  it('make a group fail in any other place', () => {
    for (let n = 0; n < 200; n++) {
      const g = generateCodename('digits').split(' ');
      for (let p = 0; p < 4; p++) for (let q = 0; q < 4; q++) {
        expect(dammDigit([q + 1, ...[...g[p]!].map(Number)]) === 0).toBe(p === q);
      }
    }
  });
});

describe('tables', () => {
  it('DIGIT_ZEROS are the zeros of every Unicode decimal digit run this engine knows', () => {
    const zeros: number[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (/\p{Nd}/u.test(String.fromCodePoint(cp)) && (zeros.length === 0 || cp >= zeros.at(-1)! + 10)) zeros.push(cp);
    }
    expect([...DIGIT_ZEROS]).toEqual(zeros);
  });
  it('the stock Chinese lists are parallel: no character stands at two indexes', () => {
    const { simplifiedIndex, traditionalIndex } = lists();
    for (const [c, i] of simplifiedIndex) if (traditionalIndex.has(c)) expect(traditionalIndex.get(c)).toBe(i);
  });
  it('every North spelling reads a stock Korean word, and none is a word of any list', () => {
    for (const [north, south] of northKoreanSpellings()) {
      expect(lists().legacy.korean.has(south), south.normalize('NFC')).toBe(true);
      for (const l of CODENAME_LANGUAGES) expect(lists().legacy[l].has(north), north.normalize('NFC')).toBe(false);
      expect(lists().curatedSet.korean.has(south), south.normalize('NFC')).toBe(false);
    }
  });
  it('every removed word is in its stock list, once; the issue 12 words are gone', () => {
    for (const [removed, list, byCharacter] of [[KOREAN_REMOVED, korean, false], [ENGLISH_REMOVED, english, false], [CHINESE_REMOVED, simplified, true]] as const) {
      const words = removedWords(removed, byCharacter).map(normalizeText);
      expect(new Set(words).size).toBe(words.length);
      const stock = new Set(list.map(normalizeText));
      for (const w of words) expect(stock.has(w), w.normalize('NFC')).toBe(true);
    }
    for (const w of ['범인', '흑인', '설사', '여고생', '김포공항', '경복궁', '울산', '코드네임'].map(normalizeText)) {
      expect(lists().curatedSet.korean.has(w)).toBe(false);
    }
    for (const language of ['english', 'korean', 'chinese'] as const) {
      expect(CODENAME_WORDS * Math.log2(curatedWords(language).length)).toBeGreaterThanOrEqual(88);
    }
  });
});
