/**
 * Attack 9f, the cost of a replayed busy refusal, by submissions kept: busy-uploads.ts selects the
 * codename's uploads of the day with `created_day = day and sealdrop_of_codename(...)`, the same
 * shape as the open's own sums. Does it read every submission kept? With 200 000 received tips
 * kept (PostgreSQL 18 answers it from submissions_status_day_idx by a skip scan over its leading
 * status column: the day's rows only; the plan is printed), one token replayed:
 * source_busy (a codename with one dead 2 GiB upload) against source_quota. Prints both plans and
 * the medians; asserts the safe outcome: a busy refusal costs no more than twice a source_quota one.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { hashLookupId } from '../../../protocol/kdf.ts';
import { rowsOf } from '../../../server/db/open.ts';
import { GiB, hex, KiB, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { fresh, open, returningSource, sendChunks, token } from './_busy.ts';

const env = useEnv();
const N = 40;
const KEPT = Number(process.env.BUSY_COST_KEPT ?? 200_000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('attack 9f: a replayed source_busy refusal and the submissions kept', () => {
  it('costs no more than twice a source_quota refusal with 200 000 tips kept', async () => {
    const start = '2026-10-19T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaTotal: 1024 * GiB });
    const db = env.database.db;
    const [busy, spent] = [hex(), hex()];
    await returningSource(env, app, busy);
    await returningSource(env, app, spent);
    const spentId = rowsOf<{ id: string }>(await db.execute(sql`select id from sources where lookup_hash = ${hashLookupId(spent)}`))[0]!.id;
    // tips kept by other sources over the last months (one source row each would change nothing here)
    await db.execute(sql`insert into sources (lookup_hash, handle, public_key, locked_private_key, created_day)
      select md5(g::text) || md5((g + 1)::text), 'h' || g, 'k', 'k', date '2026-06-01' from generate_series(1, 1000) g`);
    await db.execute(sql`insert into submissions (source_id, status, size, chunk_size, chunks, sha256, created_day, received_day)
      select s.id, 'received', 2048, 2048, 1, md5(g::text), date '2026-10-19' - (g % 120), date '2026-10-19' - (g % 120)
      from generate_series(1, ${KEPT}::int) g join lateral (select id from sources where lookup_hash = md5((g % 1000 + 1)::text) || md5((g % 1000 + 2)::text)) s on true`);
    await db.execute(sql`insert into submissions (source_id, status, size, chunk_size, chunks, sha256, created_day, received_day)
      values (${spentId}::uuid, 'received', ${4 * GiB - 64 * KiB}::bigint, ${4 * MiB}::int, 1024, ${hex()}, ${'2026-10-19'}::date, ${'2026-10-19'}::date)`);
    const a = await open(app, { lookupId: busy, size: 2 * GiB });
    await sendChunks(app, a.body.uploadId, 0, 2);
    await db.execute(sql`analyze`);
    const [{ n }] = rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from submissions`)) as [{ n: number }];
    const plan = rowsOf<Record<string, string>>(
      await db.execute(sql`explain (analyze, costs off, timing on)
        select m.id from submissions m where m.created_day = ${'2026-10-19'}::date
          and sealdrop_of_codename(m.source_id, m.status, m.pending_lookup_hash, ${spentId}::uuid, ${hashLookupId(spent)})`),
    ).map((r) => Object.values(r)[0]);
    console.log(`busy cost rows: ${n} submissions; the codename's day as both read it:\n  ${plan.join('\n  ')}`);
    const replay = async (lookupId: string, want: string) => {
      const pow = await token(app, 2 * GiB);
      const times: number[] = [];
      for (let i = 0; i < N; i++) {
        const t = performance.now();
        expect((await open(app, { lookupId, size: 2 * GiB, pow })).code).toBe(want);
        times.push(performance.now() - t);
      }
      return times;
    };
    const b = median([...(await replay(busy, 'source_busy')), ...(await replay(busy, 'source_busy'))]);
    const q = median([...(await replay(spent, 'source_quota')), ...(await replay(spent, 'source_quota'))]);
    console.log(`busy cost rows (${env.database.kind}, ${n} submissions, N=${2 * N}): source_busy median ${b.toFixed(1)} ms, source_quota median ${q.toFixed(1)} ms`);
    expect(b).toBeLessThanOrEqual(2 * q);
  });
});
