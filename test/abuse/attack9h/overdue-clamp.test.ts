/**
 * Attack 9h, wrong code when the sweep is late (found by told-oracle.test.ts): busy-uploads.ts
 * tries each deadline's minute `at` (deadline + 2, then + 1), counting as noted unsent only the
 * uploads due by `at`, and then tells max(60, at - now). When the sweep has fallen behind (a purge
 * that ran long, the database slow, a process restarted: the code itself allows for a delayed
 * sweep), `at` is already past: the answer is clamped to 60 s, but her try then lands after the
 * next sweep, which deletes every overdue upload at once, *including those due after `at`*, and
 * notes all their unsent bytes. Her day: quota 72 MiB, 40 MiB already noted unsent today; A and B
 * (32 MiB each, promoted by their first 4 MiB chunk; reserveProof 4 MiB, pace 20 000 B/s) due in
 * minutes 13 and 15. The sweeps of minutes 13 and 14 do not run (late); at 15:10 she opens 16 MiB:
 * 429 source_busy, "about 1 min" (the walk tries minute 14: A gone, only A noted, 40 + 28 - 16 fits).
 * The late sweep at 15:30 deletes both (40 + 56 = 96 MiB noted): at the told time the retry is
 * 429 source_unsent, and stays so all day. Asserts the honest outcome: not source_busy (the
 * estimate's own rule for unsent that passes the day is source_quota), or the retry opens then.
 * Suggested fix: in fitsAt take the minute the try really lands in, m = tickOf(max(at * 1 min,
 * now + 60 s)) (what told() clamps to), and count gone = due by m - 1, noted = due by m.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { dayOf } from '../../../server/clock.ts';
import { rowsOf } from '../../../server/db/open.ts';
import { hex, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sourceIdOf, sweepMinutes } from '../_busy.ts';

const env = useEnv();
const rule = { pace: 20_000 };

describe('attack 9h: a late sweep and the 60 s clamp', () => {
  it('overdue uploads all count as noted before a time is told', async () => {
    const start = '2026-11-04T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 72 * MiB, reserveProof: 4 * MiB, uploadPace: rule.pace });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const sourceId = await sourceIdOf(env);
    await env.database.db.execute(sql`insert into swept_unsent (source_id, day, bytes) values (${sourceId}::uuid, ${dayOf(env.now)}::date, ${40 * MiB})`);
    const a = await open(app, { lookupId, size: 32 * MiB });
    expect(a.code).toBe('created');
    await sendChunks(app, a.body.uploadId, 0, 1);
    await sweepMinutes(env, start, 0, 1, rule);
    env.now = at(start, 2);
    const b = await open(app, { lookupId, size: 32 * MiB });
    expect(b.code).toBe('created');
    await sendChunks(app, b.body.uploadId, 0, 1);
    // on time through minute 12; the sweeps of minutes 13 and 14 are late
    await sweepMinutes(env, start, 2, 12, rule);
    const deadlines = rowsOf<{ first_tick: number; flowed: string }>(await env.database.db.execute(sql`select first_tick, flowed from upload_progress order by first_tick`));
    env.now = new Date(at(start, 15).getTime() + 10_000);
    const busy = await open(app, { lookupId, size: 16 * MiB });
    console.log(`overdue clamp: progress ${JSON.stringify(deadlines)}; at 15:10 the open answers ${busy.status} ${busy.code} told ${busy.body.retryAfterSeconds ?? '-'} s`);
    if (busy.code !== 'source_busy') {
      expect(busy.code).toBe('source_quota');
      return;
    }
    const toldAt = env.now.getTime() + (busy.body.retryAfterSeconds as number) * 1000;
    // the late sweep runs in minute 15, then on time
    await sweepMinutes(env, start, 15, Math.floor((toldAt - Date.parse(start)) / 60_000) - 1, rule);
    env.now = new Date(toldAt);
    const [noted] = rowsOf<{ bytes: string }>(await env.database.db.execute(sql`select bytes from swept_unsent`));
    const retry = await open(app, { lookupId, size: 16 * MiB });
    console.log(`overdue clamp: at the told time the retry answers ${retry.status} ${retry.code} (swept_unsent ${Number(noted?.bytes ?? 0) / MiB} MiB)`);
    expect(`${retry.status} ${retry.code}`).toBe('201 created');
  }, 120_000);
});
