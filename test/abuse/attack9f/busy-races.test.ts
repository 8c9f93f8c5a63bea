/**
 * Attack 9f, races: two app instances on one database. (1) While her promoted upload A is dead,
 * two tabs' probes send their proofs at the same moment, one through each instance, while a third
 * open of the codename arrives on each: every refusal is source_busy with A's time (the probes
 * deleted, A kept, nothing else touched), and at that time the retry opens. (2) A new source whose
 * first tip arrives meanwhile: her 2 GiB upload pending under the lookup hash holds her day; opening
 * again as a returning source (the source row now made) is told that upload's time, and at that
 * time it opens.
 */
import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../../../server/db/open.ts';
import { ciphertextFor } from '../../../server/source/open.test-helpers.ts';
import { sha256Hex } from '../../../server/test-helpers.ts';
import { GiB, hex, KiB, MiB, putChunkRaw, statusOf } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sweepMinutes } from '../_busy.ts';

const env = useEnv();

const proofChunk = async (app: Hono, uploadId: string, idx: number) => {
  const res = await app.request(`/api/v1/uploads/${uploadId}/chunks/${idx}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(randomBytes(4 * MiB)),
  });
  const body = (await res.json()) as Record<string, any>;
  return { status: res.status, code: res.status === 200 ? 'stored' : String(body.error), seconds: body.retryAfterSeconds, header: res.headers.get('retry-after') };
};

describe('attack 9f: busy answers decided at once on two instances', () => {
  it('refuses both tabs\' proofs and both opens as source_busy at A\'s time, keeps A, and opens the retry then', async () => {
    const start = '2026-10-16T09:00:00Z';
    await fresh(env, start);
    const one = (await env.app()).app;
    const two = (await env.app()).app;
    const lookupId = hex();
    await returningSource(env, one, lookupId);
    const p1 = await open(one, { lookupId, size: 2 * GiB });
    const p2 = await open(two, { lookupId, size: 2 * GiB });
    const a = await open(one, { lookupId, size: 2 * GiB });
    expect([p1.code, p2.code, a.code]).toEqual(['created', 'created', 'created']);
    await sendChunks(one, a.body.uploadId, 0, 2);
    env.now = at(start, 1);
    await sendChunks(one, p1.body.uploadId, 0, 1);
    await sendChunks(two, p2.body.uploadId, 0, 1);
    env.now = at(start, 2);
    const answers = await Promise.all([
      proofChunk(one, p1.body.uploadId, 1),
      proofChunk(two, p2.body.uploadId, 1),
      open(one, { lookupId, size: 2 * GiB }),
      open(two, { lookupId, size: 2 * GiB }),
    ]);
    const codes = answers.map((r) => `${r.status} ${r.code}`);
    const seconds = answers.map((r) => ('body' in r ? r.body.retryAfterSeconds : r.seconds));
    console.log(`races: ${JSON.stringify(codes)} told ${JSON.stringify(seconds)}`);
    expect(codes).toEqual(['429 source_busy', '429 source_busy', '429 source_busy', '429 source_busy']);
    expect(new Set(seconds).size).toBe(1);
    expect([await statusOf(one, p1.body.uploadId), await statusOf(one, p2.body.uploadId), await statusOf(one, a.body.uploadId)]).toEqual([404, 404, 200]);
    const [left] = rowsOf<{ n: number }>(await env.database.db.execute(sql`select count(*)::int as n from chunks c join submissions s on s.id = c.submission_id where s.status = 'uploading'`));
    expect(left!.n).toBe(2);
    const toldMinute = 2 + (seconds[0] as number) / 60;
    await sweepMinutes(env, start, 3, toldMinute - 1);
    env.now = at(start, toldMinute);
    expect((await open(two, { lookupId, size: 2 * GiB })).code).toBe('created');
  });

  it('tells a new source whose first tip arrived meanwhile the time of her upload pending under the lookup hash', async () => {
    const start = '2026-10-17T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const lookupId = hex();
    const text = await ciphertextFor(env.newsroomKey, 2 * KiB);
    const tip = await open(app, { lookupId, size: text.length, chunkSize: text.length, sha256: sha256Hex(text), sourceKeys: env.sourceKeys });
    const big = await open(app, { lookupId, size: 2 * GiB, sourceKeys: env.sourceKeys });
    // a second tab, still a new source: opened as a probe beside big's
    const second = await open(app, { lookupId, size: 2 * GiB, sourceKeys: env.sourceKeys });
    expect([tip.code, big.code, second.code]).toEqual(['created', 'created', 'created']);
    await sendChunks(app, big.body.uploadId, 0, 2);
    env.now = at(start, 1);
    await sendChunks(app, second.body.uploadId, 0, 1);
    // her first tip arrives: the source row is made; big and second stay pending under the hash
    expect((await putChunkRaw(app, tip.body.uploadId, 0, text)).body.complete).toBe(true);
    env.now = at(start, 2);
    // the second tab's proof: the day of the codename (the source now made) holds big
    const proof = await proofChunk(app, second.body.uploadId, 1);
    expect(`${proof.status} ${proof.code}`).toBe('429 source_busy');
    const retry = await open(app, { lookupId, size: 2 * GiB });
    expect(`${retry.status} ${retry.code}`).toBe('429 source_busy');
    expect(retry.body.retryAfterSeconds).toBe(proof.seconds);
    const toldMinute = 2 + (retry.body.retryAfterSeconds as number) / 60;
    console.log(`new source: proof and returning open at minute 2 told ${proof.seconds} s (minute ${toldMinute})`);
    // never early, and at most two minutes late (the end of the sweep's minute, and one more for a
    // sweep a long purge delayed)
    await sweepMinutes(env, start, 3, toldMinute - 3);
    env.now = at(start, toldMinute - 3);
    expect((await open(app, { lookupId, size: 2 * GiB })).code).toBe('source_busy');
    await sweepMinutes(env, start, toldMinute - 2, toldMinute - 1);
    env.now = at(start, toldMinute);
    expect((await open(app, { lookupId, size: 2 * GiB })).code).toBe('created');
  });
});
