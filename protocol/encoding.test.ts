import { describe, expect, it } from 'vitest';
import { fromBase64Url, fromHex, toBase64Url, toHex, utf8Decode, utf8Encode } from './encoding.ts';

describe('hex', () => {
  it('round-trips', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromHex(toHex(bytes))).toEqual(bytes);
    expect(toHex(Uint8Array.of(0, 15, 16, 255))).toBe('000f10ff');
  });
  it.each(['0', 'ABCD', 'zz', '0x00', ' 00', '00\n'])('refuses %j', (text) => {
    expect(() => fromHex(text)).toThrow(TypeError);
  });
});

describe('base64url', () => {
  // RFC 4648 §10 vectors, in the URL alphabet without padding.
  it.each([
    ['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy'],
  ])('encodes %j as %j and back', (plain, encoded) => {
    expect(toBase64Url(utf8Encode(plain))).toBe(encoded);
    expect(utf8Decode(fromBase64Url(encoded))).toBe(plain);
  });
  it('uses - and _', () => {
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
    expect(fromBase64Url('-_8')).toEqual(Uint8Array.of(0xfb, 0xff));
  });
  it('agrees with node for random lengths', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      expect(toBase64Url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
    }
  });
  it.each(['Zg==', 'Zm9v+', 'Zm9v/', 'Z', 'Zh', 'Zm9 v', 'Zm9v\n'])('refuses non-canonical %j', (text) => {
    expect(() => fromBase64Url(text)).toThrow(TypeError);
  });
});

describe('utf8', () => {
  it('is fatal on invalid bytes and keeps a BOM', () => {
    expect(() => utf8Decode(Uint8Array.of(0xc3))).toThrow();
    expect(() => utf8Decode(Uint8Array.of(0xed, 0xa0, 0x80))).toThrow(); // encoded surrogate
    expect(utf8Decode(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61))).toBe('\ufeffa');
  });
  it('refuses lone surrogates instead of writing U+FFFD', () => {
    expect(() => utf8Encode('a\ud800b')).toThrow(TypeError);
    expect(() => utf8Encode('\udc00')).toThrow(TypeError);
    expect(utf8Encode('😀')).toEqual(Uint8Array.of(0xf0, 0x9f, 0x98, 0x80));
  });
});
