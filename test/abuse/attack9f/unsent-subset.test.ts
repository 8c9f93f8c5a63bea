/**
 * Attack 9f, source_quota where source_busy is true: sealdrop_day_refusal (0021) asks that her
 * unsent bytes stay within the day "if each were swept having sent nothing" for ALL her uploads in
 * progress (p_unsent + p_busy - p_size), though the told time (busy-uploads.ts) needs only the
 * soonest of them to go, and each swept upload notes its held bytes less what it stored. With
 * 100 MiB already swept unsent today (earlier dead tries), three 32 MiB uploads in progress
 * (8 MiB each sent) and a 40 MiB open on a 128 MiB day: the first one's sweep alone makes room
 * (day 2 KB + 64 + 40 MiB, unsent 100 + 24 - 40 = 84 MiB), and the retry opens then; but she is
 * told 429 source_quota, "try again tomorrow". Asserts the honest outcome: source_busy, with a
 * time at which the retry opens.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { hex, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sourceIdOf, sweepMinutes } from '../_busy.ts';

const env = useEnv();

describe('attack 9f: the unsent check of the busy split counts every upload in progress as swept', () => {
  it('answers source_busy (not "tomorrow") when the sweep of the first of three makes room', async () => {
    const start = '2026-10-11T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 128 * MiB });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    await env.database.db.execute(
      sql`insert into swept_unsent (source_id, day, bytes) values (${await sourceIdOf(env)}::uuid, ${'2026-10-11'}::date, ${100 * MiB}::bigint)`,
    );
    const ids: string[] = [];
    for (let m = 0; m < 3; m++) {
      env.now = at(start, m);
      const o = await open(app, { lookupId, size: 32 * MiB });
      expect(o.code).toBe('created');
      await sendChunks(app, o.body.uploadId, 0, 2);
      ids.push(o.body.uploadId);
    }
    env.now = at(start, 3);
    const first = await open(app, { lookupId, size: 40 * MiB });
    console.log(`unsent subset: at minute 3 ${first.status} ${first.code} ${first.body.retryAfterSeconds ?? ''}`);
    // when does the same retry really open? the sweep minute by minute, nothing moving
    let opened = -1;
    for (let m = 4; m <= 200 && opened < 0; m++) {
      await sweepMinutes(env, start, m - 1, m - 1);
      env.now = at(start, m);
      const retry = await open(app, { lookupId, size: 40 * MiB });
      if (retry.code === 'created') opened = m;
    }
    console.log(`unsent subset: the retry opens at minute ${opened}`);
    expect(opened).toBeGreaterThan(0);
    expect(`${first.status} ${first.code}`).toBe('429 source_busy');
    expect(3 + (first.body.retryAfterSeconds as number) / 60).toBeLessThanOrEqual(opened + 1);
  });
});
