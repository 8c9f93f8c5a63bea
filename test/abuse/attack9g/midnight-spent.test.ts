/**
 * Attack 9g, wrong code across midnight: a promotion is decided by the day its upload was opened
 * (sealdrop_promote_probe: v_row.created_day), and a promotion refused busy deletes the probe, so
 * what she can do next is a *new* open, decided by today's day. busy-uploads.ts is asked about
 * yesterday (refuseBusy passes row.createdDay) and, yesterday being over, tells 60 s. When today's
 * day is already spent for that size (a 4 MiB file received at 00:01), the retry at the told
 * minute is 429 source_quota (with a 4 MiB upload of today in progress instead: source_busy again,
 * told 18 minutes more: the 60 s were early): the honest answer was source_quota (or a time after which the retry
 * opens), not "your own upload lets go in about 1 min". Asserts the honest outcome.
 * Suggested fix: refuseBusy for a promotion whose created_day is not today answers as today's
 * open would (secondsUntilSwept on dayOf(now), or source_quota when today's day refuses it too).
 */
import { describe, expect, it } from 'vitest';
import { ciphertextFor, sendTip } from '../../../server/source/open.test-helpers.ts';
import { hex, MiB, putChunkRaw } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sweepMinutes } from '../_busy.ts';
import { randomBytes } from 'node:crypto';

const env = useEnv();

describe('attack 9g: a promotion refused by yesterday, the retry refused by today', () => {
  it.each(['received', 'in progress'])('answers source_quota, or a time at which the retry opens (today: a 4 MiB file %s)', async (today) => {
    const start = today === 'received' ? '2026-10-24T23:30:00Z' : '2026-11-08T23:30:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 6 * MiB, reserveProof: 1 * MiB });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    env.now = at(start, 20);
    const p = await open(app, { lookupId, size: 3 * MiB, chunkSize: MiB });
    expect(p.code).toBe('created');
    env.now = at(start, 22);
    const x = await open(app, { lookupId, size: 4 * MiB, chunkSize: MiB });
    expect(x.code).toBe('created');
    await sendChunks(app, x.body.uploadId, 0, 2, MiB);
    // 00:01 today: a 4 MiB file received (today's day: 4 MiB of 6)
    env.now = at(start, 31);
    if (today === 'received') {
      const y = await ciphertextFor(env.newsroomKey, 4 * MiB - 4096);
      await sendTip(app, { bytes: y, lookupId, chunkSize: MiB });
    } else {
      // opened at 00:01 in another tab, promoted (1 MiB sent), then its circuit died
      const y = await open(app, { lookupId, size: 4 * MiB, chunkSize: MiB });
      expect(y.code).toBe('created');
      await sendChunks(app, y.body.uploadId, 0, 1, MiB);
    }
    // 00:02: P's proof (its first chunk), decided by yesterday's day: X in progress holds 4 MiB
    env.now = at(start, 32);
    const proof = await putChunkRaw(app, p.body.uploadId, 0, new Uint8Array(randomBytes(MiB)));
    console.log(`midnight spent: P's proof at 00:02 answers ${proof.status} ${proof.body.error} told ${proof.body.retryAfterSeconds ?? '-'} s`);
    if (proof.status === 429 && proof.body.error === 'source_busy') {
      const toldMinute = 32 + Math.ceil((proof.body.retryAfterSeconds as number) / 60);
      // the sweep runs every minute meanwhile, as the purge timer does
      await sweepMinutes(env, start, 33, toldMinute - 1);
      env.now = at(start, toldMinute);
      const retry = await open(app, { lookupId, size: 3 * MiB, chunkSize: MiB });
      console.log(`midnight spent (${today}): the retry at the told time answers ${retry.status} ${retry.code} (told again ${retry.body.retryAfterSeconds ?? '-'} s)`);
      expect(`${retry.status} ${retry.code}`).toBe('201 created');
    } else {
      expect(`${proof.status} ${proof.body.error}`).toBe('429 source_quota');
    }
  }, 120_000);
});
