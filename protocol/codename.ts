/**
 * @module protocol/codename — 8 words from one BIP39 list (88 bits), normalised so that the same
 * words typed on another keyboard give the same key.
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
import { CodenameError } from './errors.ts';
import { CODENAME_WORDS } from './limits.ts';

/** In this order: when one codename's words fit two lists, the first one names its language. */
export const CODENAME_LANGUAGES = [
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
export type CodenameLanguage = (typeof CODENAME_LANGUAGES)[number];

const LISTS: Record<CodenameLanguage, readonly string[]> = {
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

const normalizeWord = (w: string) => w.normalize('NFKD').toLowerCase().normalize('NFKD');

let normalizedSets: Map<CodenameLanguage, Set<string>> | undefined;
function wordSets(): Map<CodenameLanguage, Set<string>> {
  normalizedSets ??= new Map(CODENAME_LANGUAGES.map((l) => [l, new Set(LISTS[l].map(normalizeWord))]));
  return normalizedSets;
}

const inAnyList = (word: string) => [...wordSets().values()].some((s) => s.has(word));
const HAN_ONLY = /^\p{Script=Han}+$/u;

export function isCodenameLanguage(language: unknown): language is CodenameLanguage {
  return typeof language === 'string' && (CODENAME_LANGUAGES as readonly string[]).includes(language);
}

/** 8 words drawn uniformly (11 bits each) with crypto.getRandomValues, joined by one space. */
export function generateCodename(language: CodenameLanguage): string {
  if (!isCodenameLanguage(language)) {
    throw new CodenameError('unknown_language', `expected one of ${CODENAME_LANGUAGES.join(', ')}, got ${String(language)}`);
  }
  const list = LISTS[language];
  if (list.length !== 2048) throw new CodenameError('bad_wordlist', `expected 2048 words in ${language}, got ${list.length}`);
  const indexes = crypto.getRandomValues(new Uint16Array(CODENAME_WORDS));
  return [...indexes].map((i) => list[i & 0x7ff]!).join(' ');
}

/**
 * NFKD, lower-case, trimmed, white space collapsed to one U+0020. A run of Han characters that is
 * not itself a list word is split into its characters (Chinese is typed without spaces, and every
 * Chinese list word is one character), so "的一是" = "的 一 是" and a mistyped character stands alone.
 */
export function normalizeCodename(input: string): string {
  if (typeof input !== 'string') throw new CodenameError('not_a_string', `expected a string, got ${typeof input}`);
  const words = normalizeWord(input).trim().split(/\s+/u).filter((w) => w !== '');
  return words
    .flatMap((w) => {
      const chars = [...w];
      return chars.length > 1 && HAN_ONLY.test(w) && !inAnyList(w) ? chars : [w];
    })
    .join(' ');
}

export type CodenameCheck =
  | { ok: true; codename: string; language: CodenameLanguage }
  | { ok: false; badWords: number[]; reason: 'word_count' | 'unknown_words' | 'mixed_languages' };

/**
 * Checks each word against the lists before any request is made. `badWords` are indexes into the
 * normalised words: words found in no list, or (for a mix) not in the list most words come from.
 */
export function checkCodename(input: string): CodenameCheck {
  const codename = normalizeCodename(input);
  const words = codename === '' ? [] : codename.split(' ');
  let best: { language: CodenameLanguage; bad: number[] } | undefined;
  for (const language of CODENAME_LANGUAGES) {
    const set = wordSets().get(language)!;
    const bad = words.flatMap((w, i) => (set.has(w) ? [] : [i]));
    if (!best || bad.length < best.bad.length) best = { language, bad };
  }
  if (words.length !== CODENAME_WORDS) {
    const unknown = words.flatMap((w, i) => (inAnyList(w) ? [] : [i]));
    return { ok: false, badWords: unknown, reason: 'word_count' };
  }
  if (best!.bad.length === 0) return { ok: true, codename, language: best!.language };
  const unknown = words.flatMap((w, i) => (inAnyList(w) ? [] : [i]));
  return unknown.length > 0
    ? { ok: false, badWords: unknown, reason: 'unknown_words' }
    : { ok: false, badWords: best!.bad, reason: 'mixed_languages' };
}
