import { unpackTar } from 'modern-tar';
import { describe, expect, it } from 'vitest';
import { BLOCK, checksum, roundUp, writeHeader } from './_tar.ts';
import { checkAnswers, normalizeAnswerText, renderAnswers, type Answer } from './answers.ts';
import { utf8Decode, utf8Encode } from './encoding.ts';
import { answersText, buildEnvelope, envelopeLength, envelopeStream, parseEnvelope, parseManifest, planEnvelope, serializeManifest, type Manifest } from './envelope.ts';
import { EnvelopeError } from './errors.ts';
import { MAX_ANSWER_LABEL_BYTES, MAX_ANSWER_VALUE_BYTES, MAX_ANSWER_VALUES, MAX_ANSWERS, MAX_ANSWERS_BYTES } from './limits.ts';
import { paddedLength } from './padme.ts';

const answers: Answer[] = [
  { id: 'where', label: '어디에서 일어났습니까?', value: ['Phnom Penh, near the port\nsecond line'] },
  { id: 'companies', label: 'Which companies?', value: ['Acme Shipping', 'Blue Sea Ltd'] },
  { id: 'how', label: 'Откуда вы знаете?', value: [] },
];
const input = {
  language: 'ko',
  message: '제보합니다.',
  files: [{ name: 'a.txt', type: 'text/plain', bytes: utf8Encode('abc'), stripped: false }],
  answers,
};

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EnvelopeError);
    return (e as EnvelopeError).code;
  }
  return 'accepted';
};
const parseCode = async (bytes: Uint8Array): Promise<string> => {
  try {
    await parseEnvelope(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(EnvelopeError);
    return (e as EnvelopeError).code;
  }
  return 'accepted';
};

/** An archive of these entries, canonical headers, padded like an envelope. */
function tarOf(entries: { name: string; prefix?: string; data: Uint8Array }[]): Uint8Array {
  const tar = entries.reduce((n, e) => n + BLOCK + roundUp(e.data.length), 0) + 2 * BLOCK;
  const out = new Uint8Array(paddedLength(tar));
  let o = 0;
  for (const e of entries) {
    out.set(writeHeader(e.name, e.prefix ?? '', e.data.length), o);
    out.set(e.data, o + BLOCK);
    o += BLOCK + roundUp(e.data.length);
  }
  return out;
}
const manifestOf = (m: Partial<Manifest>) => utf8Encode(serializeManifest({
  version: 1, language: 'ko', message: { bytes: utf8Encode(input.message).length }, files: [{ name: 'a.txt', path: 'files/a.txt', type: 'text/plain', size: 3, stripped: false }], ...m,
}));

describe('answers.txt', () => {
  it('renders labels, "  - " value lines, continuation lines and "(no answer)", one blank line between answers', () => {
    expect(renderAnswers(answers)).toBe(
      '어디에서 일어났습니까?\n  - Phnom Penh, near the port\n    second line\n\n' +
      'Which companies?\n  - Acme Shipping\n  - Blue Sea Ltd\n\n' +
      'Откуда вы знаете?\n  (no answer)\n',
    );
    expect(renderAnswers([])).toBe('');
  });
});

describe('normalizeAnswerText', () => {
  it('turns every line break into a line feed, drops the refused controls, mends lone surrogates; the result always passes', () => {
    expect(normalizeAnswerText('a\r\nb\rc\u0085d\u2028e\u2029f')).toBe('a\nb\nc\nd\ne\nf');
    expect(normalizeAnswerText('a\u0000b\u001bc\u009bd\u007fe\tf')).toBe('abcde\tf');
    expect(normalizeAnswerText('x\ud800y')).toBe('x\ufffdy');
    expect(normalizeAnswerText('  <b>\u202E 한국어 😀 \n')).toBe('  <b>\u202E 한국어 😀 \n');
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 300; round++) {
      const text = Array.from({ length: 1 + Math.floor(random() * 40) }, () => String.fromCharCode(Math.floor(random() * 0x3000) || 1)).join('');
      const value = normalizeAnswerText(text);
      if (value !== '') expect(code(() => checkAnswers([{ id: 'q', label: 'Q', value: [value] }])), JSON.stringify(text)).toBe('accepted');
    }
  });
});

describe('envelope with answers', () => {
  it('round-trips: manifest.answers after files, answers.txt right after message.txt', async () => {
    const bytes = await buildEnvelope(input);
    const env = await parseEnvelope(bytes);
    expect(env.manifest.answers).toEqual(answers);
    expect(env.files.map((f) => utf8Decode(f.bytes))).toEqual(['abc']);
    const text = serializeManifest(env.manifest);
    expect(text.indexOf('"answers":')).toBeGreaterThan(text.indexOf('"files":'));
    expect(parseManifest(utf8Encode(text))).toEqual(env.manifest);
    expect(envelopeLength(env.manifest, utf8Encode(text).length)).toBe(bytes.length);
    const entries = await unpackTar(bytes, { strict: true });
    expect(entries.map((e) => e.header.name)).toEqual(['manifest.json', 'message.txt', 'answers.txt', 'files/a.txt']);
    expect(utf8Decode(entries[2]!.data!)).toBe(renderAnswers(answers));
    // the fingerprint stays last
    const fp = 'd59550c5a4895ea55787f850ca968b8ec7fc9799';
    const signed = serializeManifest((await parseEnvelope(await buildEnvelope({ ...input, sourceKeyFingerprint: fp }))).manifest);
    expect(signed.endsWith(`],"sourceKeyFingerprint":"${fp}"}`)).toBe(true);
    expect(signed.indexOf('"answers":')).toBeLessThan(signed.indexOf('"sourceKeyFingerprint":'));
  });

  it('builds the very bytes of an envelope without answers when the list is empty or absent', async () => {
    const { answers: _, ...without } = input;
    const plain = await buildEnvelope(without);
    expect(await buildEnvelope({ ...without, answers: [] })).toEqual(plain);
    expect((await parseEnvelope(plain)).manifest).not.toHaveProperty('answers');
    expect(planEnvelope({ ...without, files: [{ ...without.files[0]!, size: 3 }], answers: [] }).answersBytes).toBeUndefined();
  });

  it('plans the length and the answers.txt bytes it builds, and streams the very bytes (the page\'s streamed path)', async () => {
    const plan = planEnvelope({ ...input, files: [{ ...input.files[0]!, size: 3 }] });
    expect(plan.answersBytes).toEqual(answersText(plan.manifest));
    const whole = await buildEnvelope(input);
    expect(plan.length).toBe(whole.length);
    const pieces: Uint8Array[] = [];
    const reader = envelopeStream(plan, () => [utf8Encode('abc')], 1000).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) pieces.push(r.value.slice());
    expect(Uint8Array.from(pieces.flatMap((p) => [...p]))).toEqual(whole);
  });

  it('refuses answers that break a rule, each with its code, before building anything', () => {
    const one = (a: Partial<Answer> & Record<string, unknown>) => code(() => checkAnswers([{ id: 'q', label: 'Q?', value: [], ...a }]));
    expect(one({})).toBe('accepted');
    expect(code(() => checkAnswers('x'))).toBe('bad_answer');
    expect(code(() => checkAnswers([null]))).toBe('bad_answer');
    for (const id of ['', 'Q', '-q', 'q_1', 'q'.repeat(33), 'é', 7]) expect(one({ id: id as string })).toBe('bad_answer');
    expect(one({ id: 'q'.repeat(32) })).toBe('accepted');
    expect(one({ label: '' })).toBe('bad_answer');
    for (const bad of ['a\nb', 'a\tb', 'a\0b', 'a\u0085b', 'a\u2028b', 'a\u007fb', 'a\ud800']) expect(one({ label: bad })).toBe('bad_answer');
    expect(one({ label: '가'.repeat(170) })).toBe('accepted'); // 510 bytes
    expect(one({ label: '가'.repeat(171) })).toBe('answer_too_large');
    expect(one({ label: 'x'.repeat(MAX_ANSWER_LABEL_BYTES) })).toBe('accepted');
    expect(one({ value: 'x' as never })).toBe('bad_answer');
    expect(one({ value: [''] })).toBe('bad_answer');
    expect(one({ value: [7 as never] })).toBe('bad_answer');
    for (const bad of ['a\r\nb', 'a\0', 'a\u000bb', 'a\u009bb', '\ud800x']) expect(one({ value: [bad] })).toBe('bad_answer');
    expect(one({ value: ['tab\there\nand a line\n'] })).toBe('accepted');
    // hostile but well-formed text is the source's to send, and the reader's to show as text
    expect(one({ value: ['<script>alert(1)</script>\u202egpj.exe'] })).toBe('accepted');
    expect(one({ value: ['x'.repeat(MAX_ANSWER_VALUE_BYTES)] })).toBe('accepted');
    expect(one({ value: ['x'.repeat(MAX_ANSWER_VALUE_BYTES + 1)] })).toBe('answer_too_large');
    expect(one({ value: Array.from({ length: MAX_ANSWER_VALUES }, (_, i) => `o${i}`) })).toBe('accepted');
    expect(one({ value: Array.from({ length: MAX_ANSWER_VALUES + 1 }, (_, i) => `o${i}`) })).toBe('answer_too_large');
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `q${i}`, label: 'Q', value: [] }));
    expect(code(() => checkAnswers(many(MAX_ANSWERS)))).toBe('accepted');
    expect(code(() => checkAnswers(many(MAX_ANSWERS + 1)))).toBe('too_many_answers');
    expect(code(() => checkAnswers([{ id: 'q', label: 'A', value: [] }, { id: 'q', label: 'B', value: [] }]))).toBe('duplicate_answer');
    const big = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `q${i}`, label: 'Q', value: ['x'.repeat(MAX_ANSWER_VALUE_BYTES)] }));
    expect(code(() => checkAnswers(big(Math.floor(MAX_ANSWERS_BYTES / MAX_ANSWER_VALUE_BYTES) - 1)))).toBe('accepted');
    expect(code(() => checkAnswers(big(Math.floor(MAX_ANSWERS_BYTES / MAX_ANSWER_VALUE_BYTES))))).toBe('answers_too_large');
    // within MAX_ANSWERS_BYTES as text, but JSON-escaped beyond the manifest's limit
    const quotes = [{ id: 'q', label: 'Q', value: ['"'.repeat(MAX_ANSWER_VALUE_BYTES - 8)] }, { id: 'r', label: 'R', value: ['\\'.repeat(MAX_ANSWER_VALUE_BYTES - 8)] }];
    expect(code(() => checkAnswers(quotes))).toBe('accepted');
    expect(code(() => planEnvelope({ language: 'en', message: '', files: [], answers: quotes }))).toBe('answers_too_large');
  });

  it('refuses a manifest whose answers are not canonical, and answers.txt that is not their rendering', async () => {
    const good = manifestOf({ answers });
    const rendered = utf8Encode(renderAnswers(answers));
    const msg = utf8Encode(input.message);
    const file = { name: 'a.txt', prefix: 'files', data: utf8Encode('abc') };
    const envelope = (m: Uint8Array, a?: Uint8Array, order: 'answers-first' | 'files-first' = 'answers-first') => {
      const head = [{ name: 'manifest.json', data: m }, { name: 'message.txt', data: msg }];
      const ans = a ? [{ name: 'answers.txt', data: a }] : [];
      return tarOf(order === 'answers-first' ? [...head, ...ans, file] : [...head, file, ...ans]);
    };
    expect(envelope(good, rendered)).toEqual(await buildEnvelope(input));
    const text = utf8Decode(good);
    const cases: [string, Uint8Array][] = [
      ['answers_mismatch', envelope(good, utf8Encode(renderAnswers(answers).replace('Acme', 'ACME')))],
      ['answers_mismatch', envelope(good, utf8Encode(renderAnswers(answers) + '\n'))],
      ['answers_mismatch', envelope(good, utf8Encode(renderAnswers(answers).replace(/\n/g, '\r\n')))],
      ['wrong_order', envelope(good, rendered, 'files-first')],
      ['wrong_order', envelope(good)],
      ['unexpected_entry', envelope(manifestOf({}), rendered)],
      ['missing_entry', tarOf([{ name: 'manifest.json', data: manifestOf({ answers, files: [] }) }, { name: 'message.txt', data: msg }])],
      ['non_canonical_manifest', envelope(utf8Encode(utf8Decode(manifestOf({})).replace(/}$/, ',"answers":[]}')))],
      ['non_canonical_manifest', envelope(utf8Encode(text.replace('"id":"where","label"', '"label":"어디에서 일어났습니까?","id":"where","label"')), rendered)],
      ['non_canonical_manifest', envelope(utf8Encode(text.replace('{"id":"how",', '{"id":"how","kind":"text",')), rendered)],
      ['non_canonical_manifest', envelope(utf8Encode(text.replace('"answers":', '"sourceKeyFingerprint":"d59550c5a4895ea55787f850ca968b8ec7fc9799","answers":')), rendered)],
      ['duplicate_answer', envelope(manifestOf({ answers: [answers[0]!, answers[0]!] }), utf8Encode(renderAnswers([answers[0]!, answers[0]!])))],
      ['bad_answer', envelope(utf8Encode(text.replace('"value":[]', '"value":[""]')), rendered)],
      ['bad_answer', envelope(utf8Encode(text.replace('"value":[]', '"value":"none"')), rendered)],
      ['bad_answer', envelope(utf8Encode(text.replace('Blue Sea Ltd', 'Blue\\u0000Sea')), rendered)],
      ['bad_answer', envelope(utf8Encode(text.replace('Blue Sea Ltd', 'Blue\\ud800Sea')), rendered)],
      ['bad_answer', envelope(utf8Encode(text.replace('"id":"how"', '"id":"How"')), rendered)],
      ['bad_answer', envelope(utf8Encode(utf8Decode(manifestOf({})).replace(/}$/, ',"answers":{"where":["Phnom Penh"]}}')), rendered)],
    ];
    for (const [k, [expected, bytes]] of cases.entries()) expect([k, await parseCode(bytes)]).toEqual([k, expected]);
  });

  it('the answers.txt header is canonical like any other', async () => {
    const bytes = await buildEnvelope(input);
    const manifestSize = utf8Encode(serializeManifest((await parseEnvelope(bytes)).manifest)).length;
    const at = BLOCK + roundUp(manifestSize) + BLOCK + roundUp(utf8Encode(input.message).length);
    expect(utf8Decode(bytes.subarray(at, at + 11))).toBe('answers.txt');
    const copy = bytes.slice();
    copy[at + 100 + 4] = 0x37; // mode 0000644 -> 0000744
    const h = copy.subarray(at, at + BLOCK);
    h.set(utf8Encode(checksum(h).toString(8).padStart(6, '0') + '\0 '), 148);
    expect(await parseCode(copy)).toBe('non_canonical_header');
  });
});
