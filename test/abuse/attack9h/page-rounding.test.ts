/**
 * Attack 9h, a false wait on the page (the server's number and the page's rounding together):
 * client/lib/busy-wait.ts rounds a wait over 90 minutes up to the quarter hour ("never sooner
 * than the server said"), and PROTOCOL.md says "try again after it". But later is not safe either:
 * an upload of hers due after the told minute is swept meanwhile and notes its unsent bytes, which
 * can tip source_unsent for the rest of the day. Her day: quota 72 MiB, 40 MiB noted unsent today;
 * A and B (32 MiB each, promoted by a 4 MiB chunk; pace 500 B/s, so each is paid ~139 minutes
 * beyond the 10-minute lease) opened at 09:00 and 09:06, both dead. At 09:15 she opens 16 MiB:
 * 429 source_busy, 8 160 s (A's sweep at 11:29 + 2 min; A alone noted: 40 + 28 - 16 fits). The
 * page says "about 2 h 30 min"; at 11:45 B (due 11:35) is gone too, 96 MiB noted: 429
 * source_unsent (and so all day), though at the server's minute the retry opened. Asserts the
 * honest outcome: the retry at the page's time opens (or the server told no time).
 * Suggested fix: tell a window, not a time, when an upload due later would tip source_unsent
 * (e.g. `retryBeforeSeconds`, the minute before that deadline), and have the page round within it
 * (or not round up past it); or answer source_quota / source_unsent when the window is shorter than
 * what the page may round to.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { busyWait } from '../../../client/lib/busy-wait.ts';
import { dayOf } from '../../../server/clock.ts';
import { rowsOf } from '../../../server/db/open.ts';
import { hex, MiB } from '../_harness.ts';
import { useEnv } from '../_setup.ts';
import { at, fresh, open, returningSource, sendChunks, sourceIdOf, sweepMinutes } from '../_busy.ts';

const env = useEnv();
const rule = { pace: 500 };

describe("attack 9h: the page's rounded wait and a later upload's unsent bytes", () => {
  it('the retry at the time the page tells opens', async () => {
    const start = '2026-11-05T09:00:00Z';
    await fresh(env, start);
    const { app } = await env.app({ quotaSourcePerDay: 72 * MiB, reserveProof: 4 * MiB, uploadPace: rule.pace });
    const lookupId = hex();
    await returningSource(env, app, lookupId);
    const sourceId = await sourceIdOf(env);
    await env.database.db.execute(sql`insert into swept_unsent (source_id, day, bytes) values (${sourceId}::uuid, ${dayOf(env.now)}::date, ${40 * MiB})`);
    const a = await open(app, { lookupId, size: 32 * MiB });
    expect(a.code).toBe('created');
    await sendChunks(app, a.body.uploadId, 0, 1);
    await sweepMinutes(env, start, 0, 5, rule);
    env.now = at(start, 6);
    const b = await open(app, { lookupId, size: 32 * MiB });
    expect(b.code).toBe('created');
    await sendChunks(app, b.body.uploadId, 0, 1);
    await sweepMinutes(env, start, 6, 14, rule);
    env.now = at(start, 15);
    const busy = await open(app, { lookupId, size: 16 * MiB });
    const [key, vars] = busyWait(busy.body.retryAfterSeconds);
    const pageMinutes = key === 'error_source_busy' ? Number(vars!.minutes) : key === 'error_source_busy_later' ? NaN : Number(vars!.hours) * 60 + Number(vars?.minutes ?? 0);
    console.log(`page rounding: at 09:15 the open answers ${busy.status} ${busy.code} told ${busy.body.retryAfterSeconds ?? '-'} s; the page says ${key} ${JSON.stringify(vars ?? {})} (${pageMinutes} min)`);
    if (busy.code !== 'source_busy' || Number.isNaN(pageMinutes)) return;
    const serverMinute = Math.ceil((env.now.getTime() + busy.body.retryAfterSeconds * 1000 - Date.parse(start)) / 60_000);
    const pageMinute = 15 + pageMinutes;
    await sweepMinutes(env, start, 15, serverMinute - 1, rule);
    env.now = at(start, serverMinute);
    const atServer = await open(app, { lookupId, size: 16 * MiB });
    // (an open that succeeds is real: take it back out so the page's try sees the same day)
    if (atServer.code === 'created') await env.database.db.execute(sql`delete from submissions where status = 'uploading' and size = ${16 * MiB}`);
    await sweepMinutes(env, start, serverMinute, pageMinute - 1, rule);
    env.now = at(start, pageMinute);
    const [noted] = rowsOf<{ bytes: string }>(await env.database.db.execute(sql`select bytes from swept_unsent`));
    const retry = await open(app, { lookupId, size: 16 * MiB });
    console.log(`page rounding: at the server's minute ${serverMinute} the retry answered ${atServer.code}; at the page's minute ${pageMinute} ${retry.status} ${retry.code} (swept_unsent ${Number(noted?.bytes ?? 0) / MiB} MiB)`);
    expect(`${retry.status} ${retry.code}`).toBe('201 created');
  }, 300_000);
});
