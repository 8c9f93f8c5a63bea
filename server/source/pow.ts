/**
 * @module server/source/pow — signing and checking proof-of-work challenges.
 * Token: `v1.<id>.<expires>.<difficulty>.<hmac>` (protocol/pow.ts); the HMAC-SHA256 with the
 * server secret covers the first four fields. Spending is recorded in `spent_pow` by the caller,
 * in the same statement that creates what the token pays for (server/source/uploads.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { toBase64Url } from '../../protocol/encoding.ts';
import { PowError } from '../../protocol/errors.ts';
import { MAX_CIPHERTEXT_BYTES, POW_CLOCK_SKEW_SECONDS, POW_TTL_SECONDS } from '../../protocol/limits.ts';
import { checkPowSolution, parsePowToken, powSizeBits } from '../../protocol/pow.ts';
import { dayOf } from '../clock.ts';
import { refuse } from './errors.ts';
import type { PowLoad } from './pow-load.ts';

export interface PowChallenge {
  token: string;
  difficulty: number;
}

function mac(secret: Uint8Array, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload, 'utf8').digest();
}

export function issuePow(secret: Uint8Array, difficulty: number, now: Date): PowChallenge {
  const id = toBase64Url(randomBytes(16));
  const expires = Math.floor(now.getTime() / 1000) + POW_TTL_SECONDS;
  const payload = `v1.${id}.${expires}.${difficulty}`;
  return { token: `${payload}.${toBase64Url(mac(secret, payload))}`, difficulty };
}

export interface PowPrice {
  /** what an open of this size must pay now */
  difficulty: number;
  /** what it would pay without a flood: base + size bits */
  unflooded: number;
}

/**
 * Flood bits never lift a price past the largest upload's unflooded price plus this many bits
 * (PROTOCOL.md "Pricing"): at base 16, 25 bits, about 17 minutes in Tor Browser "Safer".
 */
export const POW_CEILING_FLOOD_BITS = 2;

/** The most an open may be asked at `base`: base + powSizeBits(MAX_CIPHERTEXT_BYTES) + POW_CEILING_FLOOD_BITS. */
export const powCeiling = (base: number): number => base + powSizeBits(MAX_CIPHERTEXT_BYTES) + POW_CEILING_FLOOD_BITS;

/**
 * The difficulty asked of an open of `size` bytes now (PROTOCOL.md "Pricing"): the base, plus the
 * size curve's bits, plus what a flood adds, but never more than powCeiling(base): a flood raises
 * small opens by its full bits and the largest by two at most, so a 2 GiB upload costs minutes
 * even then. A base of 0 switches proof of work off (tests, demos): nothing is added then.
 */
export async function powPrice(base: number, load: PowLoad, size: number, now: Date): Promise<PowPrice> {
  if (base === 0) return { difficulty: 0, unflooded: 0 };
  // an announced size past the limit is refused as too_large by the shape check, not priced
  const unflooded = base + powSizeBits(Math.min(size, MAX_CIPHERTEXT_BYTES));
  return { difficulty: Math.min(unflooded + (await load.floodBits(now)), Math.max(unflooded, powCeiling(base))), unflooded };
}

export interface VerifiedPow {
  /** the difficulty the token was issued with (at least the one asked) */
  difficulty: number;
  idHash: string;
  expiresDay: string;
  /** the token's expiry, ms since the epoch (never stored: only kept in memory, see key-check-tokens.ts) */
  expiresAt: number;
}

/**
 * Everything about a solution that needs no database: signature (constant time), expiry (in the
 * future, and at most POW_TTL_SECONDS + POW_CLOCK_SKEW_SECONDS ahead),
 * difficulty at least `minDifficulty`, and the work itself. Throws a 400 refusal otherwise.
 * With a difficulty of 0 any canonical nonce passes the work check, but the token must still be
 * ours, unexpired and unspent (checked when it is spent).
 */
export async function verifyPow(
  secret: Uint8Array,
  minDifficulty: number,
  now: Date,
  token: string,
  nonce: string,
): Promise<VerifiedPow> {
  let parsed;
  try {
    parsed = parsePowToken(token);
  } catch (error) {
    if (error instanceof PowError) return refuse(400, 'bad_pow', 'The proof-of-work token is malformed.');
    throw error;
  }
  const expected = mac(secret, parsed.payload);
  const given = Buffer.from(parsed.mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    refuse(400, 'bad_pow', 'The proof-of-work token was not issued by this server.');
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (parsed.expires <= nowSeconds) {
    refuse(400, 'pow_expired', 'The proof-of-work token has expired; ask for a new one.');
  }
  // Only a process whose clock runs far ahead issues such a token. Its spent_pow row would be
  // purged by its expiry day while the token still passed, so it could be spent again.
  if (parsed.expires > nowSeconds + POW_TTL_SECONDS + POW_CLOCK_SKEW_SECONDS) {
    refuse(400, 'bad_pow', 'The proof-of-work token expires further ahead than this server issues; ask for a new one.');
  }
  if (parsed.difficulty < minDifficulty) {
    refuse(400, 'pow_too_easy', 'The proof-of-work token is easier than this server now requires; ask for a new one.');
  }
  if (!(await checkPowSolution(token, nonce, parsed.difficulty))) {
    refuse(400, 'bad_pow', 'The proof-of-work solution is wrong.');
  }
  return {
    difficulty: parsed.difficulty,
    idHash: createHash('sha256').update(parsed.id, 'utf8').digest('hex'),
    expiresDay: dayOf(new Date(parsed.expires * 1000)),
    expiresAt: parsed.expires * 1000,
  };
}
