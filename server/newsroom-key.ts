/** @module server/newsroom-key — the newsroom public key the server checks submissions against. */
import { readFile } from 'node:fs/promises';
import { readKeys, type PublicKey } from 'openpgp';
import { OpenPgpCheckError } from '../protocol/errors.ts';
import { readNewsroomPublicKey } from '../protocol/openpgp-checks.ts';

/** Fingerprint of keys.example/newsroom.pub.asc, whose secret half is published in the repository. */
export const DEMO_KEY_FINGERPRINT = 'd59550c5a4895ea55787f850ca968b8ec7fc9799';
/** Fingerprints of the demo desk keys keys.example/desk-workers and desk-sanctions (secret halves published too). */
export const DEMO_DESK_KEY_FINGERPRINTS = ['40775fe8df6465e1120ae3f83081484b7dcc05b0', '57724d5ae5cea9051cb7adf0143f01affd872926'];

export interface NewsroomKey {
  key: PublicKey;
  armored: string;
  fingerprint: string;
  /** 16 lower-case hex each: a submission must name one of these as a recipient */
  encryptionKeyIds: string[];
  isDemoKey: boolean;
}

/** The key file is unusable: the server must not start. `code` is the protocol check's code. */
export class NewsroomKeyError extends Error {
  override name = 'NewsroomKeyError';
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export async function loadNewsroomKey(path: string, now: Date): Promise<NewsroomKey> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new NewsroomKeyError('unreadable', `cannot read the newsroom key file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseNewsroomKey(await armoredFrom(bytes, path), now, path);
}

/**
 * The key file as armored text. `gpg --export` without `--armor` writes binary packets: they are
 * read and armored here, so the same checks (a public key only, one key, usable) apply to both.
 */
async function armoredFrom(bytes: Uint8Array, path: string): Promise<string> {
  const text = new TextDecoder().decode(bytes);
  if (text.trimStart().startsWith('-----BEGIN PGP')) return text;
  let keys;
  try {
    keys = await readKeys({ binaryKeys: bytes });
  } catch (error) {
    throw new NewsroomKeyError('not_a_key', `refusing ${path}: expected an OpenPGP public key (armored, or binary as "gpg --export" writes it), got neither: ${(error as Error).message}`, { cause: error });
  }
  if (keys.some((key) => key.isPrivate())) {
    throw new NewsroomKeyError('secret_key_material', `refusing ${path}: expected a public key only, got secret key material (binary): never give the server a secret key`);
  }
  return keys.map((key) => key.armor()).join('\n');
}

/** What to do about a refused key file, by the refusal's code (main.ts prints it as the hint). */
export function newsroomKeyHint(code: string): string {
  switch (code) {
    case 'unreadable':
      return 'check the path in NEWSROOM_KEY_FILE and that the server\'s user may read the file';
    case 'secret_key_material':
      return 'NEWSROOM_KEY_FILE must be the newsroom PUBLIC key (NAME.pub.asc, which sealdrop keygen writes beside NAME.sec.asc); move the secret key off this machine';
    case 'invalid_key':
    case 'no_encryption_key':
      return 'the key is expired, revoked or cannot encrypt: extend it on the offline machine, or make a new one (sealdrop keygen) and follow the key rotation in docs/OPERATIONS.md';
    case 'not_one_key':
      return 'NEWSROOM_KEY_FILE must hold exactly one public key: export just the newsroom key (gpg --armor --export FINGERPRINT)';
    default:
      return 'NEWSROOM_KEY_FILE must hold the newsroom public key, armored (NAME.pub.asc from sealdrop keygen) or binary (gpg --export FINGERPRINT)';
  }
}

export async function parseNewsroomKey(armored: string, now: Date, path = 'the newsroom key'): Promise<NewsroomKey> {
  try {
    const { key, fingerprint, encryptionKeyIds } = await readNewsroomPublicKey(armored, now);
    return {
      key,
      armored: key.armor(),
      fingerprint: fingerprint.toLowerCase(),
      encryptionKeyIds,
      isDemoKey: fingerprint.toLowerCase() === DEMO_KEY_FINGERPRINT || DEMO_DESK_KEY_FINGERPRINTS.includes(fingerprint.toLowerCase()),
    };
  } catch (error) {
    if (error instanceof OpenPgpCheckError) {
      throw new NewsroomKeyError(error.code, `refusing ${path}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** The loud warning main.ts prints when the demo key is configured. */
export const DEMO_KEY_WARNING = [
  '!!! WARNING: the newsroom key is the DEMO key from keys.example/ !!!',
  '!!! Its secret half is public: anyone can read every submission.   !!!',
  '!!! Make a real key (`sealdrop keygen`) and set NEWSROOM_KEY_FILE. !!!',
].join('\n');
