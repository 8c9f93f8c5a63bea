/**
 * Phantom arrived bytes (issue 9, the attacker of migration 0017; fixed by 0018_stored_octets): an upload's bytes arrived were counted as its chunk size times its
 * chunks stored (sealdrop_pool_sums' `got`), so an upload of one chunk and ONE BYTE whose 1-byte
 * last chunk is stored counts a whole chunk (up to 4 MiB) as arrived: stored bytes, which no
 * displacement takes back, which every bound subtracts from the free room, and which refuse a
 * text tip ("decided by stored bytes only"). Its unsent is 1 byte, so it leaves the reservation
 * shares at once and the next open fits again. A scaled server (QUOTA_TOTAL 512 MiB, the small
 * pool 64 MiB): fresh codenames fill it for 1 byte each. Asserts the honest outcome: an honest
 * text tip (200 KB, one chunk) and a returning source's 8 MiB file still open and arrive.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../../server/db/open.ts';
import { ciphertextFor } from '../../server/source/open.test-helpers.ts';
import { sha256Hex } from '../../server/test-helpers.ts';
import { hex, KiB, MiB, openNative, putChunkRaw } from './_harness.ts';
import { useEnv } from './_setup.ts';

const env = useEnv();

describe('phantom arrived bytes', () => {
  it('shows an honest text tip and a returning source\'s 8 MiB file still arrive after fresh codenames stored one byte each (the 1-byte last chunk of uploads of one chunk and a byte)', async () => {
    env.now = new Date('2026-09-20T09:00:00Z');
    await env.database.db.execute(sql`delete from submissions`);
    const limits = { quotaTotal: 512 * MiB, reserveSmallShare: 64 * MiB };
    const { app } = await env.app(limits);
    // the honest returning source's first tip, before the attack
    const returning = hex();
    const first = await ciphertextFor(env.newsroomKey, 2 * KiB);
    const o = await openNative(app, { lookupId: returning, size: first.length, chunkSize: first.length, sha256: sha256Hex(first), sourceKeys: env.sourceKeys });
    expect((await putChunkRaw(app, o.uploadId!, 0, first)).body.complete).toBe(true);

    let opens = 0;
    let bytesSent = 0;
    const refusals: Record<string, number> = {};
    for (const chunk of [4 * MiB]) {
      for (let i = 0; i < 200; i++) {
        const r = await openNative(app, { lookupId: hex(), size: chunk + 1, chunkSize: chunk, sourceKeys: env.sourceKeys });
        if (r.status !== 201) {
          refusals[`${chunk + 1}: ${r.status} ${r.code}`] = (refusals[`${chunk + 1}: ${r.status} ${r.code}`] ?? 0) + 1;
          break;
        }
        opens++;
        const stored = await putChunkRaw(app, r.uploadId!, 1, new Uint8Array([7]));
        expect(stored.status, JSON.stringify(stored.body)).toBe(200);
        bytesSent++;
      }
    }
    const [sums] = rowsOf<{ stored: string; counted: string }>(
      await env.database.db.execute(sql`
        select (select coalesce(sum(octet_length(data)), 0) from chunks c join submissions s on s.id = c.submission_id where s.status = 'uploading')::bigint as stored,
          (select coalesce(sum(least(s.size, s.chunk_size::bigint * (select count(*) from chunks c where c.submission_id = s.id))), 0) from submissions s where s.status = 'uploading')::bigint as counted`),
    );
    console.log(
      `phantom arrived: ${opens} opens, ${bytesSent} bytes stored by the attacker; uploads in progress hold ${sums?.stored} stored bytes counted as ${(Number(sums?.counted) / MiB).toFixed(1)} MiB arrived; ` +
        `its opens stopped at ${JSON.stringify(refusals)}`,
    );
    const text = await ciphertextFor(env.newsroomKey, 200 * KiB);
    const tip = await openNative(app, { lookupId: hex(), size: text.length, chunkSize: text.length, sha256: sha256Hex(text), sourceKeys: env.sourceKeys });
    const file = await ciphertextFor(env.newsroomKey, 8 * MiB - 4 * KiB);
    const big = await openNative(app, { lookupId: returning, size: file.length, chunkSize: 4 * MiB, sha256: sha256Hex(file) });
    console.log(`phantom arrived: honest text tip ${tip.status} ${tip.code}; returning source's 8 MiB file ${big.status} ${big.code}`);
    // how long the attacker's uploads hold it without being opened again: the sweep, minute by minute
    const { purgeExpired } = await import('../../server/source/purge.ts');
    let m = 0;
    for (; m < 60; m++) {
      env.now = new Date(Date.parse('2026-09-20T09:00:00Z') + m * 60_000);
      await purgeExpired(env.database.db, () => env.now, 6, 10);
      const [left] = rowsOf<{ n: number }>(await env.database.db.execute(sql`select count(*)::int as n from submissions where status = 'uploading'`));
      if (left?.n === 0) break;
    }
    console.log(`phantom arrived: the sweep took the attacker's uploads in minute ${m} (each open holds its 4 MiB that long)`);
    expect(`${tip.status} ${tip.code}`).toBe('201 created');
    expect(`${big.status} ${big.code}`).toBe('201 created');
  });
});
