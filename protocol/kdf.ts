/**
 * @module protocol/kdf — codename → lookup id (server's handle on the source) and reply-key
 * passphrase. scrypt (RFC 7914) for stretching, HKDF-SHA256 (RFC 5869) to split the two secrets.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { scrypt, scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { normalizeCodename } from './codename.ts';
import { fromHex, toHex, utf8Encode } from './encoding.ts';
import { SCRYPT_PARAMS } from './limits.ts';

export type SourceSecrets = { lookupId: string; keyPassphrase: string };
export type KdfOptions = { onProgress?: (progress: number) => void };

const LOOKUP_INFO = utf8Encode('sealdrop/v1/lookup');
const REPLY_KEY_INFO = utf8Encode('sealdrop/v1/reply-key');

function checkSalt(instanceSalt: string): void {
  if (typeof instanceSalt !== 'string' || instanceSalt === '') {
    throw new TypeError(`expected a non-empty instance salt string, got ${JSON.stringify(instanceSalt)}`);
  }
}

function split(master: Uint8Array): SourceSecrets {
  return {
    lookupId: toHex(hkdf(sha256, master, undefined, LOOKUP_INFO, 32)),
    keyPassphrase: toHex(hkdf(sha256, master, undefined, REPLY_KEY_INFO, 32)),
  };
}

function scryptInputs(codename: string, instanceSalt: string): [Uint8Array, Uint8Array] {
  checkSalt(instanceSalt);
  const normalized = normalizeCodename(codename);
  if (normalized === '') throw new TypeError('expected a codename, got an empty string');
  return [utf8Encode(normalized), utf8Encode('sealdrop/v1/' + instanceSalt)];
}

/** Blocks for the whole scrypt: in a page, run it in a worker or use deriveSourceSecretsAsync. */
export function deriveSourceSecrets(codename: string, instanceSalt: string, options: KdfOptions = {}): SourceSecrets {
  const [password, salt] = scryptInputs(codename, instanceSalt);
  return split(scrypt(password, salt, { ...SCRYPT_PARAMS, onProgress: options.onProgress }));
}

/** Same result; yields to the event loop every few ms so a page stays responsive. */
export async function deriveSourceSecretsAsync(
  codename: string,
  instanceSalt: string,
  options: KdfOptions = {},
): Promise<SourceSecrets> {
  const [password, salt] = scryptInputs(codename, instanceSalt);
  return split(await scryptAsync(password, salt, { ...SCRYPT_PARAMS, onProgress: options.onProgress }));
}

/** hex(SHA-256(lookup id bytes)): the only form of the lookup id the server keeps. */
export function hashLookupId(lookupId: string): string {
  const bytes = fromHex(lookupId);
  if (bytes.length !== 32) throw new TypeError(`expected a 32-byte lookup id (64 hex), got ${bytes.length} bytes`);
  return toHex(sha256(bytes));
}
