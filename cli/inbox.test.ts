/** The inbox's indexes (cli/inbox.ts): order by day then arrival, idempotence, the list, refusals of path-like values. */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializeManifest, type Manifest } from '../protocol/index.ts';
import { addReply, addTip, ensureInbox, markRead, readInboxList, readSourceIndex, summarize, tipDir, updateInboxList } from './inbox.ts';

let inbox: string;
beforeEach(async () => {
  inbox = await mkdtemp(join(tmpdir(), 'sealdrop-inbox-unit-'));
  await ensureInbox(inbox);
});
afterEach(async () => {
  await rm(inbox, { recursive: true, force: true });
});

/** A tip folder as decrypt leaves it (manifest.json, message.txt, files/1…). */
async function placeTip(handle: string, id: string, message = 'hello', files: { name: string; bytes: string }[] = []): Promise<void> {
  const dir = tipDir(inbox, handle, id);
  await mkdir(join(dir, 'files'), { recursive: true });
  const manifest: Manifest = {
    version: 1,
    language: 'en',
    message: { bytes: Buffer.byteLength(message) },
    files: files.map((f) => ({ name: f.name, path: `files/${f.name}`, type: 'text/plain', size: f.bytes.length, stripped: false })),
  };
  await writeFile(join(dir, 'manifest.json'), serializeManifest(manifest));
  await writeFile(join(dir, 'message.txt'), message);
  for (const [k, f] of files.entries()) await writeFile(join(dir, 'files', String(k + 1)), f.bytes);
}

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('the inbox indexes', () => {
  it('orders a conversation by day, then by the order tips were added, whatever bundle brought them', async () => {
    for (const [n, day] of [[1, '2026-11-20'], [2, '2026-11-22'], [3, '2026-11-20'], [4, '2026-11-21']] as const) {
      await placeTip('quiet-otter', id(n));
      expect(await addTip(inbox, 'quiet-otter', id(n), day)).toBe(true);
    }
    const index = await readSourceIndex(inbox, 'quiet-otter');
    expect(index!.tips.map((t) => [t.id.slice(-1), t.day])).toEqual([['1', '2026-11-20'], ['3', '2026-11-20'], ['4', '2026-11-21'], ['2', '2026-11-22']]);
  });

  it('adds an id once; the list holds one line per source, newest day first', async () => {
    await placeTip('quiet-otter', id(1), 'x', [{ name: 'a.txt', bytes: 'abc' }]);
    await placeTip('brave-lynx', id(2));
    expect(await addTip(inbox, 'quiet-otter', id(1), '2026-11-20')).toBe(true);
    expect(await addTip(inbox, 'quiet-otter', id(1), '2026-11-20')).toBe(false);
    expect(await addTip(inbox, 'brave-lynx', id(2), '2026-11-25')).toBe(true);
    await updateInboxList(inbox, [summarize((await readSourceIndex(inbox, 'quiet-otter'))!), summarize((await readSourceIndex(inbox, 'brave-lynx'))!)]);
    await updateInboxList(inbox, [summarize((await readSourceIndex(inbox, 'quiet-otter'))!)]);
    const list = await readInboxList(inbox);
    expect(list.sources).toEqual([
      { handle: 'brave-lynx', lastDay: '2026-11-25', tips: 1, verified: 0, replays: 0, unread: 1, replies: 0 },
      { handle: 'quiet-otter', lastDay: '2026-11-20', tips: 1, verified: 0, replays: 0, unread: 1, replies: 0 },
    ]);
    const index = await readSourceIndex(inbox, 'quiet-otter');
    expect(index!.tips[0]!.files).toEqual([{ name: 'a.txt', file: 1, type: 'text/plain', size: 3, stripped: false, risk: null }]);
  });

  it('keeps a reply with its text, and marks tips read; no temporary file is left', async () => {
    await placeTip('quiet-otter', id(1));
    await addTip(inbox, 'quiet-otter', id(1), '2026-11-20');
    const reply = { id: 'a'.repeat(32), day: '2026-11-21', bytes: 5, outboxFile: `quiet-otter/${'a'.repeat(32)}.pgp` };
    expect(await addReply(inbox, 'quiet-otter', reply, new TextEncoder().encode('thank'))).toBe(true);
    expect(await addReply(inbox, 'nobody-here', { ...reply, id: 'b'.repeat(32) }, new TextEncoder().encode('x'))).toBe(false);
    expect(await markRead(inbox, 'quiet-otter')).toBe(true);
    expect(await markRead(inbox, 'quiet-otter')).toBe(false);
    const list = await readInboxList(inbox);
    expect(list.sources).toEqual([{ handle: 'quiet-otter', lastDay: '2026-11-21', tips: 1, verified: 0, replays: 0, unread: 0, replies: 1 }]);
    expect(await readFile(join(inbox, 'sources', 'quiet-otter', 'replies', `${'a'.repeat(32)}.txt`), 'utf8')).toBe('thank');
    expect((await readdir(join(inbox, 'sources', 'quiet-otter'))).sort()).toEqual(['index.json', 'replies', 'tips']);
    expect(await readdir(inbox)).not.toContain('nobody-here');
  });

  it('! refuses handles and ids that could be paths', async () => {
    expect(() => tipDir(inbox, '../keys', id(1))).toThrow(/expected a source handle/);
    expect(() => tipDir(inbox, 'quiet-otter', '../../x')).toThrow(/expected a submission id/);
    await expect(addReply(inbox, 'quiet-otter', { id: '../x', day: '2026-11-20', bytes: 1, outboxFile: 'x' }, new Uint8Array(1))).rejects.toThrow(/32 hex digits/);
    await expect(readSourceIndex(inbox, 'Quiet/Otter')).rejects.toThrow(/expected a source handle/);
  });
});
