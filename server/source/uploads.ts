/**
 * @module server/source/uploads — opening an upload, storing its chunks, completing it.
 * Every refusal leaves the database as it was, except a failed completion check, which deletes
 * the whole upload (the contract: "422 and nothing kept").
 */
import { createHash, randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
import { hashLookupId } from '../../protocol/kdf.ts';
import { MAX_CHUNK_BYTES, MAX_CHUNKS, MAX_CIPHERTEXT_BYTES, MIN_CHUNK_BYTES } from '../../protocol/limits.ts';
import { dayOf } from '../clock.ts';
import { joined, lengthOf, piecesOf, receivedChunks, streamCiphertext, writeChunk, type ChunkBytes } from '../db/chunks.ts';
import { isDatabaseUnavailable, isForeignKeyViolation, isUniqueViolation } from '../db/errors.ts';
import { rowsOf, type Db } from '../db/open.ts';
import { submissions } from '../db/schema.ts';
import { refuse } from './errors.ts';
import { randomHandle } from './handles.ts';
import { KeyCheckBusyError, KeyCheckTimeoutError, type KeyCheck } from './key-check-pool.ts';
import type { KeyCheckTokens } from './key-check-tokens.ts';
import { checkCiphertext } from './message-check.ts';
import { heldAtOpen, isTextTip, probeHoldOf, promoteProbe, RESERVATIONS_FULL_MESSAGE, reserveUpload, sourceBusyMessage, SOURCE_QUOTA_MESSAGE, sourceUnsentMessage, STORAGE_FULL_MESSAGE, type OpenLimits, type StorageWatch } from './open-limits.ts';
import { secondsUntilSwept, type Codename } from './busy-uploads.ts';
import { powPrice, verifyPow } from './pow.ts';
import { anyKeyIds, findDesk, type Desk } from '../desks.ts';
import type { PowLoad } from './pow-load.ts';


export interface UploadDeps {
  db: Db;
  serverSecret: Uint8Array;
  /** the base difficulty (0: proof of work off) */
  powDifficulty: number;
  /** the adaptive part of the price, shared through the database */
  powLoad: PowLoad;
  openLimits: OpenLimits;
  storage: StorageWatch;
  /** the instance's desks (server/desks.ts): a tip is addressed to the chosen one's key, and no other's */
  desks: readonly Desk[];
  /** protocol's checkSourceKeys, here or in a worker (server/source/key-check-pool.ts) */
  keyCheck: KeyCheck;
  /** the tokens that already bought a key check in this process */
  keyCheckTokens: KeyCheckTokens;
  now: Date;
  /** called each time a completion check starts reading an upload back (tests and the bench count them) */
  onCompletionCheck?: () => void;
  /** bytes of an upload's bodies this process is reading and has not yet reported (chunk-gate.ts `unreported`) */
  unreportedFlow?: (submissionId: string) => number;
}

export interface OpenUploadRequest {
  pow: { token: string; nonce: string };
  lookupId: string;
  sourceKeys?: { publicKey: string; lockedPrivateKey: string } | undefined;
  size: number;
  chunkSize: number;
  chunks: number;
  /** absent: the page streams; every chunk carries its own SHA-256, the last one the SHA-256 of those (`digests`) */
  sha256?: string | undefined;
  /** the desk's id (server/desks.ts); may be left out when the instance has exactly one */
  desk?: string | undefined;
}

/**
 * The sha256 column of an upload opened without the whole ciphertext's SHA-256 (a streaming
 * page), until its last chunk brings `digests`; then DIGESTS_PREFIX and that value, until the
 * completion stores the SHA-256 it computed. A value without the prefix is the whole
 * ciphertext's SHA-256, announced at the open.
 */
export const DIGESTS_WITH_LAST_CHUNK = '';
export const DIGESTS_PREFIX = 'digests:';
const inDigestMode = (row: Pick<SubmissionRow, 'sha256'>) => row.sha256 === DIGESTS_WITH_LAST_CHUNK || row.sha256.startsWith(DIGESTS_PREFIX);

/** What a chunk's URL may carry (PROTOCOL.md, "Upload protocol" step 4): each 64 lower-case hex digits. */
export type ChunkQuery = { sha256?: string | undefined; digests?: string | undefined };

// The upload id is the submission's uuid as 22 base64url characters: 122 random bits, the
// capability to add chunks. It only works while the upload is open (and answers "complete" after).
export function uploadIdOf(submissionId: string): string {
  return Buffer.from(submissionId.replaceAll('-', ''), 'hex').toString('base64url');
}

export function submissionIdOf(uploadId: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{22}$/.test(uploadId)) return undefined;
  const bytes = Buffer.from(uploadId, 'base64url');
  if (bytes.length !== 16 || bytes.toString('base64url') !== uploadId) return undefined;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function checkUploadShape(size: number, chunkSize: number, chunks: number): void {
  if (size < 1 || size > MAX_CIPHERTEXT_BYTES) {
    refuse(413, 'too_large', `The ciphertext must be 1 to ${MAX_CIPHERTEXT_BYTES} bytes.`);
  }
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_BYTES) refuse(400, 'bad_chunk_size', `chunkSize must be 1 to ${MAX_CHUNK_BYTES} bytes.`);
  if (chunks < 1 || chunks > MAX_CHUNKS) refuse(400, 'bad_chunk_count', `chunks must be 1 to ${MAX_CHUNKS}.`);
  if (chunks !== Math.ceil(size / chunkSize)) refuse(400, 'bad_chunk_count', 'chunks must equal ceil(size / chunkSize).');
  if (chunks > 1 && chunkSize < MIN_CHUNK_BYTES) {
    refuse(400, 'bad_chunk_size', `chunkSize must be at least ${MIN_CHUNK_BYTES} bytes when there are several chunks.`);
  }
}

export async function openUpload(deps: UploadDeps, request: OpenUploadRequest): Promise<{ uploadId: string }> {
  const { db, now } = deps;
  // cheapest checks first: a flood of junk costs one HMAC each and touches no table
  const price = await powPrice(deps.powDifficulty, deps.powLoad, request.size, now);
  const pow = await verifyPow(deps.serverSecret, price.difficulty, now, request.pow.token, request.pow.nonce);
  checkUploadShape(request.size, request.chunkSize, request.chunks);
  const desk = chosenDesk(deps.desks, request.desk);
  // a full server refuses before the dearer steps
  const held = heldAtOpen(deps.openLimits, request.size, request.chunks);
  const storageRoom = await deps.storage.check(held, now, isTextTip(request.size, request.chunks));
  const lookupHash = hashLookupId(request.lookupId);
  const returning = !request.sourceKeys;
  if (request.sourceKeys) {
    // The key check is the dearest step of an open: one solved token buys one per process.
    if (!deps.keyCheckTokens.claim(pow.idHash, pow.expiresAt, now.getTime())) {
      refuse(409, 'pow_spent', 'This proof-of-work token was already used; ask for a new one.');
    }
    try {
      await deps.keyCheck(request.sourceKeys, now);
    } catch (error) {
      if (error instanceof OpenPgpCheckError) refuse(400, 'bad_source_keys', `The reply keys were refused: ${error.message}`);
      if (error instanceof KeyCheckBusyError) refuse(503, 'busy', 'Too many first submissions at once; try again in a moment.');
      if (error instanceof KeyCheckTimeoutError) {
        refuse(503, 'key_check_timeout', 'The reply keys could not be checked in time; try again in a moment.');
      }
      throw error;
    }
  }
  const id = randomUUID();
  const { outcome, displaced } = await reserveUpload(db, deps.openLimits, {
    id,
    lookupHash,
    returning,
    pow,
    size: request.size,
    chunkSize: request.chunkSize,
    chunks: request.chunks,
    sha256: request.sha256 ?? DIGESTS_WITH_LAST_CHUNK,
    sourceKeys: request.sourceKeys,
    day: dayOf(now),
    desk: desk.id,
    now,
  }, storageRoom);
  if (outcome === 'unknown_codename') refuse(404, 'unknown_codename', 'No source has this codename.');
  if (outcome === 'codename_taken') refuse(409, 'codename_taken', 'This codename is already in use; start again with a new one.');
  if (outcome === 'source_quota') refuse(429, 'source_quota', SOURCE_QUOTA_MESSAGE);
  if (outcome === 'source_busy') await refuseBusy(deps, { lookupHash }, request.size, null);
  if (outcome === 'source_unsent') refuse(429, 'source_unsent', sourceUnsentMessage(deps.openLimits.reserveSmallMax));
  if (outcome === 'quota_full') refuse(507, 'quota_full', STORAGE_FULL_MESSAGE);
  if (outcome === 'storage_full') refuse(507, 'storage_full', STORAGE_FULL_MESSAGE);
  if (outcome === 'reservations_full') {
    // a refusal of a full pool counts toward the adaptive price as an open (the token it showed,
    // unspent, may be shown again): re-opening into a full pool is what holds it (OPERATIONS.md rule 4)
    deps.powLoad.noteOpen(pow.difficulty - price.unflooded, now);
    refuse(507, 'reservations_full', RESERVATIONS_FULL_MESSAGE);
  }
  if (outcome === 'pow_spent') refuse(409, 'pow_spent', 'This proof-of-work token was already used; ask for a new one.');
  deps.powLoad.noteOpen(pow.difficulty - price.unflooded, now);
  // each claim displaced counts as one open at the unflooded price: a reservation that did not hold
  // was an open that bought nothing but time in the pool
  for (let i = 0; i < displaced; i++) deps.powLoad.noteOpen(0, now);
  deps.storage.noteOpened(held);
  return { uploadId: uploadIdOf(id) };
}

type SubmissionRow = typeof submissions.$inferSelect;

/** The desk an open names: any of them, or none when there is only one; refused otherwise (before any table is touched). */
function chosenDesk(desks: readonly Desk[], id: string | undefined): Desk {
  if (id === undefined) {
    if (desks.length === 1) return desks[0]!;
    return refuse(422, 'unknown_desk', `This newsroom has ${desks.length} desks: name one (desk: ${desks.map((d) => d.id).join(', ')}).`);
  }
  return findDesk(desks, id) ?? refuse(422, 'unknown_desk', `No such desk: choose one of ${desks.map((d) => d.id).join(', ')}.`);
}

async function findUpload(db: Db, uploadId: string): Promise<SubmissionRow> {
  const id = submissionIdOf(uploadId);
  if (!id) return refuse(404, 'unknown_upload', 'No such upload (it may have expired).');
  const [row] = await db.select().from(submissions).where(eq(submissions.id, id));
  if (!row) return refuse(404, 'unknown_upload', 'No such upload (it may have expired).');
  return row;
}

/** The exact byte length chunk `idx` must have. */
export function expectedChunkLength(row: Pick<SubmissionRow, 'size' | 'chunkSize' | 'chunks'>, idx: number): number {
  return idx < row.chunks - 1 ? row.chunkSize : row.size - row.chunkSize * (row.chunks - 1);
}

export type UploadStatus =
  | { received: number[]; chunks: number; complete: false }
  | { received: number[]; chunks: number; complete: true; submissionId: string };

export async function uploadStatus(db: Db, uploadId: string): Promise<UploadStatus> {
  const row = await findUpload(db, uploadId);
  const received = await receivedChunks(db, row.id);
  if (row.status === 'uploading') return { received, chunks: row.chunks, complete: false };
  return { received, chunks: row.chunks, complete: true, submissionId: row.id };
}

export type ChunkResult = { received: number[]; complete: false } | { complete: true; submissionId: string };

/** Validates the chunk's place before its body is read: returns the byte length it must have. */
export async function prepareChunk(db: Db, uploadId: string, idx: number): Promise<{ row: SubmissionRow; length: number }> {
  const row = await findUpload(db, uploadId);
  if (!Number.isSafeInteger(idx) || idx < 0 || idx >= row.chunks) {
    refuse(400, 'bad_chunk_index', `The chunk index must be 0 to ${row.chunks - 1}.`);
  }
  return { row, length: expectedChunkLength(row, idx) };
}

/**
 * Stores a chunk, then answers from what is committed: the chunks received, or the completion
 * once every chunk is in. `stored` is called as soon as the chunk's row is committed (the gate
 * stops counting its body then, while the request may still wait for the completion check).
 */
export async function putChunk(
  deps: UploadDeps,
  row: SubmissionRow,
  idx: number,
  bytes: ChunkBytes,
  stored: () => void = () => {},
  query: ChunkQuery = {},
): Promise<ChunkResult> {
  const { db } = deps;
  if (lengthOf(bytes) !== expectedChunkLength(row, idx)) {
    refuse(400, 'wrong_chunk_size', `Chunk ${idx} must be exactly ${expectedChunkLength(row, idx)} bytes.`);
  }
  // (a completed upload answers "complete" to any copy of its chunks: an answer may have been lost)
  if (row.status === 'uploading' && inDigestMode(row) && query.sha256 === undefined) {
    refuse(400, 'missing_sha256', `Chunk ${idx} of this upload must carry its own SHA-256 (?sha256=).`);
  }
  if (query.sha256 !== undefined) {
    // the pieces as the body brought them, hashed where they lie (no copy)
    const hash = createHash('sha256');
    for (const piece of piecesOf(bytes)) hash.update(piece);
    if (hash.digest('hex') !== query.sha256) refuse(400, 'bad_chunk_hash', `Chunk ${idx} does not have the SHA-256 it carries.`);
  }
  if (query.digests !== undefined || (idx === row.chunks - 1 && row.status === 'uploading' && inDigestMode(row))) {
    row = await declareDigests(db, row, idx, query.digests);
  }
  // a one-chunk upload (every text tip) is checked from memory before anything is stored, then
  // stored and marked received in one transaction; one larger than a text tip (a photo sent as one
  // chunk) is a probe: its body in hand must first earn its room as a stored chunk would (promote)
  if (row.status === 'uploading' && row.chunks === 1) {
    if (row.probe) await promote(deps, row, lengthOf(bytes));
    return completeUpload(deps, row, bytes);
  }
  let outcome: Awaited<ReturnType<typeof writeChunk>>;
  try {
    outcome = await writeChunk(db, row.id, idx, bytes);
  } catch (error) {
    // the upload was deleted (purged, or its completion check failed) between read and write
    if (isForeignKeyViolation(error)) return refuse(404, 'unknown_upload', 'No such upload (it may have expired).');
    throw error;
  }
  stored();
  if (outcome === 'gone') return refuse(404, 'unknown_upload', 'No such upload (it may have expired).');
  if (outcome === 'different') refuse(409, 'chunk_conflict', `Chunk ${idx} was already received with other bytes.`);
  if (row.status !== 'uploading') return { complete: true, submissionId: row.id };
  // an upload (but a text tip) earns its size's room by its first bytes (open-limits.ts promoteProbe),
  // before it can complete; a copy of a chunk asks again (the function promotes once)
  if (row.probe) await promote(deps, row);
  const received = await receivedChunks(db, row.id);
  if (received.length < row.chunks) return { received, complete: false };
  return completeOnce(deps, row);
}

/**
 * A probe's chunk is stored (or a one-chunk probe's body is in hand: `pending`): once its stored octets reach the proof, the rest of its size must fit
 * every bound as an open of it would now, and its codename's day; if not, the upload was deleted and
 * the chunk gets the open's refusal (429 source_quota, 507 quota_full, storage_full or reservations_full), which the page shows as it
 * does an open's. Claims it displaced count toward the adaptive price as an open's do.
 */
async function promote(deps: UploadDeps, row: SubmissionRow, pending = 0): Promise<void> {
  const { now } = deps;
  const { outcome, displaced } = await promoteProbe(deps.db, deps.openLimits, row.id, dayOf(now), now, await deps.storage.room(now), pending);
  for (let i = 0; i < displaced; i++) deps.powLoad.noteOpen(0, now);
  if (outcome === 'gone') refuse(404, 'unknown_upload', 'No such upload (it may have expired).');
  if (outcome === 'source_quota') refuse(429, 'source_quota', SOURCE_QUOTA_MESSAGE);
  if (outcome === 'source_busy') await refuseBusy(deps, { sourceId: row.sourceId, lookupHash: row.pendingLookupHash }, row.size, row.id);
  if (outcome === 'quota_full') refuse(507, 'quota_full', STORAGE_FULL_MESSAGE);
  if (outcome === 'storage_full') refuse(507, 'storage_full', STORAGE_FULL_MESSAGE);
  if (outcome === 'reservations_full') refuse(507, 'reservations_full', RESERVATIONS_FULL_MESSAGE);
}

/**
 * 429 source_busy (migrations/0021_source_busy.sql): the codename's own uploads in progress alone
 * kept `size` out of its day; the answer says when the sweep would free enough of them
 * (busy-uploads.ts). What she can do next is an open of today (a promotion refused deletes its
 * probe), so the time is today's, also for a promotion decided by the day its upload was opened
 * (before midnight). Should they all have gone meanwhile, the answer is a minute; should no number
 * of them gone be enough (one completed meanwhile, today's day spent, or what they would note
 * unsent passing the day: source_unsent after the sweep), source_quota.
 */
async function refuseBusy(deps: UploadDeps, codename: Codename, size: number, except: string | null): Promise<never> {
  const limits = { ...deps.openLimits, probeHold: probeHoldOf(deps.openLimits) };
  const seconds = await secondsUntilSwept(deps.db, limits, codename, dayOf(deps.now), deps.now, size, except, deps.unreportedFlow);
  if (seconds === undefined) return refuse(429, 'source_quota', SOURCE_QUOTA_MESSAGE);
  return refuse(429, 'source_busy', sourceBusyMessage(seconds), seconds);
}

/**
 * The SHA-256 of the chunks' digests, which a streaming page knows only with its last chunk:
 * recorded before the chunk is stored, so every completion finds it. Only the last chunk of an
 * upload opened without the whole SHA-256 may carry it, and must; once recorded (by an earlier
 * copy of the last chunk) another value is a conflict. A refusal stores nothing.
 */
async function declareDigests(db: Db, row: SubmissionRow, idx: number, digests: string | undefined): Promise<SubmissionRow> {
  if (row.status !== 'uploading') return row;
  if (!inDigestMode(row)) return refuse(400, 'bad_digests', 'This upload was opened with its SHA-256: its chunks carry no digests.');
  if (idx !== row.chunks - 1) return refuse(400, 'bad_digests', 'Only the last chunk may carry the digests.');
  if (digests === undefined) {
    return refuse(400, 'missing_digests', 'The last chunk of this upload must carry the SHA-256 of its chunks\' digests (?digests=).');
  }
  const value = DIGESTS_PREFIX + digests;
  // a one-chunk upload is checked from memory and stored at once (finishUpload)
  if (row.sha256 === DIGESTS_WITH_LAST_CHUNK && row.chunks === 1) return { ...row, sha256: value };
  if (row.sha256 === DIGESTS_WITH_LAST_CHUNK) {
    await db
      .update(submissions)
      .set({ sha256: value })
      .where(and(eq(submissions.id, row.id), eq(submissions.sha256, DIGESTS_WITH_LAST_CHUNK)));
    const [now] = await db.select({ sha256: submissions.sha256 }).from(submissions).where(eq(submissions.id, row.id));
    if (!now) return refuse(404, 'unknown_upload', 'No such upload (it may have expired).');
    row = { ...row, sha256: now.sha256 };
  }
  if (row.sha256 !== value) refuse(409, 'digests_conflict', 'This upload has other digests already.');
  return row;
}

// Completing a multi-chunk upload reads the whole ciphertext back (up to 2 GiB, through a
// connection of its own on PostgreSQL). Re-sent last chunks must not each start that again: in
// this process one check runs per upload and every request for it awaits that one; and at most
// MAX_CONCURRENT_CHECKS run at once, so a crowd of uploads finishing together (or several server
// processes' worth of re-sends) cannot exhaust the database's connections.
const MAX_CONCURRENT_CHECKS = 2;
const completing = new Map<string, Promise<ChunkResult>>();
let checksRunning = 0;
const waitingForCheck: Array<() => void> = [];

/** Is this process checking the upload now (a request answered before the check ends says so: 503 `completing`)? */
export const isCompleting = (submissionId: string): boolean => completing.has(submissionId);

function completeOnce(deps: UploadDeps, row: SubmissionRow): Promise<ChunkResult> {
  let run = completing.get(row.id);
  if (!run) {
    run = completeInTurn(deps, row).finally(() => completing.delete(row.id));
    completing.set(row.id, run);
  }
  return run;
}

async function completeInTurn(deps: UploadDeps, row: SubmissionRow): Promise<ChunkResult> {
  while (checksRunning >= MAX_CONCURRENT_CHECKS) await new Promise<void>((wake) => waitingForCheck.push(wake));
  checksRunning++;
  try {
    // while this one waited, another process may have finished (or discarded) the upload
    const [current] = await deps.db
      .select({ status: submissions.status, sha256: submissions.sha256, probe: submissions.probe })
      .from(submissions)
      .where(eq(submissions.id, row.id));
    if (!current) return refuse(404, 'unknown_upload', 'No such upload (it may have expired).');
    if (current.status !== 'uploading') return { complete: true, submissionId: row.id };
    // every chunk is in but still a probe: this request's promotion ran before the chunks that
    // brought the proof were stored, theirs not yet; a probe is never received unpromoted
    if (current.probe) await promote(deps, row);
    // the digests may have come with the last chunk, after `row` was read
    return await completeUpload(deps, { ...row, sha256: current.sha256 });
  } finally {
    checksRunning--;
    waitingForCheck.shift()?.();
  }
}

/**
 * All chunks are in: stream them once for SHA-256 and the OpenPGP structure, then (in one
 * transaction) create the source for a first submission and mark the submission received.
 * Two requests may race here with the last chunks; the row lock decides, and the loser answers
 * with the winner's result.
 */
async function completeUpload(deps: UploadDeps, row: SubmissionRow, single?: ChunkBytes): Promise<ChunkResult> {
  const { db } = deps;
  if (!single) {
    const [{ total } = { total: 0 }] = rowsOf<{ total: number }>(
      await db.execute(sql`select coalesce(sum(octet_length(data)), 0)::bigint as total from chunks where submission_id = ${row.id}`),
    );
    if (Number(total) !== row.size) return discard(db, row, 422, 'wrong_size', 'The chunks do not add up to the announced size.');
  }
  deps.onCompletionCheck?.();
  const chunks = single ? (async function* () { yield* piecesOf(single); })() : streamCiphertext(db, row.id, row.chunks);
  const digestMode = inDigestMode(row);
  let checked: Awaited<ReturnType<typeof checkCiphertext>>;
  try {
    checked = await checkCiphertext(chunks, digestMode ? { chunkSize: row.chunkSize } : {});
  } catch (error) {
    // another process's check may have finished the upload, or failed it and deleted its chunks,
    // while this one read them back: answer what happened to it, not "chunk missing"
    if (isDatabaseUnavailable(error)) throw error;
    const state = await currentState(db, row.id, single);
    if (state === 'gone') return refuse(404, 'unknown_upload', 'No such upload (it may have expired).');
    if (state === 'done') return { complete: true, submissionId: row.id };
    throw error;
  }
  // what the page said it sent against what was stored and read back: the whole SHA-256 announced
  // at the open, or the SHA-256 of the chunks' digests that came with the last chunk
  if (digestMode ? DIGESTS_PREFIX + checked.digests !== row.sha256 : checked.sha256 !== row.sha256) {
    return discard(db, row, 422, 'hash_mismatch', 'The SHA-256 of the received ciphertext does not match; upload it again.');
  }
  // the editors' check of what they download (cli/submission.ts): the whole ciphertext's SHA-256
  row = { ...row, sha256: checked.sha256 };
  if (!checked.message.ok) {
    return discard(db, row, 422, 'not_encrypted', `This is not an OpenPGP message encrypted for the newsroom: ${checked.message.error.message}`);
  }
  const recipients = checked.message.info.recipientKeyIds;
  // the desk chosen at the open: its key must be a recipient, and no other desk's may be (a tip
  // readable at two desks would be seen by editors the source did not choose)
  const desk = findDesk(deps.desks, row.desk);
  if (!desk) return discard(db, row, 422, 'unknown_desk', 'The desk this upload was opened for is no longer offered; send the tip again.');
  if (!recipients.some((id) => desk.key.encryptionKeyIds.includes(id))) {
    return discard(db, row, 422, 'wrong_recipient', deps.desks.length === 1
      ? "The message is not encrypted to the newsroom's key."
      : `The message is not encrypted to the key of the desk it was sent to (${desk.id}).`);
  }
  // through any of their keys, an expired or revoked subkey too (anyKeyIds)
  const others = deps.desks.filter((other) => other.id !== desk.id && recipients.some((id) => anyKeyIds(other.key.key).includes(id)));
  if (others.length > 0) {
    return discard(db, row, 422, 'other_desk_recipient', `The message is also encrypted to the key of another desk (${others.map((d) => d.id).join(', ')}): a tip goes to one desk only.`);
  }
  const outcome = await finishUpload(deps, row, single);
  if (outcome === 'gone') return refuse(404, 'unknown_upload', 'No such upload (it may have expired).');
  if (outcome === 'taken') {
    return discard(db, row, 409, 'codename_taken', 'This codename is already in use; start again with a new one.');
  }
  if (outcome === 'different') refuse(409, 'chunk_conflict', 'Chunk 0 was already received with other bytes.');
  return { complete: true, submissionId: row.id };
}

/**
 * Marks the upload received, making its source first for a new source; `single`: the one chunk
 * of a one-chunk upload, not stored yet, stored with it. One statement (data-modifying CTEs run
 * together, atomically) instead of a transaction of six: tips are bound by round trips.
 * A handle clash makes nothing and is retried with another handle. Two requests racing to finish
 * the same upload: the loser finds it no longer uploading ('done'); a concurrent first upload
 * with the same codename that made the source first: 'taken'.
 */
async function finishUpload(
  deps: UploadDeps,
  row: SubmissionRow,
  single?: ChunkBytes,
): Promise<'gone' | 'done' | 'taken' | 'received' | 'different'> {
  const { db, now } = deps;
  const day = dayOf(now);
  const one = single && joined(single);
  const b64 = one ? Buffer.from(one.buffer, one.byteOffset, one.byteLength).toString('base64') : '';
  for (let attempt = 0; attempt < 40; attempt++) {
    let result: { found: number; updated: number } | undefined;
    try {
      [result] = rowsOf<{ found: number; updated: number }>(
        await db.execute(sql`
          with target as (
            select id, source_id, pending_lookup_hash, pending_public_key, pending_locked_private_key
            from submissions where id = ${row.id}::uuid and status = 'uploading'),
          src as (
            insert into sources (lookup_hash, handle, public_key, locked_private_key, created_day)
            select pending_lookup_hash, ${randomHandle(attempt)}, pending_public_key, pending_locked_private_key, ${day}::date
            from target where source_id is null
            on conflict (handle) do nothing
            returning id),
          upd as (
            update submissions s set source_id = coalesce(s.source_id, (select id from src)), status = 'received', sha256 = ${row.sha256},
              received_day = ${day}::date, pending_lookup_hash = null, pending_public_key = null, pending_locked_private_key = null,
              -- arrival order within the day (migration 0007); two completions at the same instant may
              -- share a number, and then their ids order them
              day_seq = (select coalesce(max(d.day_seq), 0) + 1 from submissions d where d.received_day = ${day}::date)
            where s.id = ${row.id}::uuid and s.status = 'uploading' and (s.source_id is not null or exists (select 1 from src))
            returning s.id)${
              single
                ? sql`,
          chunk as (
            insert into chunks (submission_id, idx, data) select id, 0, decode(${b64}, 'base64') from upd returning 1)`
                : sql``
            }
          select (select count(*) from target)::int as found, (select count(*) from upd)::int as updated`),
      );
    } catch (error) {
      // the lookup hash is unique: someone made this source first
      if (!isUniqueViolation(error, 'sources_lookup_hash_unique')) throw error;
      const state = await currentState(db, row.id, single);
      return state === 'uploading' ? 'taken' : state;
    }
    if (Number(result?.updated) === 1) return 'received';
    if (Number(result?.found) === 0) {
      const state = await currentState(db, row.id, single);
      return state === 'uploading' ? 'done' : state;
    }
    // found, not updated: the handle was taken (or a concurrent finish holds the row): again
  }
  throw new Error('could not finish the upload: no free source handle after 40 tries');
}

/** After a lost race: is the upload gone, finished (with these bytes?) or still uploading? */
async function currentState(db: Db, id: string, single?: ChunkBytes): Promise<'gone' | 'done' | 'different' | 'uploading'> {
  const [now] = await db.select({ status: submissions.status }).from(submissions).where(eq(submissions.id, id));
  if (!now) return 'gone';
  if (now.status === 'uploading') return 'uploading';
  if (single && (await writeChunk(db, id, 0, single)) === 'different') return 'different';
  return 'done';
}

async function discard(
  db: Db,
  row: SubmissionRow,
  status: 409 | 422,
  code: string,
  message: string,
): Promise<never> {
  // chunks go with it (on delete cascade)
  await db.delete(submissions).where(and(eq(submissions.id, row.id), eq(submissions.status, 'uploading')));
  return refuse(status, code, message);
}
