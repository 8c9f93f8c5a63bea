/** @module editor token: format, generation and hashing of editor bearer tokens */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'sde_';
/** 32 random bytes in base64url without padding. */
export const TOKEN_RANDOM_BYTES = 32;
export const TOKEN_PATTERN = /^sde_[A-Za-z0-9_-]{43}$/;

/** A new editor token: `sde_` + 32 random bytes, base64url. Shown once; only its hash is stored. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_RANDOM_BYTES).toString('base64url');
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** SHA-256 of the token's ASCII text, lower-case hex: what `editor_tokens.token_hash` holds. */
export function hashToken(token: string): string {
  if (!isWellFormedToken(token)) {
    throw new TypeError(`expected a token of the form sde_<43 base64url characters>, got ${token.length} characters`);
  }
  return createHash('sha256').update(token, 'ascii').digest('hex');
}

/** Compares two SHA-256 hex digests in constant time (false for anything malformed). */
export function tokenHashesEqual(a: string, b: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(a) || !/^[0-9a-f]{64}$/.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}
