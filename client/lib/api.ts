/**
 * @module client/lib/api — the source API of docs/INTERNALS.md, nothing else.
 *
 * Requests carry no referrer, and no credentials because the server sets none (no cookie, no
 * authentication: each request carries what it needs); the server answers errors as
 * `{ error: code, message }`, and the page maps `code` to its catalogues.
 */
import { MAX_ARMORED_KEY_CHARS, MAX_ARMORED_REPLY_CHARS, MAX_CIPHERTEXT_BYTES, MAX_LOOKUP_REPLIES, MAX_LOOKUP_SUBMISSIONS } from '../../protocol/limits.ts';

export type ServerConfig = {
  version: number;
  instanceSalt: string;
  newsroomKey: string;
  fingerprint: string;
  /**
   * each desk's key (server/desks.ts), the first the one above; servers before desks send none.
   * Checked by client/lib/instance.ts (readInstanceConfig) before the page uses it.
   */
  desks?: { id: string; newsroomKey: string; fingerprint: string }[];
  /** the newsroom's name, call for tips, questions… checked by client/lib/instance.ts */
  instance?: unknown;
  limits?: Record<string, number>;
  pow: PowChallenge;
};
export type PowChallenge = { token: string; difficulty: number };
export type SourceKeys = { publicKey: string; lockedPrivateKey: string };
export type OpenUploadBody = {
  pow: { token: string; nonce: string };
  lookupId: string;
  sourceKeys?: SourceKeys;
  size: number;
  chunkSize: number;
  chunks: number;
  /** the whole ciphertext's, from a page that holds it; a streaming page sends each chunk's SHA-256 instead (chunkUrl) */
  sha256?: string;
  /** the chosen desk's id (config `desks`); the server checks the ciphertext is to that desk's key only */
  desk?: string;
};
export type ChunkAnswer = { complete: false; received: number[] } | { complete: true; submissionId: string };
export type Submission = { id: string; day: string; status: 'uploading' | 'received' | 'downloaded'; size: number };
/** `desk`: the desk that wrote it (server/desks.ts), whose key must have signed it */
export type Reply = { id: string; day: string; message: string; desk?: string };
export type LookupAnswer = { publicKey: string; lockedPrivateKey: string; submissions: Submission[]; replies: Reply[] };

/**
 * Refusals a new try cannot change today or for minutes (429 and 507 would otherwise count as
 * passing failures): the open's quotas and bounds (server/source/open-limits.ts).
 */
export const QUOTA_REFUSALS: ReadonlySet<string> = new Set(['source_quota', 'source_busy', 'source_unsent', 'quota_full', 'storage_full', 'reservations_full']);

/** The longest wait a `retryAfterSeconds` may tell (the server's sweep lets an upload go within a day of its last move). */
const MAX_RETRY_AFTER_SECONDS = 25 * 3600;

/** A refusal from the server (status ≥ 400) or no answer at all (status 0, code 'network'). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** when the server says a new try may succeed (429 source_busy): whole seconds, 1 to a day */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
  /** Worth trying again: no answer, a timeout, too many requests, or a server-side failure. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/**
 * Credentials 'same-origin', as the page itself, its scripts and the chunks' XMLHttpRequest are fetched (an
 * XHR cannot omit credentials to its own origin): browsers keep the connections of requests that
 * omit credentials apart (Firefox's anonymous connections, Chromium's privacy-mode sockets), so with
 * 'omit' the first chunk of every tip waited for a connection of its own, over Tor a new stream and
 * a round trip (800 ms at 400 ms each way), just after the open had left one idle. The server
 * strips Set-Cookie from every source response (server/policies/security-headers.ts) and reads
 * none, so 'omit' kept nothing from it that the page's own loads and the chunks did not send.
 */
const BASE_INIT: RequestInit = { credentials: 'same-origin', cache: 'no-store', referrerPolicy: 'no-referrer', redirect: 'error' };

export async function requestJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...BASE_INIT, ...init });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'network', `no answer from the server: ${(error as Error).message}`);
  }
  return readAnswer<T>(response.status, await response.text());
}

/** Shared by fetch and XMLHttpRequest: JSON on success, ApiError otherwise. */
export function readAnswer<T>(status: number, text: string): T {
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status >= 200 && status < 300) {
    if (body === undefined) throw new ApiError(status, 'bad_answer', 'expected a JSON answer from the server');
    return body as T;
  }
  const { error, message, retryAfterSeconds } = (body ?? {}) as { error?: unknown; message?: unknown; retryAfterSeconds?: unknown };
  throw new ApiError(
    status,
    typeof error === 'string' ? error : `http_${status}`,
    typeof message === 'string' ? message : `the server answered ${status}`,
    Number.isSafeInteger(retryAfterSeconds) && (retryAfterSeconds as number) >= 1 && (retryAfterSeconds as number) <= MAX_RETRY_AFTER_SECONDS
      ? (retryAfterSeconds as number)
      : undefined,
  );
}

const postJson = (body: unknown, signal?: AbortSignal): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
  signal,
});

export const getConfig = (signal?: AbortSignal) => requestJson<ServerConfig>('/api/v1/config', { signal });

/** The page cannot work without its config: on a flaky circuit, ask again (1 s, 2 s, 4 s later). */
export async function getConfigPatiently(tries = 4): Promise<ServerConfig> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await getConfig();
    } catch (error) {
      if (!(error instanceof ApiError) || !error.retryable || attempt >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** (attempt - 1)));
    }
  }
}
/** A challenge priced for an upload of `size` bytes (PROTOCOL.md "Pricing"); without it, a text tip's. */
export const requestPow = (size?: number, signal?: AbortSignal) =>
  requestJson<PowChallenge>('/api/v1/pow', postJson(size === undefined ? {} : { size }, signal));
export const openUpload = (body: OpenUploadBody, signal?: AbortSignal) =>
  requestJson<{ uploadId: string }>('/api/v1/uploads', postJson(body, signal));
/** The lookup answer, checked field by field (checkLookupAnswer) before the page uses any of it. */
export const lookupSource = async (lookupId: string, signal?: AbortSignal) =>
  checkLookupAnswer(await requestJson<unknown>('/api/v1/source/lookup', postJson({ lookupId }, signal)));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STATUSES: readonly string[] = ['uploading', 'received', 'downloaded'];

/** True for a calendar day written YYYY-MM-DD (2026-02-30 is not one). */
export function isDay(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

function isRecord(value: unknown, keys: readonly string[]): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((k) => own.includes(k));
}

const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;

/**
 * The whole lookup answer, as the server's own schema makes it (server/source/lookup.ts): exactly
 * these fields, each of its type and size, at most MAX_LOOKUP_SUBMISSIONS statuses and
 * MAX_LOOKUP_REPLIES replies, every day a real YYYY-MM-DD. Anything else is the server's fault
 * (ApiError `bad_answer`) and none of it is shown: a server that writes text where a day belongs
 * could put words above a verified reply.
 */
const DESK_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

export function checkLookupAnswer(value: unknown): LookupAnswer {
  const bad = (what: string): never => {
    throw new ApiError(200, 'bad_answer', `the lookup answer is not what this page expects: ${what}`);
  };
  if (!isRecord(value, ['publicKey', 'lockedPrivateKey', 'submissions', 'replies'])) return bad('expected exactly publicKey, lockedPrivateKey, submissions, replies');
  if (!isText(value.publicKey, MAX_ARMORED_KEY_CHARS) || !isText(value.lockedPrivateKey, MAX_ARMORED_KEY_CHARS)) return bad('keys');
  const { submissions, replies } = value;
  if (!Array.isArray(submissions) || submissions.length > MAX_LOOKUP_SUBMISSIONS) return bad('submissions');
  if (!Array.isArray(replies) || replies.length > MAX_LOOKUP_REPLIES) return bad('replies');
  for (const s of submissions as unknown[]) {
    if (!isRecord(s, ['id', 'day', 'status', 'size']) || typeof s.id !== 'string' || !UUID.test(s.id) || !isDay(s.day)
      || typeof s.status !== 'string' || !STATUSES.includes(s.status)
      || !Number.isSafeInteger(s.size) || (s.size as number) < 0 || (s.size as number) > MAX_CIPHERTEXT_BYTES) return bad('a submission');
  }
  const ids = new Set<string>();
  for (const r of replies as unknown[]) {
    // a reply names the desk that wrote it (servers before desks do not: the one desk)
    const named = isRecord(r, ['id', 'day', 'message', 'desk']);
    if (!(named || isRecord(r, ['id', 'day', 'message'])) || typeof r.id !== 'string' || !UUID.test(r.id) || ids.has(r.id) || !isDay(r.day)
      || !isText(r.message, MAX_ARMORED_REPLY_CHARS) || (named && (typeof r.desk !== 'string' || !DESK_ID.test(r.desk)))) return bad('a reply');
    ids.add(r.id);
  }
  return value as LookupAnswer;
}
export const deleteReply = (lookupId: string, replyId: string) =>
  requestJson<{ deleted: true }>('/api/v1/source/replies/delete', postJson({ lookupId, replyId }));

/** What a chunk's URL carries for a streaming page: its own SHA-256, and with the last the SHA-256 of all their digests. */
export type ChunkHashes = { sha256?: string; digests?: string };

export function chunkUrl(uploadId: string, index: number, hashes: ChunkHashes = {}): string {
  const query = new URLSearchParams();
  if (hashes.sha256) query.set('sha256', hashes.sha256);
  if (hashes.digests) query.set('digests', hashes.digests);
  const search = query.toString();
  return `/api/v1/uploads/${encodeURIComponent(uploadId)}/chunks/${index}${search ? `?${search}` : ''}`;
}
