/**
 * @module protocol/fingerprint — an OpenPGP fingerprint as a person reads it aloud or compares it
 * with the one the newsroom publishes: upper-case hex in groups of four, one space between groups.
 *
 * A v4 fingerprint (RFC 4880 §12.2, 20 bytes) gives 10 groups, as `gpg --fingerprint` prints it
 * (gpg adds a second space between the fifth and sixth group; the groups are the same); a v6 one
 * (RFC 9580 §5.5.4, 32 bytes) gives 16 groups. Every page, command and document that shows a
 * fingerprint to a person goes through here, so they can be compared character by character.
 */
import { OpenPgpCheckError } from './errors.ts';

/** Hex digits of a v4 (40) or v6 (64) fingerprint. */
const FINGERPRINT_HEX = /^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/;

export function formatFingerprint(hex: string): string {
  if (typeof hex !== 'string' || !FINGERPRINT_HEX.test(hex)) {
    const got = typeof hex === 'string' ? `${hex.length} characters` : typeof hex;
    throw new OpenPgpCheckError('bad_fingerprint', `expected a fingerprint of 40 (v4) or 64 (v6) hex digits, got ${got}`);
  }
  return hex.toUpperCase().match(/.{4}/g)!.join(' ');
}
