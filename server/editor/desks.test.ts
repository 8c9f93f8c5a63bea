import { eq } from 'drizzle-orm';
import { unpackTar } from 'modern-tar';
import { createMessage, encrypt, generateKey, sign, type PrivateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptToKeys, sealReply, type NewsroomKey } from '../../protocol/index.ts';
import type { PublicKey } from 'openpgp';
import { addToken } from '../admin.ts';
import type { Database } from '../db/open.ts';
import { replies, sources, submissions } from '../db/schema.ts';
import { createTestDatabase } from '../db/test-db.ts';
import { readNewsroomPublicKey } from '../../protocol/openpgp-checks.ts';
import { createEditorApp } from './app.ts';
import { insertSource, insertSubmission, type FixtureSource, type FixtureSubmission } from './test-fixtures.ts';

const DAY = '2026-03-04';
const clock = () => new Date(`${DAY}T15:16:17Z`);

let database: Database;
let app: ReturnType<typeof createEditorApp>;
const keys: Record<'workers' | 'sanctions', { secret: PrivateKey; public: NewsroomKey }> = {} as never;
const tokens: Record<'workers' | 'sanctions' | 'all', string> = {} as never;
// otter wrote to workers, heron to sanctions
let otter: FixtureSource;
let heron: FixtureSource;
let workersTip: FixtureSubmission;
let sanctionsTip: FixtureSubmission;
let sanctionsPulled: FixtureSubmission;

beforeAll(async () => {
  database = await createTestDatabase();
  for (const id of ['workers', 'sanctions'] as const) {
    const pair = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: id }], format: 'object', date: new Date('2026-01-01T00:00:00Z') });
    keys[id] = { secret: pair.privateKey, public: await readNewsroomPublicKey(pair.publicKey.armor(), clock()) };
  }
  app = createEditorApp({
    db: database.db,
    desks: [{ id: 'workers', key: keys.workers.public }, { id: 'sanctions', key: keys.sanctions.public }],
    clock,
    config: { logRequests: false },
    log: () => {},
    auth: { failureDelayMs: 1 },
  });
  const known = ['workers', 'sanctions'];
  tokens.workers = await addToken(database.db, 'wanda', clock(), ['workers'], known);
  tokens.sanctions = await addToken(database.db, 'sam', clock(), ['sanctions'], known);
  tokens.all = await addToken(database.db, 'chief', clock());
  otter = await insertSource(database.db, keys.workers.public, 'quiet-otter', DAY);
  heron = await insertSource(database.db, keys.sanctions.public, 'amber-heron', DAY);
  const bytes = (text: string) => new TextEncoder().encode(text);
  workersTip = await insertSubmission(database.db, keys.workers.public, otter, bytes('to workers'), { day: DAY, chunkSize: 4096, desk: 'workers' });
  sanctionsTip = await insertSubmission(database.db, keys.sanctions.public, heron, bytes('to sanctions'), { day: DAY, chunkSize: 4096, desk: 'sanctions' });
  sanctionsPulled = await insertSubmission(database.db, keys.sanctions.public, heron, bytes('pulled'), { day: DAY, chunkSize: 4096, desk: 'sanctions', status: 'downloaded' });
});

afterAll(async () => {
  await database?.close();
});

const call = (token: string, method: string, path: string, body?: unknown) =>
  app.request(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const listed = async (token: string) =>
  ((await (await call(token, 'GET', '/editor/v1/submissions?status=all')).json()) as { submissions: { id: string; desk: string }[] }).submissions;
const bundleOf = async (response: Response) => {
  const entries = await unpackTar(new Uint8Array(await response.arrayBuffer()));
  const manifest = JSON.parse(new TextDecoder().decode(entries.find((e) => e.header.name === 'bundle.json')!.data)) as {
    submissions: { id: string; desk: string }[];
    sources: { handle: string }[];
  };
  return { manifest, names: entries.map((e) => e.header.name) };
};
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('a token scoped to a desk', () => {
  it('lists only its desk\'s submissions, each naming its desk; a token of every desk lists all', async () => {
    expect((await listed(tokens.workers)).map((s) => [s.id, s.desk])).toEqual([[workersTip.id, 'workers']]);
    expect((await listed(tokens.sanctions)).map((s) => s.id).sort()).toEqual([sanctionsTip.id, sanctionsPulled.id].sort());
    expect((await listed(tokens.all)).map((s) => s.id).sort()).toEqual([workersTip.id, sanctionsTip.id, sanctionsPulled.id].sort());
    // naming the other desk's source as a filter finds nothing either
    const filtered = await call(tokens.workers, 'GET', '/editor/v1/submissions?status=all&source=amber-heron');
    expect(((await filtered.json()) as { submissions: unknown[] }).submissions).toEqual([]);
  });

  it('pulls a bundle of its desk only, recording each submission\'s desk', async () => {
    const { manifest, names } = await bundleOf(await call(tokens.workers, 'GET', '/editor/v1/bundle'));
    expect(manifest.submissions.map((s) => [s.id, s.desk])).toEqual([[workersTip.id, 'workers']]);
    expect(manifest.sources.map((s) => s.handle)).toEqual(['quiet-otter']);
    expect(names).not.toContain(`submissions/${sanctionsTip.id}.pgp`);
  });

  it('finds nothing of another desk: 404 as for what does not exist, and nothing changes', async () => {
    const absent = '00000000-0000-4000-8000-000000000000';
    for (const id of [sanctionsTip.id, sanctionsPulled.id, absent]) {
      const answers = [
        await call(tokens.workers, 'GET', `/editor/v1/submissions/${id}/ciphertext`),
        await call(tokens.workers, 'POST', `/editor/v1/submissions/${id}/ack`),
        await call(tokens.workers, 'DELETE', `/editor/v1/submissions/${id}`),
        await call(tokens.workers, 'POST', '/editor/v1/bundle', { submissions: [id], sources: [] }),
      ];
      const bodies = await Promise.all(answers.map(async (r) => [r.status, ((await r.json()) as { error: string }).error]));
      expect(bodies).toEqual(Array(4).fill([404, 'not_found']));
    }
    for (const handle of ['amber-heron', 'no-such-source']) {
      const answers = [
        await call(tokens.workers, 'GET', `/editor/v1/sources/${handle}/key`),
        await call(tokens.workers, 'POST', `/editor/v1/sources/${handle}/spam`),
        await call(tokens.workers, 'DELETE', `/editor/v1/sources/${handle}/spam`),
        await call(tokens.workers, 'DELETE', `/editor/v1/sources/${handle}`),
        await call(tokens.workers, 'POST', '/editor/v1/bundle', { submissions: [], sources: [handle] }),
      ];
      expect(answers.map((r) => r.status)).toEqual([404, 404, 404, 404, 404]);
    }
    const rows = await database.db.select({ id: submissions.id, status: submissions.status }).from(submissions).where(eq(submissions.sourceId, heron.id));
    expect(rows.map((r) => [r.id, r.status]).sort()).toEqual([[sanctionsTip.id, 'received'], [sanctionsPulled.id, 'downloaded']].sort());
    const [source] = await database.db.select({ spam: sources.spam }).from(sources).where(eq(sources.id, heron.id));
    expect(source).toEqual({ spam: false });
  });

  it('replies to nothing of another desk, even with a reply made for it', async () => {
    const sealed = await sealReply(new TextEncoder().encode('for heron'), heron.key as PublicKey, keys.sanctions.secret);
    for (const desk of [undefined, 'sanctions', 'workers']) {
      const response = await call(tokens.workers, 'POST', '/editor/v1/sources/amber-heron/replies', {
        message: b64(sealed.message), signature: b64(sealed.signature), ...(desk ? { desk } : {}),
      });
      expect(response.status).toBe(404);
    }
    expect(await database.db.select().from(replies)).toEqual([]);
  });

  it('replies within its desk: encrypted to the source and the desk, signed by the desk, stored with the desk', async () => {
    const sealed = await sealReply(new TextEncoder().encode('for otter'), otter.key as PublicKey, keys.workers.secret);
    const response = await call(tokens.workers, 'POST', '/editor/v1/sources/quiet-otter/replies', {
      message: b64(sealed.message), signature: b64(sealed.signature), desk: 'workers',
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const [row] = await database.db.select({ desk: replies.desk }).from(replies).where(eq(replies.id, id));
    expect(row).toEqual({ desk: 'workers' });
  });

  it('refuses a reply of its desk signed by another desk\'s key, naming a desk not its own, or encrypted to two desks', async () => {
    const before = (await database.db.select().from(replies)).length;
    const text = new TextEncoder().encode('hello');
    // encrypted to the source and workers, but signed by sanctions
    const sealed = await sealReply(text, otter.key as PublicKey, keys.workers.secret);
    const wrongSigner = (await sign({ message: await createMessage({ binary: sealed.message }), signingKeys: keys.sanctions.secret, detached: true, format: 'binary' })) as Uint8Array;
    const bySanctions = await call(tokens.workers, 'POST', '/editor/v1/sources/quiet-otter/replies', { message: b64(sealed.message), signature: b64(wrongSigner) });
    expect([bySanctions.status, ((await bySanctions.json()) as { error: string }).error]).toEqual([422, 'wrong_signer']);
    const notMine = await call(tokens.workers, 'POST', '/editor/v1/sources/quiet-otter/replies', { message: b64(sealed.message), signature: b64(sealed.signature), desk: 'sanctions' });
    expect([notMine.status, ((await notMine.json()) as { error: string }).error]).toEqual([422, 'unknown_desk']);
    const both = await encryptToKeys(text, [otter.key, keys.workers.public.key, keys.sanctions.public.key]);
    const bothSigned = (await sign({ message: await createMessage({ binary: both }), signingKeys: keys.workers.secret, detached: true, format: 'binary' })) as Uint8Array;
    const toBoth = await call(tokens.workers, 'POST', '/editor/v1/sources/quiet-otter/replies', { message: b64(both), signature: b64(bothSigned) });
    expect([toBoth.status, ((await toBoth.json()) as { error: string }).error]).toEqual([422, 'other_desk_recipient']);
    expect((await database.db.select().from(replies)).length).toBe(before);
  });

  it('refuses a reply of its desk encrypted to another desk\'s old (expired) subkey as well, which that desk can still read', async () => {
    const made = await generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'archive' }], format: 'object',
      date: new Date('2026-01-01T00:00:00Z'), subkeys: [{ keyExpirationTime: 24 * 3600 }],
    });
    const archive = await made.privateKey.addSubkey({ date: new Date('2026-01-05T00:00:00Z') });
    const withArchive = createEditorApp({
      db: database.db,
      desks: [{ id: 'workers', key: keys.workers.public }, { id: 'archive', key: await readNewsroomPublicKey(archive.toPublic().armor(), clock()) }],
      clock,
      config: { logRequests: false },
      log: () => {},
      auth: { failureDelayMs: 1 },
    });
    const before = (await database.db.select().from(replies)).length;
    const message = (await encrypt({
      message: await createMessage({ binary: new TextEncoder().encode('hello') }),
      encryptionKeys: [otter.key as PublicKey, keys.workers.public.key, archive.toPublic()],
      encryptionKeyIDs: [(otter.key as PublicKey).subkeys[0]!.getKeyID(), keys.workers.public.key.subkeys[0]!.getKeyID(), archive.subkeys[0]!.getKeyID()],
      date: new Date('2026-01-01T12:00:00Z'),
      format: 'binary',
    })) as Uint8Array;
    const signature = (await sign({ message: await createMessage({ binary: message }), signingKeys: keys.workers.secret, detached: true, format: 'binary' })) as Uint8Array;
    const sent = await withArchive.request('/editor/v1/sources/quiet-otter/replies', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.workers}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: b64(message), signature: b64(signature) }),
    });
    expect([sent.status, ((await sent.json()) as { error: string }).error]).toEqual([422, 'other_desk_recipient']);
    expect((await database.db.select().from(replies)).length).toBe(before);
  });

  it('deletes of a source only what its desks hold while another desk still holds some', async () => {
    // heron writes to workers too: both desks hold it now
    const extra = await insertSubmission(database.db, keys.workers.public, heron, new TextEncoder().encode('heron to workers'), { day: DAY, chunkSize: 4096, desk: 'workers' });
    expect((await call(tokens.workers, 'GET', '/editor/v1/sources/amber-heron/key')).status).toBe(200);
    expect((await call(tokens.workers, 'DELETE', '/editor/v1/sources/amber-heron')).status).toBe(200);
    const left = await database.db.select({ id: submissions.id }).from(submissions).where(eq(submissions.sourceId, heron.id));
    expect(left.map((r) => r.id).sort()).toEqual([sanctionsTip.id, sanctionsPulled.id].sort());
    expect(left.map((r) => r.id)).not.toContain(extra.id);
    expect((await call(tokens.sanctions, 'GET', '/editor/v1/sources/amber-heron/key')).status).toBe(200);
    expect((await call(tokens.workers, 'GET', '/editor/v1/sources/amber-heron/key')).status).toBe(404);
  });

  it('marks spam only a source of its desk, dropping only its desk\'s unpulled submissions', async () => {
    const extra = await insertSubmission(database.db, keys.workers.public, heron, new TextEncoder().encode('again'), { day: DAY, chunkSize: 4096, desk: 'workers' });
    const marked = await call(tokens.workers, 'POST', '/editor/v1/sources/amber-heron/spam');
    expect(marked.status).toBe(200);
    expect(((await marked.json()) as { dropped: number }).dropped).toBe(1);
    const left = await database.db.select({ id: submissions.id }).from(submissions).where(eq(submissions.sourceId, heron.id));
    expect(left.map((r) => r.id)).not.toContain(extra.id);
    expect(left.map((r) => r.id)).toContain(sanctionsTip.id);
  });
});
