/** @module server/newsroom-key — the newsroom public key the server checks submissions against. */
import { readFile } from 'node:fs/promises';
import type { PublicKey } from 'openpgp';
import { OpenPgpCheckError } from '../protocol/errors.ts';
import { readNewsroomPublicKey } from '../protocol/openpgp-checks.ts';

/** Fingerprint of keys.example/newsroom.pub.asc, whose secret half is published in the repository. */
export const DEMO_KEY_FINGERPRINT = 'd59550c5a4895ea55787f850ca968b8ec7fc9799';

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
  let armored: string;
  try {
    armored = await readFile(path, 'utf8');
  } catch (error) {
    throw new NewsroomKeyError('unreadable', `cannot read the newsroom key file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseNewsroomKey(armored, now, path);
}

export async function parseNewsroomKey(armored: string, now: Date, path = 'the newsroom key'): Promise<NewsroomKey> {
  try {
    const { key, fingerprint, encryptionKeyIds } = await readNewsroomPublicKey(armored, now);
    return {
      key,
      armored: key.armor(),
      fingerprint: fingerprint.toLowerCase(),
      encryptionKeyIds,
      isDemoKey: fingerprint.toLowerCase() === DEMO_KEY_FINGERPRINT,
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
