/**
 * Attack 9g, told times against the sweep in states the first round did not try: an upload whose
 * upload_progress row is missing (the estimate takes it as first seen now, the sweep writes it
 * so), and a chunk sent again with the same bytes (one piece: the gate does not report it; in
 * several pieces: its first 64 KiB are reported, markUploadFlowing moves `tick`, the stored copy
 * takes the flowed bytes out again), and one sent again with other bytes (409 chunk_conflict: its
 * reported bytes stay in `flowed`: they came). In each the sweep and the told time must agree:
 * the retry first opens no later than the told minute and at most 3 minutes before it.
 */
import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../../../server/db/open.ts';
import { createChunkGate } from '../../../server/source/chunk-gate.ts';
import { hex, KiB, MiB, putChunkRaw } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sweepMinutes } from '../_busy.ts';

const env = useEnv();
const rule = { staleHours: 1, leaseMinutes: 30, pace: 8000 };
const limits = { quotaSourcePerDay: 128 * MiB, uploadStaleHours: 1, uploadLeaseMinutes: 30, uploadPace: 8000 };

async function putInPieces(app: Hono, uploadId: string, index: number, bytes: Uint8Array) {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += 64 * KiB) c.enqueue(bytes.subarray(i, i + 64 * KiB));
      c.close();
    },
  });
  const res = await app.request(`/api/v1/uploads/${uploadId}/chunks/${index}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
    body,
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function oracle(app: Hono, start: string, lookupId: string, from: number, name: string) {
  const busy = await open(app, { lookupId, size: 64 * MiB });
  expect(`${busy.status} ${busy.code}`).toBe('429 source_busy');
  const told = Math.ceil((env.now.getTime() + (busy.body.retryAfterSeconds as number) * 1000 - Date.parse(start)) / 60_000);
  let opened = -1;
  for (let m = from + 1; m <= told + 200 && opened < 0; m++) {
    await sweepMinutes(env, start, m - 1, m - 1, rule);
    env.now = at(start, m);
    if ((await open(app, { lookupId, size: 64 * MiB })).code === 'created') opened = m;
  }
  console.log(`${name}: told minute ${told}, the retry first opens in minute ${opened}`);
  expect(opened).toBeGreaterThan(0);
  expect(opened, 'told early').toBeLessThanOrEqual(told);
  expect(told - opened, 'told late').toBeLessThanOrEqual(3);
}

describe('attack 9g: told times against the sweep', () => {
  it('an upload whose progress row is missing', async () => {
    const start = '2026-10-28T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app(limits);
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const first = await open(app, { lookupId, size: 64 * MiB });
    await sendChunks(app, first.body.uploadId, 0, 3);
    await sweepMinutes(env, start, 0, 20, rule);
    env.now = new Date(at(start, 20).getTime() + 40_000);
    await env.database.db.execute(sql`delete from upload_progress where submission_id in (select id from submissions where status = 'uploading')`);
    await oracle(app, start, lookupId, 20, 'progress row missing');
  }, 120_000);

  it.each(['one piece', 'pieces', 'other bytes'])('a chunk sent again (%s) where the stale rule is the sooner', async (how) => {
    const start = how === 'one piece' ? '2026-10-29T09:00:00Z' : how === 'pieces' ? '2026-10-30T09:00:00Z' : '2026-10-31T09:00:00Z';
    await fresh(env, start);
    const gate = createChunkGate({ now: () => env.now.getTime(), idleMs: 1500 });
    const { app } = await env.app(limits, { chunkGate: gate });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const first = await open(app, { lookupId, size: 64 * MiB });
    const chunk5 = new Uint8Array(randomBytes(4 * MiB));
    await sendChunks(app, first.body.uploadId, 0, 5);
    expect((await putChunkRaw(app, first.body.uploadId, 5, chunk5)).status).toBe(200);
    await sendChunks(app, first.body.uploadId, 6, 6);
    // 48 MiB at minute 0: paid to minute 134, stale at 60; at 40:40 chunk 5 comes again
    await sweepMinutes(env, start, 0, 40, rule);
    env.now = new Date(at(start, 40).getTime() + 40_000);
    const again =
      how === 'one piece' ? await putChunkRaw(app, first.body.uploadId, 5, chunk5)
      : how === 'pieces' ? await putInPieces(app, first.body.uploadId, 5, chunk5)
      : await putInPieces(app, first.body.uploadId, 5, new Uint8Array(randomBytes(4 * MiB)));
    await new Promise((r) => setTimeout(r, 200));
    const [p] = rowsOf<{ tick: number; flowed: string }>(await env.database.db.execute(sql`select tick, flowed from upload_progress where submission_id in (select id from submissions where status = 'uploading')`));
    console.log(`chunk again (${how}): answered ${again.status} ${again.body.error ?? ''}; progress tick ${p!.tick - Math.floor(Date.parse(start) / 60_000)}, flowed ${p!.flowed}`);
    env.now = new Date(at(start, 40).getTime() + 50_000);
    await oracle(app, start, lookupId, 40, `chunk again (${how})`);
    gate.close();
  }, 120_000);
});
