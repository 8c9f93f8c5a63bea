import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_CIPHERTEXT_BYTES } from '../../protocol/limits.ts';
import { generateSourceKeys } from '../../protocol/source-keys.ts';
import { rowsOf, type Database } from '../db/open.ts';
import { createTestDatabase } from '../db/test-db.ts';
import type { NewsroomKey } from '../newsroom-key.ts';
import { buildTestApp, demoNewsroomKey, type TestApp } from '../test-helpers.ts';
import { answer, ciphertextFor, newLookupId, openUpload, post, sendTip, solvedPow } from './open.test-helpers.ts';
import { floodBitsOf, POW_LOAD_REFRESH_MS } from './pow-load.ts';
import { POW_CEILING_FLOOD_BITS, powCeiling } from './pow.ts';
import { purgeExpired } from './purge.ts';

let database: Database;
let newsroomKey: NewsroomKey;
let sourceKeys: { publicKey: string; lockedPrivateKey: string };
// a minute's start: the flood below stays inside one minute bucket
let now = new Date('2026-05-04T10:00:01Z');
const clock = () => now;
const later = (ms: number) => (now = new Date(now.getTime() + ms));

const BASE = 2;
const THRESHOLD = 8;
const MAX_BITS = 4;
const build = () =>
  buildTestApp(database.db, newsroomKey, clock, { powDifficulty: BASE, powFloodOpensPerMinute: THRESHOLD, powFloodMaxBits: MAX_BITS });

async function priceOf(t: TestApp, size?: number): Promise<number> {
  const res = await post(t.app, '/api/v1/pow', size === undefined ? {} : { size });
  expect(res.status).toBe(200);
  return ((await res.json()) as { difficulty: number }).difficulty;
}

const powLoadRows = async () => rowsOf<{ bucket: number; work: number }>(await database.db.execute(sql`select bucket, work from pow_load`));

beforeAll(async () => {
  database = await createTestDatabase();
  newsroomKey = await demoNewsroomKey();
  sourceKeys = await generateSourceKeys('b'.repeat(64), newsroomKey.key);
});
afterAll(async () => {
  await database?.close();
});
beforeEach(async () => {
  await database.db.execute(sql`delete from pow_load`);
});

describe('floodBitsOf', () => {
  it('adds nothing up to the threshold, then a bit per doubling past it, up to the most', () => {
    expect([0, 8, 9, 15, 16, 17, 31, 32, 64, 10_000].map((w) => floodBitsOf(w, 8, 4))).toEqual([0, 0, 1, 1, 2, 2, 2, 3, 4, 4]);
    expect(floodBitsOf(10_000, 8, 0)).toBe(0);
  });
});

describe('the price of a challenge', () => {
  it('is the base for a text tip and grows with the announced size', async () => {
    const t = await buildTestApp(database.db, newsroomKey, clock, { powDifficulty: 16 });
    const config = await answer(await t.app.request('/api/v1/config'));
    expect(config.body.pow.difficulty).toBe(16);
    expect(await priceOf(t)).toBe(16);
    expect(await priceOf(t, 1024 * 1024)).toBe(16);
    expect(await priceOf(t, 4 * 1024 * 1024)).toBe(17);
    expect(await priceOf(t, MAX_CIPHERTEXT_BYTES)).toBe(23);
  });

  it('is nothing when proof of work is off (base 0), whatever the size', async () => {
    const t = await buildTestApp(database.db, newsroomKey, clock, { powDifficulty: 0 });
    expect(await priceOf(t, MAX_CIPHERTEXT_BYTES)).toBe(0);
  });

  it('refuses a size the protocol does not allow, and unknown fields', async () => {
    const t = await build();
    for (const body of [{ size: MAX_CIPHERTEXT_BYTES + 1 }, { size: -1 }, { size: 1.5 }, { size: '10' }, { bytes: 10 }]) {
      const res = await answer(await post(t.app, '/api/v1/pow', body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toBe('bad_request');
    }
  });

  it('an open of a large size with a text tip\'s token is too easy; with a token priced for its size it opens', async () => {
    const t = await build();
    const bytes = await ciphertextFor(newsroomKey, 1000);
    const size = 5 * 1024 * 1024;
    const cheap = await solvedPow(t.app);
    const refused = await answer(await openUpload(t.app, { bytes, size, chunkSize: 4 * 1024 * 1024, lookupId: newLookupId(), sourceKeys, pow: cheap }));
    expect(refused).toMatchObject({ status: 400, body: { error: 'pow_too_easy' } });
    const priced = await solvedPow(t.app, size);
    expect(priced.difficulty).toBe(BASE + 2);
    const opened = await answer(await openUpload(t.app, { bytes, size, chunkSize: 4 * 1024 * 1024, lookupId: newLookupId(), sourceKeys, pow: priced }));
    expect(opened.status).toBe(201);
  });
});

describe('the adaptive difficulty', () => {
  it('rises with a flood of opens, is the same on two app processes, refuses cheap tokens solved before, and falls back a bit a minute', async () => {
    const a = await build();
    const b = await build();
    const bytes = await ciphertextFor(newsroomKey, 500);
    const { lookupId } = { lookupId: newLookupId() };
    await sendTip(a.app, { bytes, lookupId, sourceKeys });
    expect(await priceOf(a)).toBe(BASE);
    expect(await priceOf(b)).toBe(BASE);
    // an attacker's stock of cheap tokens, solved before the flood
    const stock = await Promise.all(Array.from({ length: 3 }, () => solvedPow(a.app)));

    // the flood: 20 opens in a minute (21 units with the tip: > 16, 2 bits), all on process a, at once
    const opens = await Promise.all(Array.from({ length: 20 }, () => openUpload(a.app, { bytes, lookupId })));
    expect(opens.map((r) => r.status)).toEqual(Array(20).fill(201));

    later(POW_LOAD_REFRESH_MS);
    expect(await priceOf(a)).toBe(BASE + 2);
    expect(await priceOf(b)).toBe(BASE + 2);
    expect(await priceOf(b, 4 * 1024 * 1024)).toBe(BASE + 1 + 2);
    const refused = await answer(await openUpload(b.app, { bytes, lookupId, pow: stock[0] }));
    expect(refused).toMatchObject({ status: 400, body: { error: 'pow_too_easy' } });
    // the counts are in the shared table, by minute, and coarse
    const rows = await powLoadRows();
    expect(rows.map((r) => Number(r.work))).toEqual([21]);

    // the flood stops: one bit less each minute, on both
    later(60_000);
    expect([await priceOf(a), await priceOf(b)]).toEqual([BASE + 1, BASE + 1]);
    later(60_000);
    expect([await priceOf(a), await priceOf(b)]).toEqual([BASE, BASE]);
    // and the cheap stock opens again
    expect((await openUpload(b.app, { bytes, lookupId, pow: stock[1] })).status).toBe(201);

    // a bucket that can no longer add a bit is deleted
    later(MAX_BITS * 60_000);
    await priceOf(a);
    expect(await powLoadRows()).toEqual([]);
  });

  it('never lifts a price past the largest upload\'s unflooded price plus two bits: a flood at its cap raises a text tip fully, 2 GiB by two bits', async () => {
    const a = await build();
    const bytes = await ciphertextFor(newsroomKey, 500);
    const lookupId = newLookupId();
    await sendTip(a.app, { bytes, lookupId, sourceKeys });
    const sizeBits2G = (await priceOf(a, MAX_CIPHERTEXT_BYTES)) - BASE;
    expect(sizeBits2G).toBe(7);
    expect(powCeiling(BASE)).toBe(BASE + 7 + POW_CEILING_FLOOD_BITS);
    // a flood this minute worth MAX_BITS bits (work ≥ threshold × 2^(MAX_BITS − 1)), as the processes write it
    await database.db.execute(sql`insert into pow_load (bucket, work) values (${Math.floor(now.getTime() / 60_000)}::int, ${THRESHOLD * 2 ** MAX_BITS}::bigint)`);
    later(POW_LOAD_REFRESH_MS);
    expect(await priceOf(a)).toBe(BASE + MAX_BITS);
    expect(await priceOf(a, 16 * 1024 * 1024)).toBe(BASE + 2 + MAX_BITS);
    expect(await priceOf(a, 256 * 1024 * 1024)).toBe(BASE + 7 + 2);
    expect(await priceOf(a, MAX_CIPHERTEXT_BYTES)).toBe(BASE + 7 + POW_CEILING_FLOOD_BITS);
    // an open of 2 GiB with a token of the capped price opens; the flood's minute then decays away
    const big = await answer(await openUpload(a.app, { bytes, lookupId, size: MAX_CIPHERTEXT_BYTES, chunkSize: 4 * 1024 * 1024, pow: await solvedPow(a.app, MAX_CIPHERTEXT_BYTES) }));
    expect(big.status).toBe(201);
    later((MAX_BITS + 1) * 60_000);
    expect(await priceOf(a, MAX_CIPHERTEXT_BYTES)).toBe(BASE + 7);
  });

  it('holds steady while the flood goes on at the higher price (opens count the work they paid for)', async () => {
    const a = await build();
    const bytes = await ciphertextFor(newsroomKey, 500);
    const lookupId = newLookupId();
    await sendTip(a.app, { bytes, lookupId, sourceKeys });
    now = new Date('2026-05-04T11:00:01Z');
    await Promise.all(Array.from({ length: 20 }, () => openUpload(a.app, { bytes, lookupId })));
    later(POW_LOAD_REFRESH_MS);
    expect(await priceOf(a)).toBe(BASE + 2);
    // the next minute the price fell a bit; the same means buy half the opens, at twice the work
    // each: the same 20 units, the same 2 bits, where counting opens would have let it fall on
    now = new Date('2026-05-04T11:01:01Z');
    expect(await priceOf(a)).toBe(BASE + 1);
    await Promise.all(Array.from({ length: 10 }, () => openUpload(a.app, { bytes, lookupId })));
    later(POW_LOAD_REFRESH_MS);
    expect(await priceOf(a)).toBe(BASE + 2);
  });

  it('forgets a flood\'s minutes by the purge timer too, when no request comes to read them', async () => {
    const a = await build();
    now = new Date('2026-05-04T13:00:01Z');
    const bytes = await ciphertextFor(newsroomKey, 500);
    const lookupId = newLookupId();
    await sendTip(a.app, { bytes, lookupId, sourceKeys });
    await Promise.all(Array.from({ length: 20 }, () => openUpload(a.app, { bytes, lookupId })));
    later(POW_LOAD_REFRESH_MS);
    expect(await priceOf(a)).toBe(BASE + 2);
    expect(await powLoadRows()).toHaveLength(1);
    later(12 * 60_000);
    await purgeExpired(database.db, clock);
    expect(await powLoadRows()).toHaveLength(1);
    later(60_000);
    await purgeExpired(database.db, clock);
    expect(await powLoadRows()).toEqual([]);
  });

  it('leaves the table empty under ordinary load', async () => {
    const a = await build();
    now = new Date('2026-05-04T12:00:01Z');
    const bytes = await ciphertextFor(newsroomKey, 500);
    // one tip a minute: below a quarter of the threshold, never written
    for (let i = 0; i < 3; i++) {
      await sendTip(a.app, { bytes, lookupId: newLookupId(), sourceKeys });
      later(60_000);
      expect(await priceOf(a)).toBe(BASE);
    }
    expect(await powLoadRows()).toEqual([]);
  });
});
