import { createHash } from 'node:crypto';
import { eq, inArray } from 'drizzle-orm';
import { unpackTar } from 'modern-tar';
import { armor, createMessage, decryptKey, enums, generateKey, readPrivateKey, sign } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encryptToKeys, MAX_REPLY_BYTES, MAX_REPLY_SIGNATURE_BYTES, openReply, paddedLength, type NewsroomKey } from '../../protocol/index.ts';
import { addToken, revokeToken } from '../admin.ts';
import type { Database } from '../db/open.ts';
import { audit, editorTokens, replies, sources, submissions } from '../db/schema.ts';
import { createTestDatabase } from '../db/test-db.ts';
import { createApp } from '../app.ts';
import { loadInstance } from '../instance.ts';
import { lookupSource } from '../source/lookup.ts';
import { parseNewsroomKey } from '../newsroom-key.ts';
import { createEditorApp, MAX_REPLY_CHECKS } from './app.ts';
import { generateToken, hashToken } from './token.ts';
import {
  insertSource, insertSubmission, readDemoNewsroomKey, readDemoSecretKey, sealDemoReply, type FixtureSource, type FixtureSubmission,
} from './test-fixtures.ts';

const DAY = '2026-03-04';
const clock = () => new Date(`${DAY}T15:16:17Z`);
const logged: string[] = [];
const base = { clock, config: { logRequests: true }, log: (line: string) => void logged.push(line) };

let database: Database;
let newsroom: NewsroomKey;
let app: ReturnType<typeof createEditorApp>;
let sourceApp: ReturnType<typeof createApp>;
let token: string;
let revoked: string;
let otter: FixtureSource;
let heron: FixtureSource;
let first: FixtureSubmission;
let second: FixtureSubmission;
let third: FixtureSubmission;
let uploading: FixtureSubmission;

beforeAll(async () => {
  database = await createTestDatabase();
  newsroom = await readDemoNewsroomKey();
  app = createEditorApp({ ...base, newsroomKey: newsroom, db: database.db, auth: { failureDelayMs: 20 } });
  sourceApp = createApp({
    ...base,
    db: database.db,
    newsroomKey: await parseNewsroomKey(newsroom.key.armor(), clock()),
    instance: await loadInstance(database.db, clock),
    config: { powDifficulty: 1, onionLocation: undefined, logRequests: false },
  });
  token = await addToken(database.db, 'alice', clock());
  revoked = await addToken(database.db, 'bob', clock());
  await revokeToken(database.db, 'bob', clock());
  otter = await insertSource(database.db, newsroom, 'quiet-otter', DAY);
  heron = await insertSource(database.db, newsroom, 'amber-heron', DAY);
  // Chunks of 1000 bytes: the export must stitch several chunks together.
  first = await insertSubmission(database.db, newsroom, otter, new TextEncoder().encode('first tip '.repeat(500)), { day: DAY, chunkSize: 1000 });
  second = await insertSubmission(database.db, newsroom, otter, new TextEncoder().encode('second tip'), { day: DAY, chunkSize: 1000 });
  third = await insertSubmission(database.db, newsroom, heron, new TextEncoder().encode('heron tip'), { day: DAY, chunkSize: 4096 });
  uploading = await insertSubmission(database.db, newsroom, heron, new TextEncoder().encode('not yet'), { day: DAY, chunkSize: 4096, status: 'uploading' });
});

afterAll(async () => {
  await database?.close();
});

const auth = (value = token) => ({ authorization: `Bearer ${value}` });
const get = (path: string, value?: string) => app.request(path, { headers: auth(value) });
const auditRows = () => database.db.select().from(audit);

describe('the source listener', () => {
  it('does not answer editor routes, even with a valid token', async () => {
    for (const [method, path] of [
      ['GET', '/editor/v1/submissions'],
      ['GET', '/editor/v1/bundle'],
      ['POST', '/editor/v1/bundle'],
      ['GET', `/editor/v1/submissions/${first.id}/ciphertext`],
      ['POST', `/editor/v1/submissions/${first.id}/ack`],
      ['POST', '/editor/v1/sources/quiet-otter/spam'],
      ['DELETE', '/editor/v1/sources/quiet-otter'],
      ['POST', '/editor/v1/sources/quiet-otter/replies'],
    ] as const) {
      const response = await sourceApp.request(path, { method, headers: auth() });
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    const [row] = await database.db.select().from(submissions).where(eq(submissions.id, first.id));
    expect(row?.status).toBe('received');
  });
});

describe('authentication', () => {
  it.each([
    ['no header', {}],
    ['a malformed token', { authorization: 'Bearer sde_short' }],
    ['an unknown token', { authorization: `Bearer ${generateToken()}` }],
    ['a basic scheme', { authorization: `Basic ${Buffer.from('alice:x').toString('base64')}` }],
  ])('refuses %s with 401 and writes an auth_failed row', async (_what, headers) => {
    const before = (await auditRows()).filter((row) => row.action === 'auth_failed').length;
    const response = await app.request('/editor/v1/submissions', { headers });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'unauthorized' });
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const after = (await auditRows()).filter((row) => row.action === 'auth_failed');
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)).toMatchObject({ editor: '-', day: DAY, target: null });
  });

  it('refuses a revoked token the same way, but audits it as auth_revoked under its name, not as a guess', async () => {
    const guesses = (await auditRows()).filter((row) => row.action === 'auth_failed').length;
    const response = await get('/editor/v1/submissions', revoked);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'unauthorized' });
    const rows = await auditRows();
    expect(rows.filter((row) => row.action === 'auth_failed').length).toBe(guesses);
    const [name] = await database.db.select({ name: editorTokens.name }).from(editorTokens).where(eq(editorTokens.tokenHash, hashToken(revoked)));
    expect(rows.filter((row) => row.action === 'auth_revoked')).toEqual([expect.objectContaining({ editor: name!.name, target: null, day: DAY })]);
  });

  it('refuses every route without a token, and answers unknown ones with 404 only after auth', async () => {
    for (const [method, path] of [
      ['GET', `/editor/v1/submissions/${first.id}/ciphertext`],
      ['GET', '/editor/v1/bundle'],
      ['POST', '/editor/v1/bundle'],
      ['POST', `/editor/v1/submissions/${first.id}/ack`],
      ['DELETE', `/editor/v1/submissions/${first.id}`],
      ['POST', '/editor/v1/sources/quiet-otter/spam'],
      ['DELETE', '/editor/v1/sources/quiet-otter/spam'],
      ['DELETE', '/editor/v1/sources/quiet-otter'],
      ['GET', '/editor/v1/sources/quiet-otter/key'],
      ['POST', '/editor/v1/sources/quiet-otter/replies'],
      ['GET', '/editor/v1/nothing-here'],
    ] as const) {
      const response = await app.request(path, { method });
      expect(response.status, `${method} ${path}`).toBe(401);
    }
    expect((await get('/editor/v1/nothing-here')).status).toBe(404);
  });

  it('writes at most maxAuditedFailuresPerDay auth_failed rows a day, still answering every failure 401', async () => {
    const capped = createEditorApp({ ...base, newsroomKey: newsroom, db: database.db, auth: { failureDelayMs: 1, maxAuditedFailuresPerDay: 1 } });
    const before = (await auditRows()).filter((row) => row.action === 'auth_failed').length;
    expect(before).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 3; i++) {
      expect((await capped.request('/editor/v1/submissions', { headers: { authorization: `Bearer ${generateToken()}` } })).status).toBe(401);
    }
    expect((await auditRows()).filter((row) => row.action === 'auth_failed').length).toBe(before);
  });

  it('caps the failures waiting at once globally: beyond the cap a failure gets 429 at once, a valid token still passes', async () => {
    const slow = createEditorApp({ ...base, newsroomKey: newsroom, db: database.db, auth: { failureDelayMs: 1500, maxFailing: 1 } });
    const failures = async () => (await auditRows()).filter((row) => row.action === 'auth_failed').length;
    const before = await failures();
    const waiting = slow.request('/editor/v1/submissions', { headers: { authorization: `Bearer ${generateToken()}` } });
    // The failure's audit row is written once it holds its place; then the cap is reached.
    for (let i = 0; i < 200 && (await failures()) === before; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const refused = await slow.request('/editor/v1/submissions', { headers: { authorization: `Bearer ${generateToken()}` } });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'busy' });
    expect(refused.headers.get('retry-after')).toBe('2');
    const malformed = await slow.request('/editor/v1/submissions', { headers: { authorization: 'Bearer sde_short' } });
    expect(malformed.status).toBe(429);
    const validDuringFlood = await slow.request('/editor/v1/submissions', { headers: auth() });
    expect(validDuringFlood.status).toBe(200);
    // the 429s wrote no audit row
    expect(await failures()).toBe(before + 1);
    expect((await waiting).status).toBe(401);
  });

  it('12 simultaneous wrong tokens: the cap of 8 wait for their 401, the other 4 get 429 first; a valid token passes meanwhile', async () => {
    const gate = createEditorApp({ ...base, newsroomKey: newsroom, db: database.db, auth: { failureDelayMs: 3000 } });
    const failures = async () => (await auditRows()).filter((row) => row.action === 'auth_failed').length;
    const before = await failures();
    const answered: number[] = [];
    const wrong = Array.from({ length: 12 }, () =>
      Promise.resolve(gate.request('/editor/v1/submissions', { headers: { authorization: `Bearer ${generateToken()}` } })).then((response) => {
        answered.push(response.status);
        return response.status;
      }),
    );
    const valid = Promise.resolve(gate.request('/editor/v1/submissions', { headers: auth() })).then((response) => {
      answered.push(response.status);
      return response.status;
    });
    const statuses = await Promise.all(wrong);
    expect(await valid).toBe(200);
    expect(statuses.filter((s) => s === 401)).toHaveLength(8);
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    // the order of the answers: the valid token and the four refusals before any failure's delay ended
    expect(answered.slice(0, 5).sort()).toEqual([200, 429, 429, 429, 429]);
    expect(answered.slice(5)).toEqual(Array(8).fill(401));
    expect(await failures()).toBe(before + 8);
  });
});

describe('reading', () => {
  it('lists received submissions with handle, padded size and day, never uploads in progress', async () => {
    const response = await get('/editor/v1/submissions');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const { submissions: listed } = (await response.json()) as { submissions: { id: string }[] };
    expect(listed.map((s) => s.id).sort()).toEqual([first.id, second.id, third.id].sort());
    expect(listed.find((s) => s.id === first.id)).toEqual({
      id: first.id,
      handle: 'quiet-otter',
      size: first.ciphertext.byteLength,
      day: DAY,
      status: 'received',
      desk: 'newsroom',
    });
    expect(listed.some((s) => s.id === uploading.id)).toBe(false);
    expect((await get('/editor/v1/submissions?status=uploading')).status).toBe(400);
  });

  it('streams one ciphertext byte for byte across its chunks', async () => {
    const response = await get(`/editor/v1/submissions/${first.id}/ciphertext`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(Number(response.headers.get('content-length'))).toBe(first.ciphertext.byteLength);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(first.ciphertext);
  });

  it('answers 404 for an unknown, malformed or still-uploading submission', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', "1' or '1'='1", uploading.id]) {
      const response = await get(`/editor/v1/submissions/${encodeURIComponent(id)}/ciphertext`);
      expect(response.status, id).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'not_found' });
    }
  });

  it("gives a source's armored public key", async () => {
    const response = await get('/editor/v1/sources/quiet-otter/key');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pgp-keys');
    expect(await response.text()).toBe(otter.publicKey);
    expect((await get('/editor/v1/sources/no-such/key')).status).toBe(404);
  });

  it('exports every received submission as one ustar bundle: bundle.json, keys, ciphertexts', async () => {
    const response = await get('/editor/v1/bundle');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-tar');
    const tar = new Uint8Array(await response.arrayBuffer());
    expect(Number(response.headers.get('content-length'))).toBe(tar.byteLength);
    const entries = await unpackTar(tar);
    const names = entries.map((entry) => entry.header.name);
    expect(names[0]).toBe('bundle.json');
    for (const entry of entries) {
      expect(entry.header).toMatchObject({ type: 'file', mode: 0o644, uid: 0, gid: 0 });
      expect(entry.header.mtime?.getTime()).toBe(0);
    }
    const manifest = JSON.parse(new TextDecoder().decode(entries[0]!.data)) as {
      version: number;
      submissions: { id: string; handle: string; day: string; size: number; sha256: string; path: string }[];
      sources: { handle: string; path: string }[];
    };
    expect(manifest.version).toBe(1);
    expect(manifest.sources.map((s) => s.handle).sort()).toEqual(['amber-heron', 'quiet-otter']);
    expect(manifest.submissions.map((s) => s.id).sort()).toEqual([first.id, second.id, third.id].sort());
    // keys first, then the ciphertexts, as the contract orders them
    const keyNames = names.filter((name) => name.startsWith('sources/'));
    const firstCiphertext = names.findIndex((name) => name.startsWith('submissions/'));
    expect(names.slice(1, 1 + keyNames.length)).toEqual(keyNames);
    expect(firstCiphertext).toBe(1 + keyNames.length);
    for (const item of manifest.submissions) {
      const entry = entries.find((e) => e.header.name === item.path);
      expect(item.path).toBe(`submissions/${item.id}.pgp`);
      expect(entry?.data?.byteLength).toBe(item.size);
      expect(createHash('sha256').update(entry!.data!).digest('hex')).toBe(item.sha256);
    }
    const otterKey = entries.find((e) => e.header.name === 'sources/quiet-otter.asc');
    expect(new TextDecoder().decode(otterKey?.data)).toBe(otter.publicKey);
    const firstEntry = entries.find((e) => e.header.name === `submissions/${first.id}.pgp`);
    expect(firstEntry?.data).toEqual(first.ciphertext);
  });
});

describe('acknowledging and deleting', () => {
  it('marks a submission downloaded, idempotently, and it leaves the received list and the bundle', async () => {
    const response = await app.request(`/editor/v1/submissions/${second.id}/ack`, { method: 'POST', headers: auth() });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: second.id, status: 'downloaded' });
    const again = await app.request(`/editor/v1/submissions/${second.id}/ack`, { method: 'POST', headers: auth() });
    expect(again.status).toBe(200);
    const [row] = await database.db.select().from(submissions).where(eq(submissions.id, second.id));
    expect(row).toMatchObject({ status: 'downloaded', downloadedDay: DAY });
    const received = (await (await get('/editor/v1/submissions')).json()) as { submissions: { id: string }[] };
    expect(received.submissions.some((s) => s.id === second.id)).toBe(false);
    const downloaded = (await (await get('/editor/v1/submissions?status=downloaded')).json()) as { submissions: { id: string }[] };
    expect(downloaded.submissions.map((s) => s.id)).toEqual([second.id]);
    const all = (await (await get('/editor/v1/submissions?status=all')).json()) as { submissions: unknown[] };
    expect(all.submissions).toHaveLength(3);
    const bundle = await unpackTar(new Uint8Array(await (await get('/editor/v1/bundle')).arrayBuffer()));
    expect(bundle.some((e) => e.header.name.includes(second.id))).toBe(false);
    // the source, looking up with its codename on the source listener, now sees "downloaded"
    const lookup = await sourceApp.request('/api/v1/source/lookup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lookupId: otter.lookupId }),
    });
    expect(lookup.status).toBe(200);
    const seen = (await lookup.json()) as { submissions: { id: string; status: string }[] };
    expect(seen.submissions.find((s) => s.id === second.id)?.status).toBe('downloaded');
    expect(seen.submissions.find((s) => s.id === first.id)?.status).toBe('received');
    const ackUploading = await app.request(`/editor/v1/submissions/${uploading.id}/ack`, { method: 'POST', headers: auth() });
    expect(ackUploading.status).toBe(404);
  });

  it('deletes one submission with its chunks', async () => {
    const response = await app.request(`/editor/v1/submissions/${third.id}`, { method: 'DELETE', headers: auth() });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ deleted: true });
    expect((await get(`/editor/v1/submissions/${third.id}/ciphertext`)).status).toBe(404);
    expect((await app.request(`/editor/v1/submissions/${third.id}`, { method: 'DELETE', headers: auth() })).status).toBe(404);
  });
});

describe('replies', () => {
  const b64 = (bytes: Uint8Array | string) => Buffer.from(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes).toString('base64');
  type Parts = { message: Uint8Array; signature?: Uint8Array };
  /** Posts `body` as JSON; a message and signature given as bytes are sent as base64, as push does. */
  const reply = (handle: string, body: Parts | Record<string, unknown>) => {
    const json = body.message instanceof Uint8Array
      ? { message: b64(body.message), ...(body.signature instanceof Uint8Array ? { signature: b64(body.signature) } : {}) }
      : body;
    return app.request(`/editor/v1/sources/${handle}/replies`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });
  };
  /** `message` with a good detached signature by the newsroom key (what push sends for any file). */
  const signed = async (message: Uint8Array | string) => {
    const bytes = typeof message === 'string' ? new TextEncoder().encode(message) : message;
    const signature = (await sign({ message: await createMessage({ binary: bytes }), signingKeys: await readDemoSecretKey(), detached: true, format: 'binary' })) as Uint8Array;
    return { message: bytes, signature };
  };
  const replyCount = async (source: FixtureSource) => (await database.db.select().from(replies).where(eq(replies.sourceId, source.id))).length;
  const allReplies = async () => (await database.db.select({ id: replies.id }).from(replies)).length;
  const otterKey = async () => decryptKey({ privateKey: await readPrivateKey({ armoredKey: otter.lockedPrivateKey }), passphrase: otter.keyPassphrase });

  it('stores a signed, padded reply as sent; the source opens it against the newsroom key', async () => {
    const sealed = await sealDemoReply('Thank you. Can you send the memo?', otter.key);
    const response = await reply('quiet-otter', sealed);
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const [row] = await database.db.select().from(replies).where(eq(replies.id, id));
    expect(row).toMatchObject({ sourceId: otter.id, size: sealed.message.byteLength, createdDay: DAY });
    expect(new Uint8Array(row!.message)).toEqual(sealed.message);
    expect(row!.size).toBe(paddedLength(row!.size));
    expect(await openReply(row!.message, await otterKey(), newsroom.key)).toMatchObject({ ok: true, text: 'Thank you. Can you send the memo?' });
  });

  it('answers the same push again with the stored id (200), storing nothing twice, armored or binary; the same text sealed again is another reply', async () => {
    const sealed = await sealDemoReply('Sent twice by a push cut off before its answer.', otter.key);
    const before = await replyCount(otter);
    const first = await reply('quiet-otter', sealed);
    expect(first.status).toBe(201);
    const { id } = (await first.json()) as { id: string };
    const again = await reply('quiet-otter', sealed);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id });
    // the same message armored (its own detached signature over the armored text) is the same reply
    const armored = armor(enums.armor.message, sealed.message);
    const third = await reply('quiet-otter', { message: b64(armored), signature: b64((await signed(armored)).signature) });
    expect([third.status, await third.json()]).toEqual([200, { id }]);
    expect(await replyCount(otter)).toBe(before + 1);
    // a new seal of the same words is new ciphertext: a second reply
    const resealed = await reply('quiet-otter', await sealDemoReply('Sent twice by a push cut off before its answer.', otter.key));
    expect(resealed.status).toBe(201);
    expect(await replyCount(otter)).toBe(before + 2);
    const actions = (await database.db.select({ action: audit.action, target: audit.target }).from(audit)).filter((a) => a.target?.endsWith(id));
    expect(actions.map((a) => a.action)).toEqual(['reply', 'reply_again', 'reply_again']);
  });

  it('numbers a day\'s replies in the order they are stored, and the source reads them in that order, not by random id', async () => {
    const posted: string[] = [];
    for (let i = 0; i < 6; i++) {
      const response = await reply('quiet-otter', await sealDemoReply(`reply ${i}`, otter.key));
      expect(response.status).toBe(201);
      posted.push(((await response.json()) as { id: string }).id);
    }
    const rows = await database.db.select({ id: replies.id, seq: replies.daySeq }).from(replies).where(inArray(replies.id, posted));
    const seqOf = new Map(rows.map((row) => [row.id, row.seq!]));
    const seqs = posted.map((id) => seqOf.get(id)!);
    // consecutive, as stored (other tests' replies of the same day came first)
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    const seen = (await lookupSource(database.db, otter.lookupId)).replies.map((r) => r.id).filter((id) => posted.includes(id));
    // (by random id, six replies come out in the order posted once in 720 runs)
    expect(seen).toEqual(posted);
  });

  it('stores replies of 3 and 4 bytes at the same size', async () => {
    const sizes: number[] = [];
    for (const text of ['Yes', 'Yes!']) {
      const response = await reply('quiet-otter', await sealDemoReply(text, otter.key));
      expect(response.status).toBe(201);
      const { id } = (await response.json()) as { id: string };
      const [row] = await database.db.select({ size: replies.size, message: replies.message }).from(replies).where(eq(replies.id, id));
      expect(row!.message.byteLength).toBe(row!.size);
      sizes.push(row!.size);
    }
    expect(sizes[0]).toBe(sizes[1]);
  });

  it('checks an armored reply\'s signature over the armored bytes sent, and stores it as binary', async () => {
    const sealed = await sealDemoReply('armored', otter.key);
    const armored = armor(enums.armor.message, sealed.message);
    const armoredSignature = armor(enums.armor.signature, (await signed(armored)).signature);
    const response = await reply('quiet-otter', { message: b64(armored), signature: b64(armoredSignature) });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const [row] = await database.db.select().from(replies).where(eq(replies.id, id));
    expect(new Uint8Array(row!.message)).toEqual(sealed.message);
    // the binary message's signature does not cover the armored text
    expect(await (await reply('quiet-otter', { message: b64(armored), signature: b64(sealed.signature) })).json()).toMatchObject({ error: 'bad_signature' });
  });

  it('refuses an unsigned reply (raw, or JSON without a signature), a signature by another key, a tampered one and one over other bytes; nothing stored', async () => {
    const before = await allReplies();
    const sealed = await sealDemoReply('meet us', otter.key);
    const raw = await app.request('/editor/v1/sources/quiet-otter/replies', {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/octet-stream' },
      body: new Uint8Array(sealed.message),
    });
    expect(raw.status).toBe(422);
    expect(await raw.json()).toMatchObject({ error: 'unsigned_reply' });
    const cases: [string, Uint8Array | undefined, string][] = [];
    cases.push(['no signature', undefined, 'unsigned_reply']);
    const { privateKey: mallory } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Mallory' }], format: 'object' });
    cases.push(['another key', (await sign({ message: await createMessage({ binary: sealed.message }), signingKeys: mallory, detached: true, format: 'binary' })) as Uint8Array, 'wrong_signer']);
    const tampered = sealed.signature.slice();
    tampered[tampered.length - 3]! ^= 0x40;
    cases.push(['tampered', tampered, 'bad_signature']);
    cases.push(['over another reply', (await sealDemoReply('meet us', otter.key)).signature, 'bad_signature']);
    cases.push(['not a signature', sealed.message.subarray(0, 300), 'bad_signature_format']);
    for (const [name, signature, code] of cases) {
      const response = await reply('quiet-otter', { message: sealed.message, signature });
      expect(response.status, name).toBe(422);
      expect(await response.json(), name).toMatchObject({ error: code });
    }
    // a good signature, but the ciphertext was changed after signing
    const flipped = sealed.message.slice();
    flipped[flipped.length - 30]! ^= 1;
    expect(await (await reply('quiet-otter', { message: flipped, signature: sealed.signature })).json()).toMatchObject({ error: 'bad_signature' });
    expect(await allReplies()).toBe(before);
  });

  it('refuses a reply not addressed to the source, or not to the newsroom, with 422 and stores nothing', async () => {
    const before = await allReplies();
    const toOther = await sealDemoReply('wrong source', otter.key);
    const response = await reply('amber-heron', toOther);
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ error: 'not_addressed_to_source' });
    const toNewsroomOnly = await encryptToKeys(new TextEncoder().encode('newsroom only'), [newsroom.key]);
    expect(await (await reply('amber-heron', await signed(toNewsroomOnly))).json()).toMatchObject({ error: 'not_addressed_to_source' });
    const toSourceOnly = await encryptToKeys(new TextEncoder().encode('source only'), [heron.key]);
    expect(await (await reply('amber-heron', await signed(toSourceOnly))).json()).toMatchObject({ error: 'not_addressed_to_newsroom' });
    expect(await allReplies()).toBe(before);
  });

  it('refuses plaintext, a public key, and a truncated message as not_openpgp, signed or not', async () => {
    const before = await allReplies();
    const good = await encryptToKeys(new TextEncoder().encode('x'), [otter.key, newsroom.key]);
    for (const body of [
      new TextEncoder().encode('Dear source, please call me.'),
      new TextEncoder().encode(otter.publicKey),
      good.subarray(0, good.byteLength - 40),
      new Uint8Array(),
      new Uint8Array([...good, 0xc0 | 11, 1, 0]),
    ]) {
      const response = await reply('quiet-otter', await signed(body));
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ error: 'not_openpgp' });
    }
    expect(await allReplies()).toBe(before);
  });

  it('refuses a body that is not the schema: 400 for unknown fields and non-canonical base64, 415 for another type', async () => {
    const before = await allReplies();
    const sealed = await sealDemoReply('x', otter.key);
    const good = { message: b64(sealed.message), signature: b64(sealed.signature) };
    for (const body of [
      { ...good, extra: 1 },
      { signature: good.signature },
      { ...good, message: good.message.replace(/=+$/, '') },
      { ...good, signature: `${good.signature.slice(0, -4)}A===` },
      { ...good, message: good.message.slice(0, 100) + '\n' + good.message.slice(100) },
      { ...good, message: 7 },
    ]) {
      const response = await reply('quiet-otter', body);
      expect(response.status, JSON.stringify(Object.keys(body))).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/^bad_request$/);
    }
    const text = await app.request('/editor/v1/sources/quiet-otter/replies', { method: 'POST', headers: { ...auth(), 'content-type': 'text/plain' }, body: 'hello' });
    expect(text.status).toBe(415);
    expect(await allReplies()).toBe(before);
  });

  it('refuses an oversized reply or signature with 413, and an unknown handle with 404', async () => {
    const huge = await reply('quiet-otter', { message: b64(new Uint8Array(MAX_REPLY_BYTES + 1)), signature: b64(new Uint8Array(10)) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: 'too_large' });
    const bigSignature = await reply('quiet-otter', { message: b64(new Uint8Array(10)), signature: 'A'.repeat(4 * Math.ceil((MAX_REPLY_SIGNATURE_BYTES + 2) / 3) + 8) });
    expect(bigSignature.status).toBe(400);
    const over = await app.request('/editor/v1/sources/quiet-otter/replies', {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'A'.repeat(2 * MAX_REPLY_BYTES) }),
    });
    expect(over.status).toBe(413);
    expect((await reply('no-such-source', await sealDemoReply('x', otter.key))).status).toBe(404);
  });

  it('checks at most MAX_REPLY_CHECKS replies at once and answers 503 busy beyond, reading nothing', async () => {
    const holds: (() => void)[] = [];
    const held = Array.from({ length: MAX_REPLY_CHECKS }, () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"message":"'));
          holds.push(() => controller.close());
        },
      });
      return app.request('/editor/v1/sources/quiet-otter/replies', {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit);
    });
    await vi.waitFor(() => expect(holds).toHaveLength(MAX_REPLY_CHECKS), { timeout: 60_000, interval: 50 });
    // each held request is past its gate once its body is being read: wait for the gate to fill,
    // probing with a body the schema refuses (400 while there is room, 503 once full: never stored),
    // so a slow machine cannot store the real reply before the gate is full
    await vi.waitFor(
      async () => {
        const probe = await reply('quiet-otter', { message: 'not base64!' });
        expect(probe.status).toBe(503);
      },
      { timeout: 60_000, interval: 50 },
    );
    const sealed = await sealDemoReply('while busy', otter.key);
    const busy = await reply('quiet-otter', sealed);
    expect(busy.status).toBe(503);
    expect(await busy.json()).toMatchObject({ error: 'busy' });
    for (const release of holds) release();
    for (const response of await Promise.all(held)) expect(response.status).toBe(400);
    expect((await reply('quiet-otter', sealed)).status).toBe(201);
  });

  it('deletes a whole source with its submissions and replies', async () => {
    expect(await replyCount(otter)).toBeGreaterThan(0);
    const response = await app.request('/editor/v1/sources/quiet-otter', { method: 'DELETE', headers: auth() });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ deleted: true });
    expect(await database.db.select().from(sources).where(eq(sources.id, otter.id))).toEqual([]);
    expect(await database.db.select().from(submissions).where(eq(submissions.sourceId, otter.id))).toEqual([]);
    expect(await replyCount(otter)).toBe(0);
    expect((await app.request('/editor/v1/sources/quiet-otter', { method: 'DELETE', headers: auth() })).status).toBe(404);
  });
});

describe('audit', () => {
  it('wrote a row per action with the editor name and the day only', async () => {
    const rows = await auditRows();
    const mine = rows.filter((row) => row.editor === 'alice');
    const actions = new Set(mine.map((row) => row.action));
    for (const action of ['list', 'download', 'bundle', 'ack', 'delete_submission', 'delete_source', 'source_key', 'reply', 'reply_refused']) {
      expect(actions, action).toContain(action);
    }
    expect(mine.find((row) => row.action === 'download' && row.target === first.id)).toBeTruthy();
    expect(mine.find((row) => row.action === 'delete_source' && row.target === 'quiet-otter')).toBeTruthy();
    for (const row of rows) {
      expect(row.day).toBe(DAY);
      expect(Object.keys(row).sort()).toEqual(['action', 'day', 'editor', 'id', 'target']);
    }
    // request-log lines carry route patterns, never ids, handles or tokens
    expect(logged).toContain('GET /editor/v1/submissions/:id/ciphertext 200');
    for (const secret of [first.id, 'quiet-otter', token]) expect(logged.join('\n')).not.toContain(secret);
    // the revoked token did nothing: its one row is the refused attempt (token changes are the admin's rows)
    expect(rows.filter((row) => row.editor === 'bob').map((row) => row.action).sort()).toEqual(['auth_revoked']);
  });
});
