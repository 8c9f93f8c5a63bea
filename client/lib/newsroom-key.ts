/**
 * @module client/lib/newsroom-key — the check a source can make of the key a tip is encrypted to.
 *
 * The fingerprint the page shows is the one the crypto worker computed from the key it encrypts
 * to, grouped by `formatFingerprint` as the newsroom publishes it; the `fingerprint` fields of
 * /api/v1/config are never shown. A server whose field names another key (or none) is not the
 * server it claims to be: the page refuses it and sends nothing, not even a lookup. With desks,
 * every desk's key is checked so, before any can be chosen.
 */
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import type { ServerConfig } from './api.ts';
import type { Desk } from './instance.ts';
import type { CryptoWorker } from './workers.ts';

export class KeyMismatchError extends Error {
  override name = 'KeyMismatchError';
  readonly code = 'key_mismatch';
}

/** A desk whose key the page read itself, and the fingerprint it shows for it. */
export type CheckedDesk = Desk & { shownFingerprint: string };

/** The fingerprint to show; rejects with `KeyMismatchError` when the config claims another key. */
export async function checkNewsroomKey(config: ServerConfig, crypto: CryptoWorker): Promise<string> {
  return checkKey(config.newsroomKey, config.fingerprint, crypto);
}

/** Every desk, each with the fingerprint computed from its own key; `KeyMismatchError` if any claim lies. */
export async function checkDeskKeys(desks: Desk[], crypto: CryptoWorker): Promise<CheckedDesk[]> {
  return Promise.all(desks.map(async (desk) => ({ ...desk, shownFingerprint: await checkKey(desk.newsroomKey, desk.fingerprint, crypto) })));
}

async function checkKey(armored: string, claimed: unknown, crypto: CryptoWorker): Promise<string> {
  let fingerprint: string;
  try {
    ({ fingerprint } = await crypto.call('newsroom-fingerprint', { newsroomKey: armored }));
  } catch (error) {
    // A key the page cannot read is not the key the server claims either.
    throw new KeyMismatchError(`expected an OpenPGP public key from the server: ${(error as Error).message}`);
  }
  if (typeof claimed !== 'string' || claimed.toLowerCase() !== fingerprint.toLowerCase()) {
    const got = typeof claimed === 'string' ? claimed.slice(0, 80) : typeof claimed;
    throw new KeyMismatchError(`expected the server to claim the key it serves (${fingerprint}), got ${got}`);
  }
  return formatFingerprint(fingerprint);
}
