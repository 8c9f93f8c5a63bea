/** @module server/source/open.test-helpers — opening uploads as a page does, for the pricing and quota tests. */
import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { expect } from 'vitest';
import { solvePow } from '../../protocol/pow.ts';
import { encryptToKeys } from '../../protocol/source-keys.ts';
import type { NewsroomKey } from '../newsroom-key.ts';
import { sha256Hex } from '../test-helpers.ts';

export const newLookupId = () => randomBytes(32).toString('hex');

export async function post(app: Hono, path: string, body: unknown): Promise<Response> {
  return app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

export async function answer(res: Response): Promise<{ status: number; body: Record<string, any> }> {
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A challenge as the page asks for one (priced for `size`, or a text tip's) and its solution. */
export async function solvedPow(app: Hono, size?: number): Promise<{ token: string; nonce: string; difficulty: number }> {
  const res = await post(app, '/api/v1/pow', size === undefined ? {} : { size });
  expect(res.status).toBe(200);
  const { token, difficulty } = (await res.json()) as { token: string; difficulty: number };
  return { token, nonce: await solvePow(token, difficulty), difficulty };
}

/** A real submission ciphertext of about `size` bytes (random bytes encrypted to the newsroom key). */
export function ciphertextFor(newsroomKey: NewsroomKey, size: number): Promise<Uint8Array> {
  return encryptToKeys(new Uint8Array(randomBytes(size)), [newsroomKey.key]);
}

export interface Open {
  bytes: Uint8Array;
  lookupId: string;
  sourceKeys?: { publicKey: string; lockedPrivateKey: string } | undefined;
  chunkSize?: number;
  pow?: { token: string; nonce: string };
  /** announce this size instead of the bytes' (an open that is never completed) */
  size?: number;
}

export async function openUpload(app: Hono, o: Open): Promise<Response> {
  const size = o.size ?? o.bytes.length;
  const chunkSize = o.chunkSize ?? size;
  const pow = o.pow ?? (await solvedPow(app, size));
  return post(app, '/api/v1/uploads', {
    pow: { token: pow.token, nonce: pow.nonce },
    lookupId: o.lookupId,
    ...(o.sourceKeys ? { sourceKeys: o.sourceKeys } : {}),
    size,
    chunkSize,
    chunks: Math.ceil(size / chunkSize),
    sha256: sha256Hex(o.bytes),
  });
}

export async function putChunk(app: Hono, uploadId: string, index: number, bytes: Uint8Array): Promise<Response> {
  return app.request(`/api/v1/uploads/${uploadId}/chunks/${index}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
}

/** Opens and sends every chunk; expects it received. */
export async function sendTip(app: Hono, o: Open): Promise<{ uploadId: string; submissionId: string }> {
  const opened = await answer(await openUpload(app, o));
  expect(opened.status, JSON.stringify(opened.body)).toBe(201);
  const chunkSize = o.chunkSize ?? o.bytes.length;
  let last: { status: number; body: Record<string, any> } | undefined;
  for (let i = 0; i * chunkSize < o.bytes.length; i++) {
    last = await answer(await putChunk(app, opened.body.uploadId, i, o.bytes.subarray(i * chunkSize, (i + 1) * chunkSize)));
  }
  expect(last?.body.complete, JSON.stringify(last?.body)).toBe(true);
  return { uploadId: opened.body.uploadId, submissionId: last!.body.submissionId };
}
