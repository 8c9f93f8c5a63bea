/**
 * @module bench/racing-reservations.bench — the "racing attacker" of issue 9 at the defaults, on a
 * simulated clock: how many bytes of reservations an attacker holds against QUOTA_TOTAL by
 * sending just above UPLOAD_PACE on each of its uploads while opening at most 15 a minute (under
 * POW_FLOOD_OPENS_PER_MINUTE), and what an honest source's 2 GiB file (and a text tip) sees.
 *
 * The real source app (createApp through buildTestApp, in this process, no socket) with the
 * default open limits (server/source/open-limits.ts DEFAULT_OPEN_LIMITS: QUOTA_TOTAL 64 GiB,
 * QUOTA_SOURCE_PER_DAY 4 GiB, the 2 GiB small pool, 50 % / 20 % unsent shares, a 60 s claim grace,
 * UPLOAD_PACE 2000 B/s, a 10-minute lease) on PostgreSQL (BENCH_DATABASE_URL), in a fresh database
 * this bench creates and drops, base difficulty 0 (the size curve's bits are still asked and solved
 * natively). The clock moves a minute a step; each step:
 *   - the attacker sends 131 072 B (2 185 B/s) on every upload it holds, as a 4 MiB chunk body
 *     trickling in (a 2 GiB upload has at most 512 chunks, so 4 MiB ones; the chunk gate cuts a body
 *     only under 1 KiB/s, and a request may take 40 minutes): the gate's once-a-minute report is
 *     made as the gate makes it (markUploadFlowing), and the chunk is stored once its bytes came;
 *     then it opens 2 GiB uploads as returning sources (ATTACKER_CODENAMES codenames, each with one
 *     text tip received, 4 GiB a day each; what a swept upload did not send counts toward it beyond
 *     the open's own size, migrations/0015_swept_unsent.sql) until one is refused or it made 15 this minute;
 *   - the sweep runs (purgeExpired: the day's purge, the pace sweep; each upload it deletes counts
 *     toward the adaptive price, as the purge timer counts it);
 *   - an honest returning source and an honest new source each try to open a 2 GiB file (an open
 *     that succeeds is deleted at once; the new source's, a probe since migrations/0016, first sends
 *     its 8 MiB proof and counts as accepted only once promoted), and every 10 minutes an honest
 *     text tip is sent.
 * Printed at the minutes of REPORT_AT: the attacker's uploads, bytes announced and still unsent,
 * bytes stored, its send rate and opens; the honest outcomes since the last line; at the end, the
 * bytes it held, its bandwidth over the run and the honest 2 GiB opens accepted and refused.
 * SIM_MINUTES (default 60) minutes.
 *
 * Two attackers, one after the other, each in its own fresh database (RACING_ATTACKER=trickle or
 * adaptive for one):
 *   - trickle: FLOW_PER_MINUTE on every upload (above);
 *   - adaptive: on every upload exactly the pace the server asks of it, read from the database
 *     (sealdrop_required_per_tick, migrations/0014_size_pace.sql: UPLOAD_PACE, or the size over the
 *     minutes to the purge that would delete it unfinished, whichever is more; a 2 GiB upload
 *     opened at the bench's start, 00:01 UTC, 745 914 B a minute, 12.4 kB/s): what holding the
 *     bound costs now.
 *
 * A third case, the new sources' room held by re-opening (runNewSources below; alone with
 * RACING_ATTACKER=newsources).
 *
 *   npm run bench -- racing
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { CHUNK_BYTES, MAX_CIPHERTEXT_BYTES } from '../protocol/limits.ts';
import { encryptToKeys, generateSourceKeys } from '../protocol/source-keys.ts';
import { openDatabase, rowsOf } from '../server/db/open.ts';
import { DEFAULT_OPEN_LIMITS, pacePerTick, PROBE_HOLD } from '../server/source/open-limits.ts';
import { createPowLoad } from '../server/source/pow-load.ts';
import { purgeExpired } from '../server/source/purge.ts';
import { markUploadFlowing, noteFlowStored } from '../server/source/stale-uploads.ts';
import { submissionIdOf } from '../server/source/uploads.ts';
import { buildTestApp, demoNewsroomKey } from '../server/test-helpers.ts';
import { fmt, freshDatabase } from './_load.ts';
import { solveNatively } from './_native-pow.ts';

const SIM_MINUTES = Number(process.env.SIM_MINUTES ?? 60);
const ATTACKER_OPENS_PER_MINUTE = Number(process.env.ATTACKER_OPENS_PER_MINUTE ?? 15);
const ATTACKER_CODENAMES = Number(process.env.ATTACKER_CODENAMES ?? 20);
/** bytes each of the attacker's uploads sends a minute: 131 072 / 60 = 2 185 B/s, just above the pace */
const FLOW_PER_MINUTE = Number(process.env.FLOW_PER_MINUTE ?? 131_072);
const REPORT_AT = new Set([1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240]);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const hex = () => randomBytes(32).toString('hex');

async function post(app: Hono, path: string, body: unknown) {
  const res = await app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function open(
  app: Hono,
  o: { lookupId: string; size: number; chunkSize: number; sha256?: string; sourceKeys?: { publicKey: string; lockedPrivateKey: string } },
) {
  const challenge = await post(app, '/api/v1/pow', { size: o.size });
  if (challenge.status !== 200) throw new Error(`pow ${challenge.status}`);
  const nonce = await solveNatively(challenge.body.token, challenge.body.difficulty);
  const opened = await post(app, '/api/v1/uploads', {
    pow: { token: challenge.body.token, nonce },
    lookupId: o.lookupId,
    ...(o.sourceKeys ? { sourceKeys: o.sourceKeys } : {}),
    size: o.size,
    chunkSize: o.chunkSize,
    chunks: Math.ceil(o.size / o.chunkSize),
    sha256: o.sha256 ?? hex(),
  });
  return { status: opened.status, code: (opened.body.error as string | undefined) ?? String(opened.status), uploadId: opened.body.uploadId as string | undefined, difficulty: challenge.body.difficulty as number };
}

async function putChunk(app: Hono, uploadId: string, index: number, bytes: Uint8Array) {
  const res = await app.request(`/api/v1/uploads/${uploadId}/chunks/${index}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  await res.arrayBuffer();
  return res.status;
}

type Attacker = 'trickle' | 'adaptive';

export async function run(): Promise<void> {
  const which = process.env.RACING_ATTACKER;
  if (which === 'newsources') return runNewSources();
  const attackers: Attacker[] = which === 'trickle' || which === 'adaptive' ? [which] : ['trickle', 'adaptive'];
  for (const attacker of attackers) await runAttacker(attacker);
  await runNewSources();
}

/** the new-sources case: each attacker's open shows this many bytes (the chunk gate's first report) */
const NEW_SOURCE_SHOWN = 65_536;
/** the new-sources case: the attacker's opens a minute at most, and the minutes simulated */
const NEW_SOURCE_OPENS_PER_MINUTE = Number(process.env.NEW_SOURCE_OPENS_PER_MINUTE ?? 3);
const NEW_SOURCE_MINUTES = Number(process.env.NEW_SOURCE_MINUTES ?? 30);

/**
 * The new sources' large room held by re-opening (issue 9, Break A; migrations/0016 probes). Each
 * minute the attacker tops up the new sources' share (RESERVE_NEW_SOURCE_PERCENT of the free room)
 * with fresh codenames (a new source per open, its keys checked): 2 GiB opens, then 256 MiB and
 * 16 MiB fillers, each until refused, at most NEW_SOURCE_OPENS_PER_MINUTE (3) in all, for
 * NEW_SOURCE_MINUTES (30); two strategies, one
 * after the other, each in a fresh database:
 *   - claims: each open shows NEW_SOURCE_SHOWN bytes (the chunk gate's report) and nothing more;
 *   - proofs: each open sends RESERVE_PROOF bytes at once (4 MiB chunks, stored), which
 *     promotes it where it fits, and nothing more; a refused promotion (507 on the chunk) moves it
 *     to the next size, so it fills the room to within its smallest size.
 * Then an honest new source opens a 64 MiB file and sends its first 8 MiB (two chunks: a probe's
 * proof); what it got is counted (201 and both chunks 200: in; else the refusal) and it is deleted.
 * Printed: the attacker's opens a minute and bytes a second, the room it held, the honest outcomes.
 */
async function runNewSources(): Promise<void> {
  for (const strategy of ['claims', 'proofs'] as const) {
    const fresh = await freshDatabase('sealdrop_racing_new');
    const database = await openDatabase({ url: fresh.url });
    try {
      let now = new Date('2026-07-01T00:00:30Z');
      const clock = () => now;
      const newsroomKey = await demoNewsroomKey(now);
      const sourceKeys = await generateSourceKeys('c'.repeat(64), newsroomKey.key);
      const powLoad = createPowLoad({ db: database.db, opensPerMinute: 60, maxBits: 8 });
      const { app } = await buildTestApp(database.db, newsroomKey, clock, { powDifficulty: 0, logRequests: false, openLimits: DEFAULT_OPEN_LIMITS, powLoad });
      const L = DEFAULT_OPEN_LIMITS;
      const proof = L.reserveProof;
      const body = new Uint8Array(randomBytes(CHUNK_BYTES));
      let opens = 0;
      let bytes = 0;
      const honest: Record<string, number> = {};
      const refusals: Record<string, number> = {};
      const heldAt: number[] = [];
      for (let minute = 1; minute <= NEW_SOURCE_MINUTES; minute++) {
        now = new Date(now.getTime() + 60_000);
        const swept = (await purgeExpired(database.db, clock)).staleUploads;
        for (let i = 0; i < swept; i++) powLoad.noteOpen(0, now);
        let made = 0;
        for (const size of [MAX_CIPHERTEXT_BYTES, 256 * MiB, 16 * MiB]) {
          while (made < NEW_SOURCE_OPENS_PER_MINUTE) {
            const opened = await open(app, { lookupId: hex(), size, chunkSize: CHUNK_BYTES, sourceKeys });
            if (opened.status !== 201) {
              refusals[opened.code] = (refusals[opened.code] ?? 0) + 1;
              break;
            }
            made++;
            opens++;
            const id = submissionIdOf(opened.uploadId!)!;
            if (strategy === 'claims') {
              await markUploadFlowing(database.db, id, now, NEW_SOURCE_SHOWN);
              bytes += NEW_SOURCE_SHOWN;
            } else {
              let refused = false;
              for (let i = 0; i * CHUNK_BYTES < Math.min(proof, size) && !refused; i++) {
                const status = await putChunk(app, opened.uploadId!, i, body);
                bytes += CHUNK_BYTES;
                if (status !== 200) {
                  refusals[`chunk ${status}`] = (refusals[`chunk ${status}`] ?? 0) + 1;
                  refused = true;
                }
              }
              // its promotion refused: the room left is smaller, the next size
              if (refused) break;
            }
          }
        }
        // the honest new source's 64 MiB file: its open, then its first 8 MiB
        const opened = await open(app, { lookupId: hex(), size: 64 * MiB, chunkSize: CHUNK_BYTES, sourceKeys });
        let outcome = opened.code;
        if (opened.status === 201) {
          outcome = 'in';
          for (let i = 0; i < 2; i++) {
            const status = await putChunk(app, opened.uploadId!, i, body);
            if (status !== 200) {
              outcome = `chunk ${status}`;
              break;
            }
          }
          await database.db.execute(sql`delete from submissions where id = ${submissionIdOf(opened.uploadId!)!}::uuid`);
        }
        if (minute > 10) honest[outcome] = (honest[outcome] ?? 0) + 1;
        const [row] = rowsOf<{ held: string }>(
          await database.db.execute(sql`
            select coalesce(sum(greatest(0, sealdrop_held(s.size, s.probe, ${PROBE_HOLD}::bigint)
              - s.chunk_size::bigint * (select count(*) from chunks c where c.submission_id = s.id))), 0)::bigint as held
            from submissions s where s.status = 'uploading' and s.source_id is null`),
        );
        if (minute > 10) heldAt.push(Number(row!.held));
      }
      const seconds = NEW_SOURCE_MINUTES * 60;
      const held = heldAt.reduce((a, b) => a + b, 0) / Math.max(1, heldAt.length);
      console.log(
        `new sources' room (${fmt(L.reserveNewSourceShare * 100)} % of the free room, ${fmt((L.reserveNewSourceShare * L.quotaTotal) / GiB, 1)} GiB), ${strategy} attacker: ` +
          `${opens} opens in ${NEW_SOURCE_MINUTES} minutes (${fmt(opens / NEW_SOURCE_MINUTES, 1)} a minute), ${fmt(bytes / MiB, 1)} MiB ${strategy === 'claims' ? 'shown' : 'stored'} ` +
          `(${fmt(bytes / seconds)} B/s); held on average after minute 10: ${fmt(held / GiB, 2)} GiB of the new sources' bound; refused ${JSON.stringify(refusals)}; ` +
          `honest new source's 64 MiB file after minute 10: ${JSON.stringify(honest)}`,
      );
    } finally {
      await database.close();
      await fresh.drop();
    }
  }
}

async function runAttacker(attacker: Attacker): Promise<void> {
  const fresh = await freshDatabase('sealdrop_racing');
  const database = await openDatabase({ url: fresh.url });
  try {
    let now = new Date('2026-07-01T00:00:30Z');
    const clock = () => now;
    const newsroomKey = await demoNewsroomKey(now);
    const sourceKeys = await generateSourceKeys('c'.repeat(64), newsroomKey.key);
    // the price's counts shared with the sweep, as server/main.ts wires them (startPurgeTimer)
    const powLoad = createPowLoad({ db: database.db, opensPerMinute: 60, maxBits: 8 });
    const { app } = await buildTestApp(database.db, newsroomKey, clock, { powDifficulty: 0, logRequests: false, openLimits: DEFAULT_OPEN_LIMITS, powLoad });
    const L = DEFAULT_OPEN_LIMITS;
    console.log(
      `defaults: QUOTA_TOTAL ${L.quotaTotal / GiB} GiB, QUOTA_SOURCE_PER_DAY ${L.quotaSourcePerDay / GiB} GiB, small pool ${L.reserveSmallShare / GiB} GiB, ` +
        `unsent shares ${L.reserveUnsentShare * 100} % / new sources ${L.reserveNewSourceShare * 100} %, UPLOAD_PACE ${L.uploadPace} B/s, lease ${L.uploadLeaseMinutes} min; ` +
        `attacker: ${ATTACKER_CODENAMES} returning codenames, at most ${ATTACKER_OPENS_PER_MINUTE} opens a minute of ${MAX_CIPHERTEXT_BYTES / GiB} GiB, ` +
        (attacker === 'trickle'
          ? `${FLOW_PER_MINUTE} B a minute on each (${fmt(FLOW_PER_MINUTE / 60)} B/s)`
          : 'on each exactly the pace the server asks of it (adaptive)') + ', as 4 MiB chunk bodies trickling in',
    );

    // a text tip: one chunk, the whole ciphertext
    const textTip = async (lookupId: string, keys?: typeof sourceKeys) => {
      const bytes = await encryptToKeys(new Uint8Array(randomBytes(4096)), [newsroomKey.key]);
      const opened = await open(app, { lookupId, size: bytes.length, chunkSize: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), ...(keys ? { sourceKeys: keys } : {}) });
      if (opened.status !== 201) return opened.code;
      const status = await putChunk(app, opened.uploadId!, 0, bytes);
      return status === 200 ? 'received' : `chunk ${status}`;
    };

    const codenames = Array.from({ length: ATTACKER_CODENAMES }, hex);
    for (const lookupId of codenames) if ((await textTip(lookupId, sourceKeys)) !== 'received') throw new Error('attacker tip refused');
    const honestReturning = hex();
    if ((await textTip(honestReturning, sourceKeys)) !== 'received') throw new Error('honest tip refused');

    const held = new Map<string, { submissionId: string; next: number; flowed: number }>();
    const body = new Uint8Array(randomBytes(CHUNK_BYTES));
    let attackerOpens = 0;
    let attackerRefusals: Record<string, number> = {};
    let attackerBytes = 0;
    let codename = 0;
    let honest: Record<string, number> = {};
    const note = (key: string) => (honest[key] = (honest[key] ?? 0) + 1);
    let filledAt: number | undefined;
    const honestAfterFill = { tried: 0, accepted: 0 };
    const honestAll = { tried: 0, accepted: 0 };
    let lastUnsent = 0;
    let lastReport = { minute: 0, bytes: 0 };
    let difficulty = 0;

    for (let minute = 1; minute <= SIM_MINUTES; minute++) {
      now = new Date(now.getTime() + 60_000);
      // the attacker keeps its uploads at the pace: each trickles a 4 MiB chunk body at FLOW_PER_MINUTE,
      // which the chunk gate reports once a minute (markUploadFlowing, as the gate's report does),
      // and the body is stored when its last byte came (its counted bytes then leave the flow)
      // the pace each upload is asked for (the adaptive attacker sends exactly it)
      const alive = new Map(
        rowsOf<{ id: string; per_tick: string }>(
          await database.db.execute(sql`
            select s.id, sealdrop_required_per_tick(s.size, s.created_day, p.first_tick, ${pacePerTick(L.uploadPace)}::bigint) as per_tick
            from submissions s join upload_progress p on p.submission_id = s.id where s.status = 'uploading'`),
        ).map((r) => [r.id, Number(r.per_tick)]),
      );
      for (const [uploadId, upload] of held) {
        if (!alive.has(upload.submissionId)) {
          held.delete(uploadId);
          attackerRefusals.swept = (attackerRefusals.swept ?? 0) + 1;
          continue;
        }
        const flow = attacker === 'trickle' ? FLOW_PER_MINUTE : alive.get(upload.submissionId)!;
        await markUploadFlowing(database.db, upload.submissionId, now, flow);
        upload.flowed += flow;
        attackerBytes += flow;
        if (upload.flowed >= CHUNK_BYTES) {
          const status = await putChunk(app, uploadId, upload.next, body);
          if (status !== 200) {
            held.delete(uploadId);
            attackerRefusals[`chunk ${status}`] = (attackerRefusals[`chunk ${status}`] ?? 0) + 1;
            continue;
          }
          await noteFlowStored(database.db, upload.submissionId, CHUNK_BYTES);
          upload.flowed -= CHUNK_BYTES;
          upload.next++;
        }
      }
      // ...and races for any room, up to its opens a minute
      for (let i = 0; i < ATTACKER_OPENS_PER_MINUTE; i++) {
        const opened = await open(app, { lookupId: codenames[codename % codenames.length]!, size: MAX_CIPHERTEXT_BYTES, chunkSize: CHUNK_BYTES });
        difficulty = opened.difficulty;
        if (opened.status === 201) {
          held.set(opened.uploadId!, { submissionId: submissionIdOf(opened.uploadId!)!, next: 0, flowed: 0 });
          attackerOpens++;
          continue;
        }
        attackerRefusals[opened.code] = (attackerRefusals[opened.code] ?? 0) + 1;
        if (opened.code === 'reservations_full' || opened.code === 'quota_full') filledAt ??= minute;
        // a codename past its bytes of the day: the next one
        if (opened.code === 'source_quota' || opened.code === 'source_unsent') codename++;
        else break;
      }
      const swept = (await purgeExpired(database.db, clock)).staleUploads;
      for (let i = 0; i < swept; i++) powLoad.noteOpen(0, now);

      // honest probes: a returning source's and a new source's 2 GiB file, and now and then a text tip
      for (const [who, lookupId, keys] of [
        ['returning', honestReturning, undefined],
        ['new', hex(), sourceKeys],
      ] as const) {
        const opened = await open(app, { lookupId, size: MAX_CIPHERTEXT_BYTES, chunkSize: 4 * MiB, ...(keys ? { sourceKeys: keys } : {}) });
        // a 2 GiB open is a probe, a new or a returning source's (migrations/0016, 0017): it is in once
        // its first 8 MiB (RESERVE_PROOF, two 4 MiB chunks) are stored and the rest fits
        let outcome = opened.code;
        for (let i = 0; opened.status === 201 && outcome === '201' && i * 4 * MiB < L.reserveProof; i++) {
          const status = await putChunk(app, opened.uploadId!, i, body);
          if (status !== 200) outcome = `chunk ${status}`;
        }
        const accepted = outcome === '201';
        note(`${who} 2 GiB: ${outcome}`);
        honestAll.tried++;
        if (accepted) honestAll.accepted++;
        if (filledAt !== undefined) {
          honestAfterFill.tried++;
          if (accepted) honestAfterFill.accepted++;
        }
        if (opened.status === 201) {
          // (a refused promotion deleted it already)
          await database.db.execute(sql`delete from submissions where status = 'uploading' and id = ${submissionIdOf(opened.uploadId!)!}::uuid`);
        }
      }
      if (minute % 10 === 0) note(`text tip: ${await textTip(honestReturning)}`);

      if (REPORT_AT.has(minute) || minute === SIM_MINUTES) {
        const [row] = rowsOf<{ uploads: number; announced: number; unsent: number; stored: number }>(
          await database.db.execute(sql`
            select count(*) filter (where s.status = 'uploading')::int as uploads,
              coalesce(sum(s.size) filter (where s.status = 'uploading'), 0)::bigint as announced,
              coalesce(sum(greatest(0, s.size - (select coalesce(sum(length(c.data)), 0) from chunks c where c.submission_id = s.id))) filter (where s.status = 'uploading'), 0)::bigint as unsent,
              (select coalesce(sum(length(data)), 0) from chunks)::bigint as stored
            from submissions s`),
        );
        const rate = (attackerBytes - lastReport.bytes) / ((minute - lastReport.minute) * 60);
        lastUnsent = Number(row!.unsent);
        console.log(
          `minute ${minute}: attacker holds ${held.size} uploads (${row!.uploads} in progress in all: ${fmt(Number(row!.announced) / GiB, 1)} GiB announced, ` +
            `${fmt(Number(row!.unsent) / GiB, 1)} GiB unsent, ${fmt((Number(row!.unsent) / L.quotaTotal) * 100, 1)} % of QUOTA_TOTAL), stored ${fmt(Number(row!.stored) / MiB)} MiB; ` +
            `sends ${fmt(rate)} B/s; ${attackerOpens} opens made, refused ${JSON.stringify(attackerRefusals)}, price ${difficulty} bits; honest ${JSON.stringify(honest)}`,
        );
        attackerRefusals = {};
        honest = {};
        lastReport = { minute, bytes: attackerBytes };
      }
    }
    console.log(
      filledAt === undefined
        ? `the attacker never met a full bound in ${SIM_MINUTES} minutes`
        : `the attacker first met a full bound at minute ${filledAt}; after it, honest 2 GiB opens accepted: ${honestAfterFill.accepted} of ${honestAfterFill.tried}`,
    );
    console.log(
      `${attacker} attacker, summary: holds ${held.size} uploads, ${fmt(lastUnsent / GiB, 1)} GiB unsent at minute ${SIM_MINUTES} ` +
        `(${fmt((lastUnsent / L.quotaTotal) * 100, 1)} % of QUOTA_TOTAL); sent ${fmt(attackerBytes / MiB)} MiB, ${fmt(attackerBytes / (SIM_MINUTES * 60))} B/s on average ` +
        `(${fmt(((attackerBytes / (SIM_MINUTES * 60)) * 8) / 1000)} kbit/s), ${attackerOpens} opens made; honest 2 GiB opens: ${honestAll.accepted} accepted, ${honestAll.tried - honestAll.accepted} refused`,
    );
  } finally {
    await database.close();
    await fresh.drop();
  }
}
