/**
 * @module protocol/_codename-digits — the digits codename: four groups of eight digits, looking
 * like four local phone numbers, typed on any keyboard in any script's digits.
 *
 * In group p (1–4) the first seven digits are random and the eighth is the Damm check digit of
 * p followed by those seven (H. M. Damm, 2004: every single wrong digit and every swap of two
 * neighbours changes the check). Putting the position in the check also makes a group typed in
 * another place fail, so a wrong order is caught here, before any request. 4 × 7 random digits =
 * 10^28 codenames = 93.0 bits.
 */

export const DIGIT_GROUPS = 4;
export const DIGITS_PER_GROUP = 8;
export const DIGITS_TOTAL = DIGIT_GROUPS * DIGITS_PER_GROUP;

/** Damm's weakly totally anti-symmetric quasigroup of order 10 (Damm 2004), as usually published. */
const DAMM = [
  [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
  [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
  [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
  [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
  [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
  [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
  [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
  [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
  [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
  [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
] as const;

/** The Damm interim digit after `digits`: the check digit to append, or 0 when it is already there. */
export function dammDigit(digits: readonly number[]): number {
  let interim = 0;
  for (const d of digits) {
    if (!Number.isInteger(d) || d < 0 || d > 9) throw new TypeError(`expected decimal digits 0-9, got ${d}`);
    interim = DAMM[interim]![d]!;
  }
  return interim;
}

/** Whether an 8-digit group checks at position p (1-based). */
export function groupChecks(group: string, position: number): boolean {
  return group.length === DIGITS_PER_GROUP && dammDigit([position, ...[...group].map(Number)]) === 0;
}

/** `count` uniformly random decimal digits, by rejection sampling of bytes (250 = 25 × 10). */
function randomDigits(count: number): number[] {
  const out: number[] = [];
  while (out.length < count) {
    for (const byte of crypto.getRandomValues(new Uint8Array(count * 2))) {
      if (byte < 250 && out.length < count) out.push(byte % 10);
    }
  }
  return out;
}

/** A new digits codename in canonical form: four groups of 8 ASCII digits joined by one space. */
export function generateDigits(): string {
  const groups: string[] = [];
  for (let p = 1; p <= DIGIT_GROUPS; p++) {
    const body = randomDigits(DIGITS_PER_GROUP - 1);
    groups.push([...body, dammDigit([p, ...body])].join(''));
  }
  return groups.join(' ');
}

/**
 * The zero of every run of ten decimal digits (Unicode 17.0, General_Category Nd; each run holds
 * 0–9 in order). Fixed here rather than read from the engine's `\p{Nd}`, so every browser reads
 * the same digits; protocol/codename.test.ts checks it against Node's Unicode data.
 */
export const DIGIT_ZEROS = [
  0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0,
  0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620,
  0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x10d40, 0x11066, 0x110f0, 0x11136,
  0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650, 0x116c0, 0x116d0, 0x116da, 0x11730, 0x118e0, 0x11950, 0x11bf0,
  0x11c50, 0x11d50, 0x11da0, 0x11de0, 0x11f50, 0x16130, 0x16a60, 0x16ac0, 0x16b50, 0x16d70, 0x1ccf0, 0x1d7ce,
  0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e4f0, 0x1e5f1, 0x1e950, 0x1fbf0,
] as const;

/** The value 0–9 of a decimal digit in any script, or undefined. */
export function digitValue(ch: string): number | undefined {
  const cp = ch.codePointAt(0)!;
  for (const zero of DIGIT_ZEROS) if (cp >= zero && cp <= zero + 9) return cp - zero;
  return undefined;
}
