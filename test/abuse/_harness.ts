/** @module test/abuse/_harness — opening uploads as a native-code attacker does (proof of work by node:crypto), on the real app, in process. */
import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { solveNatively } from '../../bench/_native-pow.ts';

export const KiB = 1024;
export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
export const hex = () => randomBytes(32).toString('hex');

export async function post(app: Hono, path: string, body: unknown) {
  const res = await app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export interface Opened {
  status: number;
  code: string;
  message?: string;
  uploadId?: string;
  difficulty: number;
}

/** An open of `size` bytes (proof of work solved natively; a wrong sha256 unless given: it is never completed). */
export async function openNative(
  app: Hono,
  o: { lookupId: string; size: number; chunkSize: number; sha256?: string; sourceKeys?: { publicKey: string; lockedPrivateKey: string } | undefined },
): Promise<Opened> {
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
  return {
    status: opened.status,
    code: opened.status === 201 ? 'created' : ((opened.body.error as string | undefined) ?? String(opened.status)),
    message: opened.body.message as string | undefined,
    uploadId: opened.body.uploadId as string | undefined,
    difficulty: challenge.body.difficulty as number,
  };
}

export async function putChunkRaw(app: Hono, uploadId: string, index: number, bytes: Uint8Array) {
  const res = await app.request(`/api/v1/uploads/${uploadId}/chunks/${index}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export const statusOf = async (app: Hono, uploadId: string) => (await app.request(`/api/v1/uploads/${uploadId}`)).status;
