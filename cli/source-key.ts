/** @module cli/source-key — the source's public key from a bundle, held to the protocol's rules. */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { encryptionKeyIds, SOURCE_KEY_DATE, SOURCE_KEY_USER_ID } from '../protocol/index.ts';
import { isValidHandle, type Bundle } from './bundle.ts';
import { CliError } from './errors.ts';
import { fileError } from './files.ts';

export interface SourcePublicKey {
  handle: string;
  key: openpgp.PublicKey;
  fingerprint: string;
  encryptionKeyIds: string[];
}

/**
 * The public half of protocol's checkSourceKeys (the bundle carries no locked private key):
 * one public key, no secret material, the fixed creation date on every (sub)key, the single generic
 * user id, and a usable encryption subkey. Anything else is not a key a source's browser made.
 */
export async function checkSourcePublicKey(armored: string, now: Date = new Date()): Promise<{ key: openpgp.PublicKey; fingerprint: string; encryptionKeyIds: string[] }> {
  if (armored.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) throw new Error('it holds secret key material');
  let keys: openpgp.Key[];
  try {
    keys = await openpgp.readKeys({ armoredKeys: armored });
  } catch (error) {
    throw new Error(`it is not an armored OpenPGP public key (${error instanceof Error ? error.message : String(error)})`);
  }
  if (keys.length !== 1) throw new Error(`expected one key, got ${keys.length}`);
  const key = keys[0]!;
  if (key.isPrivate()) throw new Error('it holds secret key material');
  for (const k of [key, ...key.subkeys]) {
    if (k.getCreationTime().getTime() !== SOURCE_KEY_DATE.getTime()) {
      throw new Error(`expected creation date ${SOURCE_KEY_DATE.toISOString()}, got ${k.getCreationTime().toISOString()}`);
    }
  }
  const userIds = key.getUserIDs();
  if (userIds.length !== 1 || userIds[0] !== SOURCE_KEY_USER_ID.name) {
    throw new Error(`expected the single user id ${JSON.stringify(SOURCE_KEY_USER_ID.name)}, got ${JSON.stringify(userIds)}`);
  }
  const ids = await encryptionKeyIds(key, now);
  if (ids.length === 0) throw new Error('it has no usable encryption subkey');
  return { key: key as openpgp.PublicKey, fingerprint: key.getFingerprint(), encryptionKeyIds: ids };
}

/** Reads `BUNDLE/sources/HANDLE.asc` and checks it. */
export async function readSourcePublicKey(bundle: Bundle, handle: string): Promise<SourcePublicKey> {
  if (!isValidHandle(handle)) {
    throw new CliError(`${JSON.stringify(handle)} is not a source handle`, {
      hint: 'handles are lower-case words joined by "-", as in the decrypt summary (e.g. quiet-otter)',
    });
  }
  const path = join(bundle.dir, 'sources', `${handle}.asc`);
  let armored: string;
  try {
    armored = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      const known = bundle.sources.map((s) => s.handle);
      throw new CliError(`the bundle has no key for the source ${handle}`, {
        hint: known.length > 0
          ? `this bundle has keys for: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}`
          : 'use the bundle in which this source\'s submission arrived',
        cause: error,
      });
    }
    throw fileError(error, path, 'source key file');
  }
  try {
    return { handle, ...(await checkSourcePublicKey(armored)) };
  } catch (error) {
    throw new CliError(`refusing the key of source ${handle}: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'a source key is made by the source\'s browser; this one was not, so the bundle may have been tampered with — pull it again',
      cause: error,
    });
  }
}
