/**
 * @module cli/triage — what `list` and `pull` share: the filter options (--all, --since, --max-size,
 * --source), their checks, and the submission list read page by page from the editor API.
 */
import { stringOption, stringOptions, booleanOption, type OptionSpec, type ParsedArgs } from './args.ts';
import { isValidHandle } from './bundle.ts';
import { CliError, usageError } from './errors.ts';
import { editorJson, type EditorEndpoint } from './net/http.ts';

export const FILTER_OPTIONS = {
  all: { type: 'boolean' },
  since: { type: 'string' },
  'max-size': { type: 'string' },
  source: { type: 'string', multiple: true },
} satisfies OptionSpec;

export interface Filter {
  /** also submissions already pulled (status downloaded) */
  all: boolean;
  since?: string;
  maxSize?: number;
  /** empty: every source */
  sources: string[];
}

export interface Listed {
  id: string;
  handle: string;
  size: number;
  day: string;
  status: 'received' | 'downloaded';
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const SIZE = /^([1-9][0-9]{0,12})([kmg]?)$/i;
const PAGE = 1000;

/** The filter options as given, checked; `given` says whether any was. */
export function filterFrom(command: string, parsed: ParsedArgs): { filter: Filter; given: boolean } {
  const since = stringOption(parsed, 'since');
  if (since !== undefined && !(DAY.test(since) && new Date(`${since}T00:00:00Z`).toISOString().startsWith(since))) {
    throw usageError(`${command}: --since wants a day as YYYY-MM-DD, got ${JSON.stringify(since)}`, 'days are UTC, as the list shows them: --since 2026-11-27');
  }
  const sizeText = stringOption(parsed, 'max-size');
  let maxSize: number | undefined;
  if (sizeText !== undefined) {
    const match = SIZE.exec(sizeText);
    if (match) maxSize = Number(match[1]) * 1024 ** ' kmg'.indexOf((match[2] || ' ').toLowerCase());
    if (maxSize === undefined || !Number.isSafeInteger(maxSize)) {
      throw usageError(`${command}: --max-size wants a size in bytes, got ${JSON.stringify(sizeText)}`, 'a whole number, optionally with k, M or G (1024-based): --max-size 10M');
    }
  }
  const sources = stringOptions(parsed, 'source');
  for (const handle of sources) {
    if (!isValidHandle(handle)) {
      throw usageError(`${command}: ${JSON.stringify(handle)} is not a source handle`, 'handles look like quiet-otter, as the list and the decrypt summary show them');
    }
  }
  if (new Set(sources).size !== sources.length) throw usageError(`${command}: the same --source is given twice`);
  const all = booleanOption(parsed, 'all');
  const filter: Filter = { all, sources, ...(since === undefined ? {} : { since }), ...(maxSize === undefined ? {} : { maxSize }) };
  return { filter, given: all || since !== undefined || maxSize !== undefined || sources.length > 0 };
}

/** Submission ids as given on the command line: whole, lower-case, each once. */
export function idsFrom(command: string, positionals: string[]): string[] {
  for (const id of positionals) {
    if (!ID.test(id)) {
      throw usageError(`${command}: ${JSON.stringify(id)} is not a submission id`, 'give the whole id, as "sealdrop list" shows it in its first column');
    }
  }
  if (new Set(positionals).size !== positionals.length) throw usageError(`${command}: the same submission id is given twice`);
  return positionals;
}

/**
 * Every submission the filter matches, oldest first, read a page at a time; stops once more than
 * `max` are found (then `more` is true and `submissions` holds the first `max`). `pageSize` is the
 * list's `limit` (the server's largest; tests take smaller pages).
 */
export async function listMatching(
  endpoint: EditorEndpoint,
  filter: Filter,
  max = Infinity,
  pageSize = PAGE,
): Promise<{ submissions: Listed[]; more: boolean }> {
  const found: Listed[] = [];
  for (const source of filter.sources.length > 0 ? filter.sources : [undefined]) {
    if (found.length > max) break;
    let after: string | null = null;
    do {
      const query = new URLSearchParams({ status: filter.all ? 'all' : 'received', limit: String(pageSize) });
      if (filter.since) query.set('since', filter.since);
      if (filter.maxSize) query.set('max_size', String(filter.maxSize));
      if (source) query.set('source', source);
      if (after) query.set('after', after);
      const page: { submissions: Listed[]; next: string | null } = await editorJson(endpoint, { method: 'GET', path: `/editor/v1/submissions?${query}` });
      if (!Array.isArray(page.submissions) || !page.submissions.every(isListed)) {
        throw new CliError('the server sent a submission list this sealdrop does not understand', { hint: 'is --server the editor listener of a current Sealdrop?' });
      }
      found.push(...page.submissions);
      after = typeof page.next === 'string' ? page.next : null;
    } while (after && found.length <= max);
  }
  found.sort((a, b) => (a.day === b.day ? (a.id < b.id ? -1 : 1) : a.day < b.day ? -1 : 1));
  return { submissions: found.slice(0, max), more: found.length > max };
}

// The list's values reach the terminal and the bundle request: held to the shapes bundles are.
function isListed(value: unknown): value is Listed {
  const item = value as Partial<Listed> | null;
  return (
    typeof item === 'object' &&
    item !== null &&
    typeof item.id === 'string' &&
    ID.test(item.id) &&
    isValidHandle(item.handle) &&
    typeof item.day === 'string' &&
    DAY.test(item.day) &&
    Number.isSafeInteger(item.size) &&
    (item.size ?? 0) > 0 &&
    (item.status === 'received' || item.status === 'downloaded')
  );
}
