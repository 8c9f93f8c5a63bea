/**
 * Attack 9g, busy-uploads.ts's parameters: the uploads in progress go to PostgreSQL as one uuid[]
 * literal and this process's unreported bytes as one jsonb (jsonb_to_recordset). Can any count
 * break them? 0 uploads in progress (all received), 127 and 1 000 in progress (probes of one
 * codename, first seen in ten different minutes), with unreported bytes for every one of them.
 * Each told time is checked against the sweep minute by minute (through the app: never early, at
 * most ~2 minutes late), and the direct call with 1 000 entries in the jsonb against a model of
 * the rule. PGlite by default, PostgreSQL with TEST_DATABASE_URL.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { dayOf } from '../../../server/clock.ts';
import { secondsUntilSwept } from '../../../server/source/busy-uploads.ts';
import { PROBE_HOLD } from '../../../server/source/open-limits.ts';
import { tickOf } from '../../../server/source/stale-uploads.ts';
import { hex, KiB, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sourceIdOf, sweepMinutes } from '../_busy.ts';

const env = useEnv();

async function seedProbes(n: number, start: string) {
  const sourceId = await sourceIdOf(env);
  const tick = tickOf(new Date(start));
  const ids: string[] = [];
  for (let i = 0; i < n; i += 200) {
    const batch = Array.from({ length: Math.min(200, n - i) }, (_, j) => ({ id: randomUUID(), first: tick - ((i + j) % 10) }));
    ids.push(...batch.map((b) => b.id));
    await env.database.db.execute(sql`insert into submissions (id, source_id, status, size, chunk_size, chunks, sha256, created_day, probe)
      select (e->>'id')::uuid, ${sourceId}::uuid, 'uploading', ${MiB}, ${64 * KiB}, 16, repeat('a', 64), ${dayOf(new Date(start))}::date, true
      from jsonb_array_elements(${JSON.stringify(batch)}::jsonb) e`);
    await env.database.db.execute(sql`insert into upload_progress (submission_id, chunks, tick, first_tick, flowed)
      select (e->>'id')::uuid, 0, (e->>'first')::int, (e->>'first')::int, 0 from jsonb_array_elements(${JSON.stringify(batch)}::jsonb) e`);
  }
  return ids;
}

describe('attack 9g: many uploads in progress in the uuid[] and the jsonb', () => {
  it.each([127, 1000])('%i probes in progress: the told time is the sweep\'s', async (n) => {
    const start = n === 127 ? '2026-10-25T09:00:00Z' : '2026-10-26T09:00:00Z';
    await fresh(env, start);
    // the day: n probes at 64 KiB, a 2 KiB tip; the open of 1 MiB needs 17 of them gone
    const quota = n * PROBE_HOLD + 2 * KiB - 16 * PROBE_HOLD;
    const { app } = await env.app({ quotaSourcePerDay: quota });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    await seedProbes(n, start);
    env.now = new Date(at(start, 0).getTime() + 40_000);
    const busy = await open(app, { lookupId, size: MiB, chunkSize: 64 * KiB });
    expect(`${busy.status} ${busy.code}`).toBe('429 source_busy');
    const told = Math.ceil((env.now.getTime() + (busy.body.retryAfterSeconds as number) * 1000 - Date.parse(start)) / 60_000);
    let opened = -1;
    for (let m = 1; m <= 40 && opened < 0; m++) {
      await sweepMinutes(env, start, m - 1, m - 1);
      env.now = at(start, m);
      if ((await open(app, { lookupId, size: MiB, chunkSize: 64 * KiB })).code === 'created') opened = m;
    }
    console.log(`many busy (${n}): told ${busy.body.retryAfterSeconds} s (minute ${told}); the retry first opens in minute ${opened}`);
    expect(opened).toBeGreaterThan(0);
    expect(opened).toBeLessThanOrEqual(told);
    expect(told - opened).toBeLessThanOrEqual(3);
  }, 300_000);

  it('the direct call: 0 in progress, and 1 000 with unreported bytes for each', async () => {
    const start = '2026-10-27T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const sourceId = await sourceIdOf(env);
    const limits = { quotaSourcePerDay: 2 * KiB, reserveSmallMax: 4 * MiB, uploadLeaseMinutes: 10, uploadPace: 2000, uploadStaleHours: 6, probeHold: PROBE_HOLD };
    const now = new Date(at(start, 0).getTime() + 40_000);
    // nothing in progress: the day itself is spent
    expect(await secondsUntilSwept(env.database.db, limits, { sourceId, lookupHash: null }, dayOf(now), now, MiB)).toBeUndefined();
    const ids = await seedProbes(1000, start);
    const quota = 1000 * PROBE_HOLD + 2 * KiB - 16 * PROBE_HOLD;
    // 120 000 B of unreported bytes for each: one minute more of paid time each (the pace of a 1 MiB upload: 120 000 B/min)
    const seconds = await secondsUntilSwept(env.database.db, { ...limits, quotaSourcePerDay: quota }, { sourceId, lookupHash: null }, dayOf(now), now, MiB, null, (id) =>
      ids.includes(id) ? 120_000 : 0,
    );
    // model: first ticks tick-0..tick-9, a hundred each; 17 must go: the hundred first seen at tick-9 (deadline tick-9+10+1)
    const tick = tickOf(new Date(start));
    const expected = Math.ceil(((tick - 9 + 10 + 1 + 2) * 60_000 - now.getTime()) / 1000);
    console.log(`many busy direct (1000 with unreported bytes): told ${seconds} s, the model ${expected} s`);
    expect(seconds).toBe(Math.max(60, expected));
  }, 300_000);
});
