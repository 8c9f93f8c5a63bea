/**
 * @module test/e2e/newsroom — the newsroom's side of a browser story, done as the CLI would: find
 * the source a codename belongs to, then read a submission's ciphertext from the database and open
 * it with the demo key (or hand the ciphertext to GnuPG).
 */
import { readFileSync } from 'node:fs';
import { asc, eq } from 'drizzle-orm';
import * as openpgp from 'openpgp';
import { parseEnvelope, type Envelope } from '../../protocol/envelope.ts';
import { deriveSourceSecrets, hashLookupId } from '../../protocol/kdf.ts';
import type { Db } from '../../server/db/open.ts';
import { chunks, instance, sources, submissions } from '../../server/db/schema.ts';

const ROOT = new URL('../../', import.meta.url);
const DEMO_SECRET_KEY = readFileSync(new URL('keys.example/newsroom.sec.asc', ROOT), 'utf8');
const DEMO_PASSPHRASE = 'demo-never-use';

/** The one submission of the source this codename belongs to, decrypted and parsed. */
export async function newsroomOpensTipOf(db: Db, codename: string): Promise<{ ciphertext: Buffer; envelope: Envelope }> {
  const ciphertext = await storedCiphertextOf(db, codename);
  const key = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: DEMO_SECRET_KEY }), passphrase: DEMO_PASSPHRASE });
  const { data } = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: ciphertext }), decryptionKeys: key, format: 'binary' });
  return { ciphertext, envelope: await parseEnvelope(data as Uint8Array) };
}

/** The source's public key as the server keeps it (a first tip is signed with it). */
export async function storedSourceKeyOf(db: Db, codename: string): Promise<string> {
  return (await storedSourceOf(db, codename)).publicKey;
}

/** The source row this codename belongs to. */
export async function storedSourceOf(db: Db, codename: string): Promise<typeof sources.$inferSelect> {
  const [{ instanceSalt }] = (await db.select().from(instance)) as unknown as [{ instanceSalt: string }];
  const { lookupId } = deriveSourceSecrets(codename, instanceSalt);
  const [source] = await db.select().from(sources).where(eq(sources.lookupHash, hashLookupId(lookupId)));
  if (!source) throw new Error('no source row for the codename shown');
  return source;
}

/** The ciphertext the server keeps of the one received submission of the source this codename belongs to. */
export async function storedCiphertextOf(db: Db, codename: string): Promise<Buffer> {
  const [{ instanceSalt }] = (await db.select().from(instance)) as unknown as [{ instanceSalt: string }];
  const { lookupId } = deriveSourceSecrets(codename, instanceSalt);
  const [source] = await db.select().from(sources).where(eq(sources.lookupHash, hashLookupId(lookupId)));
  if (!source) throw new Error('no source row for the codename shown');
  const found = await db.select().from(submissions).where(eq(submissions.sourceId, source.id));
  if (found.length !== 1 || found[0]!.status !== 'received') throw new Error(`expected one received submission, found ${found.length}`);
  const rows = await db.select().from(chunks).where(eq(chunks.submissionId, found[0]!.id)).orderBy(asc(chunks.idx));
  return Buffer.concat(rows.map((r) => r.data));
}
