/**
 * Attack 9g, wrong code from a sweep between the estimate's reads: secondsUntilSwept reads the
 * codename's uploads of the day (one statement), then their deadlines (a second one, `waiting`:
 * only those still 'uploading'). An upload the sweep (another process's, on another connection)
 * deletes between the two is in `rows` (its bytes in dayBytes) but not in `waiting`, so it is
 * never taken out: with no other upload in progress the answer is undefined and the refusal goes
 * out as 429 source_quota, "try again tomorrow" (the original bug), though the retry opens now.
 * "Should they all have gone meanwhile, the answer is a minute" holds only for a sweep before the
 * first read. Simulated deterministically: the `unreported` callback (read between the two
 * statements) deletes the upload as the sweep would. The real window is the time between the two
 * statements (a round trip); the sweep runs in every minute, and is due exactly when she retries
 * at the told minute. Asserts the honest outcome: a time, not undefined (the delete here is not
 * awaited, so it lands before or after the decisive statement: 60 s, or the untouched answer).
 * Suggested fix: one statement (one snapshot) for both reads, or take a busy row missing from
 * `waiting` as gone (its held out of dayBytes, its unsent as the sweep noted it) before fits().
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { dayOf } from '../../../server/clock.ts';
import { rowsOf } from '../../../server/db/open.ts';
import { secondsUntilSwept } from '../../../server/source/busy-uploads.ts';
import { PROBE_HOLD } from '../../../server/source/open-limits.ts';
import { hex, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sourceIdOf, sweepMinutes } from '../_busy.ts';

const env = useEnv();

describe('attack 9g: the sweep deletes her dead try between the two reads', () => {
  it('answers a time, not source_quota', async () => {
    const start = '2026-11-09T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 100 * MiB });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const first = await open(app, { lookupId, size: 64 * MiB });
    await sendChunks(app, first.body.uploadId, 0, 2);
    await sweepMinutes(env, start, 0, 4);
    const sourceId = await sourceIdOf(env);
    const [row] = rowsOf<{ id: string }>(await env.database.db.execute(sql`select id from submissions where status = 'uploading'`));
    const limits = { quotaSourcePerDay: 100 * MiB, reserveSmallMax: 4 * MiB, uploadLeaseMinutes: 10, uploadPace: 2000, uploadStaleHours: 6, probeHold: PROBE_HOLD };
    const now = new Date(at(start, 5).getTime() + 20_000);
    const untouched = await secondsUntilSwept(env.database.db, limits, { sourceId, lookupHash: null }, dayOf(now), now, 64 * MiB, null);
    const seconds = await secondsUntilSwept(env.database.db, limits, { sourceId, lookupHash: null }, dayOf(now), now, 64 * MiB, null, (id) => {
      if (id === row!.id) void (async () => env.database.db.execute(sql`delete from submissions where id = ${id}::uuid`))();
      return 0;
    });
    env.now = now;
    const retry = await open(app, { lookupId, size: 64 * MiB });
    console.log(`swept between: the estimate answers ${seconds} (undefined: source_quota "tomorrow"); a retry now answers ${retry.status} ${retry.code}`);
    // one snapshot decides (the lead's fix: both reads in one statement): the delete landed before
    // it (60 s: the retry opens) or after it (the time as if untouched), never "tomorrow"
    expect([60, untouched]).toContain(seconds);
  }, 120_000);
});
