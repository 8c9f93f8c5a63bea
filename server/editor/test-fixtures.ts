/**
 * @module test fixtures for the editor API: a source with real reply keys and a real submission
 * encrypted to the demo newsroom key, written straight into a test database (the upload path
 * itself is exercised by the source API's tests and test/cli/online-loop.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decryptKey, readKey, readPrivateKey, type Key, type PrivateKey, type PublicKey } from 'openpgp';
import {
  encryptToKeys, generateSourceKeys, hashLookupId, readNewsroomPublicKey, sealReply, type NewsroomKey, type SealedReply,
} from '../../protocol/index.ts';
import type { Db } from '../db/open.ts';
import { chunks, sources, submissions } from '../db/schema.ts';

export const DEMO_PUBLIC_KEY_FILE = new URL('../../keys.example/newsroom.pub.asc', import.meta.url);
export const DEMO_SECRET_KEY_FILE = new URL('../../keys.example/newsroom.sec.asc', import.meta.url);
export const DEMO_PASSPHRASE = 'demo-never-use';

export async function readDemoNewsroomKey(): Promise<NewsroomKey> {
  return readNewsroomPublicKey(readFileSync(DEMO_PUBLIC_KEY_FILE, 'utf8'));
}

let demoSecretKey: Promise<PrivateKey> | undefined;

/** The demo newsroom secret key, unlocked (its passphrase is published with it). */
export function readDemoSecretKey(): Promise<PrivateKey> {
  demoSecretKey ??= readPrivateKey({ armoredKey: readFileSync(DEMO_SECRET_KEY_FILE, 'utf8') }).then((privateKey) =>
    decryptKey({ privateKey, passphrase: DEMO_PASSPHRASE }),
  );
  return demoSecretKey;
}

/** A reply as `sealdrop reply` makes it with the demo newsroom key: signed, padded, encrypted to the source and the newsroom. */
export async function sealDemoReply(text: string, sourceKey: Key): Promise<SealedReply> {
  return sealReply(new TextEncoder().encode(text), sourceKey as PublicKey, await readDemoSecretKey());
}

export interface FixtureSource {
  id: string;
  handle: string;
  lookupId: string;
  keyPassphrase: string;
  publicKey: string;
  lockedPrivateKey: string;
  key: Key;
}

export async function insertSource(db: Db, newsroom: NewsroomKey, handle: string, day: string): Promise<FixtureSource> {
  const lookupId = randomBytes(32).toString('hex');
  const keyPassphrase = randomBytes(32).toString('hex');
  const keys = await generateSourceKeys(keyPassphrase, newsroom.key);
  const [row] = await db
    .insert(sources)
    .values({ lookupHash: hashLookupId(lookupId), handle, publicKey: keys.publicKey, lockedPrivateKey: keys.lockedPrivateKey, createdDay: day })
    .returning({ id: sources.id });
  return { id: row!.id, handle, lookupId, keyPassphrase, ...keys, key: await readKey({ armoredKey: keys.publicKey }) };
}

export interface FixtureSubmission {
  id: string;
  ciphertext: Uint8Array;
  sha256: string;
}

/** Encrypts `plaintext` to the newsroom key (or the desk's: pass its key as `newsroom`) and stores it as a received submission in chunks of `chunkSize`. */
export async function insertSubmission(
  db: Db,
  newsroom: NewsroomKey,
  source: FixtureSource,
  plaintext: Uint8Array,
  options: { day: string; chunkSize: number; status?: 'received' | 'downloaded' | 'uploading'; desk?: string },
): Promise<FixtureSubmission> {
  const ciphertext = await encryptToKeys(plaintext, [newsroom.key]);
  const count = Math.ceil(ciphertext.byteLength / options.chunkSize);
  const sha256 = createHash('sha256').update(ciphertext).digest('hex');
  const [row] = await db
    .insert(submissions)
    .values({
      sourceId: source.id,
      status: options.status ?? 'received',
      size: ciphertext.byteLength,
      chunkSize: options.chunkSize,
      chunks: count,
      sha256,
      createdDay: options.day,
      receivedDay: options.status === 'uploading' ? null : options.day,
      ...(options.desk ? { desk: options.desk } : {}),
    })
    .returning({ id: submissions.id });
  for (let idx = 0; idx < count; idx++) {
    await db.insert(chunks).values({
      submissionId: row!.id,
      idx,
      data: ciphertext.subarray(idx * options.chunkSize, (idx + 1) * options.chunkSize),
    });
  }
  return { id: row!.id, ciphertext, sha256 };
}
