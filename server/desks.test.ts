import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { createMessage, decrypt, encrypt, generateKey, readMessage, type PrivateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptToKeys, generateSourceKeys } from '../protocol/index.ts';
import { MIN_CHUNK_BYTES } from '../protocol/limits.ts';
import { addToken, AdminError, formatListing, listTokens, runAdmin } from './admin.ts';
import type { Database } from './db/open.ts';
import { editorTokens, submissions } from './db/schema.ts';
import { createTestDatabase } from './db/test-db.ts';
import { DeskError, loadDesks, type Desk } from './desks.ts';
import { loadInstanceFile } from './instance-file.ts';
import { DEMO_KEY_FINGERPRINT, parseNewsroomKey } from './newsroom-key.ts';
import { buildTestApp, countRows, DEMO_KEY_PATH, sha256Hex, type TestApp } from './test-helpers.ts';

const now = new Date('2026-03-02T12:34:56Z');
const clock = () => now;

let database: Database;
let dir: string;
let workers: Desk;
let sanctions: Desk;
let stranger: Awaited<ReturnType<typeof generateKey>>;
let t: TestApp;
let single: TestApp;
let sourceKeys: { publicKey: string; lockedPrivateKey: string };

/** A throwaway v4 desk key pair, as `sealdrop keygen` makes by default (curve25519Legacy). */
async function deskKey(name: string) {
  return generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name }], format: 'object', date: new Date('2026-01-01T00:00:00Z') });
}

beforeAll(async () => {
  database = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'sealdrop-desks-'));
  const [w, s] = [await deskKey('Workers abroad'), await deskKey('Sanctions and shipping')];
  stranger = await deskKey('nobody');
  await writeFile(join(dir, 'workers.pub.asc'), w.publicKey.armor());
  await writeFile(join(dir, 'sanctions.pub.asc'), s.publicKey.armor());
  [workers, sanctions] = await loadDesks(
    [
      { id: 'workers', keyFile: join(dir, 'workers.pub.asc') },
      { id: 'sanctions', keyFile: join(dir, 'sanctions.pub.asc'), fingerprint: s.publicKey.getFingerprint().toUpperCase().replace(/(.{4})/g, '$1 ') },
    ],
    DEMO_KEY_PATH,
    now,
  ) as [Desk, Desk];
  t = await buildTestApp(database.db, [workers, sanctions], clock);
  single = await buildTestApp(database.db, await parseNewsroomKey(w.publicKey.armor(), now), clock);
  sourceKeys = await generateSourceKeys('a'.repeat(64), workers.key.key);
});

afterAll(async () => {
  await database?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('loadDesks', () => {
  it('makes the one desk `newsroom` of NEWSROOM_KEY_FILE when no desks are given', async () => {
    for (const specs of [undefined, []]) {
      const desks = await loadDesks(specs, DEMO_KEY_PATH, now);
      expect(desks.map((desk) => [desk.id, desk.key.fingerprint])).toEqual([['newsroom', DEMO_KEY_FINGERPRINT]]);
    }
  });

  it('loads the demo desk keys of keys.example with their published fingerprints, and knows them for demo keys', async () => {
    const example = (name: string) => new URL(`../keys.example/desk-${name}.pub.asc`, import.meta.url).pathname;
    const desks = await loadDesks(
      [
        { id: 'workers', keyFile: example('workers'), fingerprint: '4077 5FE8 DF64 65E1 120A  E3F8 3081 484B 7DCC 05B0' },
        { id: 'sanctions', keyFile: example('sanctions'), fingerprint: '57724d5ae5cea9051cb7adf0143f01affd872926' },
      ],
      DEMO_KEY_PATH,
      new Date(), // the demo desk keys were made after this file's clock
    );
    expect(desks.map((desk) => [desk.id, desk.key.isDemoKey])).toEqual([['workers', true], ['sanctions', true]]);
    expect(workers.key.isDemoKey).toBe(false);
  });

  it('loads the desks of the example instance file (deploy/instance.example), each a demo key', async () => {
    const file = await loadInstanceFile(new URL('../deploy/instance.example/instance.json', import.meta.url).pathname);
    const desks = await loadDesks(file.deskSpecs, DEMO_KEY_PATH, new Date());
    expect(desks.map((desk) => [desk.id, desk.key.isDemoKey])).toEqual([['workers', true], ['sanctions', true], ['general', true]]);
  });

  it('keeps the desks in order, each with its own key', () => {
    expect([workers.id, sanctions.id]).toEqual(['workers', 'sanctions']);
    expect(workers.key.fingerprint).not.toBe(sanctions.key.fingerprint);
  });

  it('refuses a published fingerprint that is not the key file\'s, naming the desk', async () => {
    await expect(loadDesks([{ id: 'workers', keyFile: join(dir, 'workers.pub.asc'), fingerprint: sanctions.key.fingerprint }], DEMO_KEY_PATH, now))
      .rejects.toThrow(/^desk workers: the key in .* has the fingerprint [0-9a-f]{40}, not the published/);
  });

  it('refuses two desks with one key, or one id, and a malformed id', async () => {
    const file = join(dir, 'workers.pub.asc');
    await expect(loadDesks([{ id: 'a', keyFile: file }, { id: 'b', keyFile: file }], DEMO_KEY_PATH, now)).rejects.toThrow(/desks a and b have the same key/);
    await expect(loadDesks([{ id: 'a', keyFile: file }, { id: 'a', keyFile: join(dir, 'sanctions.pub.asc') }], DEMO_KEY_PATH, now)).rejects.toThrow(/desk a is defined twice/);
    await expect(loadDesks([{ id: 'Workers', keyFile: file }], DEMO_KEY_PATH, now)).rejects.toThrow(DeskError);
    // another certificate carrying the workers desk's encryption subkey beside its own (gpg can bind
    // one key to two primaries: addkey, "existing key" by keygrip; here a copy, which is enough to be seen)
    const other = await deskKey('Other');
    other.publicKey.subkeys.push(workers.key.key.subkeys[0]!);
    await writeFile(join(dir, 'sharing.pub.asc'), other.publicKey.armor());
    await expect(loadDesks([{ id: 'a', keyFile: file }, { id: 'b', keyFile: join(dir, 'sharing.pub.asc') }], DEMO_KEY_PATH, now))
      .rejects.toThrow(`desks a and b share the (sub)key ${workers.key.key.subkeys[0]!.getKeyID().toHex()}: each desk needs its own`);
    await expect(loadDesks([{ id: 'x', keyFile: join(dir, 'missing.asc') }], DEMO_KEY_PATH, now)).rejects.toThrow(/^desk x: cannot read/);
  });
});

async function post(app: TestApp, path: string, body: unknown): Promise<Response> {
  return app.app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/** Opens an upload of `bytes` (in chunks of `chunkSize`) for `desk`, and sends every chunk; returns the open's and the last chunk's answers. */
async function send(bytes: Uint8Array, desk: string | undefined, options: { app?: TestApp; chunkSize?: number } = {}) {
  const app = options.app ?? t;
  const { token } = (await (await post(app, '/api/v1/pow', {})).json()) as { token: string };
  const chunkSize = options.chunkSize ?? bytes.length;
  const opened = await post(app, '/api/v1/uploads', {
    pow: { token, nonce: '0' },
    lookupId: randomBytes(32).toString('hex'),
    sourceKeys,
    size: bytes.length,
    chunkSize,
    chunks: Math.ceil(bytes.length / chunkSize),
    sha256: sha256Hex(bytes),
    ...(desk === undefined ? {} : { desk }),
  });
  if (opened.status !== 201) return { opened, last: undefined };
  const { uploadId } = (await opened.json()) as { uploadId: string };
  let last: Response | undefined;
  for (let at = 0; at < bytes.length; at += chunkSize) {
    last = await app.app.request(`/api/v1/uploads/${uploadId}/chunks/${at / chunkSize}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes.slice(at, at + chunkSize),
    });
  }
  return { opened, last: last! };
}

const tip = (keys: Desk[], size = 3000) => encryptToKeys(new Uint8Array(randomBytes(size)), keys.map((desk) => desk.key.key));

describe('the source API with two desks', () => {
  it('serves every desk with its key and fingerprint, and the first desk\'s at the top for older pages', async () => {
    const body = (await (await t.app.request('/api/v1/config')).json()) as Record<string, unknown>;
    expect(body.desks).toEqual([
      { id: 'workers', newsroomKey: workers.key.armored, fingerprint: workers.key.fingerprint },
      { id: 'sanctions', newsroomKey: sanctions.key.armored, fingerprint: sanctions.key.fingerprint },
    ]);
    expect([body.newsroomKey, body.fingerprint]).toEqual([workers.key.armored, workers.key.fingerprint]);
  });

  it('refuses an open that names no desk, or one that does not exist: 422 unknown_desk, nothing stored', async () => {
    const bytes = await tip([workers]);
    for (const desk of [undefined, 'general', 'Workers', '']) {
      const before = await countRows(database.db);
      const { opened } = await send(bytes, desk);
      expect(opened.status).toBe(422);
      expect(((await opened.json()) as { error: string }).error).toBe('unknown_desk');
      expect(await countRows(database.db)).toEqual(before);
    }
  });

  it('keeps a tip addressed to the desk it was sent to, recording the desk', async () => {
    const { last } = await send(await tip([sanctions]), 'sanctions');
    expect(last!.status).toBe(200);
    const { submissionId } = (await last!.json()) as { submissionId: string };
    const [row] = await database.db.select({ desk: submissions.desk, status: submissions.status }).from(submissions).where(eq(submissions.id, submissionId));
    expect(row).toEqual({ desk: 'sanctions', status: 'received' });
  });

  for (const chunkSize of [undefined, MIN_CHUNK_BYTES]) {
    const shape = chunkSize ? 'in several chunks' : 'in one chunk';
    it(`refuses a tip ${shape} addressed to the wrong desk's key: 422 wrong_recipient, nothing kept`, async () => {
      const before = await countRows(database.db);
      const { opened, last } = await send(await tip([sanctions], chunkSize ? 3 * chunkSize : 3000), 'workers', chunkSize ? { chunkSize } : {});
      expect(opened.status).toBe(201);
      expect(last!.status).toBe(422);
      expect(((await last!.json()) as { error: string }).error).toBe('wrong_recipient');
      const after = await countRows(database.db);
      // only the spent proof of work (and the adaptive price's bucket) remain of the attempt
      expect({ ...after, spent_pow: 0, pow_load: 0 }).toEqual({ ...before, spent_pow: 0, pow_load: 0 });
    });

    it(`refuses a tip ${shape} encrypted to both desks' keys: 422 other_desk_recipient, nothing kept`, async () => {
      const before = await countRows(database.db);
      const { last } = await send(await tip([workers, sanctions], chunkSize ? 3 * chunkSize : 3000), 'workers', chunkSize ? { chunkSize } : {});
      expect(last!.status).toBe(422);
      expect(((await last!.json()) as { error: string; message: string })).toMatchObject({ error: 'other_desk_recipient', message: expect.stringContaining('sanctions') });
      const after = await countRows(database.db);
      expect({ ...after, spent_pow: 0, pow_load: 0 }).toEqual({ ...before, spent_pow: 0, pow_load: 0 });
    });
  }

  it('accepts a tip to its desk\'s key and a key of no desk (as a single newsroom always has)', async () => {
    const bytes = await encryptToKeys(new Uint8Array(randomBytes(100)), [workers.key.key, stranger.publicKey]);
    const { last } = await send(bytes, 'workers');
    expect(last!.status).toBe(200);
  });
});

describe('a desk whose key has an old encryption subkey (expired, as after a rotation)', () => {
  let archive: Desk;
  let archiveSecret: PrivateKey;
  let two: TestApp;
  beforeAll(async () => {
    // made on 2026-01-01 with a subkey for a day, then a new subkey on 2026-01-05: at `now` only
    // the new one is valid for encryption, but the desk's offline machine holds both secrets
    const made = await generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Archive' }], format: 'object',
      date: new Date('2026-01-01T00:00:00Z'), subkeys: [{ keyExpirationTime: 24 * 3600 }],
    });
    archiveSecret = await made.privateKey.addSubkey({ date: new Date('2026-01-05T00:00:00Z') });
    await writeFile(join(dir, 'archive.pub.asc'), archiveSecret.toPublic().armor());
    [, archive] = await loadDesks(
      [{ id: 'workers', keyFile: join(dir, 'workers.pub.asc') }, { id: 'archive', keyFile: join(dir, 'archive.pub.asc') }],
      DEMO_KEY_PATH,
      now,
    ) as [Desk, Desk];
    two = await buildTestApp(database.db, [workers, archive], clock);
  });

  it('refuses a tip to the chosen desk and the other desk\'s old subkey, which that desk can still read: 422 other_desk_recipient, nothing kept', async () => {
    const old = archiveSecret.subkeys[0]!.getKeyID();
    expect(archive.key.encryptionKeyIds).not.toContain(old.toHex());
    const bytes = (await encrypt({
      message: await createMessage({ binary: new Uint8Array(randomBytes(3000)) }),
      encryptionKeys: [workers.key.key, archiveSecret.toPublic()],
      encryptionKeyIDs: [workers.key.key.subkeys[0]!.getKeyID(), old],
      date: new Date('2026-01-01T12:00:00Z'),
      format: 'binary',
    })) as Uint8Array;
    // the other desk reads it with the old subkey's secret
    const read = await decrypt({ message: await readMessage({ binaryMessage: bytes }), decryptionKeys: archiveSecret, format: 'binary' });
    expect(read.data).toHaveLength(3000);
    const before = await countRows(database.db);
    const { last } = await send(bytes, 'workers', { app: two });
    expect(last!.status).toBe(422);
    expect((await last!.json()) as { error: string; message: string }).toMatchObject({ error: 'other_desk_recipient', message: expect.stringContaining('archive') });
    expect({ ...(await countRows(database.db)), spent_pow: 0, pow_load: 0 }).toEqual({ ...before, spent_pow: 0, pow_load: 0 });
  });
});

describe('an install without desks', () => {
  it('takes a tip without a desk (or naming `newsroom`) as before, into the desk `newsroom`', async () => {
    for (const desk of [undefined, 'newsroom']) {
      const { last } = await send(await tip([workers]), desk, { app: single });
      expect(last!.status).toBe(200);
      const { submissionId } = (await last!.json()) as { submissionId: string };
      const [row] = await database.db.select({ desk: submissions.desk }).from(submissions).where(eq(submissions.id, submissionId));
      expect(row).toEqual({ desk: 'newsroom' });
    }
    const config = (await (await single.app.request('/api/v1/config')).json()) as { desks: { id: string }[] };
    expect(config.desks.map((desk) => desk.id)).toEqual(['newsroom']);
  });

  it('refuses another desk name, and a tip to another key as before', async () => {
    const { opened } = await send(await tip([workers]), 'workers', { app: single });
    expect(opened.status).toBe(422);
    const { last } = await send(await tip([sanctions]), undefined, { app: single });
    expect(last!.status).toBe(422);
    expect(((await last!.json()) as { error: string; message: string })).toEqual({ error: 'wrong_recipient', message: "The message is not encrypted to the newsroom's key." });
  });
});

describe('admin: token add --desk', () => {
  it('records the desks of a token, and none (every desk) without --desk', async () => {
    await addToken(database.db, 'wanda', now, ['workers'], ['workers', 'sanctions']);
    await addToken(database.db, 'sam', now, ['sanctions', 'workers'], ['workers', 'sanctions']);
    await addToken(database.db, 'chief', now);
    const rows = await database.db.select({ name: editorTokens.name, desks: editorTokens.desks }).from(editorTokens);
    expect(Object.fromEntries(rows.map((row) => [row.name, row.desks]))).toMatchObject({ wanda: ['workers'], sam: ['sanctions', 'workers'], chief: null });
    expect((await listTokens(database.db)).find((row) => row.name === 'wanda')?.desks).toEqual(['workers']);
    expect(formatListing([
      { name: 'wanda', desks: ['workers'], createdDay: '2026-03-02', revokedDay: null },
      { name: 'chief', desks: null, createdDay: '2026-03-02', revokedDay: null },
    ])).toBe('NAME   DESKS    CREATED     REVOKED\nwanda  workers  2026-03-02  -\nchief  (all)    2026-03-02  -\n');
  });

  it('refuses a desk that is not configured, naming it and the desks there are, and makes no token', async () => {
    const before = await countRows(database.db);
    await expect(addToken(database.db, 'gina', now, ['general'], ['workers', 'sanctions'])).rejects.toThrow(AdminError);
    await expect(addToken(database.db, 'gina', now, ['general'], ['workers', 'sanctions'])).rejects.toThrow('no desk is named "general"');
    await expect(addToken(database.db, 'gina', now, ['workers', 'workers'], ['workers', 'sanctions'])).rejects.toThrow(/given twice/);
    expect(await countRows(database.db)).toEqual(before);
  });

  it('parses --desk on the command line and refuses an unknown one before anything is opened', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: { DATA_DIR: join(dir, 'no-such-folder') } };
    expect(await runAdmin(['token', 'add', 'gina', '--desk', 'general'], { ...io, desks: ['workers', 'sanctions'] })).toBe(2);
    expect(err.join('')).toContain('sealdrop-admin: error: no desk is named "general"');
    expect(err.join('')).toContain('the desks are workers, sanctions');
    err.length = 0;
    // without desks configured, the one desk is `newsroom`
    expect(await runAdmin(['token', 'add', 'gina', '--desk', 'workers'], io)).toBe(2);
    expect(err.join('')).toContain('the desks are newsroom');
    err.length = 0;
    expect(await runAdmin(['token', 'add', 'gina', '--desk'], io)).toBe(2);
    expect(err.join('')).toContain('--desk needs a value');
    expect(out).toEqual([]);
  });
});
