/**
 * @module server/instance-markup — the instance file's small markup, parsed once at start into
 * `Block[]` (protocol/instance.ts), which the page renders without innerHTML.
 *
 * - Paragraphs are separated by a blank line; the line breaks within one become spaces.
 * - `*emphasis*`, `**strong**` (`***both***`), nested properly or refused.
 * - `[text](https://…)`: a link to an https: URL or an http: onion URL; anything else is refused
 *   (`javascript:`, `data:`, a relative path, a clear-web http: URL). Links do not nest.
 * - `\` before one of `\ * [ ] ( )` writes that character. Everything else is text: `<b>` is four
 *   characters on the page, never an element.
 * Unclosed or crossed emphasis, an empty link text and a bad link are refused with what was
 * expected, so the operator sees the mistake at start rather than a source seeing stray asterisks.
 */
import { type Block, FORBIDDEN_CHARACTERS, type Inline, isSafeHref, MAX_HREF_CHARS, MAX_PARAGRAPHS } from '../protocol/instance.ts';

/** What the markup should have been (main.ts prints it after the field's path). */
export class MarkupError extends Error {
  override name = 'MarkupError';
}

const ESCAPABLE = new Set(['\\', '*', '[', ']', '(', ')']);
type Mark = 'em' | 'strong';

export function parseMarkup(source: string): Block[] {
  const normalized = source.replace(/\r\n?/g, '\n');
  if (FORBIDDEN_CHARACTERS.test(normalized)) {
    throw new MarkupError('expected text without control characters or direction overrides');
  }
  const paragraphs = normalized
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/[ \t\n]+/g, ' ').trim())
    .filter((p) => p !== '');
  if (paragraphs.length === 0) throw new MarkupError('expected some text');
  if (paragraphs.length > MAX_PARAGRAPHS) throw new MarkupError(`expected at most ${MAX_PARAGRAPHS} paragraphs`);
  return paragraphs.map((p, i) => ({ p: parseParagraph(p, paragraphs.length > 1 ? ` in paragraph ${i + 1}` : '') }));
}

interface LinkSyntax {
  /** index of the link text's first character, of the `]` after it, and just after the `)` */
  textStart: number;
  textEnd: number;
  end: number;
  url: string;
}

/** `[text](url)` starting at `at`, or undefined when the brackets are not a link (they are then text). */
function matchLink(p: string, at: number): LinkSyntax | undefined {
  let i = at + 1;
  while (i < p.length) {
    const c = p[i]!;
    if (c === '\\' && ESCAPABLE.has(p[i + 1] ?? '')) i += 2;
    else if (c === '[') return undefined;
    else if (c === ']') break;
    else i += 1;
  }
  if (i >= p.length || p[i + 1] !== '(') return undefined;
  const close = p.indexOf(')', i + 2);
  if (close < 0) return undefined;
  return { textStart: at + 1, textEnd: i, end: close + 1, url: p.slice(i + 2, close).trim() };
}

function parseParagraph(p: string, where: string): Inline[] {
  const out: Inline[] = [];
  const stack: Mark[] = [];
  let link: (LinkSyntax & { href: string; depth: number }) | undefined;
  let buffer = '';

  const flush = () => {
    if (buffer === '') return;
    const run: Inline = { text: buffer };
    if (stack.includes('em')) run.em = true;
    if (stack.includes('strong')) run.strong = true;
    if (link) run.href = link.href;
    buffer = '';
    const last = out[out.length - 1];
    if (last && last.em === run.em && last.strong === run.strong && last.href === run.href) last.text += run.text;
    else out.push(run);
  };
  const toggle = (mark: Mark) => {
    flush();
    const sign = mark === 'em' ? '*' : '**';
    if (stack[stack.length - 1] === mark) {
      if (link && stack.length <= link.depth) {
        throw new MarkupError(`expected the ${sign} opened before the link to close after it${where}`);
      }
      stack.pop();
    } else if (stack.includes(mark)) {
      throw new MarkupError(`expected ${sign} and the emphasis inside it to close in the order they opened${where}`);
    } else {
      stack.push(mark);
    }
  };

  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (link && i === link.textEnd) {
      if (stack.length !== link.depth) throw new MarkupError(`expected the emphasis inside a link's text to close inside it${where}`);
      flush();
      i = link.end;
      link = undefined;
      continue;
    }
    if (c === '\\' && ESCAPABLE.has(p[i + 1] ?? '')) {
      buffer += p[i + 1];
      i += 2;
      continue;
    }
    if (c === '*') {
      let n = 1;
      while (p[i + n] === '*') n += 1;
      if (n > 3) throw new MarkupError(`expected at most three * in a row (write \\* for an asterisk)${where}`);
      if (n === 3) {
        // closing: the inner one first
        if (stack[stack.length - 1] === 'em') (toggle('em'), toggle('strong'));
        else (toggle('strong'), toggle('em'));
      } else {
        toggle(n === 2 ? 'strong' : 'em');
      }
      i += n;
      continue;
    }
    if (c === '[' && !link) {
      const syntax = matchLink(p, i);
      if (syntax) {
        if (!isSafeHref(syntax.url)) {
          throw new MarkupError(`expected a link to an https: URL or an http: onion URL${where}`);
        }
        if (syntax.textEnd === syntax.textStart) throw new MarkupError(`expected a link text between [ and ]${where}`);
        // the page checks the URL as it is sent, written out (percent-encoded, punycode): it must
        // pass there too, or the page would refuse the whole instance (a non-ASCII path triples)
        const href = new URL(syntax.url).href;
        if (!isSafeHref(href)) {
          throw new MarkupError(`expected a link of at most ${MAX_HREF_CHARS} characters once written out (percent-encoded), got ${href.length}${where}`);
        }
        flush();
        link = { ...syntax, href, depth: stack.length };
        i = syntax.textStart;
        continue;
      }
    }
    buffer += c;
    i += 1;
  }
  flush();
  if (stack.length > 0) {
    const sign = stack[stack.length - 1] === 'em' ? '*' : '**';
    throw new MarkupError(`expected a closing ${sign}${where} (write \\* for an asterisk)`);
  }
  // a paragraph that was only markers (and spaces)
  if (out.every((run) => run.text.trim() === '')) throw new MarkupError(`expected some text${where}`);
  return out;
}
