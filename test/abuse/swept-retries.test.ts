/**
 * Break B (issue 9) and its neighbour, the attacker's harnesses: the per-codename day counted bytes
 * a source never sent (fixed by migrations 0016 and 0019_probe_day). Each asserts the honest
 * outcome. And that a probe counted at its hold cannot take a codename past its day: its promotion
 * checks the day with its whole size.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../../server/db/open.ts';
import { purgeExpired } from '../../server/source/purge.ts';
import { markUploadFlowing } from '../../server/source/stale-uploads.ts';
import { submissionIdOf } from '../../server/source/uploads.ts';
import { ciphertextFor } from '../../server/source/open.test-helpers.ts';
import { sha256Hex } from '../../server/test-helpers.ts';
import { randomBytes } from 'node:crypto';
import { GiB, hex, KiB, MiB, openNative, putChunkRaw, statusOf } from './_harness.ts';
import { useEnv } from './_setup.ts';

const env = useEnv();
const minutes = (start: string, m: number) => new Date(Date.parse(start) + m * 60_000);

async function textTip(app: Parameters<typeof openNative>[0], lookupId: string, withKeys: boolean) {
  const bytes = await ciphertextFor(env.newsroomKey, 2 * KiB);
  const opened = await openNative(app, { lookupId, size: bytes.length, chunkSize: bytes.length, sha256: sha256Hex(bytes), ...(withKeys ? { sourceKeys: env.sourceKeys } : {}) });
  expect(opened.status).toBe(201);
  expect((await putChunkRaw(app, opened.uploadId!, 0, bytes)).body.complete).toBe(true);
}

describe('Break B: a returning source\'s failed uploads and her next try', () => {
  it('shows a text tip + two swept 2 GiB uploads (Tor died before their first body got through) leave her third try open, not refused "has sent as much as one source may send"', async () => {
    const start = '2026-09-03T09:00:00Z';
    env.now = new Date(start);
    await env.database.db.execute(sql`delete from submissions`);
    const { app } = await env.app();
    const lookupId = hex();
    await textTip(app, lookupId, true);
    let m = 0;
    for (let failure = 0; failure < 2; failure++) {
      const opened = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
      expect(opened.status, opened.code).toBe(201);
      // the circuit died between the open's answer and the first chunk's body: nothing arrived
      // (with 64 KiB shown on each, the third opens on main: 2 KB + 2 x (2 GiB - 64 KiB) fits)
      while ((await statusOf(app, opened.uploadId!)) !== 404) {
        expect(++m).toBeLessThan(120);
        env.now = minutes(start, m);
        await purgeExpired(env.database.db, () => env.now, 6, 10);
      }
    }
    const third = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
    console.log(`Break B: third try after two swept 2 GiB uploads (minute ${m}): ${third.status} ${third.code}: ${third.message ?? ''}`);
    expect(`${third.status} ${third.code}`, third.message).toBe('201 created');
  });

  it('(e) shows a retry opened while her dead first 2 GiB upload is still reserved is not told she "has sent as much as one source may send in a day"', async () => {
    // She sent a 2 KB text tip, then a 2 GiB file whose circuit died; the page opens it again at
    // once (the dead reservation is swept only after the lease). She has sent 2 KB today.
    const start = '2026-09-04T09:00:00Z';
    env.now = new Date(start);
    await env.database.db.execute(sql`delete from submissions`);
    const { app } = await env.app();
    const lookupId = hex();
    await textTip(app, lookupId, true);
    const first = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
    expect(first.status).toBe(201);
    await markUploadFlowing(env.database.db, submissionIdOf(first.uploadId!)!, env.now, 64 * KiB);
    env.now = minutes(start, 2);
    const retry = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
    console.log(`(e) retry while the dead upload is reserved: ${retry.status} ${retry.code}: ${retry.message ?? ''}`);
    // the honest outcome: her retry opens, or a refusal that is true (not "sent as much ... try again tomorrow")
    if (retry.status !== 201) expect(retry.message ?? '', `${retry.status} ${retry.code}`).not.toMatch(/has sent as much|tomorrow/);
    expect(`${retry.status} ${retry.code}`).toBe('201 created');
  });

  it('refuses at promotion (429 source_busy, the first one in progress standing in the way; the upload deleted) a probe that would take its codename past its day, however many it opened at once', async () => {
    const start = '2026-09-05T09:00:00Z';
    env.now = new Date(start);
    await env.database.db.execute(sql`delete from submissions`);
    const { app } = await env.app();
    const lookupId = hex();
    await textTip(app, lookupId, true);
    // three 2 GiB opens at once: each fits beside the others' 64 KiB holds
    const opens = [];
    for (let i = 0; i < 3; i++) {
      const opened = await openNative(app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
      expect(`${opened.status} ${opened.code}`).toBe('201 created');
      opens.push(opened.uploadId!);
    }
    const proof = async (uploadId: string) => {
      expect((await putChunkRaw(app, uploadId, 0, new Uint8Array(randomBytes(4 * MiB)))).status).toBe(200);
      return putChunkRaw(app, uploadId, 1, new Uint8Array(randomBytes(4 * MiB)));
    };
    // the first is promoted (2 KB + 2 GiB + two holds); the second would make 4 GiB + 2 KB
    expect((await proof(opens[0]!)).status).toBe(200);
    const second = await proof(opens[1]!);
    expect(`${second.status} ${second.body.error}`).toBe('429 source_busy');
    expect(await statusOf(app, opens[1]!)).toBe(404);
    const [left] = rowsOf<{ n: number }>(await env.database.db.execute(sql`select count(*)::int as n from chunks c where c.submission_id = ${submissionIdOf(opens[1]!)!}::uuid`));
    expect(left?.n ?? 0).toBe(0);
    // the first keeps its room; the third, still a probe, is untouched
    expect(await statusOf(app, opens[0]!)).toBe(200);
    expect(await statusOf(app, opens[2]!)).toBe(200);
  });
});
