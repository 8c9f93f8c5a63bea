/** @module cli/source-key — the source's public key from a bundle, held to the protocol's rules. */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkSourcePublicKey, type SourcePublicKeyInfo } from '../protocol/openpgp-checks.ts';
import { isValidHandle, type Bundle } from './bundle.ts';
import { CliError } from './errors.ts';
import { fileError } from './files.ts';

/**
 * A source's public key from a bundle, checked by protocol's checkSourcePublicKey (the public half of
 * checkSourceKeys: bundles carry no locked private key).
 */
export interface SourcePublicKey extends SourcePublicKeyInfo {
  handle: string;
  /** The key as the bundle carries it (armored), for a pin (cli/key-pins.ts). */
  armored: string;
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
    return { handle, armored, ...(await checkSourcePublicKey(armored)) };
  } catch (error) {
    throw new CliError(`refusing the key of source ${handle}: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'a source key is made by the source\'s browser; this one was not, so the bundle may have been tampered with — pull it again',
      cause: error,
    });
  }
}
