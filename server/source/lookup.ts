/**
 * @module server/source/lookup — what a returning source may see, and deleting a reply.
 *
 * Sources are found by SHA-256 of their lookup id, through a unique index. That is a comparison of
 * hashes, not of the secret: timing can at most reveal how much of a *hash* matched, and choosing
 * inputs whose hashes share a prefix with an unknown stored hash gives nothing towards the 256-bit
 * lookup id behind it. So no constant-time comparison is needed here (and none could be, in an index).
 */
import { armor, enums } from 'openpgp';
import { and, asc, eq, ne } from 'drizzle-orm';
import { hashLookupId } from '../../protocol/kdf.ts';
import type { Db } from '../db/open.ts';
import { replies, sources, submissions } from '../db/schema.ts';
import { refuse } from './errors.ts';

export interface LookupResult {
  publicKey: string;
  lockedPrivateKey: string;
  submissions: Array<{ id: string; day: string; status: 'received' | 'downloaded'; size: number }>;
  /** `desk`: the desk that wrote it, whose key signed it (the page verifies with that key) */
  replies: Array<{ id: string; day: string; message: string; desk: string }>;
}

async function findSource(db: Db, lookupId: string) {
  const [source] = await db.select().from(sources).where(eq(sources.lookupHash, hashLookupId(lookupId)));
  if (!source) return refuse(404, 'unknown_codename', 'No source has this codename.');
  return source;
}

export async function lookupSource(db: Db, lookupId: string): Promise<LookupResult> {
  const source = await findSource(db, lookupId);
  const subs = await db
    .select({ id: submissions.id, day: submissions.receivedDay, status: submissions.status, size: submissions.size })
    .from(submissions)
    .where(and(eq(submissions.sourceId, source.id), ne(submissions.status, 'uploading')))
    .orderBy(asc(submissions.receivedDay), asc(submissions.daySeq), asc(submissions.id));
  const rows = await db
    .select({ id: replies.id, day: replies.createdDay, message: replies.message, desk: replies.desk })
    .from(replies)
    .where(eq(replies.sourceId, source.id))
    .orderBy(asc(replies.createdDay), asc(replies.daySeq), asc(replies.id));
  return {
    publicKey: source.publicKey,
    lockedPrivateKey: source.lockedPrivateKey,
    submissions: subs.map((s) => ({
      id: s.id,
      day: s.day!,
      status: s.status as 'received' | 'downloaded',
      size: s.size,
    })),
    replies: rows.map((r) => ({ id: r.id, day: r.day, message: armor(enums.armor.message, r.message), desk: r.desk })),
  };
}

/** Deletes the row itself (not a flag): a deleted reply is gone from the database. */
export async function deleteReply(db: Db, lookupId: string, replyId: string): Promise<void> {
  const source = await findSource(db, lookupId);
  const deleted = await db
    .delete(replies)
    .where(and(eq(replies.id, replyId), eq(replies.sourceId, source.id)))
    .returning({ id: replies.id });
  if (deleted.length === 0) refuse(404, 'unknown_reply', 'No such reply.');
}
