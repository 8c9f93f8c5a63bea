import { describe, expect, it } from 'vitest';
import { MIN_PADDED_BYTES } from './limits.ts';
import { paddedLength, padmeLength } from './padme.ts';

/** The PURBs paper's pseudo-code, with bit operations (valid below 2^31). */
function reference(l: number): number {
  if (l < 2) return l;
  const e = 31 - Math.clz32(l);
  const s = 32 - Math.clz32(e);
  const mask = (1 << (e - s)) - 1;
  return (l + mask) & ~mask;
}

describe('PADMÉ', () => {
  it('matches the reference for the first 70000 lengths and random ones', () => {
    for (let n = 0; n < 70_000; n++) expect(padmeLength(n)).toBe(reference(n));
    for (let i = 0; i < 10_000; i++) {
      const n = Math.floor(Math.random() * 2 ** 30);
      expect(padmeLength(n)).toBe(reference(n));
    }
  });
  it('known values', () => {
    expect([9, 10, 11, 12, 13, 100, 1000, 5000, 65537, 1_000_000].map(padmeLength)).toEqual([
      10, 10, 12, 12, 14, 104, 1024, 5120, 67584, 1015808,
    ]);
    expect(padmeLength(2 ** 31 + 1)).toBe(2 ** 31 + 2 ** 26);
  });
  it('never shrinks and costs at most 12 %', () => {
    for (let n = 2; n < 1e9; n = Math.ceil(n * 1.37)) {
      const p = padmeLength(n);
      expect(p).toBeGreaterThanOrEqual(n);
      expect(p / n).toBeLessThanOrEqual(1.12);
      expect(padmeLength(p)).toBe(p); // padded lengths are fixed points
    }
  });
  it('pads to at least MIN_PADDED_BYTES', () => {
    expect(paddedLength(0)).toBe(MIN_PADDED_BYTES);
    expect(paddedLength(4097)).toBe(padmeLength(4097));
  });
  it('refuses negative and fractional lengths', () => {
    expect(() => padmeLength(-1)).toThrow(RangeError);
    expect(() => padmeLength(1.5)).toThrow(RangeError);
  });
});
