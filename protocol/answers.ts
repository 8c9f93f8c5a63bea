/**
 * @module protocol/answers — a source's answers to the instance's questions as the envelope carries
 * them: in manifest.json (`answers`) and, rendered for people, in answers.txt (PROTOCOL.md, "Answers").
 * One rendering per list of answers, so a parser can demand answers.txt equal it byte for byte.
 */
import { utf8Encode } from './encoding.ts';
import { EnvelopeError } from './errors.ts';
import { MAX_ANSWER_LABEL_BYTES, MAX_ANSWER_VALUE_BYTES, MAX_ANSWER_VALUES, MAX_ANSWERS, MAX_ANSWERS_BYTES } from './limits.ts';

/**
 * One answer. `id`: the question's id in the instance file. `label`: the question as the source saw
 * it, in their language. `value`: the text typed (one element; an empty text is no element), or the
 * labels of the options chosen (zero or more elements, in the question's order).
 */
export type Answer = { id: string; label: string; value: string[] };

/** A question id: what the instance file names a question by. */
export const ANSWER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** What answers.txt says for an answer with no value (nothing typed, nothing chosen). */
export const NO_ANSWER = '(no answer)';

// Labels are one line: no C0 or C1 control (U+0085 NEL among them), no DEL, no U+2028/U+2029.
const LABEL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
// Values may hold line feeds and tabs, nothing else of those (a CR, a NUL, a NEL are refused).
const VALUE_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/u;

const fail = (code: string, message: string): never => {
  throw new EnvelopeError(code, message);
};

function byteLength(s: string, what: string): number {
  try {
    return utf8Encode(s).length;
  } catch {
    return fail('bad_answer', `expected ${what} to be well-formed Unicode, got a lone surrogate`);
  }
}

/**
 * Checks a list of answers against the rules of PROTOCOL.md, "Answers": the shape, ids, unique ids,
 * well-formed strings without the refused control characters, non-empty labels and value
 * elements, and every limit. Throws EnvelopeError (`bad_answer`, `duplicate_answer`,
 * `too_many_answers`, `answer_too_large`, `answers_too_large`); returns a copy holding only the
 * three fields.
 */
export function checkAnswers(answers: unknown): Answer[] {
  if (!Array.isArray(answers)) return fail('bad_answer', `expected answers as an array, got ${answers === null ? 'null' : typeof answers}`);
  if (answers.length > MAX_ANSWERS) fail('too_many_answers', `expected at most ${MAX_ANSWERS} answers, got ${answers.length}`);
  const ids = new Set<string>();
  const out: Answer[] = [];
  for (const [i, a] of (answers as unknown[]).entries()) {
    if (typeof a !== 'object' || a === null || Array.isArray(a)) fail('bad_answer', `expected answers[${i}] = { id, label, value }, got ${a === null ? 'null' : typeof a}`);
    const { id, label, value } = a as Record<string, unknown>;
    if (typeof id !== 'string' || !ANSWER_ID.test(id)) {
      fail('bad_answer', `expected answers[${i}].id to match ${ANSWER_ID}, got ${typeof id === 'string' ? JSON.stringify(id.slice(0, 40)) : typeof id}`);
    }
    if (ids.has(id as string)) fail('duplicate_answer', `expected unique answer ids, got ${JSON.stringify(id)} twice`);
    ids.add(id as string);
    if (typeof label !== 'string' || label === '') fail('bad_answer', `expected answers[${i}].label to be a non-empty string, got ${typeof label === 'string' ? 'an empty one' : typeof label}`);
    const labelBytes = byteLength(label as string, `answers[${i}].label`);
    if (labelBytes > MAX_ANSWER_LABEL_BYTES) fail('answer_too_large', `expected answers[${i}].label of at most ${MAX_ANSWER_LABEL_BYTES} UTF-8 bytes, got ${labelBytes}`);
    if (LABEL_UNSAFE.test(label as string)) fail('bad_answer', `expected answers[${i}].label on one line without control characters`);
    if (!Array.isArray(value)) fail('bad_answer', `expected answers[${i}].value to be an array of strings, got ${value === null ? 'null' : typeof value}`);
    const values = value as unknown[];
    if (values.length > MAX_ANSWER_VALUES) fail('answer_too_large', `expected answers[${i}].value of at most ${MAX_ANSWER_VALUES} elements, got ${values.length}`);
    for (const [k, v] of values.entries()) {
      const where = `answers[${i}].value[${k}]`;
      if (typeof v !== 'string' || v === '') fail('bad_answer', `expected ${where} to be a non-empty string (an empty answer is an empty value), got ${typeof v === 'string' ? 'an empty one' : typeof v}`);
      const n = byteLength(v as string, where);
      if (n > MAX_ANSWER_VALUE_BYTES) fail('answer_too_large', `expected ${where} of at most ${MAX_ANSWER_VALUE_BYTES} UTF-8 bytes, got ${n}`);
      if (VALUE_UNSAFE.test(v as string)) fail('bad_answer', `expected ${where} without control characters other than line feed and tab`);
    }
    out.push({ id: id as string, label: label as string, value: [...(values as string[])] });
  }
  const total = utf8Encode(renderAnswers(out)).length;
  if (total > MAX_ANSWERS_BYTES) fail('answers_too_large', `expected answers.txt of at most ${MAX_ANSWERS_BYTES} UTF-8 bytes, got ${total}`);
  return out;
}

const LINE_BREAKS = /\r\n|[\r\u0085\u2028\u2029]/gu;
const DROPPED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gu;
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;

/**
 * What a page does to text typed or pasted as an answer before it builds the envelope, so that
 * checkAnswers cannot refuse it for its characters: every line break (CR LF, CR, NEL, U+2028,
 * U+2029) becomes a line feed, the other refused controls are dropped, a lone surrogate becomes
 * U+FFFD. Nothing else changes (no trimming, no normalisation form). Text that comes out empty is
 * no answer: send an empty value, not [""].
 */
export function normalizeAnswerText(text: string): string {
  return String(text).replace(LINE_BREAKS, '\n').replace(DROPPED, '').replace(LONE, '\ufffd');
}

/**
 * answers.txt: for each answer, its label on a line, then each value element as "  - " and its
 * first line, its further lines indented by four spaces, or "  (no answer)" for an empty value;
 * a blank line between answers; every line ends in "\n". Call on checked answers (checkAnswers).
 */
export function renderAnswers(answers: readonly Answer[]): string {
  return answers.map((a) => {
    const body = a.value.length === 0 ? `  ${NO_ANSWER}\n` : a.value.map((v) => `  - ${v.split('\n').join('\n    ')}\n`).join('');
    return `${a.label}\n${body}`;
  }).join('\n');
}
