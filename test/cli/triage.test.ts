/**
 * The editor triages against a running server (both listeners on real sockets, the test database:
 * PostgreSQL with TEST_DATABASE_URL, PGlite otherwise): `sealdrop list` shows what waits without
 * downloading it, `sealdrop spam` drops a flood and shuts its codename out, `sealdrop pull` takes
 * only what the filters or ids choose, pulls again what was already pulled (a lost bundle, a lost
 * source key), and `sealdrop delete` removes one tip unread.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMatching } from '../../cli/triage.ts';
import { submissions } from '../../server/db/schema.ts';
import { startServer, submitTip, type RunningServer, type SubmittedTip } from '../../server/editor/test-server.ts';
import { DEMO_PASSPHRASE, DEMO_SECRET_KEY, exists, listTree, makeTempDir, runCli } from './helpers.ts';

let server: RunningServer;
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
// three sources: a quiet one with an old and a new tip, one with a large file, and a flood
let oldTip: SubmittedTip;
let newTip: SubmittedTip;
let bigTip: SubmittedTip;
let flood: SubmittedTip[];
const handles: Record<string, string> = {};

const OLD_DAY = '2026-01-05';
const MID_DAY = '2026-01-20';

beforeAll(async () => {
  server = await startServer();
  tmp = await makeTempDir('sealdrop-triage-');
  oldTip = await submitTip(server.sourceUrl, { message: 'The first thing I saw.' });
  newTip = await submitTip(server.sourceUrl, { message: 'And then the second.', codename: oldTip.codename, sourceKeyFingerprint: oldTip.sourceKeyFingerprint! });
  bigTip = await submitTip(server.sourceUrl, {
    message: 'The spreadsheet is attached.',
    files: [{ name: 'ledger.csv', type: 'text/csv', bytes: new TextEncoder().encode('row,amount\n'.repeat(3000)) }],
  });
  const first = await submitTip(server.sourceUrl, { message: 'buy now' });
  flood = [first, await submitTip(server.sourceUrl, { message: 'buy now!', codename: first.codename })];
  // days are stored as the day of arrival; these tips arrived on earlier days
  const { db } = server.database;
  await db.update(submissions).set({ receivedDay: OLD_DAY, createdDay: OLD_DAY }).where(eq(submissions.id, oldTip.submissionId));
  await db.update(submissions).set({ receivedDay: MID_DAY, createdDay: MID_DAY }).where(eq(submissions.id, bigTip.submissionId));
});

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

const env = () => ({ SEALDROP_TOKEN: server.token, SEALDROP_SERVER: server.editorUrl });
const cli = (args: string[]) => runCli(args, { cwd: tmp.dir, env: env() });

interface Row {
  id: string;
  handle: string;
  day: string;
  size: string;
  status: string;
}
/** `sealdrop list`'s table: ID HANDLE DAY SIZE (two words) STATUS. */
function rowsOf(stdout: string): Row[] {
  const [header, ...lines] = stdout.trimEnd().split('\n');
  expect(header).toMatch(/^ID\s+HANDLE\s+DAY\s+SIZE\s+STATUS$/);
  return lines.map((line) => {
    const [id, handle, day, amount, unit, status] = line.split(/\s+/);
    return { id: id!, handle: handle!, day: day!, size: `${amount} ${unit}`, status: status! };
  });
}
const statusOf = async (ids: string[]) =>
  Object.fromEntries(
    (await server.database.db.select({ id: submissions.id, status: submissions.status }).from(submissions).where(inArray(submissions.id, ids))).map((r) => [r.id, r.status]),
  );
async function bundleIds(dir: string): Promise<{ submissions: string[]; sources: string[] }> {
  const manifest = JSON.parse(await readFile(join(tmp.dir, dir, 'bundle.json'), 'utf8')) as { submissions: { id: string }[]; sources: { handle: string }[] };
  return { submissions: manifest.submissions.map((s) => s.id).sort(), sources: manifest.sources.map((s) => s.handle).sort() };
}

describe('sealdrop list', () => {
  it('shows every new submission with handle, padded size, day and status, and downloads nothing', async () => {
    const r = await cli(['list']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = rowsOf(r.stdout);
    // oldest day first
    expect(rows.slice(0, 2).map((row) => row.id)).toEqual([oldTip.submissionId, bigTip.submissionId]);
    expect(rows.map((row) => row.id).sort()).toEqual([oldTip, newTip, bigTip, ...flood].map((t) => t.submissionId).sort());
    for (const row of rows) expect(row.status).toBe('received');
    expect(rows[0]!.day).toBe(OLD_DAY);
    expect(rows[1]!.day).toBe(MID_DAY);
    expect(rows[1]!.size).toMatch(/^\d+\.\d KiB$/);
    const byId = Object.fromEntries(rows.map((row) => [row.id, row.handle]));
    handles.quiet = byId[oldTip.submissionId]!;
    handles.big = byId[bigTip.submissionId]!;
    handles.flood = byId[flood[0]!.submissionId]!;
    expect(byId[newTip.submissionId]).toBe(handles.quiet);
    expect(byId[flood[1]!.submissionId]).toBe(handles.flood);
    expect(new Set(Object.values(handles)).size).toBe(3);
    // nothing was marked downloaded by looking
    expect(Object.values(await statusOf(rows.map((row) => row.id)))).toEqual(rows.map(() => 'received'));
  });

  it('filters by day, size and source', async () => {
    const since = rowsOf((await cli(['list', '--since', MID_DAY])).stdout).map((row) => row.id);
    expect(since).not.toContain(oldTip.submissionId);
    expect(since).toContain(bigTip.submissionId);
    expect(since).toHaveLength(4);
    const source = rowsOf((await cli(['list', '--source', handles.quiet!])).stdout).map((row) => row.id);
    expect(source).toEqual([oldTip.submissionId, newTip.submissionId]);
    const both = rowsOf((await cli(['list', '--source', handles.quiet!, '--source', handles.big!, '--since', MID_DAY])).stdout).map((row) => row.id);
    expect(both.sort()).toEqual([newTip.submissionId, bigTip.submissionId].sort());
    const none = await cli(['list', '--since', '2099-01-01']);
    expect(none).toMatchObject({ code: 0, stdout: '', stderr: 'sealdrop: no new submissions match\n' });
  });

  it('reads page after page, and stops past a cap saying more match', async () => {
    const endpoint = { server: new URL(server.editorUrl), token: server.token };
    const all = await listMatching(endpoint, { all: true, sources: [] });
    const paged = await listMatching(endpoint, { all: true, sources: [] }, Infinity, 1);
    expect(paged).toEqual(all);
    expect(all.submissions).toHaveLength(5);
    const capped = await listMatching(endpoint, { all: true, sources: [] }, 2, 1);
    expect(capped).toEqual({ submissions: all.submissions.slice(0, 2), more: true });
    expect(await listMatching(endpoint, { all: true, sources: [] }, 5, 2)).toEqual({ submissions: all.submissions, more: false });
  });

  it('refuses malformed filters before asking the server', async () => {
    for (const [args, message] of [
      [['list', '--since', '2026-02-30'], /^sealdrop: error: list: --since wants a day as YYYY-MM-DD, got "2026-02-30"\nsealdrop: hint: /],
      [['list', '--max-size', '10 MB'], /^sealdrop: error: list: --max-size wants a size in bytes, got "10 MB"\nsealdrop: hint: a whole number, optionally with k, M or G/],
      [['list', '--source', 'Quiet Otter'], /^sealdrop: error: list: "Quiet Otter" is not a source handle\n/],
      [['list', 'extra'], /^sealdrop: error: list: unexpected argument "extra"\n/],
    ] as const) {
      const r = await runCli([...args], { cwd: tmp.dir, env: { SEALDROP_TOKEN: server.token, SEALDROP_SERVER: 'http://127.0.0.1:1' } });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('sealdrop spam', () => {
  it('drops the unpulled tips of a flood, and the server refuses its codename from then on', async () => {
    const r = await cli(['spam', handles.flood!]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${handles.flood} marked spam: 2 unpulled submissions dropped, new uploads refused\n`);
    const rows = rowsOf((await cli(['list', '--all'])).stdout);
    expect(rows.map((row) => row.handle)).not.toContain(handles.flood);
    expect(await statusOf(flood.map((t) => t.submissionId))).toEqual({});
    await expect(submitTip(server.sourceUrl, { message: 'more', codename: flood[0]!.codename })).rejects.toThrow(/403 .*source_refused/);
    // the other sources still submit
    const other = await submitTip(server.sourceUrl, { message: 'unrelated', codename: oldTip.codename });
    await cli(['delete', other.submissionId]);
  });

  it('says so for an unknown handle and refuses a malformed one', async () => {
    const unknown = await cli(['spam', 'no-such']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^sealdrop: error: no source no-such on the server\nsealdrop: error: 1 of 1 sources were not found\nsealdrop: hint: /);
    const malformed = await cli(['spam', '../x']);
    expect(malformed.code).toBe(2);
  });
});

describe('sealdrop pull, selectively', () => {
  it('--max-size: only the small tips; the large one stays new on the server', async () => {
    const bigSize = Number((await server.database.db.select({ size: submissions.size }).from(submissions).where(eq(submissions.id, bigTip.submissionId)))[0]!.size);
    const r = await cli(['pull', '--max-size', String(bigSize - 1), '-o', 'small']);
    expect(r.code, r.stderr).toBe(0);
    expect(await bundleIds('small')).toEqual({ submissions: [oldTip.submissionId, newTip.submissionId].sort(), sources: [handles.quiet!] });
    expect(r.stdout).toMatch(/2 submissions from 1 source in small; 2 marked downloaded on the server\n$/);
    expect(await statusOf([oldTip.submissionId, newTip.submissionId, bigTip.submissionId])).toEqual({
      [oldTip.submissionId]: 'downloaded',
      [newTip.submissionId]: 'downloaded',
      [bigTip.submissionId]: 'received',
    });
  });

  it('--since: nothing new on or after the day means nothing written', async () => {
    const r = await cli(['pull', '--since', '2099-01-01', '-o', 'nothing']);
    expect(r).toMatchObject({ code: 0, stdout: 'no new submissions match (nothing written)\n' });
    expect(await exists(join(tmp.dir, 'nothing'))).toBe(false);
    const mid = await cli(['pull', '--since', MID_DAY, '-o', 'since']);
    expect(mid.code, mid.stderr).toBe(0);
    expect(await bundleIds('since')).toEqual({ submissions: [bigTip.submissionId], sources: [handles.big!] });
  });

  it('--source: one source only, and its key even when it has nothing new (a lost key comes back)', async () => {
    const r = await cli(['pull', '--source', handles.quiet!, '-o', 'key-only']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('no submissions; the key of 1 source in key-only\n');
    expect(await listTree(join(tmp.dir, 'key-only'))).toEqual(['bundle.json', 'sources/', `sources/${handles.quiet}.asc`]);
    // the server's key alone does not answer the source: only a key its own tip named (cli/key-pins.ts)
    await writeFile(join(tmp.dir, 'reply.txt'), 'We read both. Thank you.\n');
    // (replies are signed: the newsroom key is unlocked, as for decrypt)
    const reply = () => runCli(['reply', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', '--bundle', 'key-only', '--to', handles.quiet!, '--outbox', 'outbox', 'reply.txt'], {
      cwd: tmp.dir, env: { ...env(), SEALDROP_PASSPHRASE: DEMO_PASSPHRASE },
    });
    const unpinned = await reply();
    expect(unpinned.code).toBe(1);
    expect(unpinned.stderr).toContain(`sealdrop: error: no pinned key for ${handles.quiet}`);
    // once a tip of the source is decrypted, the key-only bundle agrees with the pin and is enough
    const decrypted = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'small', '-o', 'small-tips'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE } });
    expect(decrypted.code, decrypted.stderr).toBe(0);
    const replied = await reply();
    expect(replied.code, replied.stderr).toBe(0);
  });

  it('ids: exactly those, pulled before or not, and they decrypt', async () => {
    const r = await cli(['pull', '-o', 'again', oldTip.submissionId]);
    expect(r.code, r.stderr).toBe(0);
    expect(await bundleIds('again')).toEqual({ submissions: [oldTip.submissionId], sources: [handles.quiet!] });
    const decrypted = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, '--inbox', 'inbox', 'again', '-o', 'again-tips'], { cwd: tmp.dir, env: { SEALDROP_PASSPHRASE: DEMO_PASSPHRASE } });
    expect(decrypted.code, decrypted.stderr).toBe(0);
    const [folder] = await readdir(join(tmp.dir, 'again-tips', handles.quiet!));
    expect(folder).toBe(`${OLD_DAY}_${oldTip.submissionId.slice(0, 8)}`);
    expect(await readFile(join(tmp.dir, 'again-tips', handles.quiet!, folder!, 'message.txt'), 'utf8')).toBe('The first thing I saw.');
    // pulling again changes nothing on the server
    expect(await statusOf([oldTip.submissionId])).toEqual({ [oldTip.submissionId]: 'downloaded' });
  });

  it('--all --source: everything of one source again, after the first bundle was lost', async () => {
    const r = await cli(['pull', '--all', '--source', handles.quiet!, '-o', 'lost']);
    expect(r.code, r.stderr).toBe(0);
    expect(await bundleIds('lost')).toEqual({ submissions: [oldTip.submissionId, newTip.submissionId].sort(), sources: [handles.quiet!] });
    const plain = await cli(['pull', '-o', 'plain']);
    expect(plain.stdout).toBe('no new submissions (empty bundle in plain)\n');
  });

  it('refuses ids with filters, malformed or repeated ids, and unknown ids, keeping nothing', async () => {
    const mixed = await cli(['pull', '--since', OLD_DAY, '-o', 'mixed', oldTip.submissionId]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/^sealdrop: error: pull: give submission ids or filters, not both\nsealdrop: hint: /);
    const short = await cli(['pull', '-o', 'short', oldTip.submissionId.slice(0, 8)]);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/is not a submission id\nsealdrop: hint: give the whole id/);
    expect((await cli(['pull', '-o', 'twice', oldTip.submissionId, oldTip.submissionId])).code).toBe(2);
    const unknown = await cli(['pull', '-o', 'unknown', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^sealdrop: error: the server answered 404: No such submission or source/);
    for (const dir of ['mixed', 'short', 'twice', 'unknown']) expect(await exists(join(tmp.dir, dir)), dir).toBe(false);
  });
});

describe('sealdrop against the wrong port', () => {
  it('! --server naming the source site says it is not the editor API, and which port is', async () => {
    for (const args of [['list'], ['pull', '-o', 'wrong-port'], ['delete', '00000000-0000-4000-8000-000000000000']]) {
      const r = await runCli([...args, '--server', server.sourceUrl], { cwd: tmp.dir, env: { SEALDROP_TOKEN: server.token } });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toBe(
        `sealdrop: error: ${server.sourceUrl} is not the editor API: it knows no /editor/v1 route (it answered 404)\n` +
          "sealdrop: hint: the source pages and the editor API listen on different ports (PORT, 8080 by default, and EDITOR_PORT, 8081; the server's start line shows both): give the editor API's, e.g. --server http://127.0.0.1:8081\n",
      );
    }
    expect(await exists(join(tmp.dir, 'wrong-port'))).toBe(false);
  });
});

describe('sealdrop delete', () => {
  it('deletes a tip unread, and says so for one that is gone', async () => {
    const r = await cli(['delete', bigTip.submissionId]);
    expect(r).toMatchObject({ code: 0, stdout: `deleted ${bigTip.submissionId}\n`, stderr: '' });
    expect(await statusOf([bigTip.submissionId])).toEqual({});
    const again = await cli(['delete', bigTip.submissionId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^sealdrop: error: no submission ${bigTip.submissionId} on the server\\nsealdrop: error: 1 of 1 submissions were not found\\n`));
  });
});

describe('the failed-login gate', () => {
  it('never refuses a valid token: sealdrop list succeeds during a flood of wrong ones', async () => {
    let flooding = true;
    let failures = 0;
    let rounds = 0;
    let firstRound!: () => void;
    const floodStarted = new Promise<void>((resolve) => (firstRound = resolve));
    const wrong = `Bearer sde_${'w'.repeat(43)}`;
    const flood = (async () => {
      while (flooding) {
        const answers = await Promise.all(
          Array.from({ length: 16 }, () => fetch(`${server.editorUrl}/editor/v1/submissions`, { headers: { authorization: wrong } }).then((r) => r.status)),
        );
        failures += answers.filter((status) => status === 401 || status === 429).length;
        if (++rounds === 1) firstRound();
      }
    })();
    // the gate has seen 16 wrong tokens, and the next 16 are in flight while the CLI runs
    await floodStarted;
    try {
      const r = await cli(['list', '--all']);
      expect(r.code, r.stderr).toBe(0);
      expect(rowsOf(r.stdout).length).toBeGreaterThan(0);
    } finally {
      flooding = false;
      await flood;
    }
    // every wrong token was refused, the rounds during the CLI's run included
    expect(rounds).toBeGreaterThan(1);
    expect(failures).toBe(rounds * 16);
  });
});
