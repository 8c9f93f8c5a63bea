/**
 * Attack 9g, right code and time for a new source (no source row yet: her codename's day is the
 * uploads pending under her lookup hash) and for a small open (at most reserveSmallMax: no
 * source_unsent check) beside a large noted unsent: busy while only her uploads in progress stand
 * in the way, and the retry first opens no later than the told minute, at most 3 minutes before.
 */
import { sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { dayOf } from '../../../server/clock.ts';
import { hex, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sourceIdOf, sweepMinutes, type SourceKeys } from '../_busy.ts';

const env = useEnv();

async function oracle(app: Hono, start: string, o: { lookupId: string; size: number; sourceKeys?: SourceKeys }, from: number, name: string) {
  const busy = await open(app, o);
  console.log(`${name}: ${busy.status} ${busy.code} told ${busy.body.retryAfterSeconds ?? '-'} s`);
  expect(`${busy.status} ${busy.code}`).toBe('429 source_busy');
  const told = Math.ceil((env.now.getTime() + (busy.body.retryAfterSeconds as number) * 1000 - Date.parse(start)) / 60_000);
  let opened = -1;
  for (let m = from + 1; m <= told + 200 && opened < 0; m++) {
    await sweepMinutes(env, start, m - 1, m - 1);
    env.now = at(start, m);
    if ((await open(app, o)).code === 'created') opened = m;
  }
  console.log(`${name}: told minute ${told}, the retry first opens in minute ${opened}`);
  expect(opened).toBeGreaterThan(0);
  expect(opened, 'told early').toBeLessThanOrEqual(told);
  expect(told - opened, 'told late').toBeLessThanOrEqual(3);
}

describe('attack 9g: new sources and small opens', () => {
  it('a new source whose first upload died', async () => {
    const start = '2026-11-06T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 100 * MiB });
    const lookupId = hex();
    const first = await open(app, { lookupId, size: 64 * MiB, sourceKeys: env.sourceKeys });
    expect(first.code).toBe('created');
    await sendChunks(app, first.body.uploadId, 0, 3);
    await sweepMinutes(env, start, 0, 5);
    env.now = new Date(at(start, 5).getTime() + 40_000);
    await oracle(app, start, { lookupId, size: 64 * MiB, sourceKeys: env.sourceKeys }, 5, 'new source');
  }, 120_000);

  it('a small open beside a day of noted unsent bytes (and a large one: source_quota)', async () => {
    const start = '2026-11-07T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 16 * MiB });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    await env.database.db.execute(sql`insert into swept_unsent (source_id, day, bytes) values (${await sourceIdOf(env)}::uuid, ${dayOf(env.now)}::date, ${25 * MiB})`);
    const first = await open(app, { lookupId, size: 14 * MiB, chunkSize: MiB });
    expect(first.code).toBe('created');
    await sendChunks(app, first.body.uploadId, 0, 8, MiB);
    await sweepMinutes(env, start, 0, 5);
    env.now = new Date(at(start, 5).getTime() + 40_000);
    // a large one (5 MiB) would pass source_unsent whatever the sweep does (25 + 6 - 5 > 16): source_quota
    const large = await open(app, { lookupId, size: 5 * MiB, chunkSize: MiB });
    console.log(`large open beside it: ${large.status} ${large.code}`);
    expect(`${large.status} ${large.code}`).toBe('429 source_quota');
    await oracle(app, start, { lookupId, size: 4 * MiB }, 5, 'small open');
  }, 120_000);
});
