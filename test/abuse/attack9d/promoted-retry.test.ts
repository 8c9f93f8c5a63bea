/**
 * Issue 9, the attacker of 0019 (attack 9d), the honest side: 0019 made a dead *probe* cost its
 * retry nothing (its day counts it at its 64 KiB hold). A dead upload that got past its proof (8 MiB
 * stored, then Tor died: the likelier failure of a 2 GiB file over Tor) is promoted and counts its
 * whole size in its codename's day until the sweep deletes it. A returning source who sent a text
 * tip and then such a file, retrying at once as the page does, is told 429 source_quota "has sent as
 * much as one source may send in a day; try again tomorrow (UTC)" — false: she sent 2 KB and 8 MiB
 * of her 4 GiB, and the same retry opens once the sweep has taken the dead upload (minutes later).
 * Asserts the honest outcome of swept-retries.test.ts (e): her retry opens, or its refusal is true.
 * Fixed by migrations/0021_own_retry.sql: her open takes the place of her own uploads that have not
 * moved for three sweep minutes; one that still moves keeps its place (and her refusal is true).
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { purgeExpired } from '../../../server/source/purge.ts';
import { ciphertextFor } from '../../../server/source/open.test-helpers.ts';
import { sha256Hex } from '../../../server/test-helpers.ts';
import { GiB, hex, KiB, MiB, openNative, putChunkRaw, statusOf } from '../_harness.ts';
import { useEnv } from '../_setup.ts';

const env = useEnv();
const minutes = (start: string, m: number) => new Date(Date.parse(start) + m * 60_000);

describe('attack 9d: a returning source\'s retry after a dead upload that passed its proof', () => {
  it('opens her retry (or refuses it truly) while her dead 2 GiB upload, promoted after its first 8 MiB, is still reserved', async () => {
    const start = '2026-10-04T09:00:00Z';
    env.now = new Date(start);
    await env.database.db.execute(sql`delete from submissions`);
    const { app } = await env.app();
    const lookupId = hex();
    const text = await ciphertextFor(env.newsroomKey, 2 * KiB);
    const tip = await openNative(app, { lookupId, size: text.length, chunkSize: text.length, sha256: sha256Hex(text), sourceKeys: env.sourceKeys });
    expect((await putChunkRaw(app, tip.uploadId!, 0, text)).body.complete).toBe(true);
    const first = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
    expect(`${first.status} ${first.code}`).toBe('201 created');
    // her first 8 MiB arrive (the proof: promoted), then the circuit dies
    for (let i = 0; i < 2; i++) expect((await putChunkRaw(app, first.uploadId!, i, new Uint8Array(randomBytes(4 * MiB)))).status).toBe(200);
    env.now = minutes(start, 3);
    const retry = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
    // how long until the same retry opens: the sweep, minute by minute
    let m = 3;
    while ((await statusOf(app, first.uploadId!)) !== 404 && m < 240) {
      env.now = minutes(start, ++m);
      await purgeExpired(env.database.db, () => env.now, 6, 10);
    }
    const later = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
    console.log(
      `promoted retry: at minute 3, ${retry.status} ${retry.code}: ${retry.message ?? ''}; ` +
        `the sweep took the dead upload in minute ${m}, then the same retry: ${later.status} ${later.code}`,
    );
    if (retry.status !== 201) expect(retry.message ?? '', `${retry.status} ${retry.code}`).not.toMatch(/has sent as much|tomorrow/);
    expect(`${retry.status} ${retry.code}`).toBe('201 created');
  });
  it('keeps her upload that still moves: the retry is refused source_quota, the first upload goes on', async () => {
    const start = '2026-10-05T09:00:00Z';
    env.now = new Date(start);
    await env.database.db.execute(sql`delete from submissions`);
    const { app } = await env.app();
    const lookupId = hex();
    const text = await ciphertextFor(env.newsroomKey, 2 * KiB);
    const tip = await openNative(app, { lookupId, size: text.length, chunkSize: text.length, sha256: sha256Hex(text), sourceKeys: env.sourceKeys });
    expect((await putChunkRaw(app, tip.uploadId!, 0, text)).body.complete).toBe(true);
    const first = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
    expect(`${first.status} ${first.code}`).toBe('201 created');
    for (let i = 0; i < 2; i++) expect((await putChunkRaw(app, first.uploadId!, i, new Uint8Array(randomBytes(4 * MiB)))).status).toBe(200);
    // a chunk a minute, each minute's sweep noting that it moved
    for (let i = 2; i < 5; i++) {
      env.now = minutes(start, i - 1);
      expect((await putChunkRaw(app, first.uploadId!, i, new Uint8Array(randomBytes(4 * MiB)))).status).toBe(200);
      await purgeExpired(env.database.db, () => env.now, 6, 10);
    }
    env.now = minutes(start, 5);
    await purgeExpired(env.database.db, () => env.now, 6, 10);
    const retry = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
    expect(`${retry.status} ${retry.code}`).toBe('429 source_quota');
    expect(await statusOf(app, first.uploadId!)).not.toBe(404);
    // two whole minutes later without a chunk, it is taken as a try that died
    env.now = minutes(start, 3 + 3);
    const later = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
    expect(`${later.status} ${later.code}`).toBe('201 created');
    expect(await statusOf(app, first.uploadId!)).toBe(404);
  });
});
