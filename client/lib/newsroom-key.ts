/**
 * @module client/lib/newsroom-key — the check a source can make of the key a tip is encrypted to.
 *
 * The fingerprint the page shows is the one the crypto worker computed from the key it encrypts
 * to, grouped by `formatFingerprint` as the newsroom publishes it; the `fingerprint` field of
 * /api/v1/config is never shown. A server whose field names another key (or none) is not the
 * server it claims to be: the page refuses it and sends nothing, not even a lookup.
 */
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import type { ServerConfig } from './api.ts';
import type { CryptoWorker } from './workers.ts';

export class KeyMismatchError extends Error {
  override name = 'KeyMismatchError';
  readonly code = 'key_mismatch';
}

/** The fingerprint to show; rejects with `KeyMismatchError` when the config claims another key. */
export async function checkNewsroomKey(config: ServerConfig, crypto: CryptoWorker): Promise<string> {
  let fingerprint: string;
  try {
    ({ fingerprint } = await crypto.call('newsroom-fingerprint', { newsroomKey: config.newsroomKey }));
  } catch (error) {
    // A key the page cannot read is not the key the server claims either.
    throw new KeyMismatchError(`expected an OpenPGP public key from the server: ${(error as Error).message}`);
  }
  const claimed: unknown = config.fingerprint;
  if (typeof claimed !== 'string' || claimed.toLowerCase() !== fingerprint.toLowerCase()) {
    const got = typeof claimed === 'string' ? claimed.slice(0, 80) : typeof claimed;
    throw new KeyMismatchError(`expected the server to claim the key it serves (${fingerprint}), got ${got}`);
  }
  return formatFingerprint(fingerprint);
}
