/**
 * @module protocol/_codename-lists — every word list a codename may come from: the ten stock
 * BIP39 lists that codenames made before the curation hold (still accepted, 8 words), and the
 * three curated lists new word codenames draw from (9 words). Built once, on first use.
 */
import { wordlist as czech } from '@scure/bip39/wordlists/czech.js';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { wordlist as french } from '@scure/bip39/wordlists/french.js';
import { wordlist as italian } from '@scure/bip39/wordlists/italian.js';
import { wordlist as japanese } from '@scure/bip39/wordlists/japanese.js';
import { wordlist as korean } from '@scure/bip39/wordlists/korean.js';
import { wordlist as portuguese } from '@scure/bip39/wordlists/portuguese.js';
import { wordlist as simplifiedChinese } from '@scure/bip39/wordlists/simplified-chinese.js';
import { wordlist as spanish } from '@scure/bip39/wordlists/spanish.js';
import { wordlist as traditionalChinese } from '@scure/bip39/wordlists/traditional-chinese.js';
import { CHINESE_REMOVED, ENGLISH_REMOVED, KOREAN_REMOVED, removedWords } from './wordlists/curation.ts';

/** The stock lists, in the order that names a legacy codename's language when its words fit two. */
export const LEGACY_LANGUAGES = [
  'english',
  'korean',
  'simplified-chinese',
  'traditional-chinese',
  'japanese',
  'spanish',
  'french',
  'italian',
  'portuguese',
  'czech',
] as const;
export type LegacyLanguage = (typeof LEGACY_LANGUAGES)[number];

/** The curated lists. Chinese is one list shown in either script (the stock lists are parallel). */
export const CURATED_LANGUAGES = ['english', 'korean', 'chinese'] as const;
export type CuratedLanguage = (typeof CURATED_LANGUAGES)[number];

const STOCK: Record<LegacyLanguage, readonly string[]> = {
  english,
  korean,
  'simplified-chinese': simplifiedChinese,
  'traditional-chinese': traditionalChinese,
  japanese,
  spanish,
  french,
  italian,
  portuguese,
  czech,
};

/** What every comparison sees: NFKD, lower case, NFKD again (lower-casing can undo NFKD). */
export const normalizeText = (text: string): string => text.normalize('NFKD').toLowerCase().normalize('NFKD');

export type Lists = {
  legacy: Record<LegacyLanguage, ReadonlySet<string>>;
  /** Curated words in BIP39 order, normalised (Chinese: the Simplified character). */
  curated: Record<CuratedLanguage, readonly string[]>;
  curatedSet: Record<CuratedLanguage, ReadonlySet<string>>;
  /** Index in the parallel Chinese lists of a Simplified or a Traditional character. */
  simplifiedIndex: ReadonlyMap<string, number>;
  traditionalIndex: ReadonlyMap<string, number>;
  simplified: readonly string[];
  traditional: readonly string[];
  /** Longest word of each stock list, in code points (bounds the run-together search). */
  longest: Record<LegacyLanguage, number>;
  /** Every code point of each stock list's words: a run with another one cannot split into them. */
  alphabet: Record<LegacyLanguage, ReadonlySet<string>>;
};

let built: Lists | undefined;

export function lists(): Lists {
  if (built) return built;
  const legacy = {} as Record<LegacyLanguage, Set<string>>;
  const longest = {} as Record<LegacyLanguage, number>;
  const alphabet = {} as Record<LegacyLanguage, Set<string>>;
  for (const l of LEGACY_LANGUAGES) {
    legacy[l] = new Set(STOCK[l].map(normalizeText));
    longest[l] = Math.max(...[...legacy[l]].map((w) => [...w].length));
    alphabet[l] = new Set([...legacy[l]].flatMap((w) => [...w]));
  }
  const without = (list: readonly string[], removed: string[]) => {
    const gone = new Set(removed.map(normalizeText));
    return list.map(normalizeText).filter((w) => !gone.has(w));
  };
  const curated: Lists['curated'] = {
    english: without(english, removedWords(ENGLISH_REMOVED)),
    korean: without(korean, removedWords(KOREAN_REMOVED)),
    chinese: without(simplifiedChinese, removedWords(CHINESE_REMOVED, true)),
  };
  built = {
    legacy,
    curated,
    curatedSet: { english: new Set(curated.english), korean: new Set(curated.korean), chinese: new Set(curated.chinese) },
    simplifiedIndex: new Map(simplifiedChinese.map((c, i) => [c, i])),
    traditionalIndex: new Map(traditionalChinese.map((c, i) => [c, i])),
    simplified: simplifiedChinese,
    traditional: traditionalChinese,
    longest,
    alphabet,
  };
  return built;
}

/** A curated list as its words, one a line (Chinese: Simplified, a space, Traditional), for the vectors. */
export function curatedListText(language: CuratedLanguage): string {
  const l = lists();
  if (language !== 'chinese') return l.curated[language].map((w) => w.normalize('NFC')).join('\n');
  return l.curated.chinese.map((s) => `${s} ${l.traditional[l.simplifiedIndex.get(s)!]}`).join('\n');
}
