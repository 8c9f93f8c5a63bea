/**
 * @module cli/inbox — the offline machine's inbox (issue 14): every decrypted tip and every reply
 * sent, per source, across bundles. Layout (the folder from cli/inbox-dir.ts):
 *
 *   sources.json                        the list: one line per source (handle, last day, counts)
 *   sources/<handle>/index.json         its conversation: tips and replies in arrival order
 *   sources/<handle>/tips/<id>/         manifest.json, message.txt, answers.txt (if the source answered
 *                                       the instance's questions), files/1, files/2, … (manifest order)
 *   sources/<handle>/replies/<id>.txt   the text of a reply sent (its ciphertext went to the outbox)
 *   keys/                               the source keys pinned by cli/key-pins.ts (not written here)
 *
 * Only values held to strict shapes become paths: a handle (cli/bundle.ts), a submission id (a
 * UUID), a reply id (32 hex digits), a file's number. A sender's file name is only ever data.
 * Folders are 0700, files 0600; an index is replaced by rename(2) of a fsynced temporary file, so a
 * reader sees the old index or the new one. Order is the day, then the order of adding (a bundle
 * lists a day's submissions in the server's arrival order, day_seq); no time of day is kept.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifest, type Answer } from '../protocol/envelope.ts';
import { isValidHandle } from './bundle.ts';
import { CliError } from './errors.ts';
import { fileError } from './files.ts';
import { assessFile, type FileRisk } from './risk.ts';

export const INBOX_VERSION = 1;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REPLY_ID = /^[0-9a-f]{32}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export interface InboxFile {
  /** the name the source gave (already cleaned by the protocol's safeFileName): shown, never a path */
  name: string;
  /** its number in the tip's files/ folder */
  file: number;
  type: string;
  size: number;
  /** whether the source's page removed its metadata (the manifest's `stripped`) */
  stripped: boolean;
  risk: FileRisk | null;
}

/**
 * Who wrote a tip, as far as `sealdrop decrypt` proved it (cli/tip-attribution.ts), from its
 * verified signature, never from the bundle's or the sender's word. Only 'signed' is the handle's
 * pinned source; a tip indexed before attributions were kept has none ("not checked").
 */
export type TipAttribution =
  /** signed by the key pinned for its handle; `replayOf`: the id of an earlier tip with the very same signature (a copy, counted once) */
  | { status: 'signed'; fingerprint: string; replayOf?: string }
  /** no signature: which source sent it is only the server's word */
  | { status: 'unsigned' }
  /** a signature that fails, by a key not the bundle's for its handle, or an envelope naming another key */
  | { status: 'quarantined' }
  /** signed (and verified) by a key other than its handle's pin */
  | { status: 'disputed'; fingerprint: string }
  /** signed by a key pinned under another handle: that source's tip, filed here by the server */
  | { status: 'other-handle'; fingerprint: string; handle: string };

export interface InboxTip {
  id: string;
  day: string;
  language: string;
  messageBytes: number;
  files: InboxFile[];
  read: boolean;
  /** absent for tips indexed before attributions were kept */
  signature?: TipAttribution;
}

export interface InboxReply {
  id: string;
  day: string;
  bytes: number;
  /** the outbox file it was written to (relative to the outbox), for the editor to find it */
  outboxFile: string;
}

export interface SourceIndex {
  version: typeof INBOX_VERSION;
  handle: string;
  tips: InboxTip[];
  replies: InboxReply[];
}

export interface SourceSummary {
  handle: string;
  /** the last day anything was added (a tip or a reply) */
  lastDay: string;
  tips: number;
  /** tips signed by the handle's pinned key; every other tip (tips − verified) is not shown to be the source's */
  verified: number;
  /** tips signed by that key again with the signature of an earlier tip: copies, not counted as verified */
  replays: number;
  unread: number;
  replies: number;
}

export interface InboxList {
  version: typeof INBOX_VERSION;
  sources: SourceSummary[];
}

export const sourceDir = (inbox: string, handle: string) => join(inbox, 'sources', checkHandle(handle));
export const tipDir = (inbox: string, handle: string, id: string) => join(sourceDir(inbox, handle), 'tips', checkId(id));

/** The path of one file of a tip, by its number (never by its name). */
export function tipFilePath(inbox: string, handle: string, id: string, file: number): string {
  if (!Number.isSafeInteger(file) || file < 1) throw new Error(`expected a file number ≥ 1, got ${file}`);
  return join(tipDir(inbox, handle, id), 'files', String(file));
}

export async function ensureInbox(inbox: string): Promise<void> {
  try {
    await mkdir(join(inbox, 'sources'), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fileError(error, inbox, 'inbox folder');
  }
}

/** The list of sources, newest day first; an inbox not made yet is an empty list. */
export async function readInboxList(inbox: string): Promise<InboxList> {
  const json = await readJson(join(inbox, 'sources.json'));
  if (json === undefined) return { version: INBOX_VERSION, sources: [] };
  const list = json as InboxList;
  if (list.version !== INBOX_VERSION || !Array.isArray(list.sources)) throw damaged(join(inbox, 'sources.json'));
  return list;
}

/** One source's conversation, or undefined when the inbox has none for that handle. */
export async function readSourceIndex(inbox: string, handle: string): Promise<SourceIndex | undefined> {
  const path = join(sourceDir(inbox, handle), 'index.json');
  const json = await readJson(path);
  if (json === undefined) return undefined;
  const index = json as SourceIndex;
  if (index.version !== INBOX_VERSION || index.handle !== handle || !Array.isArray(index.tips) || !Array.isArray(index.replies)) {
    throw damaged(path);
  }
  return index;
}

/**
 * Writes an index, and (unless `list` is false: decrypt updates the list once at its end, with
 * updateInboxList) the list line it implies. Callers serialise their writes (one process at a
 * time: decrypt, reply, or the read view, which queues its own).
 */
export async function writeSourceIndex(inbox: string, index: SourceIndex, list = true): Promise<void> {
  await writeJsonAtomic(join(sourceDir(inbox, index.handle), 'index.json'), index);
  if (list) await updateInboxList(inbox, [summarize(index)]);
}

/** Replaces the list lines of these sources (adding the new ones). */
export async function updateInboxList(inbox: string, summaries: SourceSummary[]): Promise<void> {
  if (summaries.length === 0) return;
  const list = await readInboxList(inbox);
  const changed = new Set(summaries.map((s) => s.handle));
  const others = list.sources.filter((s) => !changed.has(s.handle));
  others.push(...summaries);
  others.sort((a, b) => (a.lastDay === b.lastDay ? (a.handle < b.handle ? -1 : 1) : a.lastDay < b.lastDay ? 1 : -1));
  await writeJsonAtomic(join(inbox, 'sources.json'), { version: INBOX_VERSION, sources: others } satisfies InboxList);
}

export function summarize(index: SourceIndex): SourceSummary {
  let lastDay = '';
  for (const item of [...index.tips, ...index.replies]) if (item.day > lastDay) lastDay = item.day;
  return {
    handle: index.handle,
    lastDay,
    tips: index.tips.length,
    verified: index.tips.filter((t) => t.signature?.status === 'signed' && t.signature.replayOf === undefined).length,
    replays: index.tips.filter((t) => t.signature?.status === 'signed' && t.signature.replayOf !== undefined).length,
    unread: index.tips.filter((t) => !t.read).length,
    replies: index.replies.length,
  };
}

/** Whether the inbox already holds this submission (in `pending`, decrypt's indexes not yet written, first). */
export async function hasTip(inbox: string, handle: string, id: string, pending?: Map<string, SourceIndex>): Promise<boolean> {
  const index = pending?.get(handle) ?? (await readSourceIndex(inbox, handle));
  return index?.tips.some((t) => t.id === id) ?? false;
}

/**
 * Adds a tip already decrypted into tipDir(inbox, handle, id) to its source's index: after the
 * last tip of the same or an earlier day, so a day keeps the order tips were added in. Adding an
 * id the index holds changes nothing. Returns whether it was added. With `pending` (decrypt's
 * run), the changed index is kept there instead of written: writePendingIndexes writes each once
 * at the end (a run stopped before that leaves tip folders its next run indexes). The list is left
 * to the caller (updateInboxList).
 */
export async function addTip(inbox: string, handle: string, id: string, day: string, pending?: Map<string, SourceIndex>): Promise<boolean> {
  if (!DAY.test(day)) throw new Error(`expected a YYYY-MM-DD day, got ${JSON.stringify(day)}`);
  const index = pending?.get(handle) ?? (await readSourceIndex(inbox, handle)) ?? { version: INBOX_VERSION, handle, tips: [], replies: [] };
  if (index.tips.some((t) => t.id === id)) return false;
  const dir = tipDir(inbox, handle, id);
  const manifest = parseManifest(await readFile(join(dir, 'manifest.json')));
  const files: InboxFile[] = [];
  for (const [k, f] of manifest.files.entries()) {
    files.push({
      name: f.name,
      file: k + 1,
      type: f.type,
      size: f.size,
      stripped: f.stripped,
      risk: await assessFile(join(dir, 'files', String(k + 1)), f.name, f.type),
    });
  }
  const tip: InboxTip = { id, day, language: manifest.language, messageBytes: manifest.message.bytes, files, read: false };
  let at = index.tips.length;
  while (at > 0 && index.tips[at - 1]!.day > day) at--;
  index.tips.splice(at, 0, tip);
  if (pending) pending.set(handle, index);
  else await writeSourceIndex(inbox, index, false);
  return true;
}

/**
 * Records a tip's attribution in its index, kept in `pending` (decrypt's run: written with the
 * tips by writePendingIndexes, in the same atomic write). A tip the index does not hold is left alone.
 */
export async function setTipAttribution(inbox: string, handle: string, id: string, signature: TipAttribution, pending: Map<string, SourceIndex>): Promise<void> {
  const index = pending.get(handle) ?? (await readSourceIndex(inbox, handle));
  const tip = index?.tips.find((t) => t.id === id);
  if (!index || !tip || JSON.stringify(tip.signature) === JSON.stringify(signature)) return;
  tip.signature = signature;
  pending.set(handle, index);
}

/** Writes the indexes addTip kept in `pending`, then their lines of the list. */
export async function writePendingIndexes(inbox: string, pending: Map<string, SourceIndex>): Promise<void> {
  for (const index of pending.values()) await writeSourceIndex(inbox, index, false);
  await updateInboxList(inbox, [...pending.values()].map(summarize));
}

/** The id a new reply is stored under (the same as its outbox file's name). */
export const newReplyId = () => randomBytes(16).toString('hex');

/**
 * Records a reply written to the outbox: its text under replies/<id>.txt, then its line in the
 * index. Returns false (and writes nothing) when the inbox has no conversation with that source.
 */
export async function addReply(inbox: string, handle: string, reply: InboxReply, text: Uint8Array): Promise<boolean> {
  if (!REPLY_ID.test(reply.id)) throw new Error(`expected a reply id of 32 hex digits, got ${JSON.stringify(reply.id)}`);
  const index = await readSourceIndex(inbox, handle);
  if (index === undefined) return false;
  if (index.replies.some((r) => r.id === reply.id)) return true;
  const dir = join(sourceDir(inbox, handle), 'replies');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, `${reply.id}.txt`), text);
  index.replies.push(reply);
  await writeSourceIndex(inbox, index);
  return true;
}

export async function readReplyText(inbox: string, handle: string, id: string): Promise<string> {
  if (!REPLY_ID.test(id)) throw new Error(`expected a reply id of 32 hex digits, got ${JSON.stringify(id)}`);
  return readFile(join(sourceDir(inbox, handle), 'replies', `${id}.txt`), 'utf8');
}

export async function readTipMessage(inbox: string, handle: string, id: string): Promise<string> {
  return readFile(join(tipDir(inbox, handle, id), 'message.txt'), 'utf8');
}

/**
 * A tip's answers to the instance's questions, from its manifest.json (answers.txt beside it is
 * their rendering, checked equal when the tip was decrypted); none for a tip without.
 */
export async function readTipAnswers(inbox: string, handle: string, id: string): Promise<Answer[]> {
  const path = join(tipDir(inbox, handle, id), 'manifest.json');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw fileError(error, path, 'tip manifest');
  }
  return parseManifest(bytes).answers ?? [];
}

/** Marks every tip of a source read; returns whether anything changed. */
export async function markRead(inbox: string, handle: string): Promise<boolean> {
  const index = await readSourceIndex(inbox, handle);
  if (index === undefined || index.tips.every((t) => t.read)) return false;
  for (const tip of index.tips) tip.read = true;
  await writeSourceIndex(inbox, index);
  return true;
}

/** Today on this machine's clock, as a day only (UTC): the inbox keeps no time of day. */
export function today(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

function checkHandle(handle: string): string {
  if (!isValidHandle(handle)) throw new Error(`expected a source handle, got ${JSON.stringify(String(handle).slice(0, 80))}`);
  return handle;
}

function checkId(id: string): string {
  if (!UUID.test(id)) throw new Error(`expected a submission id (a lower-case UUID), got ${JSON.stringify(String(id).slice(0, 80))}`);
  return id;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw fileError(error, path, 'inbox index');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw damaged(path);
  }
}

function damaged(path: string): CliError {
  return new CliError(`the inbox index ${path} is damaged`, {
    hint: 'restore the inbox from its backup; the tips themselves are in the tips/ folders beside it',
  });
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value));
}

/** A fsynced temporary file (O_EXCL, 0600) renamed over `path`. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = `${path}.tmp-${randomBytes(8).toString('hex')}`;
  let handle;
  try {
    handle = await open(temp, 'wx', 0o600);
  } catch (error) {
    throw fileError(error, temp, 'inbox file');
  }
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw fileError(error, temp, 'inbox file');
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw fileError(error, path, 'inbox file');
  }
}
