/**
 * Issue 9, the honest retry (migrations/0021_source_busy.sql, server/source/busy-uploads.ts): a
 * source whose large upload died after its proof (promoted: its whole size in her day until the
 * sweep takes it) and who tries again at once was told 429 source_quota "try again tomorrow",
 * though the same retry opened minutes later. Now she is told 429 source_busy with the time the
 * sweep takes the dead try, and that time is the sweep's: one minute before it the dead upload is
 * still there, at it the retry opens. A refusal the day itself makes stays source_quota, an upload
 * that still moves keeps its place, and nothing a refusal answers is stored.
 */
import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../../server/db/open.ts';
import { ciphertextFor } from '../../server/source/open.test-helpers.ts';
import { purgeExpired } from '../../server/source/purge.ts';
import { sha256Hex } from '../../server/test-helpers.ts';
import { at, fresh, open, returningSource, sendChunks } from './_busy.ts';
import { GiB, hex, MiB, putChunkRaw, statusOf } from './_harness.ts';
import { useEnv } from './_setup.ts';

const env = useEnv();
async function counts() {
  const [row] = rowsOf<{ submissions: number; pow: number; chunks: number }>(
    await env.database.db.execute(sql`select (select count(*) from submissions)::int as submissions,
      (select count(*) from spent_pow)::int as pow, (select count(*) from chunks)::int as chunks`),
  );
  return row!;
}

/** Two random 4 MiB chunks: a 2 GiB upload's proof (promoted), then its circuit dies. */
const sendProof = (app: Hono, uploadId: string) => sendChunks(app, uploadId, 0, 2);

describe('429 source_busy: her own dead try holds her day, and the answer says until when', () => {
  it('tells a returning source the minute the sweep takes her dead 2 GiB try, and her retry opens then', async () => {
    const start = '2026-10-04T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const first = await open(app, { lookupId, size: 2 * GiB });
    expect(first.code).toBe('created');
    await sendProof(app, first.body.uploadId);
    env.now = at(start, 3);
    const before = await counts();
    const retry = await open(app, { lookupId, size: 2 * GiB });
    expect(`${retry.status} ${retry.code}`).toBe('429 source_busy');
    expect(retry.body.message).not.toMatch(/tomorrow/);
    const seconds = retry.body.retryAfterSeconds as number;
    expect(Number.isSafeInteger(seconds)).toBe(true);
    expect(retry.retryAfter).toBe(String(seconds));
    // the sweep's own rule at the defaults: lease 10 minutes + 8 MiB at 2 GiB's pace to the purge
    // (9 minutes): gone in minute 19; told minute 21 (the end of minute 19, and one more for a
    // sweep a long purge delayed)
    expect(seconds).toBe(18 * 60);
    expect(await counts()).toEqual(before);
    // the sweep, minute by minute: the dead try stands until minute 18, and goes in minute 19
    const told = 3 + seconds / 60;
    for (let m = 4; m < told; m++) {
      env.now = at(start, m);
      await purgeExpired(env.database.db, () => env.now, 6, 10);
      expect(await statusOf(app, first.body.uploadId), `minute ${m}`).toBe(m < 19 ? 200 : 404);
    }
    env.now = at(start, told);
    const later = await open(app, { lookupId, size: 2 * GiB });
    expect(later.code).toBe('created');
  });

  it('refuses a promotion her other upload alone keeps out as source_busy, the refused upload deleted', async () => {
    const start = '2026-10-05T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    // two tabs, both opened as probes (64 KiB each in her day)
    const a = await open(app, { lookupId, size: 2 * GiB });
    const b = await open(app, { lookupId, size: 2 * GiB });
    expect([a.code, b.code]).toEqual(['created', 'created']);
    await sendProof(app, a.body.uploadId);
    env.now = at(start, 1);
    expect((await putChunkRaw(app, b.body.uploadId, 0, new Uint8Array(randomBytes(4 * MiB)))).status).toBe(200);
    const res = await app.request(`/api/v1/uploads/${b.body.uploadId}/chunks/1`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: new Uint8Array(randomBytes(4 * MiB)),
    });
    const body = (await res.json()) as Record<string, any>;
    expect(`${res.status} ${body.error}`).toBe('429 source_busy');
    expect(res.headers.get('retry-after')).toBe(String(body.retryAfterSeconds));
    // a's time: opened at minute 0 with 8 MiB, as above (gone in minute 19), told from minute 1
    expect(body.retryAfterSeconds).toBe(20 * 60);
    expect(await statusOf(app, b.body.uploadId)).toBe(404);
    expect(await statusOf(app, a.body.uploadId)).toBe(200);
  });

  it('tells a new source too: its codename\'s uploads are the ones pending under its lookup hash', async () => {
    const start = '2026-10-06T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const lookupId = hex();
    const a = await open(app, { lookupId, size: 2 * GiB, sourceKeys: env.sourceKeys });
    expect(a.code).toBe('created');
    await sendProof(app, a.body.uploadId);
    env.now = at(start, 1);
    const b = await open(app, { lookupId, size: 2 * GiB, sourceKeys: env.sourceKeys });
    expect(b.code).toBe('created');
    await sendProof(app, b.body.uploadId);
    env.now = at(start, 2);
    const c = await open(app, { lookupId, size: 2 * GiB, sourceKeys: env.sourceKeys });
    expect(`${c.status} ${c.code}`).toBe('429 source_busy');
    // the sooner of the two is enough: a's, gone in minute 19 (lease 10 + 9), told from minute 2
    expect(c.body.retryAfterSeconds).toBe(19 * 60);
  });

  it('keeps the day\'s own refusal: what she sent fills it, source_quota, whatever is in progress', async () => {
    const start = '2026-10-07T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 16 * MiB });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const big = await ciphertextFor(env.newsroomKey, 12 * MiB);
    const sent = await open(app, { lookupId, size: big.length, chunkSize: 4 * MiB, sha256: sha256Hex(big) });
    expect(sent.code).toBe('created');
    let last: Record<string, any> = {};
    for (let i = 0; i * 4 * MiB < big.length; i++) last = (await putChunkRaw(app, sent.body.uploadId, i, big.subarray(i * 4 * MiB, (i + 1) * 4 * MiB))).body;
    expect(last.complete).toBe(true);
    const probe = await open(app, { lookupId, size: 2 * MiB, chunkSize: 1 * MiB });
    expect(probe.code).toBe('created');
    // 12 MiB received + 2 KB + this 8 MiB pass 16 MiB even without the probe in progress
    const retry = await open(app, { lookupId, size: 8 * MiB });
    expect(`${retry.status} ${retry.code}`).toBe('429 source_quota');
    expect(retry.body.retryAfterSeconds).toBeUndefined();
    expect(retry.retryAfter).toBeNull();
  });

  it('refuses truly, and keeps the other upload, while it still moves; once it completes the day is spent: source_quota', async () => {
    const start = '2026-10-08T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 32 * MiB });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const file = await ciphertextFor(env.newsroomKey, 20 * MiB);
    const first = await open(app, { lookupId, size: file.length, sha256: sha256Hex(file) });
    const chunk = (i: number) => file.subarray(i * 4 * MiB, (i + 1) * 4 * MiB);
    const chunks = Math.ceil(file.length / (4 * MiB));
    for (let i = 0; i < 3; i++) expect((await putChunkRaw(app, first.body.uploadId, i, chunk(i))).status).toBe(200);
    const busy = await open(app, { lookupId, size: 20 * MiB });
    expect(`${busy.status} ${busy.code}`).toBe('429 source_busy');
    expect(await statusOf(app, first.body.uploadId)).toBe(200);
    let last: Record<string, any> = {};
    for (let i = 3; i < chunks; i++) last = (await putChunkRaw(app, first.body.uploadId, i, chunk(i))).body;
    expect(last.complete).toBe(true);
    const spent = await open(app, { lookupId, size: 20 * MiB });
    expect(`${spent.status} ${spent.code}`).toBe('429 source_quota');
  });

  it('answers source_quota, not source_busy, when the retry would meet source_unsent once the sweep took her tries', async () => {
    const start = '2026-10-09T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const [source] = rowsOf<{ id: string }>(await env.database.db.execute(sql`select id from sources`));
    // three dead 2 GiB tries already swept today (6 GiB unsent, less 16 MiB), then a fourth promoted and dead
    await env.database.db.execute(sql`insert into swept_unsent (source_id, day, bytes) values (${source!.id}::uuid, ${'2026-10-09'}::date, ${6 * GiB - 16 * MiB}::bigint)`);
    const fourth = await open(app, { lookupId, size: 2 * GiB });
    expect(fourth.code).toBe('created');
    await sendProof(app, fourth.body.uploadId);
    // swept, the fourth would note 2 GiB - 8 MiB unsent: 8 GiB - 24 MiB, less the retry's 2 GiB, passes 4 GiB
    const retry = await open(app, { lookupId, size: 2 * GiB });
    expect(`${retry.status} ${retry.code}`).toBe('429 source_quota');
  });

  it('tells the end of the UTC day when it comes first: a new day counts none of her uploads', async () => {
    const start = '2026-10-10T23:50:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const first = await open(app, { lookupId, size: 2 * GiB });
    await sendProof(app, first.body.uploadId);
    env.now = at(start, 1);
    const retry = await open(app, { lookupId, size: 2 * GiB });
    expect(`${retry.status} ${retry.code}`).toBe('429 source_busy');
    expect(retry.body.retryAfterSeconds).toBe(9 * 60);
    env.now = at(start, 10);
    expect((await open(app, { lookupId, size: 2 * GiB })).code).toBe('created');
  });
});
