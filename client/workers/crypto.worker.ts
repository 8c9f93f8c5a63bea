/**
 * @module client/workers/crypto.worker — every slow or secret step, off the page's thread:
 * cleaning files (images, Office documents), building and encrypting the envelope, deriving the codename's secrets,
 * making or unlocking the reply key (which signs the tips it names), and opening replies (decrypted, and checked against the newsroom key). With the JIT off these take seconds; the page stays usable.
 *
 * The reply-key passphrase never leaves this worker: the page only ever sees the lookup id.
 */
import { decryptKey, readKey, readPrivateKey, type Key, type PrivateKey } from 'openpgp';
import { checkCodename, codenameBoxes, generateCodename } from '../../protocol/codename.ts';
import { toHex } from '../../protocol/encoding.ts';
import { buildEnvelope, envelopeStream, planEnvelope } from '../../protocol/envelope.ts';
import { ENVELOPE_PIECE_BYTES, encryptStreamToKeys, type EncryptedStream } from '../../protocol/encrypt-stream.ts';
import { deriveSourceSecrets } from '../../protocol/kdf.ts';
import { chunkSha256, digestsSha256 } from '../../protocol/upload-digests.ts';
import { openReply } from '../../protocol/replies.ts';
import { affordableToUnlock, encryptTip, generateSourceKeyPair, unlockConfig } from '../../protocol/source-keys.ts';
import { detectFileKind, isCleanable, type CleanableKind } from '../strip/detect.ts';
import type { CryptoCalls, CryptoOp, Progress, SourceKeyRef, WorkerFailure, WorkerRequest, WorkerResponse } from './messages.ts';
import { useModules } from './verified-import.ts';

type Handler<K extends CryptoOp> = (
  args: CryptoCalls[K]['args'],
  progress: (p: Progress) => void,
) => Promise<CryptoCalls[K]['result']>;

let keyPassphrase: string | undefined;
/** Streamed encryptions in progress ('encrypt-open' to the last 'encrypt-read'). */
const streams = new Map<number, { encrypted: EncryptedStream; digests: Uint8Array[]; sent: number; pending: Uint8Array | undefined }>();
let nextStreamId = 1;
/** A file is read in slices of this size as the envelope needs them. */
const FILE_SLICE_BYTES = 1024 * 1024;

async function readSlice(file: Blob, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await file.slice(start, end).arrayBuffer());
}

/** The file's bytes, one slice at a time, read only when asked for. */
async function* fileSlices(file: File): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < file.size; at += FILE_SLICE_BYTES) yield await readSlice(file, at, Math.min(file.size, at + FILE_SLICE_BYTES));
}
const newsroomKeys = new Map<string, Promise<Key>>();

function newsroomKey(armored: string): Promise<Key> {
  let key = newsroomKeys.get(armored);
  if (!key) {
    key = readKey({ armoredKey: armored });
    newsroomKeys.set(armored, key);
  }
  return key;
}

/**
 * The source key a tip names and is signed by (PROTOCOL.md, "Envelope", "Signed tips"), by the
 * armored key it was read from: the key pair this page made (held unlocked since), or the served
 * locked key once it unlocks with the codename's passphrase (unlocked once).
 */
type SourceSigner = { fingerprint: string; signingKey?: PrivateKey };
const sourceSigners = new Map<string, Promise<SourceSigner | undefined>>();

/**
 * The signer a tip of `source` is made with. A public key this page did not make (no secret half
 * here) is named but cannot sign; a served key that does not unlock (not this source's, or locked
 * too dearly) names nothing: the tip still goes, and the offline machine says it is unsigned.
 */
function sourceSigner(source: SourceKeyRef): Promise<SourceSigner | undefined> {
  const armored = 'publicKey' in source ? source.publicKey : source.lockedPrivateKey;
  let signer = sourceSigners.get(armored);
  if (!signer) {
    signer = 'publicKey' in source
      ? readKey({ armoredKey: armored }).then((key) => ({ fingerprint: key.getFingerprint() }))
      : unlockSourceKey(armored).then((key) => ({ fingerprint: key.getFingerprint(), signingKey: key }), () => undefined);
    sourceSigners.set(armored, signer);
  }
  return signer;
}

async function unlockSourceKey(lockedPrivateKey: string) {
  if (!keyPassphrase) throw new Error('expected the codename to be derived before unlocking its key');
  const locked = await readPrivateKey({ armoredKey: lockedPrivateKey });
  // The server chose how this key is locked: a dear Argon2 S2K would hold the device for minutes.
  if (!affordableToUnlock(locked)) throw new Error('the served key is locked with an Argon2 S2K dearer than this page unlocks');
  return decryptKey({ privateKey: locked, passphrase: keyPassphrase, config: unlockConfig });
}

function derive(codename: string, instanceSalt: string, progress: (p: Progress) => void): string {
  let last = 0;
  const secrets = deriveSourceSecrets(codename, instanceSalt, {
    onProgress: (fraction) => {
      // noble reports very often; the page needs a few steps, not thousands of messages.
      if (fraction - last >= 0.05 || fraction === 1) {
        last = fraction;
        progress({ stage: 'deriving', fraction });
      }
    },
  });
  keyPassphrase = secrets.keyPassphrase;
  sourceSigners.clear();
  return secrets.lookupId;
}

/** The page's error code for a file that could not be cleaned, by kind: each has its own advice. */
const NOT_CLEANED: Record<CleanableKind, string> = {
  jpeg: 'image_not_cleaned',
  png: 'image_not_cleaned',
  webp: 'image_not_cleaned',
  heif: 'heif_not_cleaned',
  ooxml: 'document_not_cleaned',
};

/** A file the cleaner could not clean: the tip is not sent at all, rather than sent with it uncleaned. */
class FileNotCleanedError extends Error {
  override name = 'FileNotCleanedError';
  readonly code: string;
  constructor(
    readonly file: string,
    kind: CleanableKind,
    cause: unknown,
  ) {
    super(`could not remove metadata from ${file} (${kind}): ${(cause as Error)?.message ?? String(cause)}`);
    this.code = NOT_CLEANED[kind];
  }
}

/**
 * Each file's cleaned bytes, or undefined for a file not cleaned. A file to clean is read and
 * cleaned whole (images and Office files: the cleaners work on the whole file).
 */
async function cleanFiles(files: File[], progress: (p: Progress) => void): Promise<(Uint8Array | undefined)[]> {
  // The same detection the page ran when the file was attached, on the same bytes, so the
  // page's note ("will be removed" or a warning) says what happens here.
  const kinds = await Promise.all(files.map((f) => detectFileKind(async (start, end) => readSlice(f, start, end), f.size)));
  const toClean = kinds.filter(isCleanable).length;
  // The cleaners (12 KB gzipped) load only for a tip with a file to clean; if they cannot be
  // fetched, the call fails and nothing is sent.
  const cleaners = toClean ? await import('../strip/index.ts') : undefined;
  const cleaned: (Uint8Array | undefined)[] = [];
  for (const [i, file] of files.entries()) {
    const kind = kinds[i]!;
    if (!isCleanable(kind)) {
      cleaned.push(undefined);
      continue;
    }
    progress({ stage: 'cleaning', fraction: cleaned.filter(Boolean).length / toClean });
    try {
      cleaned.push(await cleaners!.cleanFile(kind, new Uint8Array(await file.arrayBuffer())));
    } catch (error) {
      throw new FileNotCleanedError(file.name, kind, error);
    }
  }
  return cleaned;
}

const handlers: { [K in CryptoOp]: Handler<K> } = {
  async 'use-modules'({ table, base, urls }) {
    useModules(table, base, urls);
    return null;
  },

  // From the key itself, the same object 'encrypt' encrypts to: never the server's word for it.
  async 'newsroom-fingerprint'({ newsroomKey: armored }) {
    return { fingerprint: (await newsroomKey(armored)).getFingerprint() };
  },

  async 'check-codename'({ input }) {
    return checkCodename(input);
  },

  async 'new-identity'({ scheme, instanceSalt, newsroomKey: armored }, progress) {
    const codename = generateCodename(scheme);
    const lookupId = derive(codename, instanceSalt, progress);
    progress({ stage: 'keys' });
    const { signingKey, ...sourceKeys } = await generateSourceKeyPair(keyPassphrase!, await newsroomKey(armored));
    // held unlocked in this worker: the first tip is signed by it without unlocking it again
    sourceSigners.set(sourceKeys.publicKey, Promise.resolve({ fingerprint: signingKey.getFingerprint(), signingKey }));
    return { codename, boxes: codenameBoxes(codename, scheme), lookupId, sourceKeys };
  },

  async derive({ codename, instanceSalt }, progress) {
    return { lookupId: derive(codename, instanceSalt, progress) };
  },

  async encrypt({ newsroomKey: armored, sourceKey, language, message, files, answers }, progress) {
    const cleaned = await cleanFiles(files, progress);
    progress({ stage: 'encrypting' });
    const whole = await Promise.all(
      files.map(async (f, i) => ({ name: f.name, type: f.type, stripped: cleaned[i] !== undefined, bytes: cleaned[i] ?? new Uint8Array(await f.arrayBuffer()) })),
    );
    const signer = await sourceSigner(sourceKey);
    const envelope = await buildEnvelope({
      language, message, files: whole, ...(answers ? { answers } : {}), ...(signer ? { sourceKeyFingerprint: signer.fingerprint } : {}),
    });
    const ciphertext = await encryptTip(envelope, [await newsroomKey(armored)], signer?.signingKey);
    envelope.fill(0);
    const sha256 = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', ciphertext as Uint8Array<ArrayBuffer>)));
    return { ciphertext, sha256, stripped: cleaned.map((c) => c !== undefined) };
  },

  async 'encrypt-open'({ newsroomKey: armored, sourceKey, language, message, files, answers }, progress) {
    // a file cleaned is held cleaned until its turn; every other file is read in slices as the
    // upload asks for it
    const cleaned = await cleanFiles(files, progress);
    progress({ stage: 'encrypting' });
    // Streamed tips are not signed (PROTOCOL.md, "Signed tips"): a signature's length is not known
    // to the byte before it is made, and the upload is opened with the exact length.
    const signer = await sourceSigner(sourceKey);
    const plan = planEnvelope({
      language,
      message,
      ...(answers ? { answers } : {}),
      ...(signer ? { sourceKeyFingerprint: signer.fingerprint } : {}),
      files: files.map((f, i) => ({ name: f.name, type: f.type, size: cleaned[i]?.length ?? f.size, stripped: cleaned[i] !== undefined })),
    });
    const plaintext = envelopeStream(plan, (i) => cleaned[i] ? [cleaned[i]] : fileSlices(files[i]!), ENVELOPE_PIECE_BYTES);
    const encrypted = await encryptStreamToKeys(plan.length, plaintext, [await newsroomKey(armored)]);
    const streamId = nextStreamId++;
    streams.set(streamId, { encrypted, digests: [], sent: 0, pending: undefined });
    return { streamId, size: encrypted.size, stripped: cleaned.map((c) => c !== undefined) };
  },

  async 'encrypt-read'({ streamId, chunkSize }) {
    const state = streams.get(streamId);
    if (!state) throw new Error(`expected an open encryption stream, got id ${streamId}`);
    const { encrypted } = state;
    const length = Math.min(chunkSize, encrypted.size - state.sent);
    if (length <= 0) throw new Error(`expected a chunk within the ${encrypted.size}-byte ciphertext, all of it was read`);
    const bytes = new Uint8Array(length);
    let have = 0;
    try {
      while (have < length) {
        const piece = state.pending ?? (await encrypted.read());
        state.pending = undefined;
        if (!piece) throw new Error(`expected ${encrypted.size} bytes of ciphertext, the encryption ended at ${state.sent + have}`);
        const n = Math.min(piece.length, length - have);
        bytes.set(piece.subarray(0, n), have);
        if (n < piece.length) state.pending = piece.subarray(n);
        have += n;
      }
      // WebCrypto's SHA-256 (protocol/upload-digests.ts): each chunk's, and at the end the SHA-256 of them all
      const digest = await chunkSha256(bytes);
      state.digests.push(digest);
      state.sent += length;
      if (state.sent < encrypted.size) return { bytes, sha256: toHex(digest) };
      // the end: the stream must end here too (encrypt-stream checks the lengths it wrote)
      if (state.pending || (await encrypted.read())) throw new Error(`expected the ciphertext to end at ${encrypted.size} bytes`);
      streams.delete(streamId);
      return { bytes, sha256: toHex(digest), digests: toHex(await digestsSha256(state.digests)) };
    } catch (error) {
      streams.delete(streamId);
      await encrypted.cancel(error);
      throw error;
    }
  },

  async 'encrypt-cancel'({ streamId }) {
    const state = streams.get(streamId);
    streams.delete(streamId);
    await state?.encrypted.cancel(new DOMException('the tip was cancelled', 'AbortError'));
    return null;
  },

  async 'decrypt-replies'({ lockedPrivateKey, newsroomKey: armored, replies }) {
    if (!keyPassphrase) throw new Error('expected the codename to be derived before decrypting replies');
    const privateKey = await unlockSourceKey(lockedPrivateKey);
    // unlocked: a follow-up tip names this key and is signed by it without unlocking it again
    sourceSigners.set(lockedPrivateKey, Promise.resolve({ fingerprint: privateKey.getFingerprint(), signingKey: privateKey }));
    // The key this page encrypts tips to: a reply shows only with its signature (PROTOCOL.md, "Replies").
    // With desks, the key of the desk that wrote the reply (as the page chose it from the config).
    const out: CryptoCalls['decrypt-replies']['result'] = [];
    for (const reply of replies) {
      const opened = await openReply(reply.message, privateKey, await newsroomKey(reply.newsroomKey ?? armored));
      out.push(opened.ok ? { id: reply.id, text: opened.text, signedAt: opened.signedAt, signatureId: opened.signatureId } : { id: reply.id, problem: opened.problem });
    }
    return out;
  },
};

function failure(error: unknown): WorkerFailure {
  const e = error as { name?: string; code?: string; message?: string; file?: string };
  return { name: e?.name ?? 'Error', code: e?.code, message: e?.message ?? String(error), file: e?.file };
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const { id, op, args } = event.data;
  const post = (message: WorkerResponse, transfer: Transferable[] = []) => self.postMessage(message, { transfer });
  try {
    const handler = handlers[op] as Handler<typeof op>;
    const result = await handler(args as never, (progress) => post({ id, kind: 'progress', progress }));
    const transfer =
      op === 'encrypt-read'
        ? [(result as CryptoCalls['encrypt-read']['result']).bytes.buffer]
        : op === 'encrypt'
          ? [(result as CryptoCalls['encrypt']['result']).ciphertext.buffer]
          : [];
    post({ id, kind: 'result', result }, transfer);
  } catch (error) {
    post({ id, kind: 'error', error: failure(error) });
  }
};
