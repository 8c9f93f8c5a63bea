import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { unpackTar } from 'modern-tar';
import { armor, decrypt, enums, readMessage, readPrivateKey, decryptKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptToKeys, MAX_REPLY_BYTES, type NewsroomKey } from '../../protocol/index.ts';
import { addToken, revokeToken } from '../admin.ts';
import type { Database } from '../db/open.ts';
import { audit, replies, sources, submissions } from '../db/schema.ts';
import { createTestDatabase } from '../db/test-db.ts';
import { createApp } from '../app.ts';
import { loadInstance } from '../instance.ts';
import { parseNewsroomKey } from '../newsroom-key.ts';
import { createEditorApp } from './app.ts';
import { generateToken } from './token.ts';
import { insertSource, insertSubmission, readDemoNewsroomKey, type FixtureSource, type FixtureSubmission } from './test-fixtures.ts';

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
  app = createEditorApp({ ...base, db: database.db, auth: { failureDelayMs: 20 } });
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

  it('refuses a revoked token', async () => {
    const response = await get('/editor/v1/submissions', revoked);
    expect(response.status).toBe(401);
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
    const capped = createEditorApp({ ...base, db: database.db, auth: { failureDelayMs: 1, maxAuditedFailuresPerDay: 1 } });
    const before = (await auditRows()).filter((row) => row.action === 'auth_failed').length;
    expect(before).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 3; i++) {
      expect((await capped.request('/editor/v1/submissions', { headers: { authorization: `Bearer ${generateToken()}` } })).status).toBe(401);
    }
    expect((await auditRows()).filter((row) => row.action === 'auth_failed').length).toBe(before);
  });

  it('caps the failures waiting at once globally: beyond the cap a failure gets 429 at once, a valid token still passes', async () => {
    const slow = createEditorApp({ ...base, db: database.db, auth: { failureDelayMs: 1500, maxFailing: 1 } });
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
    const gate = createEditorApp({ ...base, db: database.db, auth: { failureDelayMs: 3000 } });
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
  const reply = (handle: string, body: Uint8Array | string) =>
    app.request(`/editor/v1/sources/${handle}/replies`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/octet-stream' },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
  const replyCount = async (source: FixtureSource) => (await database.db.select().from(replies).where(eq(replies.sourceId, source.id))).length;

  it('stores a binary reply addressed to the source and the newsroom', async () => {
    const message = await encryptToKeys(new TextEncoder().encode('Thank you. Can you send the memo?'), [otter.key, newsroom.key]);
    const response = await reply('quiet-otter', message);
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const [row] = await database.db.select().from(replies).where(eq(replies.id, id));
    expect(row).toMatchObject({ sourceId: otter.id, size: message.byteLength, createdDay: DAY });
    expect(new Uint8Array(row!.message)).toEqual(message);
    // and the source can read it with its own key, unlocked by its passphrase
    const privateKey = await decryptKey({ privateKey: await readPrivateKey({ armoredKey: otter.lockedPrivateKey }), passphrase: otter.keyPassphrase });
    const { data } = await decrypt({ message: await readMessage({ binaryMessage: row!.message }), decryptionKeys: privateKey, format: 'binary' });
    expect(new TextDecoder().decode(data as Uint8Array)).toBe('Thank you. Can you send the memo?');
  });

  it('stores an armored reply as binary', async () => {
    const message = await encryptToKeys(new TextEncoder().encode('armored'), [otter.key]);
    const response = await reply('quiet-otter', armor(enums.armor.message, message));
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const [row] = await database.db.select().from(replies).where(eq(replies.id, id));
    expect(new Uint8Array(row!.message)).toEqual(message);
  });

  it('refuses a reply not addressed to the source with 422 and stores nothing', async () => {
    const before = await replyCount(heron);
    const toOther = await encryptToKeys(new TextEncoder().encode('wrong source'), [otter.key, newsroom.key]);
    const response = await reply('amber-heron', toOther);
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ error: 'not_addressed_to_source' });
    const toNewsroomOnly = await encryptToKeys(new TextEncoder().encode('newsroom only'), [newsroom.key]);
    expect((await reply('amber-heron', toNewsroomOnly)).status).toBe(422);
    expect(await replyCount(heron)).toBe(before);
  });

  it('refuses plaintext, a public key, and a truncated message as not_openpgp', async () => {
    const before = await replyCount(otter);
    const good = await encryptToKeys(new TextEncoder().encode('x'), [otter.key]);
    for (const body of [
      new TextEncoder().encode('Dear source, please call me.'),
      new TextEncoder().encode(otter.publicKey),
      good.subarray(0, good.byteLength - 40),
      new Uint8Array(),
      new Uint8Array([...good, 0xc0 | 11, 1, 0]),
    ]) {
      const response = await reply('quiet-otter', body);
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({ error: 'not_openpgp' });
    }
    expect(await replyCount(otter)).toBe(before);
  });

  it('refuses an oversized reply with 413, and an unknown handle with 404', async () => {
    expect((await reply('quiet-otter', new Uint8Array(MAX_REPLY_BYTES + 1))).status).toBe(413);
    const message = await encryptToKeys(new TextEncoder().encode('x'), [otter.key]);
    expect((await reply('no-such-source', message)).status).toBe(404);
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
    expect(rows.some((row) => row.editor === 'bob' && row.action !== 'token_add' && row.action !== 'token_revoke')).toBe(false);
  });
});
