/**
 * @module cli/key-pins — the source keys the offline machine trusts to answer: one pin per handle,
 * `<inbox>/keys/<handle>.json`, made by `sealdrop decrypt` when a tip is signed by the key the
 * bundle carries for its source and names it (PROTOCOL.md, "Signed tips"; cli/tip-attribution.ts),
 * read by `sealdrop reply`, which encrypts to no other key. A server that swaps a source's key in a
 * bundle is then caught, not answered.
 *
 * API: `readKeyPin(inbox, handle)` → the pin or undefined; `pinSourceKey(inbox, handle, key)` →
 * 'pinned' | 'already' (throws KeyPinConflictError when the handle is pinned to another key);
 * `KEY_PINS_DIR`. A pin is written once (O_EXCL, then link(2) into place, mode 0600 in 0700
 * folders) and never replaced by sealdrop.
 *
 * File: `{"version":1,"handle":"<handle>","fingerprint":"<lower-case hex>","publicKey":"<armored>"}`.
 */

import { link, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { checkSourcePublicKey } from '../protocol/openpgp-checks.ts';
import { formatFingerprint } from '../protocol/fingerprint.ts';
import { isValidHandle } from './bundle.ts';
import { CliError } from './errors.ts';
import { fileError, writeNewFile } from './files.ts';
import type { SourcePublicKey } from './source-key.ts';

/**
 * writeNewFile, whole or not at all: written and synced under a fresh name, then linked into
 * place, which fails (EEXIST, as writeNewFile's O_EXCL does) rather than replace a file another
 * run made meanwhile. A run reading it at the same moment never sees it half-written.
 */
async function writeWholeNewFile(path: string, data: string, what: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  await writeNewFile(temp, data, 0o600, what);
  try {
    await link(temp, path);
  } catch (error) {
    throw fileError(error, path, what);
  } finally {
    await rm(temp, { force: true });
  }
}

export const KEY_PINS_DIR = 'keys';
const PIN_VERSION = 1;

export interface KeyPin {
  handle: string;
  /** The source key's primary fingerprint, lower-case hex (v4 40, v6 64 digits). */
  fingerprint: string;
  /** The source's public key, armored, as the bundle carried it when it was pinned. */
  publicKey: string;
  /** The path of the pin file. */
  path: string;
}

/** A handle already pinned to another key: sealdrop never replaces a pin. */
export class KeyPinConflictError extends CliError {
  constructor(readonly handle: string, readonly pinned: string, readonly offered: string, readonly path: string) {
    super(`${handle} is pinned to the key ${formatFingerprint(pinned)}, not to ${formatFingerprint(offered)}`, {
      hint: `two keys under one handle: the handle is the server's word, and the key pinned first is not the genuine one for that; the pin ${path} stays as it is`,
    });
    this.name = 'KeyPinConflictError';
  }
}

function checkHandle(handle: string): string {
  if (!isValidHandle(handle)) {
    throw new CliError(`${JSON.stringify(handle)} is not a source handle`, {
      hint: 'handles are lower-case words joined by "-", as in the decrypt summary (e.g. quiet-otter)',
    });
  }
  return handle;
}

function pinPath(inboxDir: string, handle: string): string {
  return join(inboxDir, KEY_PINS_DIR, `${checkHandle(handle)}.json`);
}

/** The pin of `handle`, checked (shape, and that the stored key has the stored fingerprint), or undefined if there is none. */
export async function readKeyPin(inboxDir: string, handle: string): Promise<KeyPin | undefined> {
  const path = pinPath(inboxDir, handle);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw fileError(error, path, 'key pin');
  }
  const damaged = (why: string, cause?: unknown) =>
    new CliError(`the key pin ${path} is damaged: ${why}`, {
      hint: 'pins are written only by "sealdrop decrypt"; restore it from the inbox backup, or move it away and decrypt a tip of this source again',
      cause,
    });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw damaged('not JSON', error);
  }
  const j = json as Record<string, unknown>;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw damaged('not a JSON object');
  if (j.version !== PIN_VERSION) throw damaged(`version ${JSON.stringify(j.version)}, expected ${PIN_VERSION}`);
  if (j.handle !== handle) throw damaged('it names another handle');
  if (typeof j.fingerprint !== 'string' || typeof j.publicKey !== 'string') throw damaged('no fingerprint or public key');
  let fingerprint: string;
  try {
    fingerprint = (await checkSourcePublicKey(j.publicKey)).fingerprint;
  } catch (error) {
    throw damaged(`its key is refused (${error instanceof Error ? error.message : String(error)})`, error);
  }
  if (fingerprint !== j.fingerprint) throw damaged('its key does not have its fingerprint');
  return { handle, fingerprint, publicKey: j.publicKey, path };
}

/**
 * Pins `key` (already checked, from the bundle) for `handle`: 'pinned' when written now,
 * 'already' when that very key was pinned before (a repeated decrypt). Throws
 * KeyPinConflictError if the handle is pinned to another key.
 */
export async function pinSourceKey(inboxDir: string, handle: string, key: Pick<SourcePublicKey, 'fingerprint' | 'armored'>): Promise<'pinned' | 'already'> {
  const path = pinPath(inboxDir, handle);
  const dir = join(inboxDir, KEY_PINS_DIR);
  try {
    await mkdir(inboxDir, { recursive: true, mode: 0o700 });
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fileError(error, dir, 'key pin folder');
  }
  const existing = await readKeyPin(inboxDir, handle);
  if (existing) return settle(existing, handle, key.fingerprint);
  const body = JSON.stringify({ version: PIN_VERSION, handle, fingerprint: key.fingerprint, publicKey: key.armored }) + '\n';
  // Whole or not at all: written and synced under a fresh name, then linked into place, which
  // fails (EEXIST) rather than replace a pin another run made meanwhile.
  const temp = join(dir, `.${handle}.${randomBytes(8).toString('hex')}.tmp`);
  await writeNewFile(temp, body, 0o600, 'key pin');
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw fileError(error, path, 'key pin');
    const raced = await readKeyPin(inboxDir, handle);
    if (!raced) throw fileError(error, path, 'key pin');
    return settle(raced, handle, key.fingerprint);
  } finally {
    await rm(temp, { force: true });
  }
  return 'pinned';
}

function settle(existing: KeyPin, handle: string, fingerprint: string): 'already' {
  if (existing.fingerprint !== fingerprint) throw new KeyPinConflictError(handle, existing.fingerprint, fingerprint, existing.path);
  return 'already';
}

// ---------------------------------------------------------------------------------------------
// One key, one handle; and the handles under which two keys signed (issue 10).
//
// `<inbox>/keys/by-key/<fingerprint>.json` — {"version":1,"fingerprint","handle","tip"}: the
// handle a key is pinned under and the tip that pinned it, created exclusively (O_EXCL), so two
// runs cannot pin one key under two handles.
// `<inbox>/keys/disputes/<handle>/<fingerprint>.json` — {"version":1,"handle","fingerprint",
// "publicKey","tip"}: a tip under `handle` signed (and verified) by a key other than its pin.

const BY_KEY_DIR = 'by-key';
const DISPUTES_DIR = 'disputes';

function checkFingerprint(fingerprint: string): string {
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(fingerprint)) throw new TypeError(`expected a lower-case hex fingerprint, got ${JSON.stringify(fingerprint)}`);
  return fingerprint;
}

async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fileError(error, dir, 'key pin folder');
  }
}

async function readJson(path: string, what: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw fileError(error, path, what);
  }
  try {
    const j = JSON.parse(text) as unknown;
    if (typeof j === 'object' && j !== null && !Array.isArray(j) && (j as Record<string, unknown>).version === 1) return j as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new CliError(`the ${what} ${path} is damaged`, { hint: 'it is written only by "sealdrop decrypt"; restore it from the inbox backup' });
}

/** A key already pinned under another handle: one source, one key, one handle. */
export class KeyHandleConflictError extends CliError {
  constructor(readonly fingerprint: string, readonly handle: string, readonly pinnedHandle: string, readonly pinnedTip: string | undefined) {
    super(`the key ${formatFingerprint(fingerprint)} signs tips under two handles: ${pinnedHandle} (pinned) and ${handle}; this key is ${pinnedHandle}'s`, {
      hint: `one source has one key and one handle: the server filed a tip of ${pinnedHandle} under ${handle} (or replayed it); count them as one source. Nothing was pinned for ${handle}`,
    });
    this.name = 'KeyHandleConflictError';
  }
}

/** The handle `fingerprint` is pinned under, and the tip that pinned it, if any. */
export async function readKeyIndex(inboxDir: string, fingerprint: string): Promise<{ handle: string; tip?: string } | undefined> {
  const j = await readJson(join(inboxDir, KEY_PINS_DIR, BY_KEY_DIR, `${checkFingerprint(fingerprint)}.json`), 'key index');
  if (!j) return undefined;
  if (j.fingerprint !== fingerprint || typeof j.handle !== 'string' || !isValidHandle(j.handle)) {
    throw new CliError(`the key index for ${formatFingerprint(fingerprint)} is damaged`, { hint: 'restore it from the inbox backup' });
  }
  return { handle: j.handle, ...(typeof j.tip === 'string' ? { tip: j.tip } : {}) };
}

/**
 * Throws KeyHandleConflictError when `fingerprint` is pinned under a handle other than `handle`,
 * by its index or by a pin made before indexes existed. Asked before anything else about a
 * verified tip: a key another handle holds is that source's, whatever the tip's handle is pinned to.
 * True when the index already names `handle`.
 */
export async function checkKeyNotElsewhere(inboxDir: string, fingerprint: string, handle: string): Promise<boolean> {
  const existing = await readKeyIndex(inboxDir, fingerprint);
  if (existing) {
    if (existing.handle !== handle) throw new KeyHandleConflictError(fingerprint, handle, existing.handle, existing.tip);
    return true;
  }
  // pins made before the index: one file per handle, a short list
  let names: string[];
  try {
    names = await readdir(join(inboxDir, KEY_PINS_DIR));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return false;
    throw fileError(error, join(inboxDir, KEY_PINS_DIR), 'key pin folder');
  }
  for (const name of names) {
    const other = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
    if (!isValidHandle(other) || other === handle) continue;
    const pin = await readKeyPin(inboxDir, other);
    if (pin?.fingerprint === fingerprint) throw new KeyHandleConflictError(fingerprint, handle, other, undefined);
  }
  return false;
}

/**
 * Claims `fingerprint` for `handle` (the tip `tip` pins it): created exclusively, or already
 * this handle's. Throws KeyHandleConflictError when the key is another handle's, by its index or
 * by a pin made before indexes existed.
 */
export async function claimKeyForHandle(inboxDir: string, fingerprint: string, handle: string, tip: string): Promise<void> {
  const dir = join(inboxDir, KEY_PINS_DIR, BY_KEY_DIR);
  await makeDir(dir);
  if (await checkKeyNotElsewhere(inboxDir, fingerprint, handle)) return;
  const path = join(dir, `${fingerprint}.json`);
  try {
    await writeWholeNewFile(path, JSON.stringify({ version: 1, fingerprint, handle, tip }) + '\n', 'key index');
  } catch (error) {
    const raced = await readKeyIndex(inboxDir, fingerprint).catch(() => undefined);
    if (!raced) throw error;
    if (raced.handle !== handle) throw new KeyHandleConflictError(fingerprint, handle, raced.handle, raced.tip);
  }
}

export interface KeyDispute {
  handle: string;
  fingerprint: string;
  publicKey: string;
  tip: string;
}

/** Records that `tip`, under `handle`, is signed by `fingerprint`, not by the handle's pin. */
export async function recordKeyDispute(inboxDir: string, dispute: KeyDispute): Promise<void> {
  const dir = join(inboxDir, KEY_PINS_DIR, DISPUTES_DIR, checkHandle(dispute.handle));
  await makeDir(dir);
  const path = join(dir, `${checkFingerprint(dispute.fingerprint)}.json`);
  try {
    await writeWholeNewFile(path, JSON.stringify({ version: 1, ...dispute }) + '\n', 'key dispute');
  } catch (error) {
    if (!(await readJson(path, 'key dispute'))) throw error; // there already: the first tip of that key is named
  }
}

/** The keys other than its pin that signed tips under `handle`. */
export async function readKeyDisputes(inboxDir: string, handle: string): Promise<KeyDispute[]> {
  const dir = join(inboxDir, KEY_PINS_DIR, DISPUTES_DIR, checkHandle(handle));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw fileError(error, dir, 'key dispute folder');
  }
  const out: KeyDispute[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const j = await readJson(join(dir, name), 'key dispute');
    if (!j || j.handle !== handle || typeof j.fingerprint !== 'string' || typeof j.publicKey !== 'string' || typeof j.tip !== 'string') {
      throw new CliError(`the key dispute ${join(dir, name)} is damaged`, { hint: 'restore it from the inbox backup' });
    }
    out.push({ handle, fingerprint: j.fingerprint, publicKey: j.publicKey, tip: j.tip });
  }
  return out;
}

// `<inbox>/keys/seen/<fingerprint>/<digest>.json` — {"version":1,"tip":"<id>"}: the first tip whose
// verified signature packet has this SHA-256, created exclusively. The signature holds no tip id
// and no date, so a server can file a source's genuine tip again; the copy carries the same packet.

const SEEN_DIR = 'seen';

/** Records that tip `id` carries the signature packet `digest` by `fingerprint`; returns the id of the first tip that did. */
export async function recordSignatureSeen(inboxDir: string, fingerprint: string, digest: string, id: string): Promise<string> {
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new TypeError(`expected a SHA-256 in lower-case hex, got ${JSON.stringify(digest)}`);
  const dir = join(inboxDir, KEY_PINS_DIR, SEEN_DIR, checkFingerprint(fingerprint));
  await makeDir(dir);
  const path = join(dir, `${digest}.json`);
  try {
    await writeWholeNewFile(path, JSON.stringify({ version: 1, tip: id }) + '\n', 'signature record');
    return id;
  } catch (error) {
    const j = await readJson(path, 'signature record');
    if (!j) throw error;
    if (typeof j.tip !== 'string') throw new CliError(`the signature record ${path} is damaged`, { hint: 'restore it from the inbox backup' });
    return j.tip;
  }
}
