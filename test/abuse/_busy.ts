/** @module test/abuse/_busy — opens with the whole answer (status, body, Retry-After), a returning source, and the sweep minute by minute. */
import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { solveNatively } from '../../bench/_native-pow.ts';
import { rowsOf } from '../../server/db/open.ts';
import { ciphertextFor } from '../../server/source/open.test-helpers.ts';
import { purgeExpired } from '../../server/source/purge.ts';
import { sha256Hex } from '../../server/test-helpers.ts';
import { hex, KiB, MiB, post, putChunkRaw } from './_harness.ts';
import type { Env } from './_setup.ts';

export const at = (start: string, m: number) => new Date(Date.parse(start) + m * 60_000);
export type SourceKeys = { publicKey: string; lockedPrivateKey: string };

export async function token(app: Hono, size: number) {
  const challenge = await post(app, '/api/v1/pow', { size });
  const nonce = await solveNatively(challenge.body.token, challenge.body.difficulty);
  return { token: challenge.body.token as string, nonce };
}

export async function open(
  app: Hono,
  o: { lookupId: string; size: number; chunkSize?: number; sha256?: string; sourceKeys?: SourceKeys; pow?: { token: string; nonce: string } },
) {
  const pow = o.pow ?? (await token(app, o.size));
  const chunkSize = o.chunkSize ?? 4 * MiB;
  const res = await app.request('/api/v1/uploads', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      pow,
      lookupId: o.lookupId,
      ...(o.sourceKeys ? { sourceKeys: o.sourceKeys } : {}),
      size: o.size,
      chunkSize,
      chunks: Math.ceil(o.size / chunkSize),
      sha256: o.sha256 ?? hex(),
    }),
  });
  const body = (await res.json()) as Record<string, any>;
  return { status: res.status, code: res.status === 201 ? 'created' : String(body.error), body, retryAfter: res.headers.get('retry-after') };
}

/** A returning source: one 2 KB text tip received under `lookupId`. */
export async function returningSource(env: Env, app: Hono, lookupId: string) {
  const text = await ciphertextFor(env.newsroomKey, 2 * KiB);
  const tip = await open(app, { lookupId, size: text.length, chunkSize: text.length, sha256: sha256Hex(text), sourceKeys: env.sourceKeys });
  expect((await putChunkRaw(app, tip.body.uploadId, 0, text)).body.complete).toBe(true);
}

export async function sendChunks(app: Hono, uploadId: string, from: number, count: number, chunk = 4 * MiB) {
  for (let i = from; i < from + count; i++) expect((await putChunkRaw(app, uploadId, i, new Uint8Array(randomBytes(chunk)))).status).toBe(200);
}

export async function fresh(env: Env, start: string) {
  env.now = new Date(start);
  await env.database.db.execute(sql`delete from sources`);
  await env.database.db.execute(sql`delete from submissions`);
  await env.database.db.execute(sql`delete from swept_unsent`);
}

/** The purge timer's sweep, once in each minute from `from` to `to` (inclusive), at the given rule. */
export async function sweepMinutes(env: Env, start: string, from: number, to: number, rule: { staleHours?: number; leaseMinutes?: number; pace?: number } = {}) {
  for (let m = from; m <= to; m++) {
    env.now = new Date(at(start, m).getTime() + 30_000);
    await purgeExpired(env.database.db, () => env.now, rule.staleHours ?? 6, rule.leaseMinutes ?? 10, rule.pace ?? 2000);
  }
}

export async function sourceIdOf(env: Env) {
  const [source] = rowsOf<{ id: string }>(await env.database.db.execute(sql`select id from sources`));
  return source!.id;
}
