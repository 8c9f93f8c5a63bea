/**
 * Attack 9f, one codename's busy answer and another's uploads: X's answer (code, retryAfterSeconds,
 * Retry-After, message) must be the same whether or not codename Y (a returning source, and Z, a new
 * source with uploads pending under its own lookup hash) has uploads in progress today, moving or
 * not, promoted or probes, and uploads of yesterday; and Y's answer must not move when X's uploads
 * change. Asserts exactly that (held: both the decision and busy-uploads.ts read only the
 * codename's rows, sealdrop_of_codename).
 */
import { describe, expect, it } from 'vitest';
import { GiB, hex, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks } from '../_busy.ts';

const env = useEnv();
const told = (r: Awaited<ReturnType<typeof open>>) => ({ status: r.status, code: r.code, seconds: r.body.retryAfterSeconds, header: r.retryAfter, message: r.body.message });

describe('attack 9f: nothing of codename Y in codename X\'s busy answer', () => {
  it('tells X the same with or without Y\'s and Z\'s uploads, and Y the same whatever X does', async () => {
    const start = '2026-10-15T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app();
    const [x, y, z] = [hex(), hex(), hex()];
    await returningSource(env, app, x);
    await returningSource(env, app, y);
    // yesterday's upload of Y, still in progress
    env.now = at(start, -24 * 60);
    const old = await open(app, { lookupId: y, size: 2 * GiB });
    await sendChunks(app, old.body.uploadId, 0, 3);
    env.now = at(start, 0);
    const a = await open(app, { lookupId: x, size: 2 * GiB });
    await sendChunks(app, a.body.uploadId, 0, 2);
    env.now = at(start, 3);
    const alone = told(await open(app, { lookupId: x, size: 2 * GiB }));
    expect(`${alone.status} ${alone.code}`).toBe('429 source_busy');
    // Y: one promoted (busy for Y), one probe with a chunk; Z: a new source's two uploads pending
    const y1 = await open(app, { lookupId: y, size: 2 * GiB });
    await sendChunks(app, y1.body.uploadId, 0, 3);
    const y2 = await open(app, { lookupId: y, size: 32 * MiB });
    await sendChunks(app, y2.body.uploadId, 0, 1);
    const z1 = await open(app, { lookupId: z, size: 2 * GiB, sourceKeys: env.sourceKeys });
    await sendChunks(app, z1.body.uploadId, 0, 2);
    const z2 = await open(app, { lookupId: z, size: 1 * GiB, sourceKeys: env.sourceKeys });
    expect([y1.code, y2.code, z1.code, z2.code]).toEqual(['created', 'created', 'created', 'created']);
    const beside = told(await open(app, { lookupId: x, size: 2 * GiB }));
    expect(beside).toEqual(alone);
    const yFirst = told(await open(app, { lookupId: y, size: 2 * GiB }));
    expect(`${yFirst.status} ${yFirst.code}`).toBe('429 source_busy');
    // X's upload moves (another chunk), and X opens a probe: Y's answer stays
    await sendChunks(app, a.body.uploadId, 2, 1);
    await open(app, { lookupId: x, size: 16 * MiB });
    expect(told(await open(app, { lookupId: y, size: 2 * GiB }))).toEqual(yFirst);
    console.log(`cross-codename: X told ${alone.seconds} s alone and ${beside.seconds} s beside Y and Z; Y told ${yFirst.seconds} s before and after X moved`);
  });
});
