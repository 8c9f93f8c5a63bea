/**
 * @module cli/key-pins — the source keys the offline machine trusts to answer: one pin per handle,
 * `<inbox>/keys/<handle>.json`, made by `sealdrop decrypt` when a tip's envelope names the same key
 * as the bundle carries for its source (PROTOCOL.md, "Envelope"), read by `sealdrop reply`, which
 * encrypts to no other key. A server that swaps a source's key in a bundle is then caught, not
 * answered.
 *
 * API: `readKeyPin(inbox, handle)` → the pin or undefined; `pinSourceKey(inbox, handle, key)` →
 * 'pinned' | 'already' (throws KeyPinConflictError when the handle is pinned to another key);
 * `KEY_PINS_DIR`. A pin is written once (O_EXCL, then link(2) into place, mode 0600 in 0700
 * folders) and never replaced by sealdrop.
 *
 * File: `{"version":1,"handle":"<handle>","fingerprint":"<lower-case hex>","publicKey":"<armored>"}`.
 */

import { link, mkdir, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { checkSourcePublicKey } from '../protocol/index.ts';
import { formatFingerprint } from '../protocol/fingerprint.ts';
import { isValidHandle } from './bundle.ts';
import { CliError } from './errors.ts';
import { fileError, writeNewFile } from './files.ts';
import type { SourcePublicKey } from './source-key.ts';

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
      hint: `a source's key never changes: the server may have put another source's tip under ${handle}; the pin ${path} stays as it is`,
    });
    this.name = 'KeyPinConflictError';
  }
}

function pinPath(inboxDir: string, handle: string): string {
  if (!isValidHandle(handle)) {
    throw new CliError(`${JSON.stringify(handle)} is not a source handle`, {
      hint: 'handles are lower-case words joined by "-", as in the decrypt summary (e.g. quiet-otter)',
    });
  }
  return join(inboxDir, KEY_PINS_DIR, `${handle}.json`);
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
