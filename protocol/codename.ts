/**
 * @module protocol/codename — what a source carries, and the forgiving reading of it typed back.
 *
 * A new codename is 9 words from a curated list (english, korean, chinese) or 4 groups of 8
 * digits. Codenames made before the curation (8 words from one of ten stock BIP39 lists) are
 * still read, into the very text they always gave the key derivation. PROTOCOL.md, "Codename",
 * is the grammar; protocol/testdata/codename-* pin each rule down.
 */
import {
  DIGIT_GROUPS, DIGITS_PER_GROUP, DIGITS_TOTAL, digitValue, generateDigits, groupChecks,
} from './_codename-digits.ts';
import { latinFromLookalikes, northKoreanSpellings } from './_codename-entry.ts';
import {
  LEGACY_LANGUAGES, lists, normalizeText, type CuratedLanguage, type LegacyLanguage,
} from './_codename-lists.ts';
import { CodenameError } from './errors.ts';
import { CODENAME_WORDS, LEGACY_CODENAME_WORDS } from './limits.ts';

export { DIGIT_GROUPS, DIGITS_PER_GROUP, dammDigit, DIGIT_ZEROS } from './_codename-digits.ts';
export { CURATED_LANGUAGES, curatedListText, type CuratedLanguage } from './_codename-lists.ts';

/** What a new codename can be made of; Chinese in either script draws from the one Chinese list. */
export const CODENAME_SCHEMES = ['digits', 'english', 'korean', 'simplified-chinese', 'traditional-chinese'] as const;
export type CodenameScheme = (typeof CODENAME_SCHEMES)[number];

/** The stock lists, still read for codenames made before the curation. */
export const CODENAME_LANGUAGES = LEGACY_LANGUAGES;
export type CodenameLanguage = LegacyLanguage;

/** A curated list's words in BIP39 order, in the normal form the lists compare in (Chinese: Simplified). */
export function curatedWords(language: CuratedLanguage): readonly string[] {
  return lists().curated[language];
}

export function isCodenameScheme(value: unknown): value is CodenameScheme {
  return typeof value === 'string' && (CODENAME_SCHEMES as readonly string[]).includes(value);
}

/** A uniform integer in [0, n) from crypto.getRandomValues, by rejection (no modulo bias). */
function uniformIndex(n: number): number {
  const limit = Math.floor(2 ** 32 / n) * n;
  for (;;) {
    const [x] = crypto.getRandomValues(new Uint32Array(1));
    if (x! < limit) return x! % n;
  }
}

const curatedOf = (scheme: Exclude<CodenameScheme, 'digits'>): CuratedLanguage =>
  scheme === 'english' || scheme === 'korean' ? scheme : 'chinese';

/**
 * A new codename in canonical form, the text the key derivation sees: 9 words of the curated
 * list joined by one space (Chinese: the Simplified characters, whichever script is shown), or
 * 4 groups of 8 digits joined by one space.
 */
export function generateCodename(scheme: CodenameScheme): string {
  if (!isCodenameScheme(scheme)) {
    throw new CodenameError('unknown_scheme', `expected one of ${CODENAME_SCHEMES.join(', ')}, got ${String(scheme)}`);
  }
  if (scheme === 'digits') return generateDigits();
  const list = lists().curated[curatedOf(scheme)];
  return Array.from({ length: CODENAME_WORDS }, () => list[uniformIndex(list.length)]!).join(' ');
}

/**
 * The boxes a codename is shown in, one per word or group, as a person writes them: NFC words
 * (Traditional characters for 'traditional-chinese'), or "4821 0937" with a no-break space.
 */
export function codenameBoxes(codename: string, scheme: CodenameScheme): string[] {
  const check = checkCodename(codename);
  if (!check.ok) throw new CodenameError('not_a_codename', `expected a codename, got one failing with ${check.reason}`);
  if (check.format === 'digits') return check.words.map((g) => `${g.slice(0, 4)}\u00a0${g.slice(4)}`);
  if (scheme === 'traditional-chinese' && check.language === 'chinese') {
    const l = lists();
    return check.codename.split(' ').map((s) => l.traditional[l.simplifiedIndex.get(s)!]!);
  }
  return check.codename.split(' ').map((w) => w.normalize('NFC'));
}

export type CodenameFormat = 'words' | 'digits' | 'legacy';
export type CodenameFailure =
  | 'word_count'
  | 'unknown_words'
  | 'mixed_languages'
  | 'ambiguous_split'
  | 'digit_count'
  | 'bad_group'
  | 'group_order'
  | 'not_a_digit';

export type CodenameCheck =
  | {
      ok: true;
      /** Canonical: what the key derivation sees. */
      codename: string;
      format: CodenameFormat;
      language: CuratedLanguage | LegacyLanguage | 'digits';
      /** What was read, one entry per word or group (NFC, in the script typed), for showing back. */
      words: string[];
      /** Other canonical texts the same typing may stand for (a legacy Chinese codename typed in the other script). */
      alternatives: string[];
    }
  | {
      ok: false;
      reason: CodenameFailure;
      words: string[];
      /** Indexes into `words` of the words or groups at fault. */
      badWords: number[];
      /** word_count, digit_count: how many were typed, and how many a codename has. */
      count?: number;
      expected?: number[];
      /** ambiguous_split: the first run that splits into list words in more than one way. */
      split?: { part: string; ways: string[][] };
      /** group_order: [from, to] for each group that checks only in another place. */
      moves?: [number, number][];
      /** not_a_digit: the letters found among the digits. */
      characters?: string[];
    };

// ---- words -------------------------------------------------------------------------------------

const LETTER = /[\p{L}\p{M}]/u;
const HAN_ONLY = /^\p{Script=Han}+$/u;

/** Runs of letters, each with the number written just before it (its label), if any. */
function letterRuns(text: string): { run: string; label?: number }[] {
  const runs: { run: string; label?: number }[] = [];
  let run = '';
  let number = '';
  let label: number | undefined;
  let afterDigit = false;
  const endRun = () => {
    if (run !== '') runs.push({ run: latinFromLookalikes(run), ...(label !== undefined && { label }) });
    run = '';
    label = undefined;
  };
  for (const ch of text) {
    const value = digitValue(ch);
    if (LETTER.test(ch)) {
      if (run === '' && number !== '') label = Number(number);
      number = '';
      run += ch;
    } else {
      endRun();
      // "1. whale", "(2) fish", "3)bird": a number, then at most a mark and spaces, labels the next run.
      if (value !== undefined) number = (afterDigit ? number : '') + value;
      else if (!/[\s.):、]/u.test(ch)) number = '';
    }
    afterDigit = value !== undefined;
  }
  endRun();
  return runs;
}

/** When every run has a label and the labels are 1…n, the runs in label order; else as typed. */
function orderByLabels(runs: { run: string; label?: number }[]): string[] {
  const labels = runs.map((r) => r.label);
  const inRange = labels.every((l) => l !== undefined && l >= 1 && l <= runs.length);
  if (runs.length > 1 && inRange && new Set(labels).size === runs.length) {
    return [...runs].sort((a, b) => a.label! - b.label!).map((r) => r.run);
  }
  return runs.map((r) => r.run);
}

type Candidate = 'english' | 'korean' | 'chinese' | Exclude<LegacyLanguage, 'english' | 'korean' | 'simplified-chinese' | 'traditional-chinese'>;
const CANDIDATES: readonly Candidate[] = ['english', 'korean', 'chinese', 'japanese', 'spanish', 'french', 'italian', 'portuguese', 'czech'];

type Piece = { word: string; status: 'ok' | 'other' | 'unknown' | 'ambiguous'; ways?: string[][] };

/** The list word a typed word stands for in `candidate`, or undefined. */
function lookup(candidate: Candidate, word: string): string | undefined {
  const l = lists();
  if (candidate === 'chinese') return l.simplifiedIndex.has(word) || l.traditionalIndex.has(word) ? word : undefined;
  if (l.legacy[candidate].has(word)) return word;
  return candidate === 'korean' ? northKoreanSpellings().get(word) : undefined;
}

const inAnyList = (word: string) => LEGACY_LANGUAGES.some((l) => lists().legacy[l].has(word));

/** More ways of cutting one run, or of choosing among all runs, than these are not weighed against the word count. */
const MAX_WAYS = 8;
const MAX_CHOICES = 64;

/**
 * The ways of cutting `run` into words of `candidate`, up to MAX_WAYS + 1 (enough to tell "one",
 * "a few, to weigh against the word count" and "too many").
 */
function segmentations(candidate: Candidate, run: string): string[][] {
  const chars = [...run];
  if (candidate === 'chinese' || chars.some((c) => !lists().alphabet[candidate].has(c))) return [];
  const longest = lists().longest[candidate];
  const ways: string[][][] = Array.from({ length: chars.length + 1 }, () => []);
  ways[chars.length] = [[]];
  for (let i = chars.length - 1; i >= 0; i--) {
    let part = '';
    for (let j = i + 1; j <= Math.min(chars.length, i + longest); j++) {
      part += chars[j - 1];
      const word = ways[j]!.length > 0 ? lookup(candidate, part) : undefined;
      if (word === undefined) continue;
      for (const rest of ways[j]!) if (ways[i]!.length <= MAX_WAYS) ways[i]!.push([word, ...rest]);
    }
  }
  return ways[0]!;
}

function parseIn(candidate: Candidate, runs: string[]): Piece[] {
  return runs.flatMap((run): Piece[] => {
    // Chinese is typed without spaces, and every Chinese list word is one character.
    const parts = HAN_ONLY.test(run) && [...run].length > 1 ? [...run] : [run];
    return parts.flatMap((part): Piece[] => {
      const word = lookup(candidate, part);
      if (word !== undefined) return [{ word, status: 'ok' }];
      const ways = segmentations(candidate, part);
      if (ways.length === 1) return ways[0]!.map((w) => ({ word: w, status: 'ok' as const }));
      if (ways.length > 1) return [{ word: part, status: 'ambiguous', ways }];
      return [{ word: part, status: inAnyList(part) ? 'other' : 'unknown' }];
    });
  });
}

const indexesOf = (pieces: Piece[], status: Piece['status']) => pieces.flatMap((p, i) => (p.status === status ? [i] : []));

function checkWords(text: string): CodenameCheck {
  const runs = orderByLabels(letterRuns(text));
  let best: { candidate: Candidate; pieces: Piece[]; faults: number } | undefined;
  for (const candidate of CANDIDATES) {
    const pieces = parseIn(candidate, runs);
    const faults = pieces.filter((p) => p.status !== 'ok').length;
    if (!best || faults < best.faults) best = { candidate, pieces, faults };
    if (faults === 0) break; // a later list could only tie, and ties go to the earlier one
  }
  const { candidate } = best!;
  const curated = candidate === 'english' || candidate === 'korean' || candidate === 'chinese';
  const pieces = resolveByCount(best!.pieces, candidate, curated);
  const words = pieces.map((p) => p.word.normalize('NFC'));
  const fail = (reason: CodenameFailure, badWords: number[], extra: object = {}): CodenameCheck => ({ ok: false, reason, words, badWords, ...extra });

  const ambiguous = indexesOf(pieces, 'ambiguous');
  if (ambiguous.length > 0) {
    const first = pieces[ambiguous[0]!]!;
    const nfc = (ws: string[]) => ws.map((w) => w.normalize('NFC'));
    return fail('ambiguous_split', ambiguous, { split: { part: first.word.normalize('NFC'), ways: first.ways!.slice(0, MAX_WAYS).map(nfc) } });
  }
  const unknown = indexesOf(pieces, 'unknown');
  if (unknown.length > 0) return fail('unknown_words', unknown);
  const other = indexesOf(pieces, 'other');
  if (other.length > 0) return fail('mixed_languages', other);

  const typed = pieces.map((p) => p.word);
  if (curated && typed.length === CODENAME_WORDS) {
    const canonical = candidate === 'chinese' ? typed.map(toSimplified) : typed;
    const retired = canonical.flatMap((w, i) => (lists().curatedSet[candidate].has(w) ? [] : [i]));
    if (retired.length > 0) return fail('unknown_words', retired);
    return { ok: true, codename: canonical.join(' '), format: 'words', language: candidate, words, alternatives: [] };
  }
  if (typed.length === LEGACY_CODENAME_WORDS) {
    if (candidate !== 'chinese') return { ok: true, codename: typed.join(' '), format: 'legacy', language: candidate, words, alternatives: [] };
    // Made from one list or the other: read the typing in both scripts, the closer one first.
    const simplified = typed.map(toSimplified);
    const traditional = typed.map(toTraditional);
    const same = (forms: string[]) => forms.filter((w, i) => w === typed[i]).length;
    const traditionalFirst = same(traditional) > same(simplified);
    const [first, second] = traditionalFirst ? [traditional, simplified] : [simplified, traditional];
    return {
      ok: true,
      codename: first.join(' '),
      format: 'legacy',
      language: traditionalFirst ? 'traditional-chinese' : 'simplified-chinese',
      words,
      alternatives: second.join(' ') === first.join(' ') ? [] : [second.join(' ')],
    };
  }
  return fail('word_count', [], { count: typed.length, expected: curated ? [LEGACY_CODENAME_WORDS, CODENAME_WORDS] : [LEGACY_CODENAME_WORDS] });
}

/**
 * Run-together words that split more than one way: when exactly one choice of splits gives a
 * codename's word count (9 words all of the curated list, or 8), that choice is the reading.
 */
function resolveByCount(pieces: Piece[], candidate: Candidate, curated: boolean): Piece[] {
  const open = indexesOf(pieces, 'ambiguous');
  if (open.length === 0 || pieces.some((p) => p.status === 'unknown' || p.status === 'other')) return pieces;
  if (open.some((i) => pieces[i]!.ways!.length > MAX_WAYS)) return pieces;
  // Weighing is for a word or two run together, not for a pasted page of them.
  if (open.reduce((n, i) => n * pieces[i]!.ways!.length, 1) > MAX_CHOICES) return pieces;
  let choices: string[][][] = [[]];
  for (const i of open) choices = choices.flatMap((c) => pieces[i]!.ways!.map((w) => [...c, w]));
  const fits = choices
    .map((choice) => pieces.flatMap((p, i) => (open.includes(i) ? choice[open.indexOf(i)]! : [p.word])))
    .filter((ws) => ws.length === LEGACY_CODENAME_WORDS || (curated && ws.length === CODENAME_WORDS && ws.every((w) => lists().curatedSet[candidate as CuratedLanguage].has(candidate === 'chinese' ? toSimplified(w) : w))));
  return fits.length === 1 ? fits[0]!.map((word) => ({ word, status: 'ok' as const })) : pieces;
}

function chineseIndex(c: string): number {
  const l = lists();
  return l.simplifiedIndex.get(c) ?? l.traditionalIndex.get(c)!;
}
const toSimplified = (c: string) => lists().simplified[chineseIndex(c)]!;
const toTraditional = (c: string) => lists().traditional[chineseIndex(c)]!;

// ---- digits ------------------------------------------------------------------------------------

/** A number written before a group: "1." "2)" "(3)" "4:" followed by white space, or "1、". */
const DIGIT_LABEL = /(^|\s)\(?(\d{1,2})(?:[.):](?=\s|$)|、)/gu;

function checkDigits(text: string): CodenameCheck {
  const ascii = [...text].map((c) => (digitValue(c) === undefined ? c : String(digitValue(c)))).join('');
  const letters = [...new Set([...ascii].filter((c) => LETTER.test(c)))].map((c) => c.normalize('NFC'));
  const labels = [...ascii.matchAll(DIGIT_LABEL)];
  const segments = labels.map((m, k) => {
    const end = k + 1 < labels.length ? labels[k + 1]!.index! : ascii.length;
    return { label: Number(m[2]), digits: ascii.slice(m.index! + m[0].length, end).replace(/\D/gu, '') };
  });
  const before = labels.length > 0 ? ascii.slice(0, labels[0]!.index!).replace(/\D/gu, '') : ascii.replace(/\D/gu, '');
  const ordered =
    before === '' &&
    segments.length === DIGIT_GROUPS &&
    segments.every((s) => s.digits.length === DIGITS_PER_GROUP) &&
    segments.map((s) => s.label).sort().join() === '1,2,3,4';
  const digits = ordered
    ? [...segments].sort((a, b) => a.label - b.label).map((s) => s.digits).join('')
    : before + segments.map((s) => s.digits).join('');
  const groups = digits.match(/\d{1,8}/gu) ?? [];
  // Only the four places a group can have are judged; digits past them are counted, not checked.
  const failing = (gs: string[]) =>
    gs.flatMap((g, i) => (i < DIGIT_GROUPS && g.length === DIGITS_PER_GROUP && !groupChecks(g, i + 1) ? [i] : []));

  if (letters.length > 0) return { ok: false, reason: 'not_a_digit', words: groups, badWords: [], characters: letters };
  if (digits.length !== DIGITS_TOTAL) {
    return { ok: false, reason: 'digit_count', words: groups, badWords: failing(groups), count: digits.length, expected: [DIGITS_TOTAL] };
  }
  const bad = failing(groups);
  if (bad.length === 0) return { ok: true, codename: groups.join(' '), format: 'digits', language: 'digits', words: groups, alternatives: [] };
  const placement = permutations(bad).find((to) => to.every((q, k) => q !== bad[k] && groupChecks(groups[bad[k]!]!, q + 1)));
  if (placement) return { ok: false, reason: 'group_order', words: groups, badWords: bad, moves: bad.map((p, k) => [p, placement[k]!]) };
  return { ok: false, reason: 'bad_group', words: groups, badWords: bad };
}

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}

// ---- the check ---------------------------------------------------------------------------------

/**
 * Reads what a source typed (PROTOCOL.md, "Typing a codename back"): digits when the text holds
 * more digits than letters, words otherwise. Done before any request, so a typo costs nothing.
 */
export function checkCodename(input: string): CodenameCheck {
  if (typeof input !== 'string') throw new CodenameError('not_a_string', `expected a string, got ${typeof input}`);
  const text = normalizeText(input);
  let digits = 0;
  let letters = 0;
  for (const ch of text) {
    if (digitValue(ch) !== undefined) digits++;
    else if (/\p{L}/u.test(ch)) letters++;
  }
  return digits > letters ? checkDigits(text) : checkWords(text);
}

/** The canonical text of a codename; for text that is not one, its words as read, joined by one space. */
export function normalizeCodename(input: string): string {
  const check = checkCodename(input);
  return check.ok ? check.codename : normalizeText(check.words.join(' '));
}

