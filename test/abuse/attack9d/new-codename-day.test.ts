/**
 * Issue 9, the attacker of 0019 (attack 9d): a new codename's day (QUOTA_SOURCE_PER_DAY) counts, at
 * its opens and at its probes' promotions, only its uploads still in progress under its pending lookup
 * hash (`status = 'uploading' AND source_id IS NULL AND pending_lookup_hash = ...`). Once its first
 * upload is received, that upload has a source and no pending hash: the codename's other uploads
 * still open as a new source's are no longer counted with it. So a fresh codename opens two
 * uploads of most of its day at once (each fits beside the other's 64 KiB hold), completes the
 * first, and the second is promoted with its whole size, past the day: the day counts neither the
 * received upload (for the pending one) nor the pending one (for the returning codename's opens).
 * Asserts the safe outcome: the second's promotion is refused (429 source_quota), and what the
 * codename holds or sent today never passes its day.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { hashLookupId } from '../../../protocol/kdf.ts';
import { rowsOf } from '../../../server/db/open.ts';
import { ciphertextFor } from '../../../server/source/open.test-helpers.ts';
import { sha256Hex } from '../../../server/test-helpers.ts';
import { hex, KiB, MiB, openNative, putChunkRaw } from '../_harness.ts';
import { useEnv } from '../_setup.ts';

const env = useEnv();

describe('attack 9d: a new codename\'s day once its first upload is received', () => {
  it('refuses the promotion of a second upload opened as a new source beside the first once the first is received, when both pass the day', async () => {
    env.now = new Date('2026-10-03T09:00:00Z');
    await env.database.db.execute(sql`delete from submissions`);
    const quota = 16 * MiB;
    const { app } = await env.app({ quotaSourcePerDay: quota });
    const lookupId = hex();
    const file = await ciphertextFor(env.newsroomKey, 12 * MiB - 4 * KiB);
    const open = () => openNative(app, { lookupId, size: file.length, chunkSize: 4 * MiB, sha256: sha256Hex(file), sourceKeys: env.sourceKeys });
    // both fit beside the other's 64 KiB hold: 12 MiB + 64 KiB <= 16 MiB
    const a = await open();
    const b = await open();
    expect(`${a.status} ${a.code}`).toBe('201 created');
    expect(`${b.status} ${b.code}`).toBe('201 created');
    const chunk = (i: number) => file.slice(i * 4 * MiB, (i + 1) * 4 * MiB);
    for (let i = 0; i < 3; i++) expect((await putChunkRaw(app, a.uploadId!, i, chunk(i))).status).toBe(200);
    // the second's proof: 8 MiB stored, its promotion counts the codename's day with its whole size
    expect((await putChunkRaw(app, b.uploadId!, 0, chunk(0))).status).toBe(200);
    const proof = await putChunkRaw(app, b.uploadId!, 1, chunk(1));
    // what the codename holds of its day: every upload of today of its source or its pending hash, a probe at its hold
    const [day] = rowsOf<{ n: string }>(
      await env.database.db.execute(sql`
        select coalesce(sum(case when m.probe then least(m.size, 65536) else m.size end), 0)::bigint as n from submissions m
        where m.created_day = '2026-10-03' and (m.pending_lookup_hash = ${hashLookupId(lookupId)}
          or m.source_id = (select s.id from sources s where s.lookup_hash = ${hashLookupId(lookupId)}))`),
    );
    // and the returning codename's next open, which counts its received upload only
    const more = await openNative(app, { lookupId, size: 4 * MiB - 64 * KiB, chunkSize: 4 * MiB });
    // the second can never arrive (its codename has a source now): it only holds its room
    const last = await putChunkRaw(app, b.uploadId!, 2, chunk(2));
    console.log(
      `new codename's day (${quota / MiB} MiB): first ${file.length} B received; the second's proof answered ${proof.status} ${proof.body.error ?? 'stored'}; ` +
        `the codename holds ${(Number(day?.n) / MiB).toFixed(1)} MiB of its day; its returning open of ${(4 * MiB - 64 * KiB) / MiB} MiB then: ${more.status} ${more.code}; the second's last chunk: ${last.status} ${last.body.error ?? 'complete'}`,
    );
    expect(`${proof.status} ${proof.body.error}`).toBe('429 source_quota');
    expect(Number(day?.n), 'bytes the codename holds of its day').toBeLessThanOrEqual(quota);
  });
});
