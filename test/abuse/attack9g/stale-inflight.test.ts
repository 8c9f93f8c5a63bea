/**
 * Attack 9g, a told time that is false (bytes in flight, the stale rule): a53471f counts this
 * process's unreported bytes of a body (chunk-gate.ts `unreported`) in the *lease* half of
 * sweptFromTick (`extra`), but not in its *stale* half: that still reads `upload_progress.tick`,
 * the last noted move. Yet when those bytes are reported (the gate's first report at 64 KiB, a
 * minute's, or the cut's) markUploadFlowing moves `tick` to the report's minute, and the sweep's
 * stale deadline moves with it by up to UPLOAD_STALE_HOURS. A body that brought fewer than 64 KiB
 * has never reported: its upload's last move is whatever came before the body.
 *
 * Her upload sent 48 MiB at once (paid for long past the stale time, so the stale rule is the
 * sooner), then paused (a laptop asleep) until just before the stale time; the page resumes, a
 * new chunk's body brings 32 KiB and the circuit dies. She reloads and opens again: source_busy,
 * told by the stale rule as if the 32 KiB were never coming. The gate then cuts the dead body and
 * reports them (bytes that came before the answer): the stale deadline moves an hour (six at the
 * defaults) on, the lease rule's deadline is the one left, and at the told minute her retry is
 * refused again. Asserts the honest outcome: at the told minute the retry opens.
 * Suggested fix: in sweptFromTick's stale half, an upload with `extra` > 0 counts as moved in
 * `tick + 1` (as an uncounted chunk already does); busy-uploads.ts passes the extra per upload.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createChunkGate } from '../../../server/source/chunk-gate.ts';
import { hex, KiB, MiB, statusOf } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sweepMinutes } from '../_busy.ts';

const env = useEnv();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cases = [
  // UPLOAD_STALE_HOURS=1 UPLOAD_LEASE_MINUTES=30 UPLOAD_PACE=8000: 48 MiB pays to minute 134, stale at 60
  { name: 'UPLOAD_STALE_HOURS=1 UPLOAD_LEASE_MINUTES=30 UPLOAD_PACE=8000', limits: { uploadStaleHours: 1, uploadLeaseMinutes: 30, uploadPace: 8000 }, rule: { staleHours: 1, leaseMinutes: 30, pace: 8000 }, resume: 58 },
  // the defaults: 48 MiB pays to minute 429, stale at 360
  { name: 'the defaults', limits: {}, rule: {}, resume: 358 },
];

describe('attack 9g: a body under 64 KiB has not reported: the stale rule ignores its coming report', () => {
  it.each(cases)('tells a time at which the retry opens ($name)', async ({ limits, rule, resume }) => {
    const start = resume === 58 ? '2026-10-21T09:00:00Z' : '2026-10-22T03:00:00Z';
    await fresh(env, start);
    const gate = createChunkGate({ now: () => env.now.getTime(), idleMs: 1500 });
    const { app } = await env.app({ quotaSourcePerDay: 128 * MiB, ...limits }, { chunkGate: gate });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const first = await open(app, { lookupId, size: 64 * MiB });
    expect(first.code).toBe('created');
    await sendChunks(app, first.body.uploadId, 0, 12);
    await sweepMinutes(env, start, 0, resume - 1, rule);
    // the page resumes: chunk 12's body brings 32 KiB (no report yet: the first comes at 64 KiB), then its circuit dies
    env.now = at(start, resume);
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
    const put = app.request(`/api/v1/uploads/${first.body.uploadId}/chunks/12`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(4 * MiB) },
      body,
      duplex: 'half',
    } as RequestInit);
    push.enqueue(new Uint8Array(randomBytes(32 * KiB)));
    await sleep(200);
    env.now = new Date(at(start, resume).getTime() + 20_000);
    const busy = await open(app, { lookupId, size: 64 * MiB });
    expect(`${busy.status} ${busy.code}`).toBe('429 source_busy');
    const seconds = busy.body.retryAfterSeconds as number;
    const toldMinute = Math.ceil((env.now.getTime() + seconds * 1000 - Date.parse(start)) / 60_000);
    const cut = await put;
    await sleep(300);
    console.log(`stale in flight (${rule.staleHours ?? 6} h): told ${seconds} s at minute ${resume}:20 (minute ${toldMinute}); the dead body answered ${cut.status}`);
    await sweepMinutes(env, start, resume, toldMinute - 1, rule);
    env.now = at(start, toldMinute);
    const there = await statusOf(app, first.body.uploadId);
    const retry = await open(app, { lookupId, size: 64 * MiB });
    let goneAt = toldMinute;
    if (retry.status !== 201) {
      // how late: the minute the sweep really takes it
      for (let m = toldMinute; m < toldMinute + 800; m++) {
        await sweepMinutes(env, start, m, m, rule);
        if ((await statusOf(app, first.body.uploadId)) === 404) {
          goneAt = m;
          break;
        }
      }
    }
    console.log(`stale in flight: at the told minute ${toldMinute} the dead upload answers ${there}, the retry ${retry.status} ${retry.code} (told again ${retry.body.retryAfterSeconds ?? '-'} s); the sweep took it in minute ${goneAt} (${goneAt - toldMinute} min after the told one)`);
    gate.close();
    expect(`${retry.status} ${retry.code}`).toBe('201 created');
  }, 300_000);
});
