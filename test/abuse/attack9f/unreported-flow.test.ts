/**
 * Attack 9f, a told time that is false (bytes in flight): a chunk body reports what it received
 * to its upload once a minute (`upload_progress.flowed`, chunk-gate.ts flowMarkMs), and a body that
 * ends unstored (its connection lost, cut as stalled) reports the rest when it ends. Her tab's
 * circuit dies in the middle of a chunk: up to a minute of its bytes have arrived but are not yet
 * reported. She opens again (a reload) before the gate cuts the stalled body (30 s): source_busy,
 * told from the flowed bytes the database has. Then the cut reports the rest, and each byte pays
 * 1/2000 s of time at UPLOAD_PACE (a 64 MiB upload: 3 MiB more is 26 minutes): the sweep takes the
 * dead upload long after the told minute, where her retry is refused again. Nothing moved after
 * the answer: those bytes came before it. Asserts the honest outcome: at the told minute the retry
 * opens.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createChunkGate } from '../../../server/source/chunk-gate.ts';
import { hex, KiB, MiB, statusOf } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sweepMinutes } from '../_busy.ts';

const env = useEnv();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('attack 9f: bytes a dead body brought before the answer, reported after it', () => {
  it('tells a time at which the retry opens, though a stalled body was cut after the answer', async () => {
    const start = '2026-10-18T09:00:00Z';
    await fresh(env, start);
    const gate = createChunkGate({ now: () => env.now.getTime(), idleMs: 1500 });
    const { app } = await env.app({ quotaSourcePerDay: 128 * MiB }, { chunkGate: gate });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const first = await open(app, { lookupId, size: 64 * MiB });
    expect(first.code).toBe('created');
    await sendChunks(app, first.body.uploadId, 0, 2);
    await sweepMinutes(env, start, 0, 4);
    // minute 5: chunk 2 starts; 64 KiB (reported at once), then 3 MiB more within the minute, then the circuit dies
    env.now = at(start, 5);
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
    const put = app.request(`/api/v1/uploads/${first.body.uploadId}/chunks/2`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(4 * MiB) },
      body,
      duplex: 'half',
    } as RequestInit);
    push.enqueue(new Uint8Array(randomBytes(64 * KiB)));
    await sleep(200);
    for (let i = 0; i < 48; i++) push.enqueue(new Uint8Array(randomBytes(64 * KiB)));
    await sleep(200);
    // her reload, a few seconds later, while the gate still waits for the dead body
    env.now = new Date(at(start, 5).getTime() + 20_000);
    const busy = await open(app, { lookupId, size: 64 * MiB });
    expect(`${busy.status} ${busy.code}`).toBe('429 source_busy');
    const seconds = busy.body.retryAfterSeconds as number;
    const toldMinute = Math.ceil((env.now.getTime() + seconds * 1000 - Date.parse(start)) / 60_000);
    const cut = await put;
    await sleep(300);
    console.log(`unreported flow: told ${seconds} s at minute 5:20 (minute ${toldMinute}); the dead body answered ${cut.status}`);
    await sweepMinutes(env, start, 5, toldMinute - 1);
    env.now = at(start, toldMinute);
    const there = await statusOf(app, first.body.uploadId);
    const retry = await open(app, { lookupId, size: 64 * MiB });
    console.log(`unreported flow: at the told minute ${toldMinute} the dead upload answers ${there}, the retry ${retry.status} ${retry.code} (told again ${retry.body.retryAfterSeconds ?? '-'} s)`);
    expect(`${retry.status} ${retry.code}`).toBe('201 created');
  });
});
