/**
 * The editor's inbox across bundles (issue 14), against a running server: three bundles (one of
 * them decrypted twice) into one inbox; the same source across bundles is one conversation, in
 * arrival order; nothing is added twice; a reply sent is kept in the conversation.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxList, SourceIndex } from '../../cli/inbox.ts';
import { decryptKey, readKey, readPrivateKey } from 'openpgp';
import { openReply } from '../../protocol/index.ts';
import { lookUp, startServer, submitTip, type RunningServer, type SubmittedTip } from '../../server/editor/test-server.ts';
import { BIN, DEMO_PASSPHRASE, DEMO_PUBLIC_KEY, DEMO_SECRET_KEY, listTree, makeTempDir, runCli } from './helpers.ts';

/** Every `sealdrop read` started, stopped in afterAll even when a test failed before its stop(). */
const reads: ChildProcess[] = [];

/** `sealdrop read …` left running: its address (the first line on stdout), and how it ends. */
async function startRead(args: string[], env: Record<string, string>, cwd: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<{ code: number | null; stderr: string }> }> {
  const child = spawn(process.execPath, [BIN, 'read', ...args], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  reads.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`read exited (${code}) before printing its address: ${stderr}`)));
  });
  return {
    url,
    child,
    async stop() {
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return { code, stderr };
    },
  };
}

let server: RunningServer;
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let otter: SubmittedTip[];
let lynx: SubmittedTip;

const offline = () => ({ SEALDROP_PASSPHRASE: DEMO_PASSPHRASE, SEALDROP_INBOX: join(tmp.dir, 'inbox') });
const online = () => ({ SEALDROP_TOKEN: server.token, SEALDROP_SERVER: server.editorUrl });
const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(join(tmp.dir, 'inbox', path), 'utf8')) as T;

async function pull(dir: string, ...args: string[]): Promise<void> {
  const r = await runCli(['pull', ...args, '-o', dir], { cwd: tmp.dir, env: online() });
  expect(r.code, r.stderr).toBe(0);
}

async function decrypt(dir: string) {
  const r = await runCli(['decrypt', '-i', DEMO_SECRET_KEY, dir], { cwd: tmp.dir, env: offline() });
  expect(r.code, r.stderr).toBe(0);
  return r;
}

async function handleOf(dir: string, id: string): Promise<string> {
  const bundle = JSON.parse(await readFile(join(tmp.dir, dir, 'bundle.json'), 'utf8')) as { submissions: { id: string; handle: string }[] };
  return bundle.submissions.find((s) => s.id === id)!.handle;
}

beforeAll(async () => {
  server = await startServer();
  tmp = await makeTempDir('sealdrop-inbox-');
  const first = await submitTip(server.sourceUrl, {
    message: '<script>alert(1)</script> first',
    files: [{ name: 'ledger.pdf', type: 'application/pdf', bytes: new TextEncoder().encode('%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n') }],
  });
  lynx = await submitTip(server.sourceUrl, { message: 'Здравствуйте' });
  otter = [first];
});

afterAll(async () => {
  for (const child of reads) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await server?.close();
  await tmp?.cleanup();
});

describe('the inbox across bundles', () => {
  let handle: string;
  let lynxHandle: string;

  it('adds a first bundle: one conversation per source, files numbered, risky ones marked', async () => {
    await pull('b1');
    const r = await decrypt('b1');
    handle = await handleOf('b1', otter[0]!.submissionId);
    lynxHandle = await handleOf('b1', lynx.submissionId);
    // the keys pinned (cli/key-pins.ts) beside the conversations
    expect(r.stderr.split('\n').filter((l) => l.startsWith('sealdrop: pinned the key of ')).length).toBe(2);
    expect(r.stderr).toContain(`sealdrop: decrypted 2 submissions into the inbox ${join(tmp.dir, 'inbox')}\n`);

    const index = await readJson<SourceIndex>(`sources/${handle}/index.json`);
    expect(index.tips).toHaveLength(1);
    expect(index.tips[0]).toMatchObject({
      id: otter[0]!.submissionId,
      language: 'en',
      read: false,
      files: [{ name: 'ledger.pdf', file: 1, type: 'application/pdf', stripped: false, risk: { kind: 'pdf-script' } }],
    });
    const tip = join(tmp.dir, 'inbox', 'sources', handle, 'tips', otter[0]!.submissionId);
    expect(await readFile(join(tip, 'message.txt'), 'utf8')).toBe('<script>alert(1)</script> first');
    expect(await readdir(join(tip, 'files'))).toEqual(['1']);
    // the inbox is the editor's alone
    expect((await stat(join(tmp.dir, 'inbox'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(tip, 'files', '1'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(tmp.dir, 'inbox', 'sources.json'))).mode & 0o777).toBe(0o600);
  });

  it('adds a second bundle to the same conversation, after what came before', async () => {
    otter.push(await submitTip(server.sourceUrl, { message: 'second', codename: otter[0]!.codename }));
    otter.push(await submitTip(server.sourceUrl, { message: 'third', codename: otter[0]!.codename }));
    await pull('b2');
    await decrypt('b2');
    const index = await readJson<SourceIndex>(`sources/${handle}/index.json`);
    expect(index.tips.map((t) => t.id)).toEqual(otter.map((t) => t.submissionId));
  });

  it('adds a repeated bundle and a re-pull of the whole source without a duplicate', async () => {
    const before = await listTree(join(tmp.dir, 'inbox'));
    const again = await decrypt('b1');
    expect(again.stdout).toMatch(/SKIPPED already in the inbox/);
    expect(again.stderr).toBe(`sealdrop: decrypted 0 submissions into the inbox ${join(tmp.dir, 'inbox')} (2 already there, left as they were)\n`);
    expect(await readdir(join(tmp.dir, 'inbox'))).toEqual(expect.arrayContaining(['keys', 'sources', 'sources.json']));
    await pull('b3', '--source', handle, '--all');
    const third = await decrypt('b3');
    expect(third.stderr).toContain('decrypted 0 submissions');
    expect(await listTree(join(tmp.dir, 'inbox'))).toEqual(before);
    const index = await readJson<SourceIndex>(`sources/${handle}/index.json`);
    expect(index.tips.map((t) => t.id)).toEqual(otter.map((t) => t.submissionId));
  });

  it('indexes a tip whose run stopped after its folder was in place but before its index was written', async () => {
    const index = join(tmp.dir, 'inbox', 'sources', lynxHandle, 'index.json');
    await rm(index);
    const r = await decrypt('b1');
    expect(r.stdout).toMatch(/SKIPPED already in the inbox/);
    expect((await readJson<SourceIndex>(`sources/${lynxHandle}/index.json`)).tips.map((t) => t.id)).toEqual([lynx.submissionId]);
  });

  it('lists each source once with its last day and unread count', async () => {
    const list = await readJson<InboxList>('sources.json');
    expect(list.sources.map((s) => s.handle).sort()).toEqual([handle, lynxHandle].sort());
    expect(list.sources.find((s) => s.handle === handle)).toMatchObject({ tips: 3, unread: 3, replies: 0 });
    expect(list.sources.find((s) => s.handle === lynxHandle)).toMatchObject({ tips: 1, unread: 1, replies: 0 });
    expect(list.sources[0]!.lastDay).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('keeps a reply sent with "sealdrop reply" in the conversation (text, day, outbox file)', async () => {
    await writeFile(join(tmp.dir, 'reply.txt'), '고맙습니다. Thank you.\n');
    const r = await runCli(['reply', '-i', DEMO_SECRET_KEY, '--to', handle, '--outbox', 'outbox', 'reply.txt'], { cwd: tmp.dir, env: offline() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('kept in the inbox');
    const index = await readJson<SourceIndex>(`sources/${handle}/index.json`);
    expect(index.replies).toHaveLength(1);
    const [reply] = index.replies;
    expect(r.stdout.trim()).toBe(join('outbox', reply!.outboxFile));
    expect(reply!.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(await readFile(join(tmp.dir, 'inbox', 'sources', handle, 'replies', `${reply!.id}.txt`), 'utf8')).toBe('고맙습니다. Thank you.\n');
    const list = await readJson<InboxList>('sources.json');
    expect(list.sources.find((s) => s.handle === handle)).toMatchObject({ replies: 1 });
  });

  it('no time of day anywhere in the indexes', async () => {
    const text = (await readFile(join(tmp.dir, 'inbox', 'sources.json'), 'utf8')) + (await readFile(join(tmp.dir, 'inbox', 'sources', handle, 'index.json'), 'utf8'));
    expect(text).not.toMatch(/\d{2}:\d{2}|T\d{2}/);
  });

  it('"sealdrop read" serves the same conversation on 127.0.0.1 under a per-run address, until it is stopped', async () => {
    const first = await startRead([], offline(), tmp.dir);
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/$/);
    const list = (await (await fetch(`${first.url}api/sources`)).json()) as { sources: { handle: string; unread: number }[] };
    expect(list.sources.find((s) => s.handle === handle)).toMatchObject({ unread: 3 });
    const conversation = (await (await fetch(`${first.url}api/sources/${handle}`)).json()) as { tips: { id: string; message: string }[]; replies: { text: string }[] };
    expect(conversation.tips.map((t) => t.id)).toEqual(otter.map((t) => t.submissionId));
    expect(conversation.tips.map((t) => t.message)).toEqual(['<script>alert(1)</script> first', 'second', 'third']);
    expect(conversation.replies.map((r) => r.text)).toEqual(['고맙습니다. Thank you.\n']);
    const stopped = await first.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain('sealdrop: read view closed');
    // opened: read
    expect((await readJson<InboxList>('sources.json')).sources.find((s) => s.handle === handle)).toMatchObject({ unread: 0 });
    // another run, another address; the old one is gone
    const second = await startRead(['--port', '0'], offline(), tmp.dir);
    expect(second.url).not.toBe(first.url);
    await expect(fetch(`${first.url}api/sources`)).rejects.toThrow();
    // its port taken: said so, with what to do
    const taken = await runCli(['read', '--port', new URL(second.url).port], { cwd: tmp.dir, env: offline() });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toBe(`sealdrop: error: read: cannot listen on 127.0.0.1:${new URL(second.url).port} (the port is in use)\nsealdrop: hint: leave --port out for a free port, or give one above 1024 that nothing else uses\n`);
    await second.stop();
  });

  it('a reply from the read view: signed and encrypted into the outbox, kept in the conversation, pushed, and read by the source', async () => {
    const view = await startRead(['-i', DEMO_SECRET_KEY, '--outbox', 'outbox'], offline(), tmp.dir);
    const post = (path: string, body: unknown) =>
      fetch(`${view.url}api/sources/${path}/replies`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const written = await post(handle, { text: '다시 연락 주세요. Write again.\n' });
    expect(written.status).toBe(201);
    const { id, outboxFile } = (await written.json()) as { id: string; outboxFile: string };
    expect(outboxFile).toBe(`${handle}/${id}.pgp`);
    // refused as sealdrop reply refuses, nothing written
    const empty = await post(handle, { text: '   ' });
    expect(empty.status).toBe(422);
    expect(await empty.json()).toMatchObject({ error: 'refused', message: 'the reply is empty' });
    const stopped = await view.stop();
    expect(stopped.stderr).toContain(`sealdrop: reply to ${handle} written to ${join('outbox', outboxFile)}`);

    const index = await readJson<SourceIndex>(`sources/${handle}/index.json`);
    expect(index.replies.map((r) => r.id)).toHaveLength(2);
    expect(index.replies[1]).toMatchObject({ id, outboxFile });

    const pushed = await runCli(['push', 'outbox'], { cwd: tmp.dir, env: online() });
    expect(pushed.code, pushed.stderr).toBe(0);
    const seen = await lookUp(server.sourceUrl, otter[0]!.lookupId);
    const privateKey = await decryptKey({ privateKey: await readPrivateKey({ armoredKey: seen.lockedPrivateKey }), passphrase: otter[0]!.keyPassphrase });
    const newsroom = await readKey({ armoredKey: await readFile(DEMO_PUBLIC_KEY, 'utf8') });
    const opened = await Promise.all(seen.replies.map((r) => openReply(r.message, privateKey, newsroom)));
    // both pushed in one run: push sends the outbox in file-name order, and the names are random
    expect(opened.map((o) => (o.ok ? o.text : o.problem)).sort()).toEqual(['고맙습니다. Thank you.\n', '다시 연락 주세요. Write again.\n'].sort());
  });
});
