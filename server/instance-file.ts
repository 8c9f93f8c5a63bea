/**
 * @module server/instance-file — the newsroom's instance file (`INSTANCE_FILE`, JSON): its name,
 * logo, call for tips, intro, questions and desks, checked at start (docs/OPERATIONS.md, "The
 * instance file"). Every refusal names the field (`questions[2].options[0].label.en: expected …`),
 * as ConfigError names the environment variable; main.ts prints them and does not start.
 *
 * Not server/instance.ts, which is the database's instance row (salt and secret).
 *
 * The result is made once: the view `GET /api/v1/config` sends (protocol/instance.ts), the logo's
 * bytes for `/instance/logo`, the desks' key specs for server/desks.ts, and the fields that lack a
 * language, which main.ts prints (the page shows their English text, marked lang="en").
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  type Block,
  DEFAULT_INSTANCE_VIEW,
  FORBIDDEN_CHARACTERS,
  INSTANCE_ID,
  INSTANCE_LANGUAGES,
  INSTANCE_LOGO_PATH,
  type InstanceFallback,
  type InstanceLanguage,
  type InstanceView,
  type Localized,
  MAX_DESK_DESCRIPTION_CHARS,
  MAX_DESK_NAME_CHARS,
  MAX_DESKS,
  MAX_HELP_CHARS,
  MAX_INSTANCE_NAME_CHARS,
  MAX_LABEL_BYTES,
  MAX_LABEL_CHARS,
  MAX_MARKUP_BYTES,
  MAX_OPTIONS,
  MAX_QUESTIONS,
  MIN_OPTIONS,
  parseInstanceView,
  InstanceViewError,
  QUESTION_KINDS,
} from '../protocol/instance.ts';
import { renderAnswers, type Answer } from '../protocol/answers.ts';
import { MAX_ANSWERS_BYTES } from '../protocol/limits.ts';
import { MarkupError, parseMarkup } from './instance-markup.ts';

/** A desk's key, as server/desks.ts loads it (`loadDesks(specs, newsroomKeyFile, now)`). */
export type DeskSpec = { id: string; keyFile: string; fingerprint?: string };

export type LogoType = 'image/png' | 'image/jpeg' | 'image/webp';
export interface InstanceLogo {
  bytes: Uint8Array;
  type: LogoType;
}

export interface InstanceFile {
  /** what `GET /api/v1/config` sends as `instance` */
  view: InstanceView;
  logo: InstanceLogo | null;
  /** the fingerprint the newsroom publishes elsewhere (40 or 64 lower-case hex), checked at start against the first desk's key */
  publishedFingerprint: string | undefined;
  /** the desks' keys, paths resolved against the instance file's folder; undefined: the newsroom key is the one desk */
  deskSpecs: DeskSpec[] | undefined;
}

/** The instance file is unusable: the server must not start. Each problem names its field. */
export class InstanceFileError extends Error {
  override name = 'InstanceFileError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`instance file ${file}: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`);
  }
}

export const MAX_INSTANCE_FILE_BYTES = 1024 * 1024;
export const MAX_LOGO_BYTES = 256 * 1024;

/** No instance file: today's pages, Sealdrop only as "powered by", the newsroom key the one desk. */
export const DEFAULT_INSTANCE_FILE: InstanceFile = Object.freeze({
  view: DEFAULT_INSTANCE_VIEW,
  logo: null,
  publishedFingerprint: undefined,
  deskSpecs: undefined,
});

// --- the file's schema: every message is what was expected, printed after the field's path ---

const utf8 = new TextEncoder();
const plain = (max: number) =>
  z
    .string({ error: `a string of 1-${max} characters` })
    .min(1, { error: `a string of 1-${max} characters` })
    .max(max, { error: `a string of 1-${max} characters` })
    .refine((s) => !FORBIDDEN_CHARACTERS.test(s), { error: 'text without control characters or direction overrides' })
    .refine((s) => s.trim() === s && !/[\t\n]/.test(s), { error: 'one line without tabs or leading or trailing spaces' });
/** a question's or option's label: it travels with the answer in the envelope (PROTOCOL.md "Answers") */
const label = plain(MAX_LABEL_CHARS).refine((s) => utf8.encode(s).length <= MAX_LABEL_BYTES, {
  error: `at most ${MAX_LABEL_BYTES} bytes (UTF-8): it travels with the answer`,
});

const markup = z
  .string({ error: 'a string of markup (docs/OPERATIONS.md, "The instance file")' })
  .refine((s) => utf8.encode(s).length <= MAX_MARKUP_BYTES, { error: `at most ${MAX_MARKUP_BYTES} bytes of text (UTF-8)` })
  .transform((s, ctx): Block[] => {
    try {
      return parseMarkup(s);
    } catch (error) {
      if (!(error instanceof MarkupError)) throw error;
      ctx.issues.push({ code: 'custom', message: error.message.replace(/^expected /, ''), input: s });
      return z.NEVER;
    }
  });

const LANGUAGE_LIST = INSTANCE_LANGUAGES.join(', ');
/** `{ en, ko?, zh?, ru?, km? }` */
const localized = <T extends z.ZodType>(inner: T) =>
  z.strictObject(
    {
      en: inner,
      ko: inner.optional(),
      zh: inner.optional(),
      ru: inner.optional(),
      km: inner.optional(),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `only the languages ${LANGUAGE_LIST}` : `an object of texts by language (${LANGUAGE_LIST}; en required)`) },
  );

const id = z.string({ error: 'an id: 1-32 of a-z, 0-9 and -, starting with a letter or digit' }).regex(INSTANCE_ID, {
  error: 'an id: 1-32 of a-z, 0-9 and -, starting with a letter or digit',
});

const fingerprint = z
  .string({ error: 'a fingerprint of 40 or 64 hex digits (spaces allowed)' })
  .transform((s) => s.replace(/\s+/g, '').toLowerCase())
  .refine((s) => /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(s), { error: 'a fingerprint of 40 or 64 hex digits (spaces allowed)' });

const fileField = (what: string) =>
  z.string({ error: `the path of ${what}` }).min(1, { error: `the path of ${what}` }).max(4096, { error: `the path of ${what}` });

const fields = (names: string) => ({
  error: (issue: { code: string }) => (issue.code === 'unrecognized_keys' ? `only the fields ${names}` : 'an object'),
});

const option = z.strictObject({ id, label: localized(label) }, fields('id, label'));

const question = z
  .strictObject(
    {
      id,
      kind: z.enum(QUESTION_KINDS, { error: `one of ${QUESTION_KINDS.join(', ')}` }),
      label: localized(label),
      help: localized(plain(MAX_HELP_CHARS)).optional(),
      required: z.boolean({ error: 'true or false' }).default(false),
      options: z
        .array(option, { error: 'a list of options' })
        .min(MIN_OPTIONS, { error: `${MIN_OPTIONS}-${MAX_OPTIONS} options` })
        .max(MAX_OPTIONS, { error: `${MIN_OPTIONS}-${MAX_OPTIONS} options` })
        .optional(),
    },
    fields('id, kind, label, help, required, options'),
  )
  .superRefine((q, ctx) => {
    const choice = q.kind === 'choice' || q.kind === 'choices';
    if (choice && q.options === undefined) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: `${MIN_OPTIONS}-${MAX_OPTIONS} options for a ${q.kind} question` });
    }
    if (!choice && q.options !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: `no options for a ${q.kind} question` });
    }
    duplicates(q.options ?? [], ctx, (j) => ['options', j, 'id']);
  });

const desk = z.strictObject(
  {
    id,
    name: localized(plain(MAX_DESK_NAME_CHARS)),
    description: localized(plain(MAX_DESK_DESCRIPTION_CHARS)).optional(),
    keyFile: fileField("the desk's public key file (relative to the instance file's folder)"),
    fingerprint: fingerprint.optional(),
  },
  fields('id, name, description, keyFile, fingerprint'),
);

function duplicates(items: readonly { id: string }[], ctx: z.RefinementCtx, path: (i: number) => (string | number)[]): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: path(i), message: `an id not used before (${item.id} is)` });
    seen.add(item.id);
  });
}

const instanceSchema = z.strictObject(
  {
    name: plain(MAX_INSTANCE_NAME_CHARS),
    logo: fileField('a PNG, JPEG or WebP file (relative to the instance file\'s folder)').optional(),
    fingerprint: fingerprint.optional(),
    callForTips: localized(markup).optional(),
    intro: localized(markup).optional(),
    questions: z
      .array(question, { error: 'a list of questions' })
      .max(MAX_QUESTIONS, { error: `at most ${MAX_QUESTIONS} questions` })
      .superRefine((qs, ctx) => duplicates(qs, ctx, (i) => [i, 'id']))
      .optional(),
    desks: z
      .array(desk, { error: 'a list of desks' })
      .min(1, { error: `1-${MAX_DESKS} desks, or no desks field` })
      .max(MAX_DESKS, { error: `1-${MAX_DESKS} desks, or no desks field` })
      .superRefine((ds, ctx) => duplicates(ds, ctx, (i) => [i, 'id']))
      .optional(),
  },
  fields('name, logo, fingerprint, callForTips, intro, questions, desks'),
);

type InstanceInput = z.output<typeof instanceSchema>;

/** `questions[2].options[0].label.en` */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out === '' ? '' : '.'}${String(part)}`;
  return out === '' ? '(the file)' : out;
}

function problemsOf(error: z.ZodError): string[] {
  return error.issues.slice(0, 20).map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `${fieldPath([...issue.path, issue.keys[0]!])}: no such field; expected ${issue.message}`;
    }
    return `${fieldPath(issue.path)}: expected ${issue.message}`;
  });
}

// --- the result ---

/** The languages a localized value lacks, and the value with English in their place. */
function resolveLocalized<T>(value: Partial<Localized<T>> & { en: T }, field: string, fallbacks: InstanceFallback[]): Localized<T> {
  const out = {} as Localized<T>;
  const missing: InstanceLanguage[] = [];
  for (const lang of INSTANCE_LANGUAGES) {
    const own = value[lang];
    if (own === undefined) missing.push(lang);
    out[lang] = own ?? value.en;
  }
  if (missing.length > 0) fallbacks.push({ field, langs: missing });
  return out;
}

function viewOf(input: InstanceInput, hasLogo: boolean): InstanceView {
  const fallbacks: InstanceFallback[] = [];
  const loc = <T>(value: (Partial<Localized<T>> & { en: T }) | undefined, field: string) =>
    value === undefined ? null : resolveLocalized(value, field, fallbacks);
  return {
    name: input.name,
    poweredBy: 'Sealdrop',
    logo: hasLogo ? INSTANCE_LOGO_PATH : null,
    callForTips: loc(input.callForTips, 'callForTips'),
    intro: loc(input.intro, 'intro'),
    questions: (input.questions ?? []).map((q, i) => ({
      id: q.id,
      kind: q.kind,
      label: resolveLocalized(q.label, `questions[${i}].label`, fallbacks),
      help: loc(q.help, `questions[${i}].help`),
      required: q.required,
      options: (q.options ?? []).map((o, j) => ({ id: o.id, label: resolveLocalized(o.label, `questions[${i}].options[${j}].label`, fallbacks) })),
    })),
    desks: (input.desks ?? []).map((d, i) => ({
      id: d.id,
      name: resolveLocalized(d.name, `desks[${i}].name`, fallbacks),
      description: loc(d.description, `desks[${i}].description`),
    })),
    fallbacks,
  };
}

/** PNG, JPEG or WebP by the first bytes; anything else (SVG above all: it can hold script) is refused. */
export function logoTypeOf(bytes: Uint8Array): LogoType | undefined {
  const starts = (at: number, signature: number[]) => signature.every((b, i) => bytes[at + i] === b);
  if (starts(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts(0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts(0, [0x52, 0x49, 0x46, 0x46]) && starts(8, [0x57, 0x45, 0x42, 0x50])) return 'image/webp';
  return undefined;
}

/**
 * The chunks a logo may hold: the image and how to colour it (RFC 2083, PNG 3rd ed.). Every other
 * one is refused, the known text chunks by name and whatever a tool adds (C2PA's caBX, a
 * vendor's private chunk): what is not known to be harmless may name the maker.
 */
const PNG_KEPT = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND', 'tRNS', 'gAMA', 'cHRM', 'sRGB', 'iCCP', 'sBIT', 'bKGD', 'pHYs', 'hIST']);
/** JPEG APPn kept: APP0 (JFIF), APP2 (ICC profile), APP14 (Adobe colour transform). */
const JPEG_APPS_KEPT = new Set([0xe0, 0xe2, 0xee]);
const JPEG_APP_NAMES: Record<number, string> = { 0xe1: 'an EXIF or XMP block (APP1)', 0xed: 'an IPTC block (APP13)' };
const WEBP_KEPT = new Set(['VP8 ', 'VP8L', 'VP8X', 'ALPH', 'ANIM', 'ANMF', 'ICCP']);
/** The logo's largest side: the page shows it small, and every source's browser decodes all of it. */
export const MAX_LOGO_SIDE = 2048;

/**
 * What in the image would tell about its maker (a text chunk, EXIF, XMP, IPTC, a comment, any
 * chunk or segment not known to be harmless, bytes after the image's end), or `malformed` when
 * its structure cannot be walked; undefined when it carries none of them. The logo is served to
 * everyone as it is: a name or a place in it would be published with it.
 */
export function logoMetadataOf(bytes: Uint8Array, type: LogoType): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (at: number, n: number) => String.fromCharCode(...bytes.subarray(at, at + n));
  if (type === 'image/png') {
    // chunks: length (4, big-endian), type (4), data, CRC (4), IHDR first, up to IEND (RFC 2083 §3)
    for (let at = 8; at + 12 <= bytes.length; ) {
      const length = view.getUint32(at);
      const name = ascii(at + 4, 4);
      if (at + 12 + length > bytes.length || (at === 8 && name !== 'IHDR')) return 'malformed';
      if (!PNG_KEPT.has(name)) return `a PNG ${name.replace(/[^\x21-\x7e]/g, '?')} chunk`;
      if (name === 'IEND') return at + 12 === bytes.length ? undefined : 'bytes after the end of the image (IEND)';
      at += 12 + length;
    }
    return 'malformed';
  }
  if (type === 'image/jpeg') {
    // segments: FF marker, then a 2-byte length for all but the standalone markers; after SOS,
    // entropy-coded data (FF only as FF 00, a restart marker or fill) up to the next marker; EOI last
    for (let at = 2; at + 2 <= bytes.length; ) {
      if (bytes[at] !== 0xff) return 'malformed';
      const marker = bytes[at + 1]!;
      if (marker === 0xff) {
        at += 1;
        continue;
      }
      if (marker === 0xd9) return at + 2 === bytes.length ? undefined : 'bytes after the end of the image (EOI)';
      if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        at += 2;
        continue;
      }
      if (at + 4 > bytes.length) return 'malformed';
      const length = view.getUint16(at + 2);
      if (length < 2 || at + 2 + length > bytes.length) return 'malformed';
      if (marker >= 0xe0 && marker <= 0xef && !JPEG_APPS_KEPT.has(marker)) return JPEG_APP_NAMES[marker] ?? `an APP${marker - 0xe0} block`;
      if (marker === 0xfe) return 'a comment (COM)';
      at += 2 + length;
      if (marker === 0xda) {
        while (at < bytes.length && !(bytes[at] === 0xff && bytes[at + 1] !== 0x00 && !(bytes[at + 1]! >= 0xd0 && bytes[at + 1]! <= 0xd7))) {
          at += bytes[at] === 0xff ? 2 : 1;
        }
      }
    }
    return 'malformed';
  }
  // WebP: RIFF, size, WEBP, then chunks of fourcc, size (4, little-endian), data padded to even
  if (view.getUint32(4, true) + 8 !== bytes.length) return 'malformed';
  let at = 12;
  while (at + 8 <= bytes.length) {
    const name = ascii(at, 4);
    const length = view.getUint32(at + 4, true);
    if (at + 8 + length > bytes.length) return 'malformed';
    if (name === 'EXIF' || name === 'XMP ') return `a WebP ${name.trim()} chunk`;
    if (!WEBP_KEPT.has(name)) return `a WebP ${name.replace(/[^\x21-\x7e]/g, '?').trim()} chunk`;
    at += 8 + length + (length % 2);
  }
  return at === bytes.length ? undefined : 'malformed';
}

/** The logo's width and height as its header declares them; undefined when none is found. */
export function logoDimensionsOf(bytes: Uint8Array, type: LogoType): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (type === 'image/png') return bytes.length >= 24 ? { width: view.getUint32(16), height: view.getUint32(20) } : undefined;
  if (type === 'image/jpeg') {
    // the first start-of-frame segment (SOF0-15 but DHT, JPG and DAC): precision, height, width
    for (let at = 2; at + 9 <= bytes.length && bytes[at] === 0xff; ) {
      const marker = bytes[at + 1]!;
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { width: view.getUint16(at + 7), height: view.getUint16(at + 5) };
      }
      if (marker === 0xda || marker === 0xd9) return undefined;
      at += marker === 0xff ? 1 : 2 + view.getUint16(at + 2);
    }
    return undefined;
  }
  // WebP: the first chunk declares the canvas (VP8X), or is the one image (VP8L, VP8)
  const name = String.fromCharCode(...bytes.subarray(12, 16));
  const le24 = (at: number) => bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
  if (bytes.length < (name === 'VP8L' ? 25 : 30)) return undefined;
  if (name === 'VP8X') return { width: le24(24) + 1, height: le24(27) + 1 };
  if (name === 'VP8L') {
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (name === 'VP8 ') return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  return undefined;
}

async function readLogo(path: string): Promise<InstanceLogo> {
  let bytes: Uint8Array;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a file');
    if (info.size > MAX_LOGO_BYTES) throw new InstanceFileError('', [`logo: expected a file of at most ${MAX_LOGO_BYTES / 1024} KiB, got ${info.size} bytes`]);
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    if (error instanceof InstanceFileError) throw error;
    throw new InstanceFileError('', [`logo: expected a readable file, cannot read ${path}: ${(error as Error).message}`]);
  }
  if (bytes.length > MAX_LOGO_BYTES) throw new InstanceFileError('', [`logo: expected a file of at most ${MAX_LOGO_BYTES / 1024} KiB`]);
  const type = logoTypeOf(bytes);
  if (!type) throw new InstanceFileError('', ['logo: expected a PNG, JPEG or WebP image (by its first bytes; SVG is not allowed)']);
  const metadata = logoMetadataOf(bytes, type);
  if (metadata === 'malformed') throw new InstanceFileError('', [`logo: expected a whole ${type.slice(6).toUpperCase()} image, got one whose structure is broken`]);
  if (metadata) {
    throw new InstanceFileError('', [`logo: expected an image without metadata, got ${metadata}: strip it (exiftool -all= FILE) or export it again without metadata`]);
  }
  const size = logoDimensionsOf(bytes, type);
  if (!size || size.width < 1 || size.height < 1) throw new InstanceFileError('', [`logo: expected a whole ${type.slice(6).toUpperCase()} image, got one that declares no size`]);
  if (size.width > MAX_LOGO_SIDE || size.height > MAX_LOGO_SIDE) {
    throw new InstanceFileError('', [
      `logo: expected an image of at most ${MAX_LOGO_SIDE} × ${MAX_LOGO_SIDE} pixels (every source's browser decodes all of it), got ${size.width} × ${size.height}`,
    ]);
  }
  return { bytes, type };
}

/**
 * The instance file's parsed JSON to the instance, its relative paths resolved against `folder`.
 * Reads the logo (not the desks' keys: server/desks.ts loads those).
 */
export async function parseInstanceFile(json: unknown, folder: string, file = 'the instance file'): Promise<InstanceFile> {
  const result = instanceSchema.safeParse(json);
  if (!result.success) throw new InstanceFileError(file, problemsOf(result.error));
  const input = result.data;
  let logo: InstanceLogo | null = null;
  if (input.logo !== undefined) {
    try {
      logo = await readLogo(resolve(folder, input.logo));
    } catch (error) {
      if (error instanceof InstanceFileError) throw new InstanceFileError(file, error.problems);
      throw error;
    }
  }
  const view = viewOf(input, logo !== null);
  const tooMany = overfullAnswers(view);
  if (tooMany) throw new InstanceFileError(file, [tooMany]);
  // the page runs parseInstanceView before it shows a word: what it would refuse must stop the
  // server here, named, rather than leave every source with a page that cannot show the newsroom
  try {
    parseInstanceView(view);
  } catch (error) {
    if (error instanceof InstanceViewError) throw new InstanceFileError(file, [`${error.path.replace(/^instance\./, '')}: the page's check would refuse it (expected ${error.expected})`]);
    throw error;
  }
  return {
    view,
    logo,
    publishedFingerprint: input.fingerprint,
    deskSpecs: input.desks?.map((d) => ({
      id: d.id,
      keyFile: resolve(folder, d.keyFile),
      ...(d.fingerprint !== undefined ? { fingerprint: d.fingerprint } : {}),
    })),
  };
}

/**
 * The questions' answers with every option chosen (the longest of a one-choice question), in each
 * language, rendered as answers.txt (protocol/answers.ts): over MAX_ANSWERS_BYTES, a source who
 * chose what the page offered would have the envelope refused (`answers_too_large`). Says which
 * language and how much; undefined when they fit. Typed answers come on top: the page caps them.
 */
function overfullAnswers(view: InstanceView): string | undefined {
  for (const lang of INSTANCE_LANGUAGES) {
    const answers: Answer[] = view.questions.map((q) => {
      const labels = q.options.map((o) => o.label[lang]);
      const longest = labels.reduce((a, b) => (utf8.encode(b).length > utf8.encode(a).length ? b : a), labels[0] ?? '');
      return { id: q.id, label: q.label[lang], value: q.kind === 'choices' ? labels : q.kind === 'choice' ? [longest] : [] };
    });
    const bytes = utf8.encode(renderAnswers(answers)).length;
    if (bytes > MAX_ANSWERS_BYTES) {
      return `questions: expected questions whose answers fit the envelope (answers.txt of at most ${MAX_ANSWERS_BYTES} bytes, PROTOCOL.md "Answers"), got ${bytes} bytes in ${lang} with every option chosen: shorten the labels or options, or ask fewer`;
    }
  }
  return undefined;
}

/** `INSTANCE_FILE`'s file, or the defaults when it is unset. */
export async function loadInstanceFile(path: string | undefined): Promise<InstanceFile> {
  if (path === undefined) return DEFAULT_INSTANCE_FILE;
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_INSTANCE_FILE_BYTES) {
      throw new InstanceFileError(path, [`(the file): expected at most ${MAX_INSTANCE_FILE_BYTES / 1024} KiB, got ${info.size} bytes`]);
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof InstanceFileError) throw error;
    throw new InstanceFileError(path, [`(the file): expected a readable file: ${(error as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new InstanceFileError(path, [`(the file): expected JSON: ${(error as Error).message}`]);
  }
  return parseInstanceFile(json, dirname(resolve(path)), path);
}

/** One line per field without some language, for main.ts to print at start. */
export function fallbackLines(file: InstanceFile): string[] {
  return file.view.fallbacks.map((f) => `instance file: ${f.field} has no ${f.langs.join(', ')} text; the page shows English`);
}

/**
 * The published fingerprint against the first desk's key (the newsroom key without desks):
 * compared without spaces or case. A mismatch means the file or the key is not the newsroom's.
 */
export function checkPublishedFingerprint(file: InstanceFile, actual: string, path = 'the instance file'): void {
  const published = file.publishedFingerprint;
  if (published === undefined) return;
  if (published !== actual.replace(/\s+/g, '').toLowerCase()) {
    const which = file.deskSpecs ? `the first desk's key (${file.deskSpecs[0]!.id})` : 'the newsroom key';
    throw new InstanceFileError(path, [`fingerprint: expected the fingerprint of ${which}, which is ${actual.toLowerCase()}; the file says ${published}`]);
  }
}
