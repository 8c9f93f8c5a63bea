/**
 * @module protocol/testdata/codename-cases — the codename, digits, curated-list and codename KDF
 * vectors, written by generate.ts (PROTOCOL.md, "Codename" and "Test vectors"). Every case says
 * what it must give, and the generator stops when the code disagrees, so a vector never records a
 * surprise.
 */
import { createHash } from 'node:crypto';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { wordlist as japanese } from '@scure/bip39/wordlists/japanese.js';
import { wordlist as korean } from '@scure/bip39/wordlists/korean.js';
import { wordlist as chinese } from '@scure/bip39/wordlists/simplified-chinese.js';
import { wordlist as traditional } from '@scure/bip39/wordlists/traditional-chinese.js';
import {
  checkCodename, CURATED_LANGUAGES, curatedListText, curatedWords, CODENAME_WORDS, dammDigit, deriveSourceSecrets,
  hashLookupId, SCRYPT_PARAMS, type CodenameCheck,
} from '../index.ts';

type Headers = Record<string, string | number>;
type Write = (name: string, headers: Headers, data: string, encoding: 'utf8') => void;

/** The headers a codename vector carries for a check result (vectors.test.ts reads them back). */
export function codenameHeaders(check: CodenameCheck): Headers {
  if (check.ok) {
    return {
      format: check.format, language: check.language, normalized: check.codename,
      ...(check.alternatives.length > 0 && { alternatives: check.alternatives.join(' | ') }),
    };
  }
  return {
    'bad-words': check.badWords.join(' '),
    ...(check.count !== undefined && { count: check.count, expected: check.expected!.join(' ') }),
    ...(check.split && { split: `${check.split.part}: ${check.split.ways.map((w) => w.join(' ')).join(' / ')}` }),
    ...(check.moves && { moves: check.moves.map(([a, b]) => `${a}>${b}`).join(' ') }),
    ...(check.characters && { characters: check.characters.join(' ') }),
  };
}

const group = (p: number, body: string) => body + dammDigit([p, ...[...body].map(Number)]);
const G = [group(1, '4821093'), group(2, '7715302'), group(3, '0060048'), group(4, '9314276')];
const DIGITS = G.join(' ');
const script = (zero: number) => (s: string) => s.replace(/\d/g, (d) => String.fromCodePoint(zero + Number(d)));
const bump = (s: string, at: number) => s.slice(0, at) + ((Number(s[at]) + 1) % 10) + s.slice(at + 1);

const en9 = curatedWords('english').slice(200, 209);
const ko9 = curatedWords('korean').slice(300, 309).map((w) => w.normalize('NFC'));
const zh9 = curatedWords('chinese').slice(400, 409);
const zhT = (s: string) => traditional[chinese.indexOf(s)]!;
const en8 = english.slice(100, 108);
const ko8 = korean.slice(0, 8);
const number = (words: string[]) => words.map((w, i) => `${i + 1}. ${w}`).join(' ');
const lookalike = (w: string) => w.replace(/a/g, 'а').replace(/o/g, 'о').replace(/e/g, 'е').replace(/c/g, 'с');

// [name, input, expect, bad words (for failures)]
const CASES: [string, string, string, string?][] = [
  // Codenames made before the curation (8 words of a stock list): read as they always were.
  ['codename-english', en8.join(' '), 'success'],
  ['codename-english-upper-tabs', en8.join('\t').toUpperCase(), 'success'],
  ['codename-korean', ko8.join(' '), 'success'],
  ['codename-korean-nfd', ko8.join(' ').normalize('NFD'), 'success'],
  ['codename-chinese-no-spaces', chinese.slice(0, 8).join(''), 'success'],
  ['codename-japanese-ideographic-space', japanese.slice(0, 8).join('\u3000'), 'success'],
  ['codename-legacy-removed-words', '범인 흑인 설사 여고생 김포공항 경복궁 울산 가격', 'success'],
  ['codename-legacy-traditional', traditional.slice(8, 16).join(''), 'success'],
  ['codename-legacy-traditional-typed-simplified', chinese.slice(8, 12).join('') + traditional.slice(12, 16).join(''), 'success'],
  ['codename-legacy-korean-north-spelling', '로동 력사 바다가 가격 가끔 가난 가능 가득', 'success'],
  // New codenames: 9 curated words.
  ['codename-words-english', en9.join(' '), 'success'],
  ['codename-words-korean', ko9.join(' '), 'success'],
  ['codename-words-chinese', zh9.join(''), 'success'],
  ['codename-words-chinese-traditional', zh9.map(zhT).join(' '), 'success'],
  ['codename-words-chinese-mixed-scripts', zh9.map((c, i) => (i % 2 ? zhT(c) : c)).join(''), 'success'],
  // Forgiving entry.
  ['codename-commas', en9.join(', '), 'success'],
  ['codename-numbered', number(en9), 'success'],
  ['codename-numbered-lines', en9.map((w, i) => `${i + 1}) ${w}`).join('\n'), 'success'],
  ['codename-numbered-out-of-order', [...en9.map((w, i) => `${i + 1}. ${w}`)].reverse().join(' '), 'success'],
  ['codename-numbered-no-spaces', en9.map((w, i) => `${i + 1}.${w}`).join(''), 'success'],
  ['codename-numbered-korean', ko9.map((w, i) => `${i + 1}. ${w}`).join('\n'), 'success'],
  ['codename-hyphens', en9.join('-'), 'success'],
  ['codename-run-together', en9.join(''), 'success'],
  ['codename-run-together-two', [en9[0]! + en9[1]!, ...en9.slice(2)].join(' '), 'success'],
  // "networkfish" splits two ways, but only "network fish" makes 9 words.
  ['codename-run-together-count-decides', ['networkfish', ...en9.slice(0, 7)].join(' '), 'success'],
  ['codename-run-together-korean', ko9.join(''), 'success'],
  ['codename-cyrillic-lookalikes', en9.map(lookalike).join(' '), 'success'],
  ['codename-cyrillic-capitals', en9.map(lookalike).join(' ').toUpperCase(), 'success'],
  ['codename-full-width-latin', en9.join(' ').replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)), 'success'],
  // Digits.
  ['codename-digits', DIGITS, 'success'],
  ['codename-digits-full-width', script(0xff10)(DIGITS).replace(/ /g, '\u3000'), 'success'],
  ['codename-digits-khmer', script(0x17e0)(DIGITS), 'success'],
  ['codename-digits-arabic-indic', script(0x660)(DIGITS), 'success'],
  ['codename-digits-devanagari', script(0x966)(DIGITS), 'success'],
  ['codename-digits-phone-style', G.map((g) => `${g.slice(0, 4)}-${g.slice(4)}`).join(', '), 'success'],
  ['codename-digits-one-run', G.join(''), 'success'],
  ['codename-digits-numbered', G.map((g, i) => `${i + 1}) ${g.slice(0, 4)} ${g.slice(4)}`).join('\n'), 'success'],
  ['codename-digits-numbered-out-of-order', [2, 0, 3, 1].map((i) => `${i + 1}. ${G[i]}`).join('\n'), 'success'],

  // Failures.
  ['codename-typo', [...en8.slice(0, 3), en8[3] + 'x', ...en8.slice(4, 7), 'zzzz'].join(' '), 'codename failure: unknown_words', '3 7'],
  ['codename-chinese-one-wrong-character', chinese.slice(0, 5).join('') + '龘' + chinese.slice(6, 8).join(''), 'codename failure: unknown_words', '5'],
  ['codename-seven-words', en8.slice(0, 7).join(' '), 'codename failure: word_count', ''],
  ['codename-ten-words', [...en9, 'about'].join(' '), 'codename failure: word_count', ''],
  ['codename-nine-words-one-retired', [...en8.slice(0, 7), 'gun', 'about'].join(' '), 'codename failure: unknown_words', '7'],
  ['codename-nine-korean-words-one-retired', [...ko9.slice(0, 8), '범인'].join(' '), 'codename failure: unknown_words', '8'],
  ['codename-nine-korean-words-loanword', [...ko9.slice(0, 8), '컴퓨터'].join(' '), 'codename failure: unknown_words', '8'],
  ['codename-nine-chinese-one-retired', [...zh9.slice(0, 8), '党'].join(''), 'codename failure: unknown_words', '8'],
  ['codename-nine-japanese-words', japanese.slice(0, 9).join(' '), 'codename failure: word_count', ''],
  ['codename-empty', '   ', 'codename failure: word_count', ''],
  ['codename-only-numbering', '1. 2. 3.', 'codename failure: digit_count', ''],
  ['codename-mixed-english-korean', [...en8.slice(0, 6), korean[1]!, english[5]!].join(' '), 'codename failure: mixed_languages', '6'],
  ['codename-mixed-half-half', [...en8.slice(0, 4), ...korean.slice(0, 4)].join(' '), 'codename failure: mixed_languages', '4 5 6 7'],
  // "networkfish": network fish, or net work fish; both counts (8 and 9 words) would fit.
  ['codename-run-together-ambiguous', ['networkfish', ...en9.slice(0, 6)].join(' '), 'codename failure: ambiguous_split', '0'],
  ['codename-run-together-with-typo', en9.slice(0, 2).join('') + 'x ' + en9.slice(2).join(' '), 'codename failure: unknown_words', '0'],
  ['codename-cyrillic-not-lookalike', ['whaлe', ...en9.slice(1)].join(' '), 'codename failure: unknown_words', '0'],
  ['codename-numbered-two-missing', number([...en9.slice(0, 4), ...en9.slice(6)]), 'codename failure: word_count', ''],
  ['codename-digits-one-wrong-digit', bump(DIGITS, 12), 'codename failure: bad_group', '1'],
  ['codename-digits-neighbours-swapped', DIGITS.slice(0, 2) + DIGITS[3] + DIGITS[2] + DIGITS.slice(4), 'codename failure: bad_group', '0'],
  ['codename-digits-two-groups-wrong', bump(bump(DIGITS, 0), 30), 'codename failure: bad_group', '0 3'],
  ['codename-digits-groups-swapped', [G[1], G[0], G[2], G[3]].join(' '), 'codename failure: group_order', '0 1'],
  ['codename-digits-groups-rotated', [G[3], G[0], G[1], G[2]].join(' '), 'codename failure: group_order', '0 1 2 3'],
  ['codename-digits-three-groups', G.slice(0, 3).join(' '), 'codename failure: digit_count', ''],
  ['codename-digits-one-short', DIGITS.slice(0, -1), 'codename failure: digit_count', ''],
  ['codename-digits-one-extra', DIGITS + '5', 'codename failure: digit_count', ''],
  ['codename-digits-five-groups', `${DIGITS} ${G[0]}`, 'codename failure: digit_count', ''],
  ['codename-digits-short-and-wrong', bump(DIGITS, 3).slice(0, 20), 'codename failure: digit_count', '0'],
  ['codename-digits-letter-o', DIGITS.replace('0', 'O'), 'codename failure: not_a_digit', ''],
  ['codename-digits-letter-l', DIGITS.replace('1', 'l'), 'codename failure: not_a_digit', ''],
  // Labels that are not 1–4 once each are dropped, and the groups read as typed.
  ['codename-digits-numbered-wrong-label', [1, 2, 2, 4].map((n, i) => `${n}. ${[G[1], G[0], G[2], G[3]][i]}`).join('\n'), 'codename failure: group_order', '0 1'],
];

export function writeCodenameVectors(vector: Write): void {
  for (const [name, input, expect, bad] of CASES) {
    const check = checkCodename(input);
    const headers: Headers = { expect, kind: 'codename', ...codenameHeaders(check) };
    const got = check.ok ? 'success' : `codename failure: ${check.reason}`;
    if (got !== expect) throw new Error(`${name}: expected ${expect}, got ${got} ${JSON.stringify(check)}`);
    if (bad !== undefined && bad !== '' && headers['bad-words'] !== bad) {
      throw new Error(`${name}: expected bad words ${bad}, got ${headers['bad-words']}`);
    }
    vector(name, headers, input, 'utf8');
  }

  // The curated lists: the data is the list, one word a line; a second implementation checks its own against it.
  for (const language of CURATED_LANGUAGES) {
    const text = curatedListText(language);
    const words = text.split('\n').length;
    vector(`wordlist-${language}`, {
      expect: 'success', kind: 'wordlist', list: language, words, 'codename-words': CODENAME_WORDS,
      bits: (CODENAME_WORDS * Math.log2(words)).toFixed(2), sha256: createHash('sha256').update(text).digest('hex'),
    }, text, 'utf8');
  }

  // Key derivation from new codenames and from tolerant typings of old ones.
  const salt = 'ZXhhbXBsZS1zYWx0LTAwMQ';
  const kdf: [string, string][] = [
    ['kdf-words-english', en9.join(' ')],
    ['kdf-words-korean', ko9.join(' ')],
    ['kdf-words-chinese-traditional-typed', zh9.map(zhT).join('')],
    ['kdf-digits', DIGITS],
    ['kdf-digits-full-width', script(0xff10)(DIGITS)],
    ['kdf-digits-khmer-phone-style', script(0x17e0)(G.map((g) => `${g.slice(0, 4)}-${g.slice(4)}`).join(' '))],
    ['kdf-legacy-korean-removed-words-numbered', number('범인 흑인 설사 여고생 김포공항 경복궁 울산 가격'.split(' '))],
    ['kdf-legacy-english-removed-words-cyrillic', lookalike('police arrest prison gun bomb spy border whale')],
  ];
  const scrypt = `N=${SCRYPT_PARAMS.N} r=${SCRYPT_PARAMS.r} p=${SCRYPT_PARAMS.p} dkLen=${SCRYPT_PARAMS.dkLen}`;
  for (const [name, codename] of kdf) {
    const s = deriveSourceSecrets(codename, salt);
    vector(name, {
      expect: 'success', kind: 'kdf', scrypt, salt, 'lookup-id': s.lookupId, 'key-passphrase': s.keyPassphrase,
      'lookup-hash': hashLookupId(s.lookupId),
    }, codename, 'utf8');
  }
}
