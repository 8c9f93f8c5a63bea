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
import { DEFAULT_INSTANCE_VIEW, INSTANCE_ID, isSafeHref, parseInstanceView, InstanceViewError, type Block, type InstanceView, type Localized } from '../../protocol/instance.ts';
import type { Language } from '../i18n/index.ts';
import { KeyMismatchError } from './newsroom-key.ts';

export type { Block, Inline, Localized } from '../../protocol/instance.ts';
export type Instance = InstanceView;
export type Question = InstanceView['questions'][number];

const MAX_DESKS = 20;
const MAX_ARMORED_KEY_CHARS = 200_000;

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
export const NO_INSTANCE: Instance = DEFAULT_INSTANCE_VIEW;

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
    try {
      instance = parseInstanceView(config.instance);
    } catch (error) {
      if (error instanceof InstanceViewError) throw new InstanceConfigError(`expected the instance of /api/v1/config: ${error.message}`);
      throw error;
    }
  }
  if (config.desks === undefined) return { instance, desks: [{ id: undefined, newsroomKey: config.newsroomKey, fingerprint: config.fingerprint }] };
  const keys = readDeskKeys(config.desks);
  // the top-level key is the first desk's (what pages before desks encrypt to): two answers in one config is a lie
  if (keys[0]!.newsroomKey !== config.newsroomKey || keys[0]!.fingerprint !== config.fingerprint) {
    throw new KeyMismatchError('expected the first desk of /api/v1/config to be its newsroomKey and fingerprint');
  }
  // words for a desk the server has no key for would offer a choice that cannot be sent
  for (const d of instance.desks) if (!keys.some((k) => k.id === d.id)) throw new InstanceConfigError(`expected a key for desk ${d.id}`);
  return {
    instance,
    desks: keys.map((d) => {
      const i = instance.desks.findIndex((w) => w.id === d.id);
      const w = instance.desks[i];
      return { ...d, ...(w ? { name: w.name, field: `desks[${i}]` } : {}), ...(w?.description ? { description: w.description } : {}) };
    }),
  };
}

/** `desks` of /api/v1/config: one to MAX_DESKS of { id, newsroomKey, fingerprint }, each id once. */
function readDeskKeys(value: unknown): { id: string; newsroomKey: string; fingerprint: string }[] {
  const bad = (what: string): never => {
    throw new InstanceConfigError(`expected the desks of /api/v1/config: ${what}`);
  };
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_DESKS) return bad(`a list of 1-${MAX_DESKS} desks`);
  const seen = new Set<string>();
  return value.map((d: unknown, i) => {
    if (typeof d !== 'object' || d === null || Array.isArray(d)) return bad(`desks[${i}] an object`);
    const { id, newsroomKey, fingerprint, ...rest } = d as Record<string, unknown>;
    if (Object.keys(rest).length > 0) return bad(`desks[${i}] without ${Object.keys(rest)[0]}`);
    if (typeof id !== 'string' || !INSTANCE_ID.test(id)) return bad(`desks[${i}].id an id of a-z, 0-9 and -`);
    if (seen.has(id)) return bad(`each desk once (${id} twice)`);
    seen.add(id);
    if (typeof newsroomKey !== 'string' || newsroomKey.length === 0 || newsroomKey.length > MAX_ARMORED_KEY_CHARS) return bad(`desks[${i}].newsroomKey a key`);
    if (typeof fingerprint !== 'string' || fingerprint.length > 200) return bad(`desks[${i}].fingerprint a fingerprint`);
    return { id, newsroomKey, fingerprint };
  });
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

/**
 * The element ids of question `id`'s controls (client/lib/tip-form.ts): `question-<id>` for its
 * text box and its group's name, as the stories address them. What is made of it for its help and
 * its options adds `_`, which no id has (INSTANCE_ID), and the page's own ids never begin with
 * `question-`: a file (or a server) that names one question `a` and another `a-0`, `a-help` or
 * `list` cannot make one label point at another question's control.
 */
export function questionIds(id: string): { control: string; help: string; option: (i: number) => string } {
  const control = `question-${id}`;
  return { control, help: `${control}_help`, option: (i) => `${control}_${i}` };
}

/** A link target the page follows: https:, or http: to a v3 onion service (protocol/instance.ts isSafeHref); anything else is text. */
export function safeHref(href: string | undefined): string | undefined {
  return href !== undefined && isSafeHref(href) ? href : undefined;
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
