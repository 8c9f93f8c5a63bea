/**
 * @module protocol/pow — hashcash over SHA-256 (WebCrypto). The server signs and checks the token's
 * HMAC; this module only parses tokens, and solves and checks the work.
 */
import { fromBase64Url, utf8Encode } from './encoding.ts';
import { PowError } from './errors.ts';

export type PowToken = {
  /** 16 random bytes, base64url (22 chars): what the spent table remembers. */
  id: string;
  /** Unix seconds after which the token is refused. */
  expires: number;
  difficulty: number;
  /** `v1.<id>.<expires>.<difficulty>`: the bytes the server's HMAC covers. */
  payload: string;
  /** The HMAC-SHA256, base64url (43 chars). */
  mac: string;
};

export const MAX_POW_DIFFICULTY = 64;
const TOKEN_RE = /^v1\.([A-Za-z0-9_-]{22})\.(0|[1-9][0-9]{0,11})\.(0|[1-9][0-9]?)\.([A-Za-z0-9_-]{43})$/;
const NONCE_RE = /^(0|[1-9][0-9]{0,15})$/;

export function parsePowToken(token: string): PowToken {
  if (typeof token !== 'string') throw new PowError('malformed_token', `expected a token string, got ${typeof token}`);
  const m = TOKEN_RE.exec(token);
  if (!m) {
    throw new PowError('malformed_token', 'expected v1.<id: 22 b64url>.<expires: decimal>.<difficulty: decimal>.<hmac: 43 b64url>');
  }
  const [, id, expires, difficulty, mac] = m as unknown as [string, string, string, string, string];
  try {
    fromBase64Url(id);
    fromBase64Url(mac);
  } catch (e) {
    throw new PowError('malformed_token', `expected canonical base64url in token: ${(e as Error).message}`);
  }
  const d = Number(difficulty);
  if (d > MAX_POW_DIFFICULTY) throw new PowError('malformed_token', `expected difficulty ≤ ${MAX_POW_DIFFICULTY}, got ${d}`);
  return { id, expires: Number(expires), difficulty: d, payload: token.slice(0, token.length - 44), mac };
}

/** SHA-256(utf8(token + ':' + nonce)). */
export async function powDigest(token: string, nonce: string): Promise<Uint8Array> {
  const digest = await crypto.subtle.digest('SHA-256', utf8Encode(`${token}:${nonce}`));
  return new Uint8Array(digest);
}

export function leadingZeroBits(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) {
    if (b === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

function checkDifficulty(difficulty: number): void {
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > MAX_POW_DIFFICULTY) {
    throw new PowError('bad_difficulty', `expected an integer difficulty 0..${MAX_POW_DIFFICULTY}, got ${difficulty}`);
  }
}

export type SolveOptions = { signal?: AbortSignal; onProgress?: (tries: number) => void };

/**
 * How many digests `solvePow` keeps in flight. Each `crypto.subtle.digest` is a round trip to
 * another thread in Firefox; awaiting one at a time leaves that thread idle between calls
 * (PROTOCOL.md "Measured costs").
 */
export const POW_DIGESTS_IN_FLIGHT = 64;

const ignore = (): void => undefined;

/**
 * Finds the smallest nonce (0, 1, 2… in order) whose digest has `difficulty` leading zero bits.
 * Keeps POW_DIGESTS_IN_FLIGHT digests running ahead of the one it checks, and checks them in nonce
 * order, so the answer is the same as a one-at-a-time search; at most that many digests past the
 * answer are computed and dropped. `onProgress(n)` gets the number of nonces checked, every 1024;
 * `signal` is looked at just as often and rejects with its reason.
 */
export async function solvePow(token: string, difficulty: number, options: SolveOptions = {}): Promise<string> {
  checkDifficulty(difficulty);
  const { signal, onProgress } = options;
  const inFlight: Promise<Uint8Array>[] = [];
  let next = 0;
  const start = (): Promise<Uint8Array> => {
    const digest = powDigest(token, String(next++));
    // A digest still running when the search returns or throws must not become an unhandled
    // rejection; awaiting it below still sees its error.
    digest.catch(ignore);
    return digest;
  };
  for (let n = 0; n <= Number.MAX_SAFE_INTEGER; n++) {
    if (n % 1024 === 0) {
      if (signal?.aborted) throw signal.reason ?? new PowError('aborted', 'proof of work aborted');
      if (n > 0) onProgress?.(n);
    }
    while (next <= Number.MAX_SAFE_INTEGER && next - n < POW_DIGESTS_IN_FLIGHT) inFlight.push(start());
    const digest = await inFlight.shift()!;
    if (leadingZeroBits(digest) >= difficulty) return String(n);
  }
  throw new PowError('unsolved', 'expected a solution below 2^53 tries, found none');
}

/** Announced sizes up to this many bytes pay no extra bits: every text tip, a photo or two. */
export const POW_FREE_BYTES = 1024 * 1024;

/**
 * The extra bits a ciphertext of `size` bytes pays above the base difficulty (PROTOCOL.md,
 * "Pricing"): two bits for every three doublings above POW_FREE_BYTES, rounded down, so the work
 * grows as size^(2/3): a 2 GiB upload (11 doublings) pays 7 bits, 128 times a text tip's work.
 */
export function powSizeBits(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new PowError('bad_size', `expected a byte count, got ${size}`);
  if (size <= POW_FREE_BYTES) return 0;
  // the doublings above POW_FREE_BYTES, rounded up: the bit length of ceil(size / FREE) - 1
  const doublings = Math.ceil(Math.log2(Math.ceil(size / POW_FREE_BYTES)));
  return Math.floor((2 * doublings) / 3);
}

/** The expected seconds to solve `difficulty` bits at `hashesPerSecond` (2^difficulty tries on average). */
export function powSeconds(difficulty: number, hashesPerSecond: number): number {
  return 2 ** difficulty / hashesPerSecond;
}

/** False for a wrong or non-canonical nonce (decimal, no leading zeros, ≤ 16 digits). */
export async function checkPowSolution(token: string, nonce: string, difficulty: number): Promise<boolean> {
  checkDifficulty(difficulty);
  if (typeof token !== 'string' || typeof nonce !== 'string' || !NONCE_RE.test(nonce)) return false;
  return leadingZeroBits(await powDigest(token, nonce)) >= difficulty;
}
