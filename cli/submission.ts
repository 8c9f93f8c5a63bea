/**
 * @module cli/submission — decrypt one submission of a bundle: ciphertext file → OpenPGP stream
 * (integrity deferred to the end) → envelope stream → staging folder → renamed into place only after
 * the integrity check, the envelope rules and the bundle's SHA-256 all passed.
 */

import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as openpgp from 'openpgp';
import { formatFingerprint } from '../protocol/fingerprint.ts';
import { EnvelopeError } from '../protocol/errors.ts';
import type { BundleSubmission } from './bundle.ts';
import { openCiphertextReader } from './ciphertext-reader.ts';
import { EnvelopeStreamWriter } from './envelope-stream.ts';
import { innerPacketConfig, outerPacketConfig } from './inner-packets.ts';
import { OpenPgpStalled, OpenPgpTooCostly, watchOpenPgp } from './openpgp-watch.ts';
import { FAST_CIPHERS, FastPathDeclined, HEAD_BYTES, LiteralParser, MAX_PKESKS, openSeipdReader, packetHeaderAt, parseOuterLayout, PKESK_MAX } from './seipd.ts';
import type { Identity } from './identities.ts';
import { pathExists } from './files.ts';
import type { SourcePublicKey } from './source-key.ts';
import { checkTipSignature, readTipSignature, writeTipSignature, type TipSignature, type VerificationResult } from './tip-signature.ts';

export const STAGING_PREFIX = '.staging-';
const READ_CHUNK = 1024 * 1024;
/** Chunks read ahead of the decryption (memory: READ_AHEAD_CHUNKS × READ_CHUNK). */
const READ_AHEAD_CHUNKS = 2;
/** The fast path's chunks in flight on its worker (memory: about 3 × this × READ_CHUNK). */
const FAST_READ_AHEAD_CHUNKS = 3;
const WILDCARD_KEY_ID = '0000000000000000';
/** keys.example/newsroom.pub.asc, whose secret half is published: its fingerprint and encryption subkey id. */
const DEMO_FINGERPRINT = 'd59550c5a4895ea55787f850ca968b8ec7fc9799';
const DEMO_ENCRYPTION_KEY_ID = '05c27a8801181997';

export type SubmissionOutcome =
  | { status: 'ok'; submission: BundleSubmission; path: string; messageBytes: number; files: number; savedNames: string[]; sourceKeyFingerprint?: string; signature: TipSignature }
  | { status: 'skipped'; submission: BundleSubmission; path: string }
  | { status: 'failed'; submission: BundleSubmission; reason: string; error: string; hint: string };

/** A failure of one submission: `reason` for the summary table, `message` and `hint` for stderr. */
class SubmissionError extends Error {
  constructor(readonly reason: string, message: string, readonly hint: string) {
    super(message);
    this.name = 'SubmissionError';
  }
}

const HINT_PULL_AGAIN = 'nothing from it was kept; copy or pull the bundle again';
const HINT_TAMPERED =
  'nothing from it was kept; if a fresh pull fails the same way, the ciphertext was altered on the way or on the server';
const HINT_NOT_SEALDROP = 'nothing from it was kept; this envelope was not made by a Sealdrop page (a broken or hostile sender)';

/**
 * Bound on the plaintext of a ciphertext of `size` bytes. Sealdrop never compresses (the padded
 * envelope is a little smaller than its ciphertext), so anything that inflates past this is a
 * compression bomb, whatever the manifest claims.
 */
export function plaintextCap(size: number): number {
  return Math.floor(size * 1.1) + 64 * 1024;
}

export interface DecryptSubmissionOptions {
  submission: BundleSubmission;
  bundleDir: string;
  outDir: string;
  identities: Identity[];
  onCiphertextBytes?: (n: number) => void;
  /** Output folders given out in this run (folder → submission id), shared across calls. */
  claimed?: Map<string, string>;
  /** The bundle's source keys, to check the tip's signature against (cli/tip-signature.ts). */
  sourceKeys?: SourcePublicKey[];
  /**
   * The folder to decrypt into, instead of OUT_DIR/<handle>/<day>_<id8> (the inbox gives
   * <inbox>/sources/<handle>/tips/<id>); its staging folder is still made in `outDir`.
   */
  target?: string;
  /**
   * Store the files as files/1, files/2, … in manifest order (the inbox: a sender's name, even a
   * cleaned one, never becomes a path there; the index keeps the name to show).
   */
  numberFiles?: boolean;
  /**
   * How long the usual path lets OpenPGP.js sit with the event loop free and nothing moving before
   * the submission fails as 'stalled' (cli/openpgp-watch.ts; default OPENPGP_IDLE_MS).
   */
  openPgpIdleMs?: number;
}

export async function decryptSubmission(options: DecryptSubmissionOptions): Promise<SubmissionOutcome> {
  const { submission, outDir } = options;
  const target = options.target ?? join(outDir, submission.handle, `${submission.day}_${submission.id.slice(0, 8)}`);
  const claimedBy = options.claimed?.get(target);
  if (claimedBy !== undefined && claimedBy !== submission.id) {
    // Two submissions of one source and day whose ids share their first 8 characters (1 in 2^32):
    // never mistake the second for "already decrypted".
    return {
      status: 'failed',
      submission,
      reason: 'folder name taken',
      error: `its folder ${target} was just written for submission ${claimedBy}, whose id starts the same`,
      hint: 'decrypt this bundle again into another OUT_DIR to get this submission',
    };
  }
  if (await pathExists(target)) {
    // already decrypted, provided it was this submission: OUT_DIR's folders are named by 8 characters of the id
    const recorded = (await readTipSignature(target)).submission;
    if (recorded !== undefined && recorded !== submission.id) {
      return {
        status: 'failed',
        submission,
        reason: 'folder name taken',
        error: `its folder ${target} holds submission ${recorded}, whose id starts the same: the server may have given a forged tip an id like this one's`,
        hint: 'decrypt this bundle again into another OUT_DIR (or into the inbox, whose folders carry the whole id) to get this submission',
      };
    }
    return { status: 'skipped', submission, path: target };
  }
  options.claimed?.set(target, submission.id);

  let staging: string | undefined;
  try {
    staging = await mkdtemp(join(outDir, STAGING_PREFIX));
    const result = await decryptInto(options, staging);
    if (options.numberFiles) {
      for (const [index, name] of result.savedNames.entries()) {
        await rename(join(staging, 'files', name), join(staging, 'files', String(index + 1)));
      }
    }
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    // Claim the name first (fails if it appeared meanwhile), then swap the checked folder in:
    // rename(2) replaces an empty directory atomically.
    await mkdir(target, { mode: 0o700 });
    try {
      await rename(staging, target);
    } catch (error) {
      await rmdir(target).catch(() => undefined);
      throw error;
    }
    staging = undefined;
    return { status: 'ok', submission, path: target, ...result };
  } catch (error) {
    if (error instanceof SubmissionError) {
      return { status: 'failed', submission, reason: error.reason, error: error.message, hint: error.hint };
    }
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    return {
      status: 'failed',
      submission,
      reason: typeof code === 'string' ? `file system (${code})` : 'internal error',
      error: `could not write the decrypted submission: ${message}`,
      hint: typeof code === 'string' ? 'check the free space and permissions of OUT_DIR; nothing from it was kept' : 'this is a bug in sealdrop; nothing from it was kept',
    };
  } finally {
    if (staging !== undefined) await rm(staging, { recursive: true, force: true });
  }
}

async function decryptInto(options: DecryptSubmissionOptions, staging: string): Promise<DecryptResult> {
  const { submission, bundleDir } = options;
  const file = join(bundleDir, submission.path);
  // Opened once, then checked and read through that one descriptor: a check of the name followed by
  // an open of the name lets the file be swapped in between (a FIFO there would block the open, and
  // the read, forever). O_NONBLOCK makes opening a FIFO return at once, O_NOFOLLOW refuses a link;
  // fstat of the descriptor then says what was opened, and only a regular file is read.
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new SubmissionError('not a file', `${submission.path} is not a regular file`, HINT_PULL_AGAIN);
    }
    throw new SubmissionError('missing', `${submission.path} is missing from the bundle`, HINT_PULL_AGAIN);
  }
  let size: number;
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new SubmissionError('not a file', `${submission.path} is not a regular file`, HINT_PULL_AGAIN);
    size = info.size;
    if (size < submission.size) {
      throw new SubmissionError('truncated', `the ciphertext is truncated: ${size} of ${submission.size} bytes`, HINT_PULL_AGAIN);
    }
    if (size > submission.size) {
      throw new SubmissionError('wrong size', `the ciphertext has ${size} bytes, the bundle says ${submission.size}`, HINT_PULL_AGAIN);
    }
  } catch (error) {
    await handle.close();
    if (error instanceof SubmissionError) throw error;
    throw new SubmissionError('missing', `${submission.path} is missing from the bundle`, HINT_PULL_AGAIN);
  }

  // Progress is told once per byte of the file: what the fast path told before it declined is not
  // told again by the usual path's second reading of the same bytes.
  const { onCiphertextBytes } = options;
  let told = 0;
  let retold = 0;
  const tell = onCiphertextBytes === undefined ? undefined : (bytes: number) => {
    told += bytes;
    onCiphertextBytes(bytes);
  };
  const tellAgain = onCiphertextBytes === undefined ? undefined : (bytes: number) => {
    const fresh = Math.max(0, retold + bytes - told) - Math.max(0, retold - told);
    retold += bytes;
    if (fresh > 0) onCiphertextBytes(fresh);
  };
  const withProgress = (report: ((bytes: number) => void) | undefined): DecryptSubmissionOptions => {
    const { onCiphertextBytes: _, ...rest } = options;
    return report === undefined ? rest : { ...rest, onCiphertextBytes: report };
  };
  try {
    try {
      return await decryptFast(withProgress(tell), staging, handle, size);
    } catch (error) {
      if (!(error instanceof FastPathDeclined)) throw error;
    }
    // Not the shape the fast path takes, or it failed: whatever it wrote goes, and OpenPGP.js
    // decrypts the file from its start, giving exactly the outcome it always gave.
    for (const name of await readdir(staging)) await rm(join(staging, name), { recursive: true, force: true });
    try {
      return await decryptWithOpenPgp(withProgress(tellAgain), staging, handle, size);
    } catch (error) {
      // refused before the end, so before the SHA-256 was checked: an altered or damaged copy (a
      // byte flipped in the first blocks garbles the packets inside) is told as one, not as a
      // hostile sender's tip, so that the editor pulls it again instead of setting it aside
      if (error instanceof SubmissionError && REFUSED_EARLY.has(error.reason) && !(await fileMatches(handle, size, options.submission.sha256))) {
        throw new SubmissionError('checksum mismatch', 'the ciphertext does not match the SHA-256 in bundle.json', HINT_TAMPERED);
      }
      throw error;
    }
  } finally {
    await handle.close();
  }
}

/** What the usual path refuses before it has read the file to its end. */
const REFUSED_EARLY = new Set(['hostile header', 'hostile packet', 'too many signatures', 'stalled', 'too costly']);

/** Whether the file's `size` bytes hash to `sha256` (read in 1 MiB pieces, at their positions). */
async function fileMatches(handle: FileHandle, size: number, sha256: string): Promise<boolean> {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(Math.min(size, READ_CHUNK));
  for (let at = 0; at < size; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - at), at);
    if (bytesRead === 0) return false;
    hash.update(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
  return hash.digest('hex') === sha256;
}

type DecryptResult = { messageBytes: number; files: number; savedNames: string[]; sourceKeyFingerprint?: string; signature: TipSignature };

/**
 * The fast path (cli/seipd.ts): the session key from the PKESK packets by OpenPGP.js, the SEIPD v1
 * decrypted and checked on a worker, the one literal packet parsed here. Throws FastPathDeclined for
 * anything it does not take or any failure of the ciphertext (nothing it wrote is kept then: the
 * caller empties `staging` and decrypts again the usual way); only a file system error or an
 * envelope that breaks the protocol (the plaintext being then exactly what OpenPGP.js would give)
 * ends it otherwise.
 */
async function decryptFast(
  { submission, identities, onCiphertextBytes, sourceKeys = [] }: DecryptSubmissionOptions,
  staging: string,
  handle: FileHandle,
  size: number,
): Promise<DecryptResult> {
  const head = new Uint8Array(Math.min(size, HEAD_BYTES));
  const { bytesRead } = await handle.read(head, 0, head.length, 0);
  const { pkesks, seipdAt } = parseOuterLayout(head.subarray(0, bytesRead));
  let sessionKey: { data: Uint8Array; algorithm: string };
  try {
    const message = await openpgp.readMessage({ binaryMessage: pkesks });
    const keys = recipientIdentities(message, identities);
    if (keys.length === 0) throw new FastPathDeclined('no -i key is a recipient');
    const found = await openpgp.decryptSessionKeys({ message, decryptionKeys: keys.map((k) => k.key) });
    if (found.length !== 1 || found[0]!.algorithm === null) throw new FastPathDeclined('not exactly one session key');
    sessionKey = { data: found[0]!.data, algorithm: found[0]!.algorithm };
  } catch (error) {
    if (error instanceof FastPathDeclined) throw error;
    throw new FastPathDeclined(`the session key: ${errorText(error)}`);
  }
  if (FAST_CIPHERS[sessionKey.algorithm] === undefined) throw new FastPathDeclined(`the cipher ${sessionKey.algorithm}`);

  const reader = openSeipdReader(handle.fd, {
    chunkSize: READ_CHUNK,
    readAhead: FAST_READ_AHEAD_CHUNKS,
    seipdAt,
    pkesks,
    algorithm: sessionKey.algorithm,
    key: sessionKey.data,
    size,
  });
  const writer = new EnvelopeStreamWriter(staging);
  const literal = new LiteralParser();
  let envelopeError: EnvelopeError | undefined;
  try {
    for (;;) {
      const next = await reader.next();
      if (next.done) break;
      const data = literal.push(next.plaintext);
      // told once per byte of the file even if this path declines later (decryptInto's tellAgain)
      onCiphertextBytes?.(next.read);
      if (envelopeError) continue; // read on: the integrity check at the end comes first
      try {
        for (const part of data) await writer.write(part);
      } catch (error) {
        if (!(error instanceof EnvelopeError)) throw error;
        envelopeError = error;
        await writer.abort();
      }
    }
    literal.end();
    const { bytes: ciphertextRead, sha256: digest } = await reader.digest();
    // the usual path says 'checksum mismatch' (or what else it finds first)
    if (ciphertextRead !== size || digest !== submission.sha256) throw new FastPathDeclined('the SHA-256 does not match bundle.json');
    // the fast path takes no signed tip: checked as the usual path checks an unsigned one
    return await finishEnvelope(writer, envelopeError, staging, submission, [], sourceKeys);
  } finally {
    await writer.abort();
    await reader.close(); // the worker stops using the descriptor before it is closed
  }
}

/** The -i identities an OpenPGP message names among its recipients (a wildcard recipient names every one). */
function recipientIdentities(message: openpgp.Message<unknown>, identities: Identity[]): Identity[] {
  const recipients = message.getEncryptionKeyIDs().map((id) => id.toHex());
  return identities.filter((identity) => recipients.some((id) => id === WILDCARD_KEY_ID || identity.keyIds.has(id)));
}

/**
 * Both paths' end, once the ciphertext has passed its checks (MDC or AEAD tags, SHA-256): the
 * envelope's first error if it had one, else the envelope closed, the tip's signature checked
 * against `signatures` (none from the fast path) and written beside it.
 */
async function finishEnvelope(
  writer: EnvelopeStreamWriter,
  envelopeError: EnvelopeError | undefined,
  staging: string,
  submission: DecryptSubmissionOptions['submission'],
  signatures: VerificationResult[],
  sourceKeys: NonNullable<DecryptSubmissionOptions['sourceKeys']>,
): Promise<DecryptResult> {
  if (envelopeError) throw envelopeFailure(envelopeError);
  let result;
  try {
    result = await writer.end();
  } catch (error) {
    if (error instanceof EnvelopeError) throw envelopeFailure(error);
    throw error;
  }
  const signature = await checkTipSignature(signatures, sourceKeys);
  await writeTipSignature(staging, submission.handle, submission.id, signature);
  return {
    signature,
    messageBytes: result.messageBytes,
    files: result.savedNames.length,
    savedNames: result.savedNames,
    // the source key the envelope names (PROTOCOL.md, "Envelope"); absent from older pages' tips
    ...(result.manifest.sourceKeyFingerprint === undefined ? {} : { sourceKeyFingerprint: result.manifest.sourceKeyFingerprint }),
  };
}

/** Today's path: the whole file through openpgp.decrypt (anything the fast path declines). */
async function decryptWithOpenPgp(
  { submission, identities, onCiphertextBytes, sourceKeys = [], openPgpIdleMs }: DecryptSubmissionOptions,
  staging: string,
  handle: FileHandle,
  size: number,
): Promise<DecryptResult> {
  // OpenPGP.js can stop for good on what a SEIPD decrypts to (cli/openpgp-watch.ts): every wait on
  // it below is raced against the watch, which counts our reads and writes in flight as work.
  // Read and hashed on a worker thread; `source` carries exactly the chunks that were hashed.
  const ciphertext = openCiphertextReader(handle.fd, {
    chunkSize: READ_CHUNK,
    // Read ahead: the next chunk comes off the disk while this one is decrypted (with nothing
    // queued, the decryption waited for each read; about a tenth of the command's time at 100 MB).
    readAhead: READ_AHEAD_CHUNKS,
    onBytes: (n) => {
      watch.progress();
      onCiphertextBytes?.(n);
    },
  });
  // OpenPGP.js decrypts every PKESK before the data and holds every packet before it whole: the
  // packets it reads before the encrypted data are bounded first, on the very bytes it reads.
  let headerRefused: SubmissionError | undefined;
  const source = ciphertext.stream.pipeThrough(boundOuterPackets(size, (error) => (headerRefused = error)));
  // and the packets inside, before OpenPGP.js reads one (cli/inner-packets.ts)
  let innerRefused: SubmissionError | undefined;
  const packetConfig = innerPacketConfig(({ reason, detail }) => (innerRefused ??= new SubmissionError(reason, detail, HINT_NOT_SEALDROP)));
  const outerConfig = outerPacketConfig(({ reason, detail }) => (innerRefused ??= new SubmissionError(reason, detail, HINT_NOT_SEALDROP)), MAX_PKESKS);
  const classify = (error: unknown, phase: 'session' | 'stream'): SubmissionError => innerRefused ?? classifyOpenPgpError(error, phase);
  const writer = new EnvelopeStreamWriter(staging);
  let writing = false;
  const watch = watchOpenPgp({
    busy: () => writing || ciphertext.inFlight(),
    cpuBudgetMs: openPgpCpuBudget(size),
    ...(openPgpIdleMs === undefined ? {} : { idleMs: openPgpIdleMs }),
  });
  try {
    let message: openpgp.Message<ReadableStream<Uint8Array>>;
    try {
      message = await watch.race(openpgp.readMessage({ binaryMessage: source, config: outerConfig }));
    } catch (error) {
      if (headerRefused) throw headerRefused;
      if (innerRefused || error instanceof OpenPgpStalled || error instanceof OpenPgpTooCostly) throw classify(error, 'session');
      throw new SubmissionError('not OpenPGP', `the ciphertext is not an OpenPGP message (${errorText(error)})`, HINT_PULL_AGAIN);
    }
    const keys = recipientIdentities(message, identities);
    if (keys.length === 0) throw wrongKeyError(message.getEncryptionKeyIDs().map((id) => id.toHex()), identities);

    const cap = plaintextCap(size);
    let plaintext: ReadableStream<Uint8Array>;
    let signatures: VerificationResult[];
    try {
      const decrypted = await watch.race(openpgp.decrypt({
        message,
        decryptionKeys: keys.map((k) => k.key),
        verificationKeys: sourceKeys.map((k) => k.key),
        format: 'binary',
        config: { allowUnauthenticatedStream: true, maxDecompressedMessageSize: cap, ...packetConfig },
      }));
      plaintext = decrypted.data as ReadableStream<Uint8Array>;
      signatures = decrypted.signatures;
      // settled only at the end of the stream; never left to reject unheard
      for (const s of signatures) {
        s.verified.catch(() => undefined);
        s.signature.catch(() => undefined);
      }
    } catch (error) {
      throw classify(error, 'session');
    }
    // (each signature is a hash of the whole plaintext, measured: 100 over 5 MB took 1.2 s, 16 times
    // one: more than MAX_TIP_SIGNATURES were refused as they were parsed, cli/inner-packets.ts)
    const reader = plaintext.getReader();
    let produced = 0;
    let envelopeError: EnvelopeError | undefined;
    try {
      for (;;) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await watch.race(reader.read());
        } catch (error) {
          throw classify(error, 'stream');
        }
        if (next.done) break;
        produced += next.value.length;
        if (produced > cap) {
          throw new SubmissionError(
            'compression bomb',
            `the decrypted data grows past ${cap} bytes, more than its ${size}-byte ciphertext can hold uncompressed`,
            'nothing from it was kept; the sender compressed it (Sealdrop pages never do), most likely a decompression bomb',
          );
        }
        if (envelopeError) continue; // keep reading: the integrity check at the end says more
        writing = true;
        try {
          await writer.write(next.value);
        } catch (error) {
          if (!(error instanceof EnvelopeError)) throw error;
          envelopeError = error;
          await writer.abort();
        } finally {
          writing = false;
        }
      }
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      throw error;
    } finally {
      reader.releaseLock();
    }

    // The stream ended without error, so OpenPGP's integrity check (MDC or AEAD tags) passed; the
    // signatures settle now (checkTipSignature awaits them: watched here, where OpenPGP.js settles them).
    try {
      await watch.race(Promise.all(signatures.flatMap((s) => [s.verified.catch(() => undefined), s.signature.catch(() => undefined)])));
    } catch (error) {
      throw classify(error, 'stream');
    }
    if (innerRefused) throw innerRefused;
    watch.stop();
    const { bytes: ciphertextRead, sha256: digest } = await ciphertext.digest();
    if (ciphertextRead !== size || digest !== submission.sha256) {
      throw new SubmissionError('checksum mismatch', 'the ciphertext does not match the SHA-256 in bundle.json', HINT_TAMPERED);
    }
    // the stream is read to its end: the signature (if any) is settled
    return await finishEnvelope(writer, envelopeError, staging, submission, signatures, sourceKeys);
  } finally {
    watch.stop();
    await writer.abort();
    await ciphertext.close(); // the worker stops using the descriptor before it is closed
  }
}

/**
 * The CPU time (ms) the usual path may spend on a ciphertext of `size` bytes: 10 s, and 0.1 s per MiB
 * (a floor of 10 MiB/s; the usual path decrypts 100–190 MB/s here, so an honest tip is at least ten
 * times under it). What it stops: tips cut into parts of a few bytes (cli/openpgp-watch.ts).
 */
export function openPgpCpuBudget(size: number): number {
  return 10_000 + (100 * size) / 2 ** 20;
}

const DATA_TAGS = new Set([8, 9, 11, 18, 20]); // compressed, SED, literal, SEIPD, AEAD

/**
 * Passes the ciphertext through once its first bytes (HEAD_BYTES, or the whole file if shorter) hold
 * the start of its data packet after at most MAX_PKESKS packets of at most PKESK_MAX bytes, each with
 * a definite length; anything else errors the stream (`refused` is told why) before OpenPGP.js parses
 * a packet. What a page sends is one or a few PKESKs (the fast path takes the same bound). Measured
 * before it (the attacker's run): 200 000 copies of one PKESK, a 19.2 MB tip, held the CLI 4 min 7 s
 * at 3.9 GB, decrypting each PKESK in turn.
 */
function boundOuterPackets(size: number, refused: (error: SubmissionError) => void): TransformStream<Uint8Array, Uint8Array> {
  const need = Math.min(size, HEAD_BYTES);
  let head: Uint8Array | undefined = new Uint8Array(0); // undefined once checked
  const check = (controller: TransformStreamDefaultController<Uint8Array>): void => {
    const problem = outerProblem(head!.subarray(0, need), need === size);
    if (problem !== undefined) {
      const error = new SubmissionError('hostile header', `the ciphertext ${problem}; a Sealdrop page never sends that (at most ${MAX_PKESKS} key packets of at most ${PKESK_MAX} bytes, then its data)`, HINT_NOT_SEALDROP);
      refused(error);
      controller.error(error);
      return;
    }
    controller.enqueue(head!);
    head = undefined;
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      if (head === undefined) {
        controller.enqueue(chunk);
        return;
      }
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      if (head.length >= need) check(controller);
    },
    flush(controller) {
      if (head !== undefined && head.length > 0) check(controller); // shorter than bundle.json says: OpenPGP.js tells
    },
  });
}

/** Why the packets before the data in `head` are refused, or undefined; `whole`: head is the whole file. */
function outerProblem(head: Uint8Array, whole: boolean): string | undefined {
  let at = 0;
  for (let count = 0; ; count++) {
    if (at >= head.length) return whole ? undefined : `holds no data packet in its first ${head.length} bytes`;
    const first = head[at]!;
    if ((first & 0x80) === 0) return undefined; // not OpenPGP: OpenPGP.js says so
    if (DATA_TAGS.has(first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f)) return dataProblem(head, at, whole);
    const header = packetHeaderAt(head, at);
    if (header === undefined) return undefined; // cut off: OpenPGP.js says it is truncated
    const { tag, octets, length, partial } = header;
    if (partial) return `has a packet of tag ${tag} with a partial length before its data`;
    if (length === undefined) return `has a packet of tag ${tag} of indeterminate length before its data`;
    if (count >= MAX_PKESKS) return `has more than ${MAX_PKESKS} packets before its data`;
    if (length > PKESK_MAX) return `has a packet of tag ${tag} of ${length} bytes before its data`;
    at += octets + length;
  }
}

/** The most an AEAD chunk may be (RFC 9580: a chunk size octet of at most 16, 4 MiB; a page's: 12, 256 KiB). */
const MAX_AEAD_CHUNK_OCTET = 16;

/**
 * What is wrong with the data packet at `at`: a SEIPD v2 or AEAD packet whose chunks are larger than
 * RFC 9580 allows (OpenPGP.js does not check: it reads and decrypts each chunk whole, so a chunk size
 * octet of 22, 256 MiB chunks, held a 210 MB tip 2 min 25 s at 717 MB, past the CPU budget 3.3 times:
 * helper-77), or whose first part is too short to say (a hostile sender). Else undefined, also for
 * what is cut off or no packet (OpenPGP.js says so).
 */
function dataProblem(head: Uint8Array, at: number, whole: boolean): string | undefined {
  const header = packetHeaderAt(head, at);
  if (header === undefined || (header.tag !== 18 && header.tag !== 20)) return undefined;
  const { tag } = header;
  const bodyAt = at + header.octets;
  const part = header.length ?? Infinity;
  if (part < 4) return `has its encrypted data in a first part of ${part} bytes`;
  // (its header past the head: 31 padding packets of 4 096 bytes put the chunk size octet a byte
  // beyond it, and 256 MiB chunks passed: helper-78)
  if (bodyAt + 3 >= head.length) return whole ? undefined : `has its data packet's header past its first ${head.length} bytes`;
  // SEIPD v2: version, cipher, AEAD algorithm, chunk size octet; AEAD (tag 20, v1): the same order
  const aead = tag === 20 || head[bodyAt] === 2;
  const chunkOctet = head[bodyAt + 3]!;
  if (aead && chunkOctet > MAX_AEAD_CHUNK_OCTET) return `has AEAD chunks of 2^${chunkOctet + 6} bytes (at most 4 MiB are allowed)`;
  return undefined;
}

function tooCostlyError(error: OpenPgpTooCostly): SubmissionError {
  return new SubmissionError(
    'too costly',
    `the ciphertext costs more to decrypt than its size allows: ${error.message}`,
    'nothing from it was kept; a Sealdrop page never makes this (cut into tiny parts, or the like: a hostile sender); the other submissions are not affected',
  );
}

function stalledError(error: OpenPgpStalled): SubmissionError {
  return new SubmissionError(
    'stalled',
    `the ciphertext does not decrypt to a message OpenPGP.js can finish: ${error.message}`,
    'nothing from it was kept; a Sealdrop page never makes this (a hostile or broken sender, or a ciphertext altered on the way or on the server); the other submissions are not affected',
  );
}

/**
 * The ciphertext names only the 16-digit id of an encryption subkey, which nobody is shown: the
 * error says which key that is when sealdrop knows it (the DEMO key a trial server starts with),
 * and names the -i keys by the fingerprint keygen printed and the page shows.
 */
function wrongKeyError(recipients: string[], identities: Identity[]): SubmissionError {
  const given = identities
    .map((identity) => `${formatFingerprint(identity.fingerprint)} (${basename(identity.path)})`)
    .join('; ');
  if (recipients.includes(DEMO_ENCRYPTION_KEY_ID)) {
    return new SubmissionError(
      'wrong key',
      `it is encrypted to the DEMO key ${formatFingerprint(DEMO_FINGERPRINT)} of keys.example/, not to the -i key ${given}`,
      'the server was running with the demo key when this was sent: set NEWSROOM_KEY_FILE to your NAME.pub.asc and restart it; what came in before can only be read with -i keys.example/newsroom.sec.asc (and its secret half is public)',
    );
  }
  const named = recipients.map((id) => id.toUpperCase()).join(', ') || '(none named)';
  return new SubmissionError(
    'wrong key',
    `none of the -i keys can decrypt it: it is encrypted to a key whose encryption subkey id is ${named}, and -i gave ${given}`,
    'give the secret half of the key the server was given (its start line and the source\'s page show that key\'s fingerprint; "gpg --list-keys --keyid-format long" shows its subkey id); after a key rotation add the old key too: -i NEW.sec.asc -i OLD.sec.asc',
  );
}

function envelopeFailure(error: EnvelopeError): SubmissionError {
  return new SubmissionError(`invalid envelope (${error.code})`, `the decrypted envelope breaks the protocol: ${error.message}`, HINT_NOT_SEALDROP);
}

function classifyOpenPgpError(error: unknown, phase: 'session' | 'stream'): SubmissionError {
  if (error instanceof SubmissionError) return error;
  if (error instanceof OpenPgpStalled) return stalledError(error);
  if (error instanceof OpenPgpTooCostly) return tooCostlyError(error);
  const text = errorText(error);
  if (/Maximum decompressed message size exceeded/i.test(text)) {
    return new SubmissionError(
      'compression bomb',
      'the decrypted data inflates past the bound for its ciphertext size',
      'nothing from it was kept; the sender compressed it (Sealdrop pages never do), most likely a decompression bomb',
    );
  }
  if (/Modification detected|authentication tag|Authentication failed|MDC/i.test(text)) {
    return new SubmissionError('integrity check failed', `the integrity check failed: the ciphertext was modified (${text})`, HINT_TAMPERED);
  }
  if (/Unexpected end of packet|end of (the )?(stream|input|data)|truncated/i.test(text)) {
    return new SubmissionError('truncated', `the ciphertext ends early: it is truncated (${text})`, HINT_PULL_AGAIN);
  }
  if (phase === 'session' && /session key/i.test(text)) {
    return new SubmissionError(
      'wrong key',
      `the session key could not be decrypted with the matching -i key (${text})`,
      'the key id matches but the key does not: use the right newsroom key; if it is right, the ciphertext was altered',
    );
  }
  return new SubmissionError('damaged', `the ciphertext is damaged: ${text}`, HINT_TAMPERED);
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}

