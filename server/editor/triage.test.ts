/**
 * Triage on the editor API: the list with its filters and pages, a chosen bundle (which sends a
 * pulled submission or a source key again), and marking a source spam, on the test database
 * (PostgreSQL when TEST_DATABASE_URL is set, PGlite otherwise).
 */
import { createHash } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { unpackTar } from 'modern-tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_CHUNK_BYTES, solvePow, type NewsroomKey } from '../../protocol/index.ts';
import { addToken } from '../admin.ts';
import { createApp } from '../app.ts';
import type { Database } from '../db/open.ts';
import { audit, chunks, replies, sources, spentPow, submissions } from '../db/schema.ts';
import { createTestDatabase } from '../db/test-db.ts';
import { loadInstance } from '../instance.ts';
import { parseNewsroomKey } from '../newsroom-key.ts';
import { purgeRetention } from '../retention.ts';
import { createEditorApp } from './app.ts';
import { insertSource, insertSubmission, readDemoNewsroomKey, type FixtureSource, type FixtureSubmission } from './test-fixtures.ts';

const TODAY = '2026-03-10';
const clock = () => new Date(`${TODAY}T09:08:07Z`);
const base = { clock, config: { logRequests: false }, log: () => {} };

let database: Database;
let newsroom: NewsroomKey;
let app: ReturnType<typeof createEditorApp>;
let sourceApp: ReturnType<typeof createApp>;
let token: string;
let otter: FixtureSource;
let heron: FixtureSource;
let old: FixtureSubmission;
let big: FixtureSubmission;
let recent: FixtureSubmission;
let pulled: FixtureSubmission;

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
  otter = await insertSource(database.db, newsroom, 'quiet-otter', '2026-03-01');
  heron = await insertSource(database.db, newsroom, 'amber-heron', '2026-03-01');
  const text = (t: string) => new TextEncoder().encode(t);
  old = await insertSubmission(database.db, newsroom, otter, text('old tip'), { day: '2026-03-01', chunkSize: 4096 });
  big = await insertSubmission(database.db, newsroom, heron, text('big tip '.repeat(2000)), { day: '2026-03-05', chunkSize: 4096 });
  recent = await insertSubmission(database.db, newsroom, otter, text('recent tip'), { day: '2026-03-09', chunkSize: 4096 });
  pulled = await insertSubmission(database.db, newsroom, heron, text('already pulled'), { day: '2026-03-02', chunkSize: 4096, status: 'downloaded' });
  await database.db.update(submissions).set({ downloadedDay: '2026-03-02' }).where(eq(submissions.id, pulled.id));
});

afterAll(async () => {
  await database?.close();
});

const auth = () => ({ authorization: `Bearer ${token}` });
const get = (path: string) => app.request(path, { headers: auth() });
const post = (path: string, body?: unknown) =>
  app.request(path, {
    method: 'POST',
    headers: body === undefined ? auth() : { ...auth(), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const remove = (path: string) => app.request(path, { method: 'DELETE', headers: auth() });

interface Listed {
  id: string;
  handle: string;
  size: number;
  day: string;
  status: string;
}
async function list(query: string): Promise<{ submissions: Listed[]; next: string | null }> {
  const response = await get(`/editor/v1/submissions${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { submissions: Listed[]; next: string | null };
}
const ids = (page: { submissions: Listed[] }) => page.submissions.map((s) => s.id);

async function unpack(response: Response): Promise<Map<string, Uint8Array>> {
  expect(response.status).toBe(200);
  const entries = await unpackTar(new Uint8Array(await response.arrayBuffer()));
  return new Map(entries.map((entry) => [entry.header.name, entry.data ?? new Uint8Array()]));
}

describe('the list', () => {
  it('shows handle, padded size, day and status, oldest first, without any ciphertext', async () => {
    const page = await list('');
    expect(page.submissions).toEqual([
      { id: old.id, handle: 'quiet-otter', size: old.ciphertext.byteLength, day: '2026-03-01', status: 'received', desk: 'newsroom' },
      { id: big.id, handle: 'amber-heron', size: big.ciphertext.byteLength, day: '2026-03-05', status: 'received', desk: 'newsroom' },
      { id: recent.id, handle: 'quiet-otter', size: recent.ciphertext.byteLength, day: '2026-03-09', status: 'received', desk: 'newsroom' },
    ]);
    expect(page.next).toBeNull();
    expect(ids(await list('?status=all'))).toEqual([old.id, pulled.id, big.id, recent.id]);
  });

  it('filters by day, size and source, together', async () => {
    expect(ids(await list('?since=2026-03-05'))).toEqual([big.id, recent.id]);
    expect(ids(await list(`?max_size=${recent.ciphertext.byteLength}`))).toEqual([old.id, recent.id]);
    expect(ids(await list('?source=amber-heron&status=all'))).toEqual([pulled.id, big.id]);
    expect(ids(await list('?source=quiet-otter&since=2026-03-02&max_size=100000'))).toEqual([recent.id]);
    expect(ids(await list('?source=no-such'))).toEqual([]);
  });

  it('comes in pages of at most `limit`, each naming the next', async () => {
    const seen: string[] = [];
    let query = '?status=all&limit=1';
    for (let i = 0; i < 10; i++) {
      const page = await list(query);
      expect(page.submissions.length).toBeLessThanOrEqual(1);
      seen.push(...ids(page));
      if (!page.next) break;
      query = `?status=all&limit=1&after=${page.next}`;
    }
    expect(seen).toEqual([old.id, pulled.id, big.id, recent.id]);
    const two = await list('?status=all&limit=2');
    expect(ids(two)).toEqual([old.id, pulled.id]);
    expect(ids(await list(`?status=all&limit=2&after=${two.next}`))).toEqual([big.id, recent.id]);
  });

  it('refuses anything but its own parameters, well formed, once each', async () => {
    const refused = async (query: string, code: string) => {
      const response = await get(`/editor/v1/submissions${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: string }).error, query).toBe(code);
    };
    await refused('?status=uploading', 'bad_status');
    await refused('?since=2026-02-30', 'bad_query');
    await refused('?since=0000-01-01', 'bad_query');
    await refused(`?after=0000-01-01_${old.id}`, 'bad_query');
    await refused('?since=yesterday', 'bad_query');
    await refused('?max_size=0', 'bad_query');
    await refused('?max_size=-5', 'bad_query');
    await refused('?max_size=1e9', 'bad_query');
    await refused('?source=Quiet%20Otter', 'bad_query');
    await refused('?limit=1001', 'bad_query');
    await refused('?limit=0', 'bad_query');
    await refused('?after=2026-03-01', 'bad_query');
    await refused(`?after=2026-13-45_${old.id}`, 'bad_query');
    await refused(`?after=2026-03-01_${old.id.toUpperCase()}`, 'bad_query');
    await refused('?since=2026-03-01&since=2026-03-02', 'bad_query');
    await refused('?sort=size', 'bad_query');
  });

  it('needs a valid token like every route', async () => {
    const response = await app.request('/editor/v1/submissions', { headers: { authorization: `Bearer sde_${'x'.repeat(43)}` } });
    expect(response.status).toBe(401);
  });
});

describe('a chosen bundle', () => {
  it('sends an already-pulled submission again, with its source key, and leaves its status alone', async () => {
    const files = await unpack(await post('/editor/v1/bundle', { submissions: [pulled.id], sources: [] }));
    const manifest = JSON.parse(new TextDecoder().decode(files.get('bundle.json'))) as { submissions: { id: string; sha256: string }[]; sources: { handle: string }[] };
    expect(manifest.submissions.map((s) => [s.id, s.sha256])).toEqual([[pulled.id, pulled.sha256]]);
    expect(manifest.sources).toEqual([{ handle: 'amber-heron', path: 'sources/amber-heron.asc' }]);
    expect(files.get(`submissions/${pulled.id}.pgp`)).toEqual(pulled.ciphertext);
    expect(new TextDecoder().decode(files.get('sources/amber-heron.asc'))).toBe(heron.publicKey);
    const [row] = await database.db.select().from(submissions).where(eq(submissions.id, pulled.id));
    expect(row).toMatchObject({ status: 'downloaded', downloadedDay: '2026-03-02' });
  });

  it("sends a source's key alone, and exactly the chosen submissions", async () => {
    const keyOnly = await unpack(await post('/editor/v1/bundle', { submissions: [], sources: ['quiet-otter'] }));
    expect([...keyOnly.keys()]).toEqual(['bundle.json', 'sources/quiet-otter.asc']);
    const chosen = await unpack(await post('/editor/v1/bundle', { submissions: [recent.id, old.id], sources: ['amber-heron'] }));
    expect([...chosen.keys()]).toEqual([
      'bundle.json',
      'sources/quiet-otter.asc',
      'sources/amber-heron.asc',
      `submissions/${old.id}.pgp`,
      `submissions/${recent.id}.pgp`,
    ]);
    expect(createHash('sha256').update(chosen.get(`submissions/${recent.id}.pgp`)!).digest('hex')).toBe(recent.sha256);
  });

  it('refuses an unknown id or handle with 404, and a malformed or empty selection with 400', async () => {
    const missing = await post('/editor/v1/bundle', { submissions: [old.id, '00000000-0000-4000-8000-000000000000'], sources: [] });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'not_found', message: expect.stringContaining('00000000-0000-4000-8000-000000000000') });
    expect((await post('/editor/v1/bundle', { submissions: [], sources: ['no-such'] })).status).toBe(404);
    for (const body of [
      { submissions: [], sources: [] },
      { submissions: [old.id, old.id], sources: [] },
      { submissions: ['not-an-id'], sources: [] },
      { submissions: [old.id.toUpperCase()], sources: [] },
      { submissions: [old.id] },
      { submissions: [old.id], sources: [], status: 'all' },
      { submissions: Array.from({ length: 1001 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`), sources: [] },
    ]) {
      const response = await post('/editor/v1/bundle', body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
  });

  it('never sends an upload in progress', async () => {
    const uploading = await insertSubmission(database.db, newsroom, otter, new TextEncoder().encode('not yet'), { day: TODAY, chunkSize: 4096, status: 'uploading' });
    expect((await post('/editor/v1/bundle', { submissions: [uploading.id], sources: [] })).status).toBe(404);
    await database.db.delete(submissions).where(eq(submissions.id, uploading.id));
  });
});

/** A returning source opens an upload the way the page does (proof of work, lookup id). */
async function openAsReturning(source: FixtureSource): Promise<{ status: number; error?: string; uploadId?: string }> {
  const powResponse = await sourceApp.request('/api/v1/pow', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const pow = (await powResponse.json()) as { token: string; difficulty: number };
  const nonce = await solvePow(pow.token, pow.difficulty);
  const response = await sourceApp.request('/api/v1/uploads', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pow: { token: pow.token, nonce }, lookupId: source.lookupId, size: 100_000, chunkSize: MIN_CHUNK_BYTES, chunks: 2, sha256: 'a'.repeat(64) }),
  });
  const body = (await response.json()) as { error?: string; uploadId?: string };
  return { status: response.status, ...body };
}

describe('spam', () => {
  let spammer: FixtureSource;
  let kept: FixtureSubmission;
  let dropped: FixtureSubmission;

  beforeAll(async () => {
    spammer = await insertSource(database.db, newsroom, 'noisy-magpie', '2026-03-03');
    kept = await insertSubmission(database.db, newsroom, spammer, new TextEncoder().encode('read already'), { day: '2026-03-03', chunkSize: 4096, status: 'downloaded' });
    await database.db.update(submissions).set({ downloadedDay: '2026-03-04' }).where(eq(submissions.id, kept.id));
    dropped = await insertSubmission(database.db, newsroom, spammer, new TextEncoder().encode('junk '.repeat(3000)), { day: '2026-03-08', chunkSize: 4096 });
    await database.db.insert(replies).values({ sourceId: spammer.id, message: new Uint8Array([1, 2, 3]), size: 3, createdDay: '2026-03-05' });
  });

  it('drops what was not pulled and the uploads in progress, keeps what was, and refuses new uploads with a clear code', async () => {
    const inProgress = await openAsReturning(spammer);
    expect(inProgress.status).toBe(201);

    const response = await post('/editor/v1/sources/noisy-magpie/spam');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ handle: 'noisy-magpie', spam: true, dropped: 2 });

    const left = await database.db.select({ id: submissions.id, status: submissions.status }).from(submissions).where(eq(submissions.sourceId, spammer.id));
    expect(left).toEqual([{ id: kept.id, status: 'downloaded' }]);
    const droppedChunks = await database.db.select().from(chunks).where(eq(chunks.submissionId, dropped.id));
    expect(droppedChunks).toEqual([]);
    expect(await database.db.select({ id: replies.id }).from(replies).where(eq(replies.sourceId, spammer.id))).toHaveLength(1);

    // the upload that was in progress is gone: its next chunk finds nothing
    const chunk = await sourceApp.request(`/api/v1/uploads/${inProgress.uploadId}/chunks/0`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(MIN_CHUNK_BYTES),
    });
    expect(chunk.status).toBe(404);

    const before = await database.db.select({ n: count() }).from(spentPow);
    const refused = await openAsReturning(spammer);
    expect(refused).toMatchObject({ status: 403, error: 'source_refused' });
    // nothing stored by the refused open, not even its proof-of-work token
    expect(await database.db.select({ n: count() }).from(spentPow)).toEqual(before);

    // the list no longer has the dropped tip; the pulled one can still be fetched again
    expect(ids(await list('?source=noisy-magpie&status=all'))).toEqual([kept.id]);
    const again = await unpack(await post('/editor/v1/bundle', { submissions: [kept.id], sources: [] }));
    expect(again.get(`submissions/${kept.id}.pgp`)).toEqual(kept.ciphertext);

    // other sources are untouched
    expect((await openAsReturning(otter)).status).toBe(201);
  });

  it('marks idempotently, lifts the mark, and answers 404 for an unknown or malformed handle', async () => {
    expect(await (await post('/editor/v1/sources/noisy-magpie/spam')).json()).toEqual({ handle: 'noisy-magpie', spam: true, dropped: 0 });
    const lifted = await remove('/editor/v1/sources/noisy-magpie/spam');
    expect(await lifted.json()).toEqual({ handle: 'noisy-magpie', spam: false });
    const reopened = await openAsReturning(spammer);
    expect(reopened.status).toBe(201);
    await post('/editor/v1/sources/noisy-magpie/spam');
    for (const path of ['/editor/v1/sources/no-such/spam', '/editor/v1/sources/NOT..A..HANDLE/spam']) {
      expect((await post(path)).status, path).toBe(404);
      expect((await remove(path)).status, path).toBe(404);
    }
  });

  it('a mark racing opens of the same source: afterwards nothing of it is open or unread', async () => {
    const racer = await insertSource(database.db, newsroom, 'rapid-ferret', TODAY);
    const opens = Array.from({ length: 6 }, () => openAsReturning(racer));
    const mark = post('/editor/v1/sources/rapid-ferret/spam');
    const answers = await Promise.all(opens);
    expect((await mark).status).toBe(200);
    for (const answer of answers) expect([201, 403]).toContain(answer.status);
    const left = await database.db.select().from(submissions).where(eq(submissions.sourceId, racer.id));
    expect(left).toEqual([]);
    expect((await openAsReturning(racer)).status).toBe(403);
  });

  it('retention deletes a spam source once nothing of it is left; its codename is then unknown', async () => {
    const lone = await insertSource(database.db, newsroom, 'lone-heron', TODAY);
    await insertSubmission(database.db, newsroom, lone, new TextEncoder().encode('junk'), { day: TODAY, chunkSize: 4096 });
    await post('/editor/v1/sources/lone-heron/spam');
    await purgeRetention(database.db, clock, 30);
    expect(await database.db.select().from(sources).where(eq(sources.id, lone.id))).toEqual([]);
    expect(await openAsReturning(lone)).toMatchObject({ status: 404, error: 'unknown_codename' });
    // the spam source that still has a pulled tip and a reply stays, still refused
    expect(await database.db.select({ spam: sources.spam }).from(sources).where(eq(sources.id, spammer.id))).toEqual([{ spam: true }]);
  });

  it('wrote audit rows with the day only', async () => {
    const rows = await database.db.select().from(audit).where(eq(audit.target, 'noisy-magpie'));
    expect(rows.map((r) => r.action).sort()).toEqual(['spam', 'spam', 'spam', 'unspam']);
    for (const row of rows) expect(row).toMatchObject({ editor: 'alice', day: TODAY });
  });
});
