/** @module client/workers/messages — what the page and the crypto worker say to each other. */
import type { CodenameCheck, CodenameScheme } from '../../protocol/codename.ts';
import type { Answer } from '../../protocol/answers.ts';
import type { ReplyProblem } from '../../protocol/replies.ts';
import type { SourceKeys } from '../lib/api.ts';
import type { ModuleTable } from '../lib/verified-modules.ts';

/**
 * Where the worker takes the source's key from, to name it in the envelope (PROTOCOL.md, "Envelope"):
 * a first tip, the public key 'new-identity' made; a follow-up, the locked key it unlocks with the
 * codename's passphrase (never the server's public key for it: the server may lie).
 */
export type SourceKeyRef = { publicKey: string } | { lockedPrivateKey: string };

export type CryptoCalls = {
  /** The page's first call: the build's module table, /assets/'s URL, the blob: URLs it made (client/lib/verified-modules.ts). */
  'use-modules': { args: { table: ModuleTable; base: string; urls: Record<string, string> }; result: null };
  /** The fingerprint (lower-case hex) of the newsroom key as the worker read it for 'encrypt'. */
  'newsroom-fingerprint': { args: { newsroomKey: string }; result: { fingerprint: string } };
  'check-codename': { args: { input: string }; result: CodenameCheck };
  /** A new codename (canonical, and the boxes it is shown in), its lookup id, and a reply key pair locked with its passphrase. */
  'new-identity': {
    args: { scheme: CodenameScheme; instanceSalt: string; newsroomKey: string };
    result: { codename: string; boxes: string[]; lookupId: string; sourceKeys: SourceKeys };
  };
  /** The passphrase stays in the worker, for 'decrypt-replies'. */
  derive: { args: { codename: string; instanceSalt: string }; result: { lookupId: string } };
  /**
   * A tip small enough to hold (client/lib/send.ts WHOLE_TIP_BYTES): cleaned, encrypted whole and
   * hashed (WebCrypto), the ciphertext handed over (transferred).
   */
  encrypt: {
    args: { newsroomKey: string; sourceKey: SourceKeyRef; language: string; message: string; files: File[]; answers?: Answer[] };
    result: { ciphertext: Uint8Array; sha256: string; stripped: boolean[] };
  };
  /**
   * Cleans what it cleans, plans the envelope and starts its streamed encryption: the exact
   * ciphertext size is known now, nothing of the files beyond their first bytes has been read.
   * Files are sent as File objects (structured clone: no copy of their bytes).
   */
  'encrypt-open': {
    args: { newsroomKey: string; sourceKey: SourceKeyRef; language: string; message: string; files: File[]; answers?: Answer[] };
    result: { streamId: number; size: number; stripped: boolean[] };
  };
  /**
   * The next `chunkSize` bytes of the ciphertext (fewer for the last chunk), read, encrypted and
   * handed over (transferred) now; with the last, the SHA-256 of the whole ciphertext.
   */
  /** each chunk with its SHA-256; the last also with `digests`, the SHA-256 of all the chunks' digests (PROTOCOL.md, "Upload protocol") */
  'encrypt-read': { args: { streamId: number; chunkSize: number }; result: { bytes: Uint8Array; sha256: string; digests?: string } };
  /** Stops a streamed encryption and forgets it (the tip was cancelled or failed). */
  'encrypt-cancel': { args: { streamId: number }; result: null };
  /** Each reply's text, or why it is not shown (`problem`): only the newsroom key's signature makes a reply shown. */
  'decrypt-replies': {
    /** each reply is verified with its own `newsroomKey` (its desk's) when given, else the one `newsroomKey` */
    args: { lockedPrivateKey: string; newsroomKey: string; replies: { id: string; message: string; newsroomKey?: string }[] };
    result: ({ id: string; text: string; signedAt: number; signatureId: string; problem?: undefined } | { id: string; text?: undefined; problem: ReplyProblem })[];
  };
};
export type CryptoOp = keyof CryptoCalls;

export type Progress = { stage: 'deriving' | 'cleaning' | 'encrypting' | 'keys'; fraction?: number };

export type WorkerRequest = { [K in CryptoOp]: { id: number; op: K; args: CryptoCalls[K]['args'] } }[CryptoOp];

/** `code` is the protocol's or the stripper's error code; `file` names an image that failed. */
export type WorkerFailure = { name: string; code?: string; message: string; file?: string };

export type WorkerResponse =
  | { id: number; kind: 'progress'; progress: Progress }
  | { id: number; kind: 'result'; result: unknown }
  | { id: number; kind: 'error'; error: WorkerFailure };

export type PowRequest = { token: string; difficulty: number };
export type PowResponse = { kind: 'solved'; nonce: string } | { kind: 'progress'; tries: number } | { kind: 'error'; error: WorkerFailure };
