/**
 * Attack 9f, the cost of a replayed busy refusal: a refusal spends no proof-of-work token, so one
 * solved token can be shown again and again. A source_busy answer adds busy-uploads.ts's read to the
 * open's decision: for each of the codename's uploads in progress, the sum of its chunk rows'
 * octet_length. The most chunk rows a codename's day can hold in progress: MAX_CHUNKS is 512, so
 * 64 KiB chunks means uploads of at most 32 MiB; 127 of them promoted with 511 chunks each fill a
 * 4 GiB day (64 897 chunk rows, 4 GiB the attacker has to send once). Built here by SQL (the state,
 * not the sending), chunk data out of line as random bytes would be (500 random bytes twice, 3000
 * random, then zeros: compressed above the TOAST threshold, so the heap holds pointers, as for
 * random chunks, and octet_length reads the pointer). 64 897 rows ~ 64 900 here (3 text tips).
 *
 * Measured: one token replayed N times against that codename (source_busy), against a codename
 * whose day a received tip spent (source_quota), and against a codename busy with one upload of 2
 * chunks. Asserts the safe outcome: a busy refusal costs no more than twice a source_quota one.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { hashLookupId } from '../../../protocol/kdf.ts';
import { rowsOf } from '../../../server/db/open.ts';
import { tickOf } from '../../../server/source/stale-uploads.ts';
import { GiB, hex, KiB, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { fresh, open, returningSource, sendChunks, token } from './_busy.ts';

const env = useEnv();
const N = Number(process.env.BUSY_COST_N ?? 40);
const UPLOADS = Number(process.env.BUSY_COST_UPLOADS ?? 127);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('attack 9f: what one replayed source_busy refusal costs', () => {
  it('costs no more than twice a source_quota refusal, with the codename\'s day in 64 KiB chunks', async () => {
    const start = '2026-10-14T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const db = env.database.db;
    const heavy = hex();
    const spent = hex();
    const light = hex();
    for (const id of [heavy, spent, light]) await returningSource(env, app, id);
    const sourceOf = async (lookupId: string) =>
      rowsOf<{ id: string }>(await db.execute(sql`select id from sources where lookup_hash = ${hashLookupId(lookupId)}`))[0]!.id;
    const tick = tickOf(env.now);
    // the heavy codename: UPLOADS promoted 32 MiB uploads in 64 KiB chunks, 511 stored each
    // pglz gives up on data with no match in its first 1024 bytes: 500 random bytes twice, 3000
    // random, zeros (about 3.5 KB compressed, above the 2 KB TOAST threshold: stored out of line)
    const r1 = randomBytes(500).toString('hex');
    const block = r1 + r1 + randomBytes(3000).toString('hex');
    const t0 = performance.now();
    await db.execute(sql`
      insert into submissions (id, source_id, status, size, chunk_size, chunks, sha256, created_day, probe)
      select gen_random_uuid(), ${await sourceOf(heavy)}::uuid, 'uploading', ${32 * MiB}::bigint, ${64 * KiB}::int, 512, ${hex()}, ${'2026-10-14'}::date, false
      from generate_series(1, ${UPLOADS}::int)`);
    const ids = rowsOf<{ id: string }>(await db.execute(sql`select id from submissions where source_id = ${await sourceOf(heavy)}::uuid and status = 'uploading'`)).map((r) => r.id);
    await db.execute(sql`insert into chunks (submission_id, idx, data)
      values (${ids[0]!}::uuid, 0, decode(${block}::text || repeat('00', ${64 * KiB - 4000}::int), 'hex'))`);
    await db.execute(sql`insert into chunks (submission_id, idx, data)
      select m.id, g, (select c.data from chunks c where c.submission_id = ${ids[0]!}::uuid and c.idx = 0)
      from submissions m, generate_series(0, 510) g
      where m.source_id = ${await sourceOf(heavy)}::uuid and m.status = 'uploading' and not (m.id = ${ids[0]!}::uuid and g = 0)`);
    await db.execute(sql`insert into upload_progress (submission_id, chunks, tick, first_tick, flowed)
      select m.id, 511, ${tick}::int, ${tick}::int, 0 from submissions m where m.status = 'uploading'`);
    const [shape] = rowsOf<{ rows: number; octets: string; heap: string; total: string }>(
      await db.execute(sql`select count(*)::int as rows, sum(octet_length(data))::bigint as octets,
        pg_relation_size('chunks')::bigint as heap, pg_total_relation_size('chunks')::bigint as total from chunks`),
    );
    console.log(`busy cost: built ${UPLOADS} uploads, ${shape!.rows} chunk rows, ${Number(shape!.octets) / GiB} GiB by octet_length, chunks heap ${(Number(shape!.heap) / MiB).toFixed(1)} MiB, with TOAST ${(Number(shape!.total) / MiB).toFixed(0)} MiB, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // the spent codename: a received 4 GiB tip (no chunk rows needed for its day)
    await db.execute(sql`insert into submissions (source_id, status, size, chunk_size, chunks, sha256, created_day, received_day)
      values (${await sourceOf(spent)}::uuid, 'received', ${4 * GiB - 64 * KiB}::bigint, ${4 * MiB}::int, 1024, ${hex()}, ${'2026-10-14'}::date, ${'2026-10-14'}::date)`);
    // the light codename: busy with one promoted 2 GiB upload of 2 chunks
    const l = await open(app, { lookupId: light, size: 2 * GiB });
    await sendChunks(app, l.body.uploadId, 0, 2);
    await db.execute(sql`analyze`);

    const replay = async (lookupId: string, size: number, want: string) => {
      const pow = await token(app, size);
      const times: number[] = [];
      for (let i = 0; i < N; i++) {
        const t = performance.now();
        const r = await open(app, { lookupId, size, chunkSize: size > 32 * MiB ? 4 * MiB : 64 * KiB, pow });
        times.push(performance.now() - t);
        expect(r.code).toBe(want);
      }
      return times;
    };
    const busyHeavy = await replay(heavy, 32 * MiB, 'source_busy');
    const quota = await replay(spent, 32 * MiB, 'source_quota');
    const busyLight = await replay(light, 2 * GiB, 'source_busy');
    const busyHeavy2 = await replay(heavy, 32 * MiB, 'source_busy');
    const quota2 = await replay(spent, 32 * MiB, 'source_quota');
    const [b, q, bl] = [median([...busyHeavy, ...busyHeavy2]), median([...quota, ...quota2]), median(busyLight)];
    console.log(`busy cost (${env.database.kind}, N=${2 * N}): source_busy over ${shape!.rows} chunk rows median ${b.toFixed(1)} ms; ` +
      `source_quota median ${q.toFixed(1)} ms; source_busy over 2 chunk rows median ${bl.toFixed(1)} ms`);
    // replayed refusals at once (4 loops, one token each) beside an honest returning source's text-tip opens
    const honest = hex();
    await returningSource(env, app, honest);
    const honestOpens = async () => {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const pow = await token(app, 2048);
        const t = performance.now();
        expect((await open(app, { lookupId: honest, size: 2048, chunkSize: 2048, pow })).code).toBe('created');
        times.push(performance.now() - t);
      }
      return median(times);
    };
    const flooded = async (lookupId: string, size: number, want: string) => {
      let stop = false;
      let refused = 0;
      const loops = Array.from({ length: 4 }, async () => {
        const pow = await token(app, size);
        while (!stop) {
          expect((await open(app, { lookupId, size, chunkSize: size > 32 * MiB ? 4 * MiB : 64 * KiB, pow })).code).toBe(want);
          refused++;
        }
      });
      const t = performance.now();
      const h = await honestOpens();
      stop = true;
      await Promise.all(loops);
      return { honest: h, perSecond: refused / ((performance.now() - t) / 1000) };
    };
    const calm = await honestOpens();
    const underBusy = await flooded(heavy, 32 * MiB, 'source_busy');
    const underQuota = await flooded(spent, 32 * MiB, 'source_quota');
    console.log(`busy cost: an honest text-tip open, median of 10: ${calm.toFixed(1)} ms alone; ${underBusy.honest.toFixed(1)} ms beside 4 loops of replayed source_busy ` +
      `(${underBusy.perSecond.toFixed(0)}/s); ${underQuota.honest.toFixed(1)} ms beside 4 loops of replayed source_quota (${underQuota.perSecond.toFixed(0)}/s)`);
    // for scale: the same source_quota refusal once the heavy codename's uploads are gone (the
    // open's own pool sums read every upload's chunk rows, whoever's, under the open's lock)
    await db.execute(sql`delete from submissions where source_id = ${await sourceOf(heavy)}::uuid and status = 'uploading'`);
    const q0 = median(await replay(spent, 32 * MiB, 'source_quota'));
    console.log(`busy cost: source_quota median without those chunk rows ${q0.toFixed(1)} ms`);
    expect(b).toBeLessThanOrEqual(2 * q);
  });
});
