/**
 * Issue 9, the attacker of 0019 (attack 9d): a probe whose stored octets reach its whole size before
 * its promotion runs is promoted without any bound. sealdrop_promote_probe skips sealdrop_bounds when
 * `v_rest = 0 AND p_pending = 0` ("every byte stored, none in hand: ... its bytes counted as arrived
 * in every bound as they came"), but nothing refused those bytes as they came: the chunk route stores
 * a probe's chunks whatever the room, and only the promotion decides. Every upload of several chunks
 * of at most RESERVE_PROOF (8 MiB) is promoted with its last chunk, so always at rest 0: its open held
 * 64 KiB of the bounds, and its 8 MiB are received past QUOTA_TOTAL and past the disk's floor
 * (STORAGE_FREE_FLOOR), where the same bytes as one chunk are refused 507 (quotas.test.ts, "a
 * one-chunk 4 MiB upload whose body finds no room").
 *
 * The attack: open N such uploads while the room is there (each holds 64 KiB), then send them.
 * Received tips are never purged until an editor downloads them. Each asserts the safe outcome.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf } from '../../../server/db/open.ts';
import { createStorageWatch, DEFAULT_OPEN_LIMITS } from '../../../server/source/open-limits.ts';
import { ciphertextFor } from '../../../server/source/open.test-helpers.ts';
import { sha256Hex } from '../../../server/test-helpers.ts';
import { hex, KiB, MiB, openNative, putChunkRaw } from '../_harness.ts';
import { useEnv } from '../_setup.ts';

const env = useEnv();

async function textTip(app: Parameters<typeof openNative>[0], lookupId: string) {
  const bytes = await ciphertextFor(env.newsroomKey, 2 * KiB);
  const opened = await openNative(app, { lookupId, size: bytes.length, chunkSize: bytes.length, sha256: sha256Hex(bytes), sourceKeys: env.sourceKeys });
  expect(opened.status).toBe(201);
  expect((await putChunkRaw(app, opened.uploadId!, 0, bytes)).body.complete).toBe(true);
}

const receivedBytes = async () =>
  Number(rowsOf<{ n: string }>(await env.database.db.execute(sql`select coalesce(sum(size), 0)::bigint as n from submissions where status = 'received'`))[0]?.n);
const storedOctets = async () =>
  Number(rowsOf<{ n: string }>(await env.database.db.execute(sql`select coalesce(sum(octet_length(data)), 0)::bigint as n from chunks`))[0]?.n);

/** Opens `n` uploads of `file` in 4 MiB chunks (returning codename), then sends each, its chunks in `order`: the answers to their last chunks. */
async function openThenSend(app: Parameters<typeof openNative>[0], lookupId: string, file: Uint8Array, n: number, order = [0, 1]) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const o = await openNative(app, { lookupId, size: file.length, chunkSize: 4 * MiB, sha256: sha256Hex(file) });
    expect(`${o.status} ${o.code}`, `open ${i}`).toBe('201 created');
    ids.push(o.uploadId!);
  }
  const answers: Record<string, number> = {};
  for (const id of ids) {
    let last = { status: 200, body: {} as Record<string, any> };
    for (const c of order) {
      if (last.status !== 200) break;
      last = await putChunkRaw(app, id, c, file.slice(c * 4 * MiB, (c + 1) * 4 * MiB));
    }
    const key = `${last.status} ${last.body.complete === true ? 'complete' : (last.body.error ?? 'stored')}`;
    answers[key] = (answers[key] ?? 0) + 1;
  }
  return answers;
}

describe('attack 9d: a probe promoted at rest 0 is promoted without its bounds', () => {
  it('keeps the received tips within QUOTA_TOTAL when a codename opens twelve 8 MiB uploads (two chunks) while there is room, then sends them', async () => {
    env.now = new Date('2026-10-01T09:00:00Z');
    await env.database.db.execute(sql`delete from submissions`);
    // a scaled server: 48 MiB in total, 8 MiB of it for small opens
    const quotaTotal = 48 * MiB;
    const { app } = await env.app({ quotaTotal, reserveSmallShare: 8 * MiB });
    const lookupId = hex();
    await textTip(app, lookupId);
    const file = await ciphertextFor(env.newsroomKey, 8 * MiB - 4 * KiB);
    const answers = await openThenSend(app, lookupId, file, 12);
    const kept = await receivedBytes();
    const after = await openNative(app, { lookupId: hex(), size: 2 * KiB, chunkSize: 2 * KiB, sourceKeys: env.sourceKeys });
    console.log(
      `unchecked promotion (total): 12 opens of ${file.length} B (64 KiB held each), last chunks answered ${JSON.stringify(answers)}; ` +
        `received ${(kept / MiB).toFixed(1)} MiB on a QUOTA_TOTAL of ${quotaTotal / MiB} MiB; a text tip's open after: ${after.status} ${after.code}`,
    );
    expect(kept, 'received bytes past QUOTA_TOTAL').toBeLessThanOrEqual(quotaTotal);
  });

  it('keeps the disk above STORAGE_FREE_FLOOR when a codename opens eight 8 MiB uploads (two chunks) with 16 MiB of room left, then sends them', async () => {
    env.now = new Date('2026-10-02T09:00:00Z');
    await env.database.db.execute(sql`delete from submissions`);
    const floor = 64 * MiB;
    const room = 16 * MiB;
    // a disk that loses what the chunks store: room above the floor, less what was stored since
    const base = await storedOctets();
    const freeBytes = async () => floor + room - ((await storedOctets()) - base);
    const limits = { ...DEFAULT_OPEN_LIMITS, storagePath: '/watched', storageFreeFloor: floor, reserveSmallShare: 1 * MiB };
    const storage = createStorageWatch({ db: env.database.db, limits, refreshMs: 0, freeBytes });
    const { app } = await env.app(limits, { storage });
    const lookupId = hex();
    await textTip(app, lookupId);
    const file = await ciphertextFor(env.newsroomKey, 8 * MiB - 4 * KiB);
    const answers = await openThenSend(app, lookupId, file, 8);
    const free = await freeBytes();
    const after = await openNative(app, { lookupId: hex(), size: 2 * KiB, chunkSize: 2 * KiB, sourceKeys: env.sourceKeys });
    console.log(
      `unchecked promotion (disk): 8 opens of ${file.length} B with ${room / MiB} MiB above the floor, last chunks answered ${JSON.stringify(answers)}; ` +
        `the disk ends ${((free - floor) / MiB).toFixed(1)} MiB from its floor (negative: below it); a text tip's open after: ${after.status} ${after.code}`,
    );
    expect(free - floor, 'bytes of the disk below STORAGE_FREE_FLOOR').toBeGreaterThanOrEqual(0);
  });

  it('keeps the received tips within QUOTA_TOTAL when the uploads are 12 MiB, their chunks sent last first (under the proof until the first chunk, which brings all the rest)', async () => {
    env.now = new Date('2026-10-06T09:00:00Z');
    await env.database.db.execute(sql`delete from submissions`);
    const quotaTotal = 24 * MiB;
    const { app } = await env.app({ quotaTotal, reserveSmallShare: 4 * MiB });
    const lookupId = hex();
    await textTip(app, lookupId);
    // chunks 2 and 1 store 8 MiB - 4 KiB, under the proof: a probe; chunk 0 then stores its whole size
    const file = await ciphertextFor(env.newsroomKey, 12 * MiB - 8 * KiB);
    const answers = await openThenSend(app, lookupId, file, 6, [2, 1, 0]);
    const kept = await receivedBytes();
    console.log(
      `unchecked promotion (12 MiB, last chunk first): 6 opens of ${file.length} B, last chunks answered ${JSON.stringify(answers)}; ` +
        `received ${(kept / MiB).toFixed(1)} MiB on a QUOTA_TOTAL of ${quotaTotal / MiB} MiB`,
    );
    expect(kept, 'received bytes past QUOTA_TOTAL').toBeLessThanOrEqual(quotaTotal);
  });
});
