/**
 * Rotating the newsroom key as docs/OPERATIONS.md says: replace the file NEWSROOM_KEY_FILE names
 * and restart. The page then serves the new key; an upload encrypted to the old key (a page
 * loaded before the rotation) is refused; what was stored before still decrypts with the old
 * secret key, what comes after with the new one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asc, eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { decrypt, generateKey, readKey, readMessage, readPrivateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnvelope, parseEnvelope } from '../../protocol/envelope.ts';
import { encryptToKeys, generateSourceKeys } from '../../protocol/source-keys.ts';
import type { Database } from '../../server/db/open.ts';
import { chunks, submissions } from '../../server/db/schema.ts';
import { createTestDatabase } from '../../server/db/test-db.ts';
import { loadNewsroomKey } from '../../server/newsroom-key.ts';
import { buildTestApp, countRows, sha256Hex } from '../../server/test-helpers.ts';

const now = new Date('2026-03-02T12:00:00Z');
const clock = () => now;

let database: Database;
let dir: string;
let keyFile: string;
const keys: Record<'old' | 'new', { publicKey: string; privateKey: string; fingerprint: string }> = {} as never;

beforeAll(async () => {
  database = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'sealdrop-rotation-'));
  keyFile = join(dir, 'newsroom.pub.asc');
  for (const name of ['old', 'new'] as const) {
    // what `sealdrop keygen` makes by default: v4, curve25519Legacy
    const pair = await generateKey({
      type: 'ecc',
      curve: 'curve25519Legacy',
      userIDs: [{ name: `newsroom ${name}` }],
      date: new Date('2026-01-01T00:00:00Z'),
      format: 'armored',
    });
    const fingerprint = (await readKey({ armoredKey: pair.publicKey })).getFingerprint();
    keys[name] = { publicKey: pair.publicKey, privateKey: pair.privateKey, fingerprint };
  }
});
afterAll(async () => {
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The server as it starts: the key read from the file NEWSROOM_KEY_FILE names. */
async function startServer(): Promise<Hono> {
  const newsroomKey = await loadNewsroomKey(keyFile, now);
  return (await buildTestApp(database.db, newsroomKey, clock, { powDifficulty: 0 })).app;
}

async function pageConfig(app: Hono) {
  const res = await app.request('/api/v1/config');
  expect(res.status).toBe(200);
  return (await res.json()) as { newsroomKey: string; fingerprint: string };
}

/** What the browser does: an envelope encrypted to the key the page served, opened as an upload. */
async function openUpload(app: Hono, message: string, armoredKey: string, lookupId: string, newSource: boolean) {
  const key = await readKey({ armoredKey });
  const bytes = await encryptToKeys(await buildEnvelope({ language: 'en', message, files: [] }), [key]);
  const pow = (await (await app.request('/api/v1/pow', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).json()) as { token: string };
  const body = {
    pow: { token: pow.token, nonce: '0' },
    lookupId,
    ...(newSource ? { sourceKeys: await generateSourceKeys('k'.repeat(64), key) } : {}),
    size: bytes.length,
    chunkSize: bytes.length,
    chunks: 1,
    sha256: sha256Hex(bytes),
  };
  const res = await app.request('/api/v1/uploads', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const { uploadId } = (await res.json()) as { uploadId: string };
  return { uploadId, bytes };
}

async function putChunk(app: Hono, uploadId: string, bytes: Uint8Array) {
  const res = await app.request(`/api/v1/uploads/${uploadId}/chunks/0`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(bytes),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The stored ciphertext, as an editor downloads it. */
async function storedCiphertext(submissionId: string): Promise<Uint8Array> {
  const rows = await database.db
    .select({ data: chunks.data })
    .from(chunks)
    .where(eq(chunks.submissionId, submissionId))
    .orderBy(asc(chunks.idx));
  return Buffer.concat(rows.map((r) => r.data));
}

async function decryptWith(ciphertext: Uint8Array, armoredPrivateKey: string): Promise<string> {
  const { data } = await decrypt({
    message: await readMessage({ binaryMessage: ciphertext }),
    decryptionKeys: await readPrivateKey({ armoredKey: armoredPrivateKey }),
    format: 'binary',
  });
  return (await parseEnvelope(data as Uint8Array)).message;
}

describe('newsroom key rotation', () => {
  it('serves the new key, refuses the old one, and each ciphertext decrypts with its own key', async () => {
    writeFileSync(keyFile, keys.old.publicKey);
    const before = await startServer();
    expect((await pageConfig(before)).fingerprint).toBe(keys.old.fingerprint);

    const returning = randomBytes(32).toString('hex');
    const first = await openUpload(before, 'before the rotation', keys.old.publicKey, returning, true);
    const firstDone = await putChunk(before, first.uploadId, first.bytes);
    expect(firstDone.status).toBe(200);
    expect(firstDone.body.complete).toBe(true);
    const oldSubmission = firstDone.body.submissionId as string;
    // a source whose page was loaded before the rotation has opened an upload with the old key
    const straggler = await openUpload(before, 'straggler', keys.old.publicKey, randomBytes(32).toString('hex'), true);

    // The rotation: the operator replaces the key file and restarts the app.
    writeFileSync(keyFile, keys.new.publicKey);
    const after = await startServer();
    const served = await pageConfig(after);
    expect(served.fingerprint).toBe(keys.new.fingerprint);
    expect((await readKey({ armoredKey: served.newsroomKey })).getFingerprint()).toBe(keys.new.fingerprint);

    // The straggler's ciphertext is addressed to the old key: refused, and the upload deleted.
    const refused = await putChunk(after, straggler.uploadId, straggler.bytes);
    expect(refused.status).toBe(422);
    expect(refused.body.error).toBe('wrong_recipient');
    expect((await after.request(`/api/v1/uploads/${straggler.uploadId}`)).status).toBe(404);

    // A fresh upload to the old key is refused as well, and leaves nothing behind.
    const counts = await countRows(database.db);
    const stale = await openUpload(after, 'stale page', keys.old.publicKey, randomBytes(32).toString('hex'), true);
    expect((await putChunk(after, stale.uploadId, stale.bytes)).status).toBe(422);
    expect({ ...(await countRows(database.db)), spent_pow: counts.spent_pow }).toEqual(counts);

    // The source who submitted before comes back and sends to the new key: accepted.
    const second = await openUpload(after, 'after the rotation', served.newsroomKey, returning, false);
    const secondDone = await putChunk(after, second.uploadId, second.bytes);
    expect(secondDone.body.complete).toBe(true);
    const newSubmission = secondDone.body.submissionId as string;
    const rows = await database.db.select({ id: submissions.id, sourceId: submissions.sourceId }).from(submissions);
    expect(rows.length).toBe(2);
    expect(rows[0]!.sourceId).toBe(rows[1]!.sourceId);

    // The editor keeps the old secret key for what was stored before the rotation.
    const oldCiphertext = await storedCiphertext(oldSubmission);
    const newCiphertext = await storedCiphertext(newSubmission);
    expect(await decryptWith(oldCiphertext, keys.old.privateKey)).toBe('before the rotation');
    expect(await decryptWith(newCiphertext, keys.new.privateKey)).toBe('after the rotation');
    await expect(decryptWith(oldCiphertext, keys.new.privateKey)).rejects.toThrow();
    await expect(decryptWith(newCiphertext, keys.old.privateKey)).rejects.toThrow();
  });
});
