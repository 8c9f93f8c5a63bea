/**
 * Attack 9g, wrong code from the margin: busy-uploads.ts walks her uploads soonest first and
 * stops at the first after which the open fits, adding to `unsent` only what those would note.
 * But it tells the end of the minute after that deadline, and the sweep meanwhile deletes every
 * one of her uploads due by then, noting what each did not send (swept_unsent). An upload due one
 * minute after the needed one (opened a minute later) is deleted before the told minute, and its
 * unsent bytes can tip source_unsent: at the told minute the retry is refused `source_unsent`.
 * Quota 128 MiB, 120 MiB already noted unsent today; A (64 MiB) and B (32 MiB) each sent 8 MiB,
 * B opened a minute after A; the retry of 64 MiB needs A gone (day), and with A alone noted fits
 * source_unsent (120 + 56 - 64 = 112), with B too not (136). Asserts the honest outcome: the
 * answer is source_quota, or the retry opens at the told minute.
 * Suggested fix: after the needed upload, also take every upload whose deadline is at most the told
 * minute (deadline + 1) into `unsent` before checking fits(); if it then fails, go on (or
 * source_quota), as the sweep will have deleted them too.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { dayOf } from '../../../server/clock.ts';
import { rowsOf } from '../../../server/db/open.ts';
import { hex, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sourceIdOf, sweepMinutes } from '../_busy.ts';

const env = useEnv();

describe('attack 9g: uploads the sweep deletes within the told margin', () => {
  it('their unsent bytes are counted before telling a time', async () => {
    const start = '2026-11-02T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 128 * MiB });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const sourceId = await sourceIdOf(env);
    await env.database.db.execute(sql`insert into swept_unsent (source_id, day, bytes) values (${sourceId}::uuid, ${dayOf(env.now)}::date, ${120 * MiB})`);
    const a = await open(app, { lookupId, size: 64 * MiB });
    expect(a.code).toBe('created');
    await sendChunks(app, a.body.uploadId, 0, 2);
    env.now = at(start, 1);
    const b = await open(app, { lookupId, size: 32 * MiB });
    expect(b.code).toBe('created');
    await sendChunks(app, b.body.uploadId, 0, 2);
    await sweepMinutes(env, start, 1, 10);
    env.now = new Date(at(start, 10).getTime() + 40_000);
    const busy = await open(app, { lookupId, size: 64 * MiB });
    console.log(`unsent margin: the retry at 10:40 answers ${busy.status} ${busy.code} told ${busy.body.retryAfterSeconds ?? '-'} s`);
    if (busy.code === 'source_quota') return;
    expect(busy.code).toBe('source_busy');
    const told = Math.ceil((env.now.getTime() + (busy.body.retryAfterSeconds as number) * 1000 - Date.parse(start)) / 60_000);
    await sweepMinutes(env, start, 11, told - 1);
    env.now = at(start, told);
    const [noted] = rowsOf<{ bytes: string }>(await env.database.db.execute(sql`select bytes from swept_unsent`));
    const retry = await open(app, { lookupId, size: 64 * MiB });
    console.log(`unsent margin: at the told minute ${told} the retry answers ${retry.status} ${retry.code} (swept_unsent ${JSON.stringify(noted ?? null)})`);
    expect(`${retry.status} ${retry.code}`).toBe('201 created');
  }, 120_000);
});
