/**
 * Attack 9f, a told time that is false (the stale rule): busy-uploads.ts reads an upload's last
 * move from `upload_progress.tick`, but storing a chunk does not write that row: only the next
 * sweep notes the new chunk count and moves `tick` to its own minute. A chunk stored after the
 * last sweep and before the refusal (so before the answer: not "moving again") is invisible to
 * the stale rule's estimate, which then tells the time the sweep would have taken the upload had
 * that chunk never come. When the stale rule is the sooner of the two (a 64 MiB upload that sent
 * 48 MiB at once, then one more chunk 200 minutes later), the retry at the told minute is refused
 * again. Asserts the honest outcome: at the told time the same retry opens.
 */
import { describe, expect, it } from 'vitest';
import { hex, MiB, statusOf } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sweepMinutes } from '../_busy.ts';

const env = useEnv();

const cases = [
  // the defaults (lease 10 min, 2000 B/s, stale 6 h): 48 MiB at minute 0, one chunk at minute 200
  { name: 'the defaults', limits: {}, rule: {}, quiet: 200 },
  // UPLOAD_STALE_HOURS=1, UPLOAD_LEASE_MINUTES=30, UPLOAD_PACE=8000: one chunk at minute 40
  { name: 'UPLOAD_STALE_HOURS=1 UPLOAD_LEASE_MINUTES=30 UPLOAD_PACE=8000', limits: { uploadStaleHours: 1, uploadLeaseMinutes: 30, uploadPace: 8000 }, rule: { staleHours: 1, leaseMinutes: 30, pace: 8000 }, quiet: 40 },
];

describe('attack 9f: the stale rule reads a last move the sweep has not noted yet', () => {
  it.each(cases)('tells a time at which the retry opens, though a chunk came after the last sweep ($name)', async ({ limits, rule, quiet }) => {
    const start = quiet === 200 ? '2026-10-10T09:00:00Z' : '2026-10-20T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 128 * MiB, ...limits });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const first = await open(app, { lookupId, size: 64 * MiB });
    expect(first.code).toBe('created');
    // 48 MiB at once (promoted after the first two), noted by the sweep of minute 0
    await sendChunks(app, first.body.uploadId, 0, 12);
    await sweepMinutes(env, start, 0, quiet, rule);
    // after that minute's sweep: one more chunk, then the same codename opens again
    env.now = new Date(at(start, quiet).getTime() + 40_000);
    await sendChunks(app, first.body.uploadId, 12, 1);
    const busy = await open(app, { lookupId, size: 64 * MiB });
    expect(`${busy.status} ${busy.code}`).toBe('429 source_busy');
    const seconds = busy.body.retryAfterSeconds as number;
    const toldMinute = Math.ceil((env.now.getTime() + seconds * 1000 - Date.parse(start)) / 60_000);
    console.log(`stale lag: told ${seconds} s at minute ${quiet}:40 (retry at minute ${toldMinute})`);
    // nothing moves from here on: the sweep in every minute up to the told one
    await sweepMinutes(env, start, quiet + 1, toldMinute - 1, rule);
    env.now = at(start, toldMinute);
    const there = await statusOf(app, first.body.uploadId);
    const retry = await open(app, { lookupId, size: 64 * MiB });
    console.log(`stale lag: at the told minute ${toldMinute} the dead upload answers ${there}, the retry ${retry.status} ${retry.code} (told again ${retry.body.retryAfterSeconds ?? '-'} s)`);
    expect(`${retry.status} ${retry.code}`).toBe('201 created');
  });
});
