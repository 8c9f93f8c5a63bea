import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { generateKey, readKey } from 'openpgp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MIN_CHUNK_BYTES } from '../protocol/limits.ts';
import { checkPowSolution, solvePow } from '../protocol/pow.ts';
import { encryptToKeys, generateSourceKeys } from '../protocol/source-keys.ts';
import { rowsOf, type Database } from './db/open.ts';
import { replies, sources } from './db/schema.ts';
import { createTestDatabase } from './db/test-db.ts';
import type { NewsroomKey } from './newsroom-key.ts';
import { CONTENT_SECURITY_POLICY } from './policies/security-headers.ts';
import { checkKeysHere, createKeyCheckPool, KeyCheckBusyError } from './source/key-check-pool.ts';
import { CHECK_MODULE, marked, STALL_HEADER } from './source/key-check-pool.test-helpers.ts';
import { dsaKey, rsaKey } from '../protocol/testdata/hostile-keys.ts';
import { purgeExpired, startPurgeTimer } from './source/purge.ts';
import { submissionIdOf } from './source/uploads.ts';
import { buildTestApp, countRows, demoNewsroomKey, sha256Hex, type TestApp } from './test-helpers.ts';

let database: Database;
let newsroomKey: NewsroomKey;
let otherKey: Awaited<ReturnType<typeof readKey>>;
let sourceKeys: { publicKey: string; lockedPrivateKey: string };
let now = new Date('2026-03-02T12:34:56Z');
const clock = () => now;
let t: TestApp;

const newLookupId = () => randomBytes(32).toString('hex');

beforeAll(async () => {
  database = await createTestDatabase();
  newsroomKey = await demoNewsroomKey();
  const other = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'not the newsroom' }], format: 'object' });
  otherKey = other.publicKey;
  sourceKeys = await generateSourceKeys('a'.repeat(64), newsroomKey.key);
  t = await buildTestApp(database.db, newsroomKey, clock);
});
afterAll(async () => {
  await database?.close();
});
beforeEach(() => {
  now = new Date('2026-03-02T12:34:56Z');
  t.logs.length = 0;
});

async function json(res: Response) {
  return (await res.json()) as Record<string, any>;
}

async function post(app = t.app, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return app.request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function powToken(app = t.app): Promise<string> {
  const res = await post(app, '/api/v1/pow', {});
  expect(res.status).toBe(200);
  return (await json(res)).token;
}

/** A real submission ciphertext: random bytes standing in for a padded envelope, encrypted. */
async function ciphertext(size = 5000, keys = [newsroomKey.key]) {
  return encryptToKeys(new Uint8Array(randomBytes(size)), keys);
}

interface OpenOptions {
  lookupId?: string;
  keys?: boolean;
  chunkSize?: number;
  /** null: none at the open (a streaming page sends it with the last chunk) */
  sha256?: string | null;
  token?: string;
  nonce?: string;
}

async function openFor(bytes: Uint8Array, o: OpenOptions = {}, app = t.app) {
  const chunkSize = o.chunkSize ?? bytes.length;
  const body = {
    pow: { token: o.token ?? (await powToken(app)), nonce: o.nonce ?? '0' },
    lookupId: o.lookupId ?? newLookupId(),
    ...(o.keys === false ? {} : { sourceKeys }),
    size: bytes.length,
    chunkSize,
    chunks: Math.ceil(bytes.length / chunkSize),
    ...(o.sha256 === null ? {} : { sha256: o.sha256 ?? sha256Hex(bytes) }),
  };
  return { res: await post(app, '/api/v1/uploads', body), body };
}

async function put(uploadId: string, index: number | string, bytes: Uint8Array, headers: Record<string, string> = {}, query = ''): Promise<Response> {
  return t.app.request(`/api/v1/uploads/${uploadId}/chunks/${index}${query}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', ...headers },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
}

const slices = (bytes: Uint8Array, size: number) =>
  Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));

/** Opens and uploads every chunk (in the given order); returns the last answer. */
async function submit(bytes: Uint8Array, o: OpenOptions = {}, order?: number[]) {
  const { res, body } = await openFor(bytes, o);
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
  const { uploadId } = await json(res);
  const parts = slices(bytes, body.chunkSize);
  let last: Response | undefined;
  for (const i of order ?? parts.map((_, i) => i)) last = await put(uploadId, i, parts[i]!);
  return { uploadId, last: last!, lookupId: body.lookupId };
}

/** Runs `act`, expects the status and error code, and that no table changed except as allowed. */
async function expectRefusal(act: () => Promise<Response>, status: number, code: string, allowed: Record<string, number> = {}) {
  const before = await countRows(database.db);
  const res = await act();
  const body = await json(res);
  expect({ status: res.status, error: body.error }).toEqual({ status, error: code });
  expect(typeof body.message).toBe('string');
  const after = await countRows(database.db);
  const expected: Record<string, number> = { ...before };
  for (const [table, delta] of Object.entries(allowed)) expected[table] = expected[table]! + delta;
  expect(after).toEqual(expected);
  return body;
}

describe('config, pow, health', () => {
  it('serves the page config with the key, salt, limits and a fresh challenge', async () => {
    const res = await t.app.request('/api/v1/config');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.version).toBe(1);
    expect(body.instanceSalt).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(body.fingerprint).toBe('d59550c5a4895ea55787f850ca968b8ec7fc9799');
    expect(body.newsroomKey).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(body.scrypt).toEqual({ N: 2048, r: 8, p: 1, dkLen: 32 });
    expect(body.limits.maxChunkBytes).toBe(4 * 1024 * 1024);
    expect(body.pow.difficulty).toBe(0);
    expect(body.pow.token).toMatch(/^v1\.[A-Za-z0-9_-]{22}\.\d+\.0\.[A-Za-z0-9_-]{43}$/);
  });

  it('answers /health with nothing about sources', async () => {
    const res = await t.app.request('/health');
    expect(await res.json()).toEqual({ ok: true });
  });

  it('issues a challenge that expires in an hour', async () => {
    const token = await powToken();
    const expires = Number(token.split('.')[2]);
    expect(expires).toBe(Math.floor(now.getTime() / 1000) + 3600);
  });
});

describe('security headers and logs', () => {
  it('puts the security headers on every response, and no ETag, Last-Modified, cookie or Server', async () => {
    for (const res of [
      await t.app.request('/api/v1/config'),
      await t.app.request('/nope'),
      await post(t.app, '/api/v1/pow', '{'),
      await t.app.request('/health'),
    ]) {
      expect(res.headers.get('Content-Security-Policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      expect(res.headers.get('X-Frame-Options')).toBe('DENY');
      expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
      expect(res.headers.get('Referrer-Policy')).toBe('no-referrer');
      expect(res.headers.get('Cross-Origin-Opener-Policy')).toBe('same-origin');
      expect(res.headers.get('Cross-Origin-Resource-Policy')).toBe('same-origin');
      expect(res.headers.get('Permissions-Policy')).toContain('camera=()');
      for (const banned of ['ETag', 'Last-Modified', 'Set-Cookie', 'Server', 'Onion-Location']) {
        expect(res.headers.get(banned), banned).toBeNull();
      }
    }
  });

  it('serves client/dist without validators and with Onion-Location on HTML only; 503 without a build', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-dist-'));
    try {
      const onion = 'http://' + 'b'.repeat(56) + '.onion';
      const withPages = await buildTestApp(database.db, newsroomKey, clock, { staticRoot: dir, onionLocation: onion });
      const missing = await withPages.app.request('/');
      expect(missing.status).toBe(503);
      expect(await missing.text()).toContain('npm run build');
      await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>');
      await writeFile(join(dir, 'app.js'), 'console.log(1)');
      const page = await withPages.app.request('/');
      expect(page.status).toBe(200);
      expect(page.headers.get('Content-Type')).toMatch(/^text\/html/);
      expect(page.headers.get('Onion-Location')).toBe(`${onion}/`);
      expect(page.headers.get('Last-Modified')).toBeNull();
      expect(page.headers.get('ETag')).toBeNull();
      const script = await withPages.app.request('/app.js');
      expect(script.status).toBe(200);
      expect(script.headers.get('Onion-Location')).toBeNull();
      expect(script.headers.get('Content-Security-Policy')).toBe(CONTENT_SECURITY_POLICY);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers ?lang=xx with the page the build wrote in that language, and any other lang with the English page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-dist-'));
    try {
      const onion = 'http://' + 'b'.repeat(56) + '.onion';
      const withPages = await buildTestApp(database.db, newsroomKey, clock, { staticRoot: dir, onionLocation: onion });
      for (const page of ['index', 'return', 'safety']) {
        await writeFile(join(dir, `${page}.html`), `${page} en`);
        await writeFile(join(dir, `${page}.ko.html`), `${page} ko`);
      }
      await writeFile(join(dir, 'secret.html'), 'not a page in a language');
      const body = async (path: string) => {
        const res = await withPages.app.request(path);
        expect(res.status, path).toBe(200);
        expect(res.headers.get('Content-Type'), path).toMatch(/^text\/html/);
        expect(res.headers.get('Content-Security-Policy'), path).toBe(CONTENT_SECURITY_POLICY);
        return res.text();
      };
      expect(await body('/?lang=ko')).toBe('index ko');
      expect(await body('/index.html?lang=ko')).toBe('index ko');
      expect(await body('/return.html?lang=ko')).toBe('return ko');
      expect(await body('/safety.html?lang=ko&x=1')).toBe('safety ko');
      expect((await withPages.app.request('/safety.html?lang=ko&x=1')).headers.get('Onion-Location')).toBe(`${onion}/safety.html?lang=ko`);
      expect((await withPages.app.request('/safety.html?lang=..%2Fx')).headers.get('Onion-Location')).toBe(`${onion}/safety.html`);
      // the languages the build did not write, and anything that is not a language, read English
      for (const lang of ['en', 'zh', 'KO', 'kor', '', '../secret', 'ko.html', '%2e%2e']) {
        expect(await body(`/?lang=${lang}`), lang).toBe('index en');
        expect(await body(`/return.html?lang=${lang}`), lang).toBe('return en');
      }
      expect(await body('/index.ko.html')).toBe('index ko');
      // only the pages come in languages
      expect((await withPages.app.request('/secret.html?lang=ko')).status).toBe(200);
      expect(await (await withPages.app.request('/secret.html?lang=ko')).text()).toBe('not a page in a language');
      expect((await withPages.app.request('/nope.html?lang=ko')).status).toBe(404);
      expect(await (await withPages.app.request('/?lang=ko', { method: 'HEAD' })).text()).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('logs method, route pattern and status only: no upload id, no address, no agent', async () => {
    const bytes = await ciphertext(3000);
    const { uploadId } = await submit(bytes, {});
    await t.app.request('/health');
    await t.app.request('/nope', { headers: { 'User-Agent': 'AgentSmith/1.0', 'X-Forwarded-For': '203.0.113.9' } });
    expect(t.logs).toContain('PUT /api/v1/uploads/:uploadId/chunks/:index 200');
    expect(t.logs).toContain('POST /api/v1/uploads 201');
    expect(t.logs).toContain('GET /* 404');
    expect(t.logs).toContain('GET /health 200');
    for (const line of t.logs) {
      expect(line).toMatch(/^[A-Z]+ \S+ \d{3}$/);
      expect(line).not.toContain(uploadId);
    }
  });

  it('does not log at all when LOG_REQUESTS=0', async () => {
    const quiet = await buildTestApp(database.db, newsroomKey, clock, { logRequests: false });
    await quiet.app.request('/health');
    expect(quiet.logs).toEqual([]);
  });
});

describe('a first submission (new source)', () => {
  it('opens, takes the one chunk, checks it and creates the source with a two-word handle', async () => {
    const before = await countRows(database.db);
    const bytes = await ciphertext(5000);
    const { res, body } = await openFor(bytes);
    expect(res.status).toBe(201);
    const { uploadId } = await json(res);
    expect(uploadId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // the source row is made only at completion
    expect((await countRows(database.db)).sources).toBe(before.sources);
    const done = await put(uploadId, 0, bytes);
    expect(done.status).toBe(200);
    const result = await json(done);
    expect(result.complete).toBe(true);
    expect(result.submissionId).toMatch(/^[0-9a-f-]{36}$/);
    const after = await countRows(database.db);
    expect(after).toMatchObject({ sources: before.sources + 1, submissions: before.submissions + 1, chunks: before.chunks + 1, spent_pow: before.spent_pow + 1 });
    const [source] = rowsOf<{ handle: string; pending: number }>(
      await database.db.execute(sql`select s.handle, (select count(*)::int from submissions where pending_lookup_hash is not null and id = ${result.submissionId}) as pending
        from sources s join submissions sub on sub.source_id = s.id where sub.id = ${result.submissionId}`),
    );
    expect(source!.handle).toMatch(/^[a-z]+-[a-z]+$/);
    expect(source!.pending).toBe(0);
    const lookup = await post(t.app, '/api/v1/source/lookup', { lookupId: body.lookupId });
    expect(lookup.status).toBe(200);
    expect(await lookup.json()).toEqual({
      publicKey: sourceKeys.publicKey,
      lockedPrivateKey: sourceKeys.lockedPrivateKey,
      submissions: [{ id: result.submissionId, day: '2026-03-02', status: 'received', size: bytes.length }],
      replies: [],
    });
  });
});

describe('a returning source, several chunks', () => {
  it('takes chunks in any order, tells what it has, and completes on the last one', async () => {
    const first = await submit(await ciphertext(2000 * 64));
    expect((await json(first.last)).complete).toBe(true);
    const bytes = await ciphertext(5000 * 64);
    const { res, body } = await openFor(bytes, { lookupId: first.lookupId, keys: false, chunkSize: MIN_CHUNK_BYTES });
    expect(res.status).toBe(201);
    const { uploadId } = await json(res);
    const parts = slices(bytes, MIN_CHUNK_BYTES);
    expect(parts.length).toBe(body.chunks);
    const order = [3, 0, parts.length - 1, 1, 2, ...parts.map((_, i) => i).slice(4, -1)];
    for (const [n, i] of order.entries()) {
      const answer = await json(await put(uploadId, i, parts[i]!));
      if (n < order.length - 1) {
        expect(answer).toEqual({ received: [...order.slice(0, n + 1)].sort((a, b) => a - b), complete: false });
        expect(await json(await t.app.request(`/api/v1/uploads/${uploadId}`))).toEqual({
          received: [...order.slice(0, n + 1)].sort((a, b) => a - b),
          chunks: parts.length,
          complete: false,
        });
      } else {
        expect(answer.complete).toBe(true);
      }
    }
    const lookup = await json(await post(t.app, '/api/v1/source/lookup', { lookupId: first.lookupId }));
    expect(lookup.submissions).toHaveLength(2);
  });

  it('treats a re-sent chunk with the same bytes as a no-op, other bytes as a conflict', async () => {
    const bytes = await ciphertext(2800 * 64);
    const { res } = await openFor(bytes, { chunkSize: MIN_CHUNK_BYTES });
    const { uploadId } = await json(res);
    const parts = slices(bytes, MIN_CHUNK_BYTES);
    expect((await put(uploadId, 0, parts[0]!)).status).toBe(200);
    expect(await json(await put(uploadId, 0, parts[0]!))).toEqual({ received: [0], complete: false });
    const other = new Uint8Array(parts[0]!);
    other[5]! ^= 1;
    await expectRefusal(() => put(uploadId, 0, other), 409, 'chunk_conflict');
    await put(uploadId, 1, parts[1]!);
    const done = await json(await put(uploadId, 2, parts[2]!));
    expect(done.complete).toBe(true);
    // the answer to the last chunk was lost: the retry learns the upload is complete
    expect(await json(await put(uploadId, 2, parts[2]!))).toEqual(done);
    expect(await json(await t.app.request(`/api/v1/uploads/${uploadId}`))).toMatchObject({ complete: true, submissionId: done.submissionId });
  });
});

describe('with the worker pool that main.ts uses for key checks', () => {
  it('takes a first submission and refuses bad reply keys the same way', async () => {
    const pool = createKeyCheckPool({ size: 1 });
    try {
      const pooled = await buildTestApp(database.db, newsroomKey, clock, { keyCheck: pool.check });
      const bytes = await ciphertext(1000);
      const opened = await openFor(bytes, {}, pooled.app);
      expect(opened.res.status).toBe(201);
      const unlocked = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], date: new Date('2020-01-01T00:00:00Z') });
      const body = { ...opened.body, lookupId: newLookupId(), pow: { token: await powToken(pooled.app), nonce: '0' }, sourceKeys: { publicKey: unlocked.publicKey, lockedPrivateKey: unlocked.privateKey } };
      await expectRefusal(() => post(pooled.app, '/api/v1/uploads', body), 400, 'bad_source_keys');
    } finally {
      await pool.close();
    }
  });

  it("refuses the issue's DSA key (and RSA-16384) by its shape: 400, nothing stored", async () => {
    const pool = createKeyCheckPool({ size: 1 });
    try {
      const pooled = await buildTestApp(database.db, newsroomKey, clock, { keyCheck: pool.check });
      const bytes = await ciphertext(1000);
      for (const publicKey of [dsaKey().publicKey, rsaKey(16384)]) {
        const body = { ...(await openFor(bytes, { keys: false }, pooled.app)).body, sourceKeys: { publicKey, lockedPrivateKey: sourceKeys.lockedPrivateKey } };
        body.pow = { token: await powToken(pooled.app), nonce: '0' };
        const res = await expectRefusal(() => post(pooled.app, '/api/v1/uploads', body), 400, 'bad_source_keys');
        expect(res.message).toMatch(/expected EdDSALegacy \(algorithm 22\) in the primary key .*, got (DSA|RSA) \(algorithm 1?7?\)/);
      }
    } finally {
      await pool.close();
    }
  });

  it('a key check past its deadline: 503 key_check_timeout, and an honest open sent after it is answered first', async () => {
    // 3 s: a warm worker's honest check (23-68 ms at a load average of 15) stays far inside it; the stalled one never ends by itself
    const pool = createKeyCheckPool({ size: 2, deadlineMs: 3000, checkModule: CHECK_MODULE });
    try {
      await pool.ready();
      const pooled = await buildTestApp(database.db, newsroomKey, clock, { keyCheck: pool.check });
      const stalledBytes = await ciphertext(1000);
      const stalledBody = { ...(await openFor(stalledBytes, { keys: false }, pooled.app)).body, sourceKeys: marked(sourceKeys, STALL_HEADER) };
      stalledBody.pow = { token: await powToken(pooled.app), nonce: '0' };
      const before = await countRows(database.db);
      const stalled = post(pooled.app, '/api/v1/uploads', stalledBody);
      const honestBytes = await ciphertext(1000);
      const honest = openFor(honestBytes, {}, pooled.app).then((o) => o.res);
      const order = await Promise.race([stalled.then(() => 'stalled'), honest.then(() => 'honest')]);
      expect(order).toBe('honest');
      const opened = await honest;
      expect(opened.status).toBe(201);
      const done = await json(await put((await json(opened)).uploadId, 0, honestBytes));
      expect(done.complete).toBe(true);
      const refused = await stalled;
      expect({ status: refused.status, error: (await json(refused)).error }).toEqual({ status: 503, error: 'key_check_timeout' });
      // only the honest tip was stored
      const after = await countRows(database.db);
      expect(after.submissions - before.submissions).toBe(1);
      expect(after.sources - before.sources).toBe(1);
      expect(pool.workers).toBe(2);
    } finally {
      await pool.close();
    }
  });
});

describe('races', () => {
  it('two first uploads with one codename: one source, the other upload refused and deleted', async () => {
    const lookupId = newLookupId();
    const a = await ciphertext(1000);
    const b = await ciphertext(1200);
    const openA = await json((await openFor(a, { lookupId })).res);
    const openB = await json((await openFor(b, { lookupId })).res);
    const before = await countRows(database.db);
    const [ra, rb] = await Promise.all([put(openA.uploadId, 0, a), put(openB.uploadId, 0, b)]);
    const answers = [await json(ra), await json(rb)];
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
    expect(answers.map((x) => x.error ?? 'ok').sort()).toEqual(['codename_taken', 'ok']);
    const after = await countRows(database.db);
    expect(after.sources).toBe(before.sources + 1);
    expect(after.submissions).toBe(before.submissions - 1);
    const lookup = await json(await post(t.app, '/api/v1/source/lookup', { lookupId }));
    expect(lookup.submissions).toHaveLength(1);
  });

  it('the last chunk sent twice at once: both answers say complete, one submission', async () => {
    const bytes = await ciphertext(1000);
    const { uploadId } = await json((await openFor(bytes)).res);
    const before = await countRows(database.db);
    const answers = await Promise.all([put(uploadId, 0, bytes), put(uploadId, 0, bytes), put(uploadId, 0, bytes)]);
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect((await json(res)).complete).toBe(true);
    }
    const after = await countRows(database.db);
    expect(after).toEqual({ ...before, sources: before.sources + 1, chunks: before.chunks + 1 });
  });

  it('the last of several chunks re-sent ten times at once: the whole ciphertext is read back and checked once', async () => {
    // The real database, with its statements counted: completion first sums the stored chunk sizes
    // (sum(octet_length(data))) before it streams the ciphertext back, once per completion check.
    const db = database.db;
    const dialect = (db as unknown as { dialect: { sqlToQuery(q: unknown): { sql: string } } }).dialect;
    let checks = 0;
    const counted = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop !== 'execute') return Reflect.get(target, prop, receiver);
        return (query: Parameters<typeof db.execute>[0]) => {
          if (dialect.sqlToQuery(query).sql.includes('sum(octet_length(data))')) checks++;
          return target.execute(query);
        };
      },
    });
    const app = (await buildTestApp(counted, newsroomKey, clock)).app;
    const bytes = await ciphertext(3000 * 64);
    const { res, body } = await openFor(bytes, { chunkSize: MIN_CHUNK_BYTES }, app);
    const { uploadId } = await json(res);
    const parts = slices(bytes, MIN_CHUNK_BYTES);
    const putTo = (i: number) =>
      app.request(`/api/v1/uploads/${uploadId}/chunks/${i}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream' },
        body: parts[i]! as Uint8Array<ArrayBuffer>,
      });
    for (let i = 0; i < parts.length - 1; i++) expect((await putTo(i)).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 10 }, () => putTo(parts.length - 1)));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(await json(answer)).toMatchObject({ complete: true });
    }
    expect(checks).toBe(1);
    const lookup = await json(await post(app, '/api/v1/source/lookup', { lookupId: body.lookupId }));
    expect(lookup.submissions).toHaveLength(1);
  });
});

describe('refusals at open: a clear 4xx and nothing stored', () => {
  it('bad proofs of work', async () => {
    const bytes = await ciphertext(1000);
    const token = await powToken();
    const [v, id, exp, diff, mac] = token.split('.');
    const flipped = (mac![0] === 'A' ? 'B' : 'A') + mac!.slice(1);
    await expectRefusal(async () => (await openFor(bytes, { token: `${v}.${id}.${exp}.${diff}.${flipped}` })).res, 400, 'bad_pow');
    await expectRefusal(async () => (await openFor(bytes, { token: 'v1.garbage' })).res, 400, 'bad_pow');
    // a longer expiry with the old signature
    await expectRefusal(async () => (await openFor(bytes, { token: `${v}.${id}.${Number(exp) + 99999}.${diff}.${mac}` })).res, 400, 'bad_pow');
    // forged with another secret
    const { createHmac } = await import('node:crypto');
    const payload = `v1.${id}.${exp}.0`;
    const forged = `${payload}.${createHmac('sha256', randomBytes(32)).update(payload).digest('base64url')}`;
    await expectRefusal(async () => (await openFor(bytes, { token: forged })).res, 400, 'bad_pow');
    await expectRefusal(async () => (await openFor(bytes, { nonce: '007' })).res, 400, 'bad_pow');
  });

  it('a wrong solution at a real difficulty, and an easier token than required', async () => {
    const hard = await buildTestApp(database.db, newsroomKey, clock, { powDifficulty: 8 });
    const bytes = await ciphertext(1000);
    const token = await powToken(hard.app);
    let wrong = 0;
    while (await checkPowSolution(token, String(wrong), 8)) wrong++;
    await expectRefusal(async () => (await openFor(bytes, { token, nonce: String(wrong) }, hard.app)).res, 400, 'bad_pow');
    const easy = await powToken();
    await expectRefusal(async () => (await openFor(bytes, { token: easy, nonce: '0' }, hard.app)).res, 400, 'pow_too_easy');
    const nonce = await solvePow(token, 8);
    const ok = await openFor(bytes, { token, nonce }, hard.app);
    expect(ok.res.status).toBe(201);
  });

  it('a replayed proof of work (also after the first use was refused for another reason: it stays unspent)', async () => {
    const bytes = await ciphertext(1000);
    const token = await powToken();
    await expectRefusal(async () => (await openFor(bytes, { token, keys: false })).res, 404, 'unknown_codename');
    const first = await openFor(bytes, { token });
    expect(first.res.status).toBe(201);
    await expectRefusal(async () => (await openFor(bytes, { token })).res, 409, 'pow_spent');
  });

  it('a proof-of-work token buys one source key check at most, whatever the outcome', async () => {
    let checks = 0;
    const counting = await buildTestApp(database.db, newsroomKey, clock, {
      keyCheck: (keys, at) => {
        checks++;
        return checkKeysHere(keys, at);
      },
    });
    const bytes = await ciphertext(1000);
    const used = await powToken(counting.app);
    expect((await openFor(bytes, { token: used }, counting.app)).res.status).toBe(201);
    expect(checks).toBe(1);
    for (let i = 0; i < 5; i++) {
      await expectRefusal(async () => (await openFor(bytes, { token: used }, counting.app)).res, 409, 'pow_spent');
    }
    expect(checks).toBe(1);
    // refused keys leave the token unspent in the database, but it has bought its key check
    const unlocked = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], date: new Date('2020-01-01T00:00:00Z') });
    const refused = await powToken(counting.app);
    const badKeysOpen = () =>
      post(counting.app, '/api/v1/uploads', {
        pow: { token: refused, nonce: '0' },
        lookupId: newLookupId(),
        sourceKeys: { publicKey: unlocked.publicKey, lockedPrivateKey: unlocked.privateKey },
        size: bytes.length,
        chunkSize: bytes.length,
        chunks: 1,
        sha256: sha256Hex(bytes),
      });
    await expectRefusal(badKeysOpen, 400, 'bad_source_keys');
    expect(checks).toBe(2);
    for (let i = 0; i < 5; i++) await expectRefusal(badKeysOpen, 409, 'pow_spent');
    expect(checks).toBe(2);
  });

  it('a key check pool that is full: 503 busy, token unspent, nothing stored', async () => {
    const full = await buildTestApp(database.db, newsroomKey, clock, {
      keyCheck: () => Promise.reject(new KeyCheckBusyError(256, 256)),
    });
    const bytes = await ciphertext(1000);
    const token = await powToken(full.app);
    await expectRefusal(async () => (await openFor(bytes, { token }, full.app)).res, 503, 'busy');
    expect((await openFor(bytes, { token })).res.status).toBe(201);
  });

  it('an expired proof of work', async () => {
    const bytes = await ciphertext(1000);
    const token = await powToken();
    now = new Date(now.getTime() + 3600 * 1000);
    await expectRefusal(async () => (await openFor(bytes, { token })).res, 400, 'pow_expired');
  });

  it('an unknown lookup id (returning) and a taken one (new)', async () => {
    const bytes = await ciphertext(1000);
    await expectRefusal(async () => (await openFor(bytes, { keys: false })).res, 404, 'unknown_codename');
    const { lookupId } = await submit(await ciphertext(1000));
    await expectRefusal(async () => (await openFor(bytes, { lookupId })).res, 409, 'codename_taken');
  });

  it('source keys that are not a locked key pair of the fixed shape', async () => {
    const bytes = await ciphertext(1000);
    const body = async (keys: unknown) => ({
      pow: { token: await powToken(), nonce: '0' },
      lookupId: newLookupId(),
      sourceKeys: keys,
      size: bytes.length,
      chunkSize: bytes.length,
      chunks: 1,
      sha256: sha256Hex(bytes),
    });
    const unlocked = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], date: new Date('2020-01-01T00:00:00Z') });
    await expectRefusal(() => body({ publicKey: unlocked.publicKey, lockedPrivateKey: unlocked.privateKey }).then((b) => post(t.app, '/api/v1/uploads', b)), 400, 'bad_source_keys');
    await expectRefusal(() => body({ publicKey: sourceKeys.publicKey, lockedPrivateKey: sourceKeys.publicKey }).then((b) => post(t.app, '/api/v1/uploads', b)), 400, 'bad_source_keys');
  });

  it('malformed JSON, unknown keys, wrong types, wrong content type, bad shapes', async () => {
    await expectRefusal(() => post(t.app, '/api/v1/uploads', '{"pow": '), 400, 'bad_json');
    await expectRefusal(() => post(t.app, '/api/v1/source/lookup', '\u00ff'), 400, 'bad_json');
    const bytes = await ciphertext(1000);
    const good = (await openFor(bytes, { token: 'x' })).body; // refused (bad token), only to borrow the body
    good.pow.token = await powToken();
    const extra = await expectRefusal(() => post(t.app, '/api/v1/uploads', { ...good, ip: '1.2.3.4' }), 400, 'bad_request');
    expect(extra.message).not.toContain('1.2.3.4');
    const wrongType = await expectRefusal(() => post(t.app, '/api/v1/uploads', { ...good, size: 'SECRETVALUE' }), 400, 'bad_request');
    expect(wrongType.message).toContain('size');
    expect(wrongType.message).not.toContain('SECRETVALUE');
    await expectRefusal(() => post(t.app, '/api/v1/uploads', { ...good, lookupId: 'ABC' }), 400, 'bad_request');
    await expectRefusal(() => post(t.app, '/api/v1/uploads', JSON.stringify(good), { 'Content-Type': 'text/plain' }), 415, 'bad_content_type');
    await expectRefusal(() => post(t.app, '/api/v1/uploads', { ...good, chunks: 2 }), 400, 'bad_chunk_count');
    await expectRefusal(() => post(t.app, '/api/v1/uploads', { ...good, size: 3 * 1024 ** 3, chunkSize: 4194304, chunks: 768 }), 413, 'too_large');
    await expectRefusal(() => post(t.app, '/api/v1/uploads', { ...good, chunkSize: 8 * 1024 * 1024 }), 400, 'bad_chunk_size');
    // several chunks must each be at least 64 KiB (one chunk may be any size)
    const small = { ...good, size: 2 * MIN_CHUNK_BYTES - 2, chunkSize: MIN_CHUNK_BYTES - 1, chunks: 2 };
    await expectRefusal(() => post(t.app, '/api/v1/uploads', small), 400, 'bad_chunk_size');
    await expectRefusal(() => post(t.app, '/api/v1/pow', { hello: 1 }), 400, 'bad_request');
    await expectRefusal(() => post(t.app, '/api/v1/source/lookup', 'x'.repeat(70_000)), 413, 'too_large');
    // the token was not spent by any of these
    expect((await post(t.app, '/api/v1/uploads', good)).status).toBe(201);
  });
});

describe('refusals for chunks: a clear 4xx and nothing stored', () => {
  async function opened(bytes: Uint8Array, o: OpenOptions = {}) {
    const { res, body } = await openFor(bytes, o);
    expect(res.status).toBe(201);
    return { uploadId: (await json(res)).uploadId as string, parts: slices(bytes, body.chunkSize) };
  }

  it('truncated, oversized, extra-index and unknown-upload chunks', async () => {
    const bytes = await ciphertext(2800 * 64);
    const { uploadId, parts } = await opened(bytes, { chunkSize: MIN_CHUNK_BYTES });
    expect(parts).toHaveLength(3);
    await expectRefusal(() => put(uploadId, 0, parts[0]!.subarray(0, 1000)), 400, 'wrong_chunk_size');
    await expectRefusal(() => put(uploadId, 2, parts[1]!), 413, 'chunk_too_large');
    await expectRefusal(() => put(uploadId, 0, new Uint8Array(MIN_CHUNK_BYTES + 5000)), 413, 'chunk_too_large');
    await expectRefusal(() => put(uploadId, 3, parts[2]!), 400, 'bad_chunk_index');
    await expectRefusal(() => put(uploadId, '-1', parts[2]!), 400, 'bad_chunk_index');
    await expectRefusal(() => put(uploadId, '01', parts[1]!), 400, 'bad_chunk_index');
    await expectRefusal(() => put('A'.repeat(22), 0, parts[0]!), 404, 'unknown_upload');
    await expectRefusal(() => put('nonsense', 0, parts[0]!), 404, 'unknown_upload');
    await expectRefusal(() => put(uploadId, 0, parts[0]!, { 'Content-Type': 'text/plain' }), 415, 'bad_content_type');
    // an oversized body that lies about its length is cut off while streaming
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new Uint8Array(MIN_CHUNK_BYTES / 4));
        controller.close();
      },
    });
    await expectRefusal(
      async () => t.app.request(`/api/v1/uploads/${uploadId}/chunks/0`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: stream, duplex: 'half' } as RequestInit),
      413,
      'chunk_too_large',
    );
  });

  /** Expects the completing chunk to be refused and the whole upload gone (its spent token stays). */
  async function expectDiscarded(bytes: Uint8Array, o: OpenOptions, code: string, status = 422, order?: (parts: Uint8Array[]) => Uint8Array[]) {
    const before = await countRows(database.db);
    const { uploadId, parts } = await opened(bytes, o);
    const sent = order ? order(parts) : parts;
    for (const [i, part] of sent.slice(0, -1).entries()) expect((await put(uploadId, i, part)).status).toBe(200);
    const res = await put(uploadId, sent.length - 1, sent.at(-1)!);
    const body = await json(res);
    expect({ status: res.status, error: body.error }).toEqual({ status, error: code });
    expect(await countRows(database.db)).toEqual({ ...before, spent_pow: before.spent_pow! + 1 });
    expect((await t.app.request(`/api/v1/uploads/${uploadId}`)).status).toBe(404);
    return body;
  }

  it('a message to the wrong key (one chunk and several)', async () => {
    const wrong = await ciphertext(3000 * 64, [otherKey]);
    await expectDiscarded(wrong, {}, 'wrong_recipient');
    await expectDiscarded(wrong, { chunkSize: MIN_CHUNK_BYTES }, 'wrong_recipient');
  });

  it('plaintext instead of ciphertext', async () => {
    const plain = new TextEncoder().encode('My secret tip, in the clear. '.repeat(6400));
    await expectDiscarded(plain, {}, 'not_encrypted');
    await expectDiscarded(plain, { chunkSize: MIN_CHUNK_BYTES }, 'not_encrypted');
  });

  it('a mismatched hash, and chunks swapped (sent in the wrong places)', async () => {
    const bytes = await ciphertext(2800 * 64);
    await expectDiscarded(bytes, { sha256: 'ab'.repeat(32) }, 'hash_mismatch');
    await expectDiscarded(bytes, { chunkSize: MIN_CHUNK_BYTES }, 'hash_mismatch', 422, (p) => [p[1]!, p[0]!, p[2]!]);
  });

  it('a truncated ciphertext, and data after the encrypted packet, with honest hashes', async () => {
    const bytes = await ciphertext(3000 * 64);
    const cut = bytes.subarray(0, bytes.length - 10);
    await expectDiscarded(cut, {}, 'not_encrypted');
    await expectDiscarded(cut, { chunkSize: MIN_CHUNK_BYTES }, 'not_encrypted');
    const extra = new Uint8Array([...bytes, ...(await ciphertext(100 * 64))]);
    await expectDiscarded(extra, { chunkSize: MIN_CHUNK_BYTES }, 'not_encrypted');
  });
});

describe('chunk digests (a streaming page: no SHA-256 at the open)', () => {
  const storedSha256 = async (uploadId: string) => {
    const [row] = rowsOf<{ sha256: string }>(
      await database.db.execute(sql`select sha256 from submissions where id = ${submissionIdOf(uploadId)!}::uuid`),
    );
    return row?.sha256;
  };
  async function opened(bytes: Uint8Array, o: OpenOptions = {}) {
    const { res, body } = await openFor(bytes, { sha256: null, ...o });
    expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
    return { uploadId: (await json(res)).uploadId as string, parts: slices(bytes, body.chunkSize) };
  }
  const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();
  /** The SHA-256 over the parts' SHA-256 digests, in order (PROTOCOL.md, "Upload protocol"). */
  const digestsOf = (parts: Uint8Array[]) => createHash('sha256').update(Buffer.concat(parts.map(digest))).digest('hex');
  const query = (part: Uint8Array, digests?: string) => `?sha256=${sha256Hex(part)}${digests ? `&digests=${digests}` : ''}`;

  it('a one-chunk upload: the chunk carries its SHA-256 and the digests; the whole SHA-256 is stored', async () => {
    const bytes = await ciphertext(3000);
    const { uploadId, parts } = await opened(bytes);
    const done = await json(await put(uploadId, 0, parts[0]!, {}, query(parts[0]!, digestsOf(parts))));
    expect(done.complete).toBe(true);
    expect(await storedSha256(uploadId)).toBe(sha256Hex(bytes));
  });

  it('several chunks: each carries its SHA-256, the last the digests, wherever it comes in the order', async () => {
    const bytes = await ciphertext(5000 * 64);
    const { uploadId, parts } = await opened(bytes, { chunkSize: MIN_CHUNK_BYTES });
    const last = parts.length - 1;
    expect((await put(uploadId, last, parts[last]!, {}, query(parts[last]!, digestsOf(parts)))).status).toBe(200);
    // the same last chunk again, with the same digests: a no-op
    expect((await put(uploadId, last, parts[last]!, {}, query(parts[last]!, digestsOf(parts)))).status).toBe(200);
    let answer: any;
    for (let i = 0; i < last; i++) answer = await json(await put(uploadId, i, parts[i]!, {}, query(parts[i]!)));
    expect(answer.complete).toBe(true);
    // what the editors check downloads against: the whole ciphertext's SHA-256
    expect(await storedSha256(uploadId)).toBe(sha256Hex(bytes));
    // an answer lost: any copy of a chunk, with what it carried, answers "complete"
    expect(await json(await put(uploadId, last, parts[last]!, {}, query(parts[last]!, digestsOf(parts))))).toMatchObject({ complete: true });
  });

  it('refuses a chunk without its SHA-256 or with another, digests missing, misplaced, malformed or changed, and unknown parameters; stores nothing', async () => {
    const before = await countRows(database.db);
    const bytes = await ciphertext(2800 * 64);
    const { uploadId, parts } = await opened(bytes, { chunkSize: MIN_CHUNK_BYTES });
    const digests = digestsOf(parts);
    await expectRefusal(() => put(uploadId, 0, parts[0]!), 400, 'missing_sha256');
    await expectRefusal(() => put(uploadId, 0, parts[0]!, {}, `?sha256=${sha256Hex(parts[1]!)}`), 400, 'bad_chunk_hash');
    await expectRefusal(() => put(uploadId, 0, parts[0]!, {}, `?sha256=${sha256Hex(parts[0]!).toUpperCase()}`), 400, 'bad_sha256');
    await expectRefusal(() => put(uploadId, 0, parts[0]!, {}, `${query(parts[0]!)}&sha256=${sha256Hex(parts[0]!)}`), 400, 'bad_sha256');
    await expectRefusal(() => put(uploadId, 0, parts[0]!, {}, query(parts[0]!, digests)), 400, 'bad_digests');
    await expectRefusal(() => put(uploadId, 0, parts[0]!, {}, `${query(parts[0]!)}&x=1`), 400, 'bad_query');
    await expectRefusal(() => put(uploadId, 2, parts[2]!, {}, query(parts[2]!)), 400, 'missing_digests');
    await expectRefusal(() => put(uploadId, 2, parts[2]!, {}, `${query(parts[2]!)}&digests=abc`), 400, 'bad_digests');
    // the whole SHA-256 a page of the build before sent with its last chunk: not this chunk's
    await expectRefusal(() => put(uploadId, 2, parts[2]!, {}, `?sha256=${sha256Hex(bytes)}`), 400, 'bad_chunk_hash');
    expect(await storedSha256(uploadId)).toBe('');
    expect(await countRows(database.db)).toMatchObject({ chunks: before.chunks });
    expect((await put(uploadId, 2, parts[2]!, {}, query(parts[2]!, digests))).status).toBe(200);
    await expectRefusal(() => put(uploadId, 2, parts[2]!, {}, query(parts[2]!, 'ab'.repeat(32))), 409, 'digests_conflict');
    // an upload opened with the whole SHA-256 takes no digests; a chunk's own SHA-256 is checked
    const whole = await openFor(bytes, { chunkSize: MIN_CHUNK_BYTES });
    const wholeId = (await json(whole.res)).uploadId as string;
    await expectRefusal(() => put(wholeId, 2, parts[2]!, {}, query(parts[2]!, digests)), 400, 'bad_digests');
    await expectRefusal(() => put(wholeId, 2, parts[2]!, {}, `?sha256=${sha256Hex(parts[1]!)}`), 400, 'bad_chunk_hash');
    expect((await put(wholeId, 2, parts[2]!)).status).toBe(200);
  });

  it('digests that do not match the chunks read back: the whole upload is discarded (422 hash_mismatch)', async () => {
    const before = await countRows(database.db);
    const bytes = await ciphertext(2800 * 64);
    const { uploadId, parts } = await opened(bytes, { chunkSize: MIN_CHUNK_BYTES });
    await put(uploadId, 0, parts[0]!, {}, query(parts[0]!));
    await put(uploadId, 1, parts[1]!, {}, query(parts[1]!));
    // the digests of the chunks in another order: each chunk is what it says, the whole is not
    const res = await put(uploadId, 2, parts[2]!, {}, query(parts[2]!, digestsOf([parts[1]!, parts[0]!, parts[2]!])));
    expect({ status: res.status, error: (await json(res)).error }).toEqual({ status: 422, error: 'hash_mismatch' });
    expect(await countRows(database.db)).toEqual({ ...before, spent_pow: before.spent_pow! + 1 });
    const single = await opened(bytes);
    const refused = await put(single.uploadId, 0, bytes, {}, query(bytes, 'ab'.repeat(32)));
    expect((await json(refused)).error).toBe('hash_mismatch');
  });
});

describe('lookup and deleting replies', () => {
  it('refuses an unknown codename', async () => {
    await expectRefusal(() => post(t.app, '/api/v1/source/lookup', { lookupId: newLookupId() }), 404, 'unknown_codename');
  });

  it('shows replies armored and deletes them for real, only for their own source', async () => {
    const { lookupId, last } = await submit(await ciphertext(1000));
    const { submissionId } = await json(last);
    const [{ sourceId } = { sourceId: '' }] = rowsOf<{ sourceId: string }>(
      await database.db.execute(sql`select source_id as "sourceId" from submissions where id = ${submissionId}`),
    );
    const message = await ciphertext(500, [newsroomKey.key]);
    const [reply] = await database.db
      .insert(replies)
      .values({ sourceId, message, size: message.length, createdDay: '2026-03-02' })
      .returning({ id: replies.id });
    const seen = await json(await post(t.app, '/api/v1/source/lookup', { lookupId }));
    expect(seen.replies).toHaveLength(1);
    expect(seen.replies[0].id).toBe(reply!.id);
    expect(seen.replies[0].day).toBe('2026-03-02');
    expect(seen.replies[0].message).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    const other = await submit(await ciphertext(1000));
    await expectRefusal(() => post(t.app, '/api/v1/source/replies/delete', { lookupId: other.lookupId, replyId: reply!.id }), 404, 'unknown_reply');
    await expectRefusal(() => post(t.app, '/api/v1/source/replies/delete', { lookupId: newLookupId(), replyId: reply!.id }), 404, 'unknown_codename');
    await expectRefusal(() => post(t.app, '/api/v1/source/replies/delete', { lookupId, replyId: 'not-a-uuid' }), 400, 'bad_request');
    const before = await countRows(database.db);
    const res = await post(t.app, '/api/v1/source/replies/delete', { lookupId, replyId: reply!.id });
    expect(await res.json()).toEqual({ deleted: true });
    expect(await countRows(database.db)).toEqual({ ...before, replies: before.replies! - 1 });
    expect((await json(await post(t.app, '/api/v1/source/lookup', { lookupId }))).replies).toEqual([]);
    await expectRefusal(() => post(t.app, '/api/v1/source/replies/delete', { lookupId, replyId: reply!.id }), 404, 'unknown_reply');
    expect(await database.db.select().from(sources).where(sql`id = ${sourceId}`)).toHaveLength(1);
  });
});

describe('purge', () => {
  it('forgets uploads unfinished after a day and spent challenges past their expiry, nothing else', async () => {
    const bytes = await ciphertext(3000 * 64);
    const { res } = await openFor(bytes, { chunkSize: MIN_CHUNK_BYTES });
    const { uploadId } = await json(res);
    await put(uploadId, 0, bytes.subarray(0, MIN_CHUNK_BYTES));
    const complete = await submit(await ciphertext(1000 * 64));
    const before = await countRows(database.db);
    // the same day and the next: nothing to do yet
    // (a stale time and a lease of a day, so that only the day rule deletes the upload here: quotas.test.ts)
    expect(await purgeExpired(database.db, clock, 24, 24 * 60)).toEqual({ uploads: 0, staleUploads: 0, spentPow: 0 });
    now = new Date('2026-03-03T00:10:00Z');
    const nextDay = await purgeExpired(database.db, clock, 24, 24 * 60);
    expect(nextDay.uploads).toBe(0);
    expect(nextDay.spentPow).toBeGreaterThan(0);
    now = new Date('2026-03-04T00:01:00Z');
    const result = await purgeExpired(database.db, clock, 24, 24 * 60);
    expect(result.uploads).toBeGreaterThan(0);
    const after = await countRows(database.db);
    expect(after.spent_pow).toBe(0);
    expect(after.sources).toBe(before.sources);
    expect(rowsOf(await database.db.execute(sql`select 1 from submissions where status = 'uploading'`))).toEqual([]);
    expect((await t.app.request(`/api/v1/uploads/${uploadId}`)).status).toBe(404);
    // completed submissions stay, with their chunks
    expect((await json(await post(t.app, '/api/v1/source/lookup', { lookupId: complete.lookupId }))).submissions).toHaveLength(1);
    expect(after.chunks).toBeGreaterThan(0);
  });
});

describe('purge timer', () => {
  it('purges at once when started, and stops', async () => {
    const bytes = await ciphertext(3000 * 64);
    const { res } = await openFor(bytes, { chunkSize: MIN_CHUNK_BYTES });
    expect(res.status).toBe(201);
    const later = new Date('2026-03-05T10:00:00Z');
    const errors: unknown[] = [];
    const stop = startPurgeTimer(database.db, () => later, { intervalMs: 60_000, onError: (e) => errors.push(e) });
    try {
      for (let i = 0; i < 100; i++) {
        const open = rowsOf(await database.db.execute(sql`select 1 from submissions where status = 'uploading'`));
        if (open.length === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(rowsOf(await database.db.execute(sql`select 1 from submissions where status = 'uploading'`))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      stop();
    }
  });
});

describe('errors', () => {
  it('answers unknown routes with a JSON 404', async () => {
    const res = await t.app.request('/api/v1/nothing');
    expect(res.status).toBe(404);
    expect((await json(res)).error).toBe('not_found');
  });
});

// keep the import used for the types
void createHash;
