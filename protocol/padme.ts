/**
 * @module protocol/padme — PADMÉ padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted
 * Files and Communication with PURBs", PETS 2019, §4): at most 12 % overhead, and a padded length
 * reveals O(log log n) bits of the real one.
 */
import { MIN_PADDED_BYTES } from './limits.ts';

function checkLength(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected a non-negative safe integer length, got ${n}`);
}

export function padmeLength(n: number): number {
  checkLength(n);
  if (n < 2) return n;
  const e = n.toString(2).length - 1; // exponent of n's highest bit (exact, unlike Math.log2)
  const s = e.toString(2).length; // bits needed to write e
  const lastBits = e - s; // low bits that PADMÉ zeroes
  const unit = 2 ** lastBits;
  return Math.ceil(n / unit) * unit;
}

export function paddedLength(n: number): number {
  return Math.max(MIN_PADDED_BYTES, padmeLength(n));
}
