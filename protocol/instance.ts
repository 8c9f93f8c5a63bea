/**
 * @module protocol/instance — the newsroom's own page as `GET /api/v1/config` sends it (`instance`):
 * its name, logo, call for tips, intro, questions and desks, every text in every page language.
 *
 * The server builds it from the instance file (server/instance-file.ts) at start; the page checks
 * it with `parseInstanceView` before it shows a word of it, and renders the markup (`Block[]`)
 * with createElement and textContent only: a hostile or broken server can send wrong text, never
 * markup, script or a `javascript:` link. No dependency (the page bundles this file).
 *
 * A text the file gave only in English is sent in English under every language, and named in
 * `fallbacks` (`{ field: 'intro', langs: ['km'] }`): the page sets `lang="en"` on it.
 */

export const INSTANCE_LANGUAGES = ['en', 'ko', 'zh', 'ru', 'km'] as const;
export type InstanceLanguage = (typeof INSTANCE_LANGUAGES)[number];

/** A run of text; `em`/`strong` may nest, `href` is an https: URL or an http: onion URL. */
export interface Inline {
  text: string;
  em?: true;
  strong?: true;
  href?: string;
}
/** A paragraph. */
export interface Block {
  p: Inline[];
}
/** One value per page language, English where the file had none (see `fallbacks`). */
export type Localized<T> = Record<InstanceLanguage, T>;

export const QUESTION_KINDS = ['short', 'long', 'choice', 'choices'] as const;
export type QuestionKind = (typeof QUESTION_KINDS)[number];

export interface InstanceQuestionOption {
  id: string;
  label: Localized<string>;
}
export interface InstanceQuestion {
  id: string;
  kind: QuestionKind;
  label: Localized<string>;
  help: Localized<string> | null;
  required: boolean;
  /** two or more for `choice` (one answer) and `choices` (several); empty for `short` and `long` */
  options: InstanceQuestionOption[];
}
export interface InstanceDesk {
  id: string;
  name: Localized<string>;
  description: Localized<string> | null;
}
/** A field the file gave without these languages: the page shows its English text, marked lang="en". */
export interface InstanceFallback {
  /** the field's path in the view, e.g. `intro`, `questions[2].options[0].label`, `desks[1].name` */
  field: string;
  langs: InstanceLanguage[];
}
export interface InstanceView {
  /** the newsroom's name; null without an instance file (the pages are Sealdrop's own) */
  name: string | null;
  /** always "Sealdrop": the page says "powered by Sealdrop", never that Sealdrop is the newsroom */
  poweredBy: 'Sealdrop';
  /** the logo's URL on this origin, or null */
  logo: typeof INSTANCE_LOGO_PATH | null;
  callForTips: Localized<Block[]> | null;
  intro: Localized<Block[]> | null;
  questions: InstanceQuestion[];
  desks: InstanceDesk[];
  fallbacks: InstanceFallback[];
}

export const INSTANCE_LOGO_PATH = '/instance/logo';
export const MAX_INSTANCE_NAME_CHARS = 120;
/** UTF-8 bytes of one language's call for tips or intro, as the file writes it */
export const MAX_MARKUP_BYTES = 8 * 1024;
export const MAX_PARAGRAPHS = 64;
export const MAX_LABEL_CHARS = 200;
/** a question's label travels in the envelope with its answer (PROTOCOL.md "Answers": 512 bytes there) */
export const MAX_LABEL_BYTES = 512;
export const MAX_HELP_CHARS = 1000;
export const MAX_DESK_NAME_CHARS = 80;
export const MAX_DESK_DESCRIPTION_CHARS = 500;
export const MAX_QUESTIONS = 20;
export const MIN_OPTIONS = 2;
export const MAX_OPTIONS = 20;
export const MAX_DESKS = 20;
export const MAX_HREF_CHARS = 2048;
export const INSTANCE_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

/**
 * C0 and C1 controls but tab and line feed, the line and paragraph separators, the bidirectional
 * overrides and isolates (which can make text read as other text), and a lone surrogate half
 * (JSON can write one; it is no character). A one-line text refuses tab and line feed too.
 */
export const FORBIDDEN_CHARACTERS =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LINE_BREAK_OR_TAB = /[\t\n]/;
const utf8Length = (text: string) => new TextEncoder().encode(text).length;

/** A link the page may follow: https: anywhere, or http: to a v3 onion service; no user name or password. */
export function isSafeHref(href: string): boolean {
  if (typeof href !== 'string' || href.length > MAX_HREF_CHARS || /[\s\u0000-\u001f\u007f]/.test(href)) return false;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && /(^|\.)[a-z2-7]{56}\.onion$/.test(url.hostname);
}

/** The view's check failed: what, where (a path such as `instance.questions[0].label.km`). */
export class InstanceViewError extends Error {
  override name = 'InstanceViewError';
  constructor(
    readonly path: string,
    readonly expected: string,
  ) {
    super(`${path}: expected ${expected}`);
  }
}

type Path = string;
const fail = (path: Path, expected: string): never => {
  throw new InstanceViewError(path, expected);
};
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;

function object(value: unknown, path: Path, keys: readonly string[]): Record<string, unknown> {
  if (!isObject(value)) fail(path, 'an object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!keys.includes(key)) fail(`${path}.${key}`, 'no such field');
  for (const key of keys) if (!Object.hasOwn(record, key)) fail(`${path}.${key}`, 'a value');
  return record;
}
function text(value: unknown, path: Path, max: number, oneLine = true): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > max || FORBIDDEN_CHARACTERS.test(value) || (oneLine && LINE_BREAK_OR_TAB.test(value))) {
    fail(path, `a string of 1-${max} characters without control characters`);
  }
  return value as string;
}
function label(value: unknown, path: Path): string {
  const checked = text(value, path, MAX_LABEL_CHARS);
  if (utf8Length(checked) > MAX_LABEL_BYTES) fail(path, `at most ${MAX_LABEL_BYTES} bytes (UTF-8)`);
  return checked;
}
function list(value: unknown, path: Path, max: number): unknown[] {
  if (!Array.isArray(value) || value.length > max) fail(path, `a list of at most ${max}`);
  return value as unknown[];
}
function id(value: unknown, path: Path): string {
  if (typeof value !== 'string' || !INSTANCE_ID.test(value)) fail(path, 'an id of a-z, 0-9 and -');
  return value as string;
}
function unique(ids: string[], path: (i: number) => Path): void {
  ids.forEach((value, i) => {
    if (ids.indexOf(value) !== i) fail(path(i), 'an id used once');
  });
}
function localized<T>(value: unknown, path: Path, each: (value: unknown, path: Path) => T): Localized<T> {
  const record = object(value, path, INSTANCE_LANGUAGES);
  const out = {} as Localized<T>;
  for (const lang of INSTANCE_LANGUAGES) out[lang] = each(record[lang], `${path}.${lang}`);
  return out;
}
/**
 * One language's paragraphs. Every text and link of them is a piece of that language's markup in
 * the file (server/instance-markup.ts: whitespace folded, escapes dropped, nothing added), so
 * together they hold at most MAX_MARKUP_BYTES: a server that sends more is not reading a file.
 * Checked as it goes, so a hostile answer is refused before the page builds anything of it.
 */
function blocks(value: unknown, path: Path): Block[] {
  const paragraphs = list(value, path, MAX_PARAGRAPHS);
  if (paragraphs.length === 0) fail(path, 'at least one paragraph');
  let bytes = 0;
  const count = (piece: string, where: Path) => {
    bytes += utf8Length(piece);
    if (bytes > MAX_MARKUP_BYTES) fail(where, `at most ${MAX_MARKUP_BYTES} bytes (UTF-8) of text and links in ${path}`);
  };
  return paragraphs.map((block, i) => {
    const record = object(block, `${path}[${i}]`, ['p']);
    const runs = list(record.p, `${path}[${i}].p`, MAX_MARKUP_BYTES);
    return {
      p: runs.map((run, j) => {
        const where = `${path}[${i}].p[${j}]`;
        if (!isObject(run)) fail(where, 'an object');
        const r = run as Record<string, unknown>;
        for (const key of Object.keys(r)) if (!['text', 'em', 'strong', 'href'].includes(key)) fail(`${where}.${key}`, 'no such field');
        // a run holds no tab or line break: the parser made them spaces, and paragraphs are blocks
        const inline: Inline = { text: text(r.text, `${where}.text`, MAX_MARKUP_BYTES) };
        count(inline.text, `${where}.text`);
        if (r.em !== undefined) inline.em = r.em === true ? true : fail(`${where}.em`, 'true or no field');
        if (r.strong !== undefined) inline.strong = r.strong === true ? true : fail(`${where}.strong`, 'true or no field');
        if (r.href !== undefined) {
          if (typeof r.href !== 'string' || !isSafeHref(r.href)) fail(`${where}.href`, 'an https: URL or an http: onion URL');
          inline.href = r.href as string;
          count(inline.href, `${where}.href`);
        }
        return inline;
      }),
    };
  });
}
const nullable = <T>(value: unknown, path: Path, each: (value: unknown, path: Path) => T): T | null =>
  value === null ? null : each(value, path);

/**
 * Checks what the server sent as `instance` and returns it as typed (a copy: nothing the check did
 * not see comes through). Throws InstanceViewError naming the first wrong field.
 */
export function parseInstanceView(value: unknown, path: Path = 'instance'): InstanceView {
  const record = object(value, path, ['name', 'poweredBy', 'logo', 'callForTips', 'intro', 'questions', 'desks', 'fallbacks']);
  if (record.poweredBy !== 'Sealdrop') fail(`${path}.poweredBy`, '"Sealdrop"');
  if (record.logo !== null && record.logo !== INSTANCE_LOGO_PATH) fail(`${path}.logo`, `null or "${INSTANCE_LOGO_PATH}"`);
  const questions = list(record.questions, `${path}.questions`, MAX_QUESTIONS).map((q, i): InstanceQuestion => {
    const where = `${path}.questions[${i}]`;
    const r = object(q, where, ['id', 'kind', 'label', 'help', 'required', 'options']);
    if (!(QUESTION_KINDS as readonly unknown[]).includes(r.kind)) fail(`${where}.kind`, QUESTION_KINDS.join(', '));
    const kind = r.kind as QuestionKind;
    if (typeof r.required !== 'boolean') fail(`${where}.required`, 'true or false');
    const options = list(r.options, `${where}.options`, MAX_OPTIONS).map((o, j) => {
      const r2 = object(o, `${where}.options[${j}]`, ['id', 'label']);
      return { id: id(r2.id, `${where}.options[${j}].id`), label: localized(r2.label, `${where}.options[${j}].label`, label) };
    });
    const choice = kind === 'choice' || kind === 'choices';
    if (choice ? options.length < MIN_OPTIONS : options.length !== 0) {
      fail(`${where}.options`, choice ? `${MIN_OPTIONS}-${MAX_OPTIONS} options` : 'no options for a text question');
    }
    unique(options.map((o) => o.id), (j) => `${where}.options[${j}].id`);
    return {
      id: id(r.id, `${where}.id`),
      kind,
      label: localized(r.label, `${where}.label`, label),
      help: nullable(r.help, `${where}.help`, (v, p) => localized(v, p, (v2, p2) => text(v2, p2, MAX_HELP_CHARS))),
      required: r.required as boolean,
      options,
    };
  });
  unique(questions.map((q) => q.id), (i) => `${path}.questions[${i}].id`);
  const desks = list(record.desks, `${path}.desks`, MAX_DESKS).map((d, i): InstanceDesk => {
    const where = `${path}.desks[${i}]`;
    const r = object(d, where, ['id', 'name', 'description']);
    return {
      id: id(r.id, `${where}.id`),
      name: localized(r.name, `${where}.name`, (v, p) => text(v, p, MAX_DESK_NAME_CHARS)),
      description: nullable(r.description, `${where}.description`, (v, p) =>
        localized(v, p, (v2, p2) => text(v2, p2, MAX_DESK_DESCRIPTION_CHARS)),
      ),
    };
  });
  unique(desks.map((d) => d.id), (i) => `${path}.desks[${i}].id`);
  const fallbacks = list(record.fallbacks, `${path}.fallbacks`, 1 + MAX_QUESTIONS * (2 + MAX_OPTIONS) + MAX_DESKS * 2 + 2).map(
    (f, i): InstanceFallback => {
      const r = object(f, `${path}.fallbacks[${i}]`, ['field', 'langs']);
      const field = text(r.field, `${path}.fallbacks[${i}].field`, 100);
      const langs = list(r.langs, `${path}.fallbacks[${i}].langs`, INSTANCE_LANGUAGES.length).map((lang, j) =>
        lang !== 'en' && (INSTANCE_LANGUAGES as readonly unknown[]).includes(lang)
          ? (lang as InstanceLanguage)
          : fail(`${path}.fallbacks[${i}].langs[${j}]`, 'a page language other than en'),
      );
      return { field, langs };
    },
  );
  return {
    name: nullable(record.name, `${path}.name`, (v, p) => text(v, p, MAX_INSTANCE_NAME_CHARS)),
    poweredBy: 'Sealdrop',
    logo: record.logo as InstanceView['logo'],
    callForTips: nullable(record.callForTips, `${path}.callForTips`, (v, p) => localized(v, p, blocks)),
    intro: nullable(record.intro, `${path}.intro`, (v, p) => localized(v, p, blocks)),
    questions,
    desks,
    fallbacks,
  };
}

/** The view without an instance file: today's pages, Sealdrop only as "powered by". */
export const DEFAULT_INSTANCE_VIEW: InstanceView = Object.freeze({
  name: null,
  poweredBy: 'Sealdrop',
  logo: null,
  callForTips: null,
  intro: null,
  questions: [],
  desks: [],
  fallbacks: [],
}) as InstanceView;
