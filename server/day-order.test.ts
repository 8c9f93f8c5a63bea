/**
 * Arrival order within a day (migration 0007, issue 14): tips numbered as they complete, listed,
 * bundled and looked up in that order, not by their random ids; the forget pass renumbers a day
 * 1..n so that a deleted tip leaves no gap, keeping the order.
 */
import { asc, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteTables } from './db/forget.ts';
import { rowsOf } from './db/open.ts';
import { submissions } from './db/schema.ts';
import { planBundle } from './editor/ciphertext.ts';
import { lookUp, startServer, submitTip, type RunningServer, type SubmittedTip } from './editor/test-server.ts';

let server: RunningServer;
const tips: SubmittedTip[] = [];
beforeAll(async () => {
  server = await startServer();
  // two sources, taking turns: first, second, first, second, …
  for (let i = 0; i < 6; i++) {
    const returning = i >= 2 ? tips[i - 2]!.codename : undefined;
    tips.push(await submitTip(server.sourceUrl, { message: `tip ${i}`, ...(returning ? { codename: returning } : {}) }));
  }
});
afterAll(async () => {
  await server?.close();
});

const ids = () => tips.map((tip) => tip.submissionId);
const seqs = async () => {
  const rows = await server.database.db.select({ id: submissions.id, seq: submissions.daySeq }).from(submissions).where(inArray(submissions.id, ids()));
  const byId = new Map(rows.map((row) => [row.id, row.seq]));
  return ids().map((id) => byId.get(id));
};
const listed = async (query = '') => {
  const response = await fetch(`${server.editorUrl}/editor/v1/submissions?status=all${query}`, { headers: { authorization: `Bearer ${server.token}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as { submissions: { id: string }[]; next: string | null };
};

// By random id, six tips come out in the order sent once in 720 runs: these tests can fail.
describe('arrival order within a day', () => {
  it('numbers each completed tip 1, 2, 3 … of its day', async () => {
    const numbers = await seqs();
    const first = numbers[0]!;
    expect(numbers).toEqual(numbers.map((_, i) => first + i));
  });

  it('the editor list, page by page, the bundle and the source\'s lookup follow it', async () => {
    expect((await listed()).submissions.map((s) => s.id)).toEqual(ids());
    const paged: string[] = [];
    let query = '&limit=1';
    for (let i = 0; i < 10; i++) {
      const page = await listed(query);
      paged.push(...page.submissions.map((s) => s.id));
      if (!page.next) break;
      expect(page.next).toMatch(/^\d{4}-\d{2}-\d{2}_[1-9]\d*_[0-9a-f-]{36}$/);
      query = `&limit=1&after=${page.next}`;
    }
    expect(paged).toEqual(ids());
    const plan = await planBundle(server.database.db);
    expect(plan.manifest.submissions.map((s) => s.id)).toEqual(ids());
    const first = await lookUp(server.sourceUrl, tips[0]!.lookupId);
    expect(first.submissions.map((s) => s.id)).toEqual([tips[0], tips[2], tips[4]].map((tip) => tip!.submissionId));
  });

  it('after a tip is deleted, the forget pass renumbers the day 1..n in the same order: no gap tells it was there', async () => {
    await server.database.db.delete(submissions).where(eq(submissions.id, tips[2]!.submissionId));
    const left = ids().filter((id) => id !== tips[2]!.submissionId);
    const before = await server.database.db.select({ seq: submissions.daySeq }).from(submissions).where(inArray(submissions.id, left));
    expect(before.map((row) => row.seq).sort((a, b) => a! - b!)).toEqual([1, 2, 4, 5, 6]);
    await rewriteTables(server.database.db, { chunks: false });
    const after = await server.database.db
      .select({ id: submissions.id, seq: submissions.daySeq })
      .from(submissions)
      .where(inArray(submissions.id, left))
      .orderBy(asc(submissions.daySeq));
    expect(after).toEqual(left.map((id, i) => ({ id, seq: i + 1 })));
    expect((await listed()).submissions.map((s) => s.id)).toEqual(left);
    // an upload in progress has no number, and the renumbering gives it none
    const [uploading] = rowsOf<{ n: number }>(await server.database.db.execute(sql`select count(*)::int as n from submissions where status = 'uploading' and day_seq is not null`));
    expect(uploading!.n).toBe(0);
  });
});
