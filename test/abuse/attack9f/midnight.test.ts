/**
 * Attack 9f, the day boundary: a day refusal is about one UTC day (the open's day, or the day a
 * promotion's upload was opened), and her uploads of that day do not count in the next one. So a
 * retry after midnight opens whatever the sweep has not yet taken; but busy-uploads.ts tells only
 * the sweep's time. (1) At 23:50 she is told about 46 minutes, though her retry opens at 00:00 in
 * 10 (the old answer "try again tomorrow (UTC)" was the true one). (2) A probe opened at 23:58
 * whose proof arrives at 00:02 is refused by its open's day (v_row.created_day) and deleted, and she
 * is told to wait for the sweep of yesterday's upload, though a new open opens at once. Asserts the
 * honest outcome: the told time is no later than the minute the retry really opens.
 */
import { describe, expect, it } from 'vitest';
import { GiB, hex, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sweepMinutes } from '../_busy.ts';
import { randomBytes } from 'node:crypto';

const env = useEnv();

describe('attack 9f: the told time and midnight UTC', () => {
  it('an open refused at 23:50 is told no later than the minute its retry opens (00:00)', async () => {
    const start = '2026-10-12T23:30:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    env.now = at(start, 10);
    const first = await open(app, { lookupId, size: 2 * GiB });
    expect(first.code).toBe('created');
    await sendChunks(app, first.body.uploadId, 0, 16);
    env.now = at(start, 20);
    const busy = await open(app, { lookupId, size: 2 * GiB });
    expect(`${busy.status} ${busy.code}`).toBe('429 source_busy');
    let opened = -1;
    for (let m = 21; m <= 120 && opened < 0; m++) {
      await sweepMinutes(env, start, m - 1, m - 1);
      env.now = at(start, m);
      if ((await open(app, { lookupId, size: 2 * GiB })).code === 'created') opened = m;
    }
    const told = 20 + (busy.body.retryAfterSeconds as number) / 60;
    console.log(`midnight: refused at 23:50, told ${busy.body.retryAfterSeconds} s (minute ${told} after 23:30); the retry opens at minute ${opened} (00:00 is minute 30)`);
    expect(told).toBeLessThanOrEqual(opened);
  });

  it('a promotion refused by the day its upload was opened (yesterday) is told no later than the minute a new open opens', async () => {
    const start = '2026-10-13T23:30:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    // both opened as probes on day 1 (each counts its hold beside the other), then a is promoted
    env.now = at(start, 20);
    const a = await open(app, { lookupId, size: 2 * GiB });
    expect(a.code).toBe('created');
    env.now = at(start, 28);
    const p = await open(app, { lookupId, size: 2 * GiB });
    expect(p.code).toBe('created');
    await sendChunks(app, a.body.uploadId, 0, 16);
    env.now = at(start, 32);
    await sendChunks(app, p.body.uploadId, 0, 1);
    const res = await app.request(`/api/v1/uploads/${p.body.uploadId}/chunks/1`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: new Uint8Array(randomBytes(4 * MiB)),
    });
    const body = (await res.json()) as Record<string, any>;
    const again = await open(app, { lookupId, size: 2 * GiB });
    console.log(`midnight promotion: at 00:02 the proof answers ${res.status} ${body.error} told ${body.retryAfterSeconds} s; a new open at 00:02 answers ${again.status} ${again.code}`);
    expect(again.code).toBe('created');
    if (res.status === 429 && body.error === 'source_busy') expect(body.retryAfterSeconds).toBeLessThanOrEqual(60);
  });
});
