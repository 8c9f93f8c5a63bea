/**
 * Issue 9, the attacker of 0019 (attack 9d): many probes of one codename opened at once (each fits
 * beside the others' 64 KiB holds), their proofs sent all at once, both chunks of each proof at
 * once, half of them through a second app instance on the same database. The promotions take the
 * open's lock, so they are decided one at a time: at most the codename's day is promoted, and every
 * refused one is deleted with its chunks. Asserts that.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { hashLookupId } from '../../../protocol/kdf.ts';
import { rowsOf } from '../../../server/db/open.ts';
import { ciphertextFor } from '../../../server/source/open.test-helpers.ts';
import { sha256Hex } from '../../../server/test-helpers.ts';
import { GiB, hex, KiB, MiB, openNative, putChunkRaw } from '../_harness.ts';
import { useEnv } from '../_setup.ts';

const env = useEnv();

describe('attack 9d: promotions of one codename raced over two processes', () => {
  it('promotes at most the codename\'s day when four 2 GiB probes send their proofs at once over two app instances', async () => {
    env.now = new Date('2026-10-05T09:00:00Z');
    await env.database.db.execute(sql`delete from submissions`);
    const one = await env.app();
    const two = await env.app();
    const lookupId = hex();
    const text = await ciphertextFor(env.newsroomKey, 2 * KiB);
    const tip = await openNative(one.app, { lookupId, size: text.length, chunkSize: text.length, sha256: sha256Hex(text), sourceKeys: env.sourceKeys });
    expect((await putChunkRaw(one.app, tip.uploadId!, 0, text)).body.complete).toBe(true);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const o = await openNative(i % 2 ? two.app : one.app, { lookupId, size: 2 * GiB, chunkSize: 4 * MiB });
      expect(`${o.status} ${o.code}`).toBe('201 created');
      ids.push(o.uploadId!);
    }
    const answers = await Promise.all(
      ids.flatMap((id, i) => [0, 1].map((c) => putChunkRaw((i + c) % 2 ? two.app : one.app, id, c, new Uint8Array(randomBytes(4 * MiB))))),
    );
    const counts: Record<string, number> = {};
    for (const a of answers) counts[`${a.status} ${a.body.error ?? 'stored'}`] = (counts[`${a.status} ${a.body.error ?? 'stored'}`] ?? 0) + 1;
    const [left] = rowsOf<{ promoted: number; probes: number; day: string; orphans: number }>(
      await env.database.db.execute(sql`
        select count(*) filter (where status = 'uploading' and not probe)::int as promoted,
          count(*) filter (where status = 'uploading' and probe)::int as probes,
          coalesce(sum(case when probe then least(size, 65536) else size end), 0)::bigint as day,
          (select count(*) from chunks c where not exists (select 1 from submissions s where s.id = c.submission_id))::int as orphans
        from submissions where source_id = (select id from sources where lookup_hash = ${hashLookupId(lookupId)})`),
    );
    console.log(`concurrent promotions: chunk answers ${JSON.stringify(counts)}; left ${JSON.stringify(left)}`);
    expect(left?.promoted).toBe(1);
    expect(Number(left?.day)).toBeLessThanOrEqual(4 * GiB);
    expect(left?.orphans).toBe(0);
  });
});
