/**
 * @module client/lib/instance — the newsroom's own voice on the page: its name, logo, call for
 * tips, intro, desks and questions, as /api/v1/config carries them (`instance`, `desks`).
 *
 * All of it is the server's text, so all of it is hostile until shown otherwise: the answer is
 * checked whole against a strict schema before any of it is used, and rendered with
 * createElement and textContent only (never innerHTML); a link keeps its text and its target
 * only when the target is https: or an http: onion address, and opens with no referrer. Text the
 * newsroom wrote in its own language carries `dir="auto"` (a right-to-left name in a left-to-right
 * page reads right), and text that fell back to English says so (`lang="en"`).
 */
// zod/mini, not zod: the same checks for 16 KB of page script instead of 450 KB (measured with
// esbuild --minify), over Tor, on every page.
import * as z from 'zod/mini';
import { LANGUAGES, type Language } from '../i18n/index.ts';

const MAX_TEXT = 4000;
const MAX_BLOCKS = 40;
const MAX_INLINES = 80;
const MAX_QUESTIONS = 20;
const MAX_OPTIONS = 30;
const MAX_DESKS = 20;
/** An id goes into element ids and the upload's JSON: a plain token. */
const ID = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,31}$/));

const localized = <T extends z.ZodMiniType>(value: T) => z.strictObject({ en: value, ko: value, zh: value, ru: value, km: value });
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
const inline = z.strictObject({
  text: z.string().check(z.maxLength(MAX_TEXT)),
  em: z.optional(z.literal(true)),
  strong: z.optional(z.literal(true)),
  href: z.optional(z.string().check(z.maxLength(2000))),
});
const blocks = z.array(z.strictObject({ p: z.array(inline).check(z.maxLength(MAX_INLINES)) })).check(z.maxLength(MAX_BLOCKS));

export const QUESTION_KINDS = ['short', 'long', 'choice', 'choices'] as const;
const question = z.strictObject({
  id: ID,
  kind: z.enum(QUESTION_KINDS),
  label: localized(text(500)),
  help: z.nullable(localized(text(MAX_TEXT))),
  required: z.boolean(),
  /** two or more for a choice, none for a text question */
  options: z.array(z.strictObject({ id: ID, label: localized(text(500)) })).check(z.maxLength(MAX_OPTIONS)),
});
const fallback = z.strictObject({ field: z.string().check(z.maxLength(200)), langs: z.array(z.enum(LANGUAGES)).check(z.maxLength(LANGUAGES.length)) });

/** The page's reading of `instance` (the contract of /api/v1/config, docs/INTERNALS.md). */
export const INSTANCE_SCHEMA = z.strictObject({
  name: z.nullable(text(200)),
  poweredBy: z.literal('Sealdrop'),
  logo: z.nullable(z.literal('/instance/logo')),
  callForTips: z.nullable(localized(blocks)),
  intro: z.nullable(localized(blocks)),
  questions: z.array(question).check(z.maxLength(MAX_QUESTIONS)),
  desks: z
    .array(z.strictObject({ id: ID, name: localized(text(200)), description: z.nullable(localized(text(MAX_TEXT))) }))
    .check(z.maxLength(MAX_DESKS)),
  fallbacks: z.array(fallback).check(z.maxLength(2000)),
});
const DESK_KEYS_SCHEMA = z
  .array(z.strictObject({ id: ID, newsroomKey: z.string().check(z.minLength(1), z.maxLength(200_000)), fingerprint: z.string().check(z.maxLength(200)) }))
  .check(z.minLength(1), z.maxLength(MAX_DESKS));

export type Instance = z.infer<typeof INSTANCE_SCHEMA>;
export type Localized<T> = Record<Language, T>;
export type Block = NonNullable<Instance['callForTips']>['en'][number];
export type Inline = Block['p'][number];
export type Question = Instance['questions'][number];
/**
 * A desk as the page offers it: its key from `desks`, its words from `instance.desks` (`field`:
 * where they are there, `desks[1]`, as `fallbacks` names them).
 */
export type Desk = {
  id: string | undefined;
  newsroomKey: string;
  fingerprint: string;
  name?: Localized<string>;
  description?: Localized<string>;
  field?: string;
};

export class InstanceConfigError extends Error {
  override name = 'InstanceConfigError';
  readonly code = 'bad_answer';
}

/** Today's pages: no name, nothing asked, one desk (the newsroom key). */
export const NO_INSTANCE: Instance = {
  name: null,
  poweredBy: 'Sealdrop',
  logo: null,
  callForTips: null,
  intro: null,
  questions: [],
  desks: [],
  fallbacks: [],
};

/**
 * The instance and the desks of a config answer, checked; throws `InstanceConfigError` for
 * anything the schema does not allow (the page then shows nothing of it and sends nothing). A
 * server of before desks (no `desks` field) has one desk, its `newsroomKey`, with no id.
 */
export function readInstanceConfig(config: { instance?: unknown; desks?: unknown; newsroomKey: string; fingerprint: string }): {
  instance: Instance;
  desks: Desk[];
} {
  let instance = NO_INSTANCE;
  if (config.instance !== undefined) {
    const parsed = INSTANCE_SCHEMA.safeParse(config.instance);
    if (!parsed.success) throw new InstanceConfigError(`expected the instance of /api/v1/config: ${describeIssues(parsed.error)}`);
    instance = parsed.data;
  }
  for (const q of instance.questions) {
    const choice = q.kind === 'choice' || q.kind === 'choices';
    if (choice ? q.options.length < 2 : q.options.length > 0) throw new InstanceConfigError(`expected options for a choice question only, two or more (question ${q.id})`);
  }
  if (config.desks === undefined) return { instance, desks: [{ id: undefined, newsroomKey: config.newsroomKey, fingerprint: config.fingerprint }] };
  const keys = DESK_KEYS_SCHEMA.safeParse(config.desks);
  if (!keys.success) throw new InstanceConfigError(`expected the desks of /api/v1/config: ${describeIssues(keys.error)}`);
  const ids = new Set(keys.data.map((d) => d.id));
  if (ids.size !== keys.data.length) throw new InstanceConfigError('expected each desk once in /api/v1/config');
  // words for a desk the server has no key for would offer a choice that cannot be sent
  for (const d of instance.desks) if (!ids.has(d.id)) throw new InstanceConfigError(`expected a key for desk ${d.id}`);
  return {
    instance,
    desks: keys.data.map((d) => {
      const i = instance.desks.findIndex((w) => w.id === d.id);
      const w = instance.desks[i];
      return { ...d, ...(w ? { name: w.name, field: `desks[${i}]` } : {}), ...(w?.description ? { description: w.description } : {}) };
    }),
  };
}

/**
 * True when `field` in `language` is the English text put there for a missing translation: the
 * instance's `fallbacks` names it by its path (`intro`, `desks[1].name`, `questions[2].options[0].label`).
 */
export function isFallback(instance: Instance, field: string, language: Language): boolean {
  if (language === 'en') return false;
  return instance.fallbacks.some((f) => f.field === field && f.langs.includes(language));
}

/** Marks `el` as the newsroom's own text in `language` (or English, when it fell back). */
export function markInstanceText(el: HTMLElement, instance: Instance, field: string, language: Language): void {
  el.dir = 'auto';
  if (isFallback(instance, field, language)) el.lang = 'en';
  else el.removeAttribute('lang');
}

/** A link target the page follows: https:, or http: to an onion service; anything else is text. */
export function safeHref(href: string | undefined): string | undefined {
  if (href === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  if (url.username || url.password) return undefined;
  if (url.protocol === 'https:') return url.href;
  // a v3 onion service (56 base32 characters); an http: link anywhere else could be read on its way
  if (url.protocol === 'http:' && /(^|\.)[a-z2-7]{56}\.onion$/.test(url.hostname)) return url.href;
  return undefined;
}

/** Paragraphs of the small markup, made of elements and text nodes only. */
export function renderBlocks(doc: Document, content: Block[]): HTMLElement[] {
  return content.map((block) => {
    const p = doc.createElement('p');
    for (const piece of block.p) {
      let node: Node = doc.createTextNode(piece.text);
      if (piece.em) node = wrap(doc, 'em', node);
      if (piece.strong) node = wrap(doc, 'strong', node);
      const href = safeHref(piece.href);
      if (href) {
        const a = doc.createElement('a');
        a.href = href;
        a.rel = 'noreferrer noopener';
        a.referrerPolicy = 'no-referrer';
        a.append(node);
        node = a;
      }
      p.append(node);
    }
    return p;
  });
}

function wrap(doc: Document, tag: 'em' | 'strong', child: Node): HTMLElement {
  const el = doc.createElement(tag);
  el.append(child);
  return el;
}

/** The first few issues, each with its path (`instance.desks.0.name.km: …`). */
function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`)
    .join('; ');
}
