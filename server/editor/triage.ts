/**
 * @module server/editor/triage — what editors decide before (or instead of) downloading: the
 * submission list with its filters and pages, and marking a source spam. Days only, like
 * everything stored: a filter names a day, a page cursor names a day and an id, nothing finer.
 */
import { and, asc, eq, gte, inArray, lte, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/open.ts';
import { sources, submissions } from '../db/schema.ts';
import { refuse } from '../source/errors.ts';
import { sourceInDesks } from './ciphertext.ts';

export const EDITOR_STATUSES = ['received', 'downloaded'] as const;
export type EditorStatus = (typeof EDITOR_STATUSES)[number];

/** One page of the list holds at most this many submissions (and 100 when `limit` is not given). */
export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_LIST_LIMIT = 100;

/** What `randomHandle` makes: two words, and a number after many collisions (the CLI holds bundles to the same). */
export const HANDLE = /^[a-z0-9]+(?:-[a-z0-9]+){0,3}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// year 0001 on: PostgreSQL has no year 0, and 0000-01-01 reached it as a 500
const DAY = /^(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export const isHandle = (text: string): boolean => text.length <= 64 && HANDLE.test(text);

// a real calendar day (no 2026-02-30); checked in one step, since a refinement runs even after a failed regex
const isDay = (text: string) => DAY.test(text) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text);
const day = z.string().refine(isDay);
const positive = (max: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/)
    .transform(Number)
    .pipe(z.number().int().max(max));

const listQuery = z.strictObject({
  status: z.enum(['received', 'downloaded', 'all']).default('received'),
  since: day.optional(),
  max_size: positive(Number.MAX_SAFE_INTEGER).optional(),
  source: z.string().max(64).regex(HANDLE).optional(),
  limit: positive(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT),
  // the last item of the previous page: its day, its place in the day (day_seq) and its id
  after: z
    .string()
    .refine((text) => CURSOR.test(text) && isDay(text.slice(0, 10)) && UUID.test(text.slice(-36)))
    .optional(),
});

export type ListFilter = z.output<typeof listQuery>;

/**
 * The list's query string, strictly: known parameters only, each at most once. A bad `status`
 * keeps its old code (`bad_status`); anything else is `bad_query`, naming the parameters.
 */
export function parseListQuery(queries: Record<string, string[]>): ListFilter {
  const repeated = Object.entries(queries).filter(([, values]) => values.length !== 1).map(([name]) => name);
  if (repeated.length > 0) refuse(400, 'bad_query', `Give each parameter once: ${repeated.join(', ')}.`);
  const flat = Object.fromEntries(Object.entries(queries).map(([name, values]) => [name, values[0]]));
  const result = listQuery.safeParse(flat);
  if (result.success) return result.data;
  const names = [
    ...new Set(result.error.issues.map((issue) => (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : String(issue.path[0] ?? '?')))),
  ];
  if (names.includes('status')) refuse(400, 'bad_status', 'status must be received, downloaded or all.');
  return refuse(
    400,
    'bad_query',
    `Invalid query: ${names.join(', ')} (status, since=YYYY-MM-DD, max_size=BYTES, source=HANDLE, limit=1..${MAX_LIST_LIMIT}, after=CURSOR).`,
  );
}

export interface ListedSubmission {
  id: string;
  handle: string;
  size: number;
  day: string;
  status: EditorStatus;
  /** the desk it was sent to (server/desks.ts) */
  desk: string;
}

/** `YYYY-MM-DD_SEQ_UUID`: the day, the place within it, the id. */
const CURSOR = /^\d{4}-\d{2}-\d{2}_(0|[1-9]\d{0,8})_[0-9a-f-]{36}$/;

/** One page, oldest first (by day, then arrival within the day, then id); `next` is the cursor of the following page, or null. */
export async function listSubmissions(
  db: Db,
  filter: ListFilter,
  desks: string[] | null = null,
): Promise<{ submissions: ListedSubmission[]; next: string | null }> {
  const statuses: EditorStatus[] = filter.status === 'all' ? [...EDITOR_STATUSES] : [filter.status];
  // received_day is set for every received or downloaded submission (the completion sets it)
  const conditions: SQL[] = [inArray(submissions.status, statuses)];
  // a token scoped to desks lists only theirs (null: every desk)
  if (desks !== null) conditions.push(inArray(submissions.desk, desks));
  if (filter.since) conditions.push(gte(submissions.receivedDay, filter.since));
  if (filter.max_size) conditions.push(lte(submissions.size, filter.max_size));
  if (filter.source) conditions.push(eq(sources.handle, filter.source));
  if (filter.after) {
    const [afterDay, afterSeq, afterId] = [filter.after.slice(0, 10), Number(filter.after.slice(11, -37)), filter.after.slice(-36)];
    // keyset pagination over (day, day_seq, id); day_seq is set at completion (0 stands in for a
    // row written without one, as a test's fixture may)
    conditions.push(sql`(${submissions.receivedDay}, coalesce(${submissions.daySeq}, 0), ${submissions.id}) > (${afterDay}::date, ${afterSeq}::int, ${afterId}::uuid)`);
  }
  const rows = await db
    .select({ id: submissions.id, handle: sources.handle, size: submissions.size, day: submissions.receivedDay, seq: submissions.daySeq, status: submissions.status, desk: submissions.desk })
    .from(submissions)
    .innerJoin(sources, eq(submissions.sourceId, sources.id))
    .where(and(...conditions))
    .orderBy(asc(submissions.receivedDay), sql`coalesce(${submissions.daySeq}, 0)`, asc(submissions.id))
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit).map((row) => ({
    id: row.id,
    handle: row.handle,
    size: row.size,
    day: row.day ?? '',
    status: row.status as EditorStatus,
    desk: row.desk,
  }));
  const last = rows[filter.limit - 1];
  return { submissions: page, next: rows.length > filter.limit && last ? `${last.day}_${last.seq ?? 0}_${last.id}` : null };
}

/**
 * Marks a source spam (or lifts the mark). Marking drops, in the same transaction, every
 * submission of the source the newsroom has not pulled (`received`) and every upload in progress
 * (`uploading`), with their chunks; what was already pulled and the replies stay, under the usual
 * retention. From then on the database refuses any new upload for the source (the trigger of
 * migrations/0003_spam.sql). Returns null when there is no such source.
 */
export async function setSpam(db: Db, handle: string, spam: boolean, desks: string[] | null = null): Promise<{ dropped: number } | null> {
  return db.transaction(async (tx) => {
    // a token scoped to desks marks only a source within them (sourceInDesks), and drops only
    // their submissions; the mark itself is the source's, at every desk (docs/OPERATIONS.md, "Desks")
    const [source] = await tx
      .update(sources)
      .set({ spam })
      .where(and(eq(sources.handle, handle), sourceInDesks(desks)))
      .returning({ id: sources.id });
    if (!source) return null;
    if (!spam) return { dropped: 0 };
    const dropped = await tx
      .delete(submissions)
      .where(and(
        eq(submissions.sourceId, source.id),
        inArray(submissions.status, ['received', 'uploading']),
        desks === null ? undefined : inArray(submissions.desk, desks),
      ))
      .returning({ id: submissions.id });
    return { dropped: dropped.length };
  });
}
