import { describe, expect, it } from 'vitest';
import { stripPng } from './png.ts';
import { StripError } from './strip-error.ts';
import { SECRETS, ascii, basePng, concat, containsBytes, pngChunk, pngWithMetadata } from './test-images.ts';

function chunkTypes(png: Uint8Array): string[] {
  const types: string[] = [];
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let pos = 8; pos < png.length; pos += 12 + view.getUint32(pos)) {
    types.push(String.fromCharCode(...png.subarray(pos + 4, pos + 8)));
  }
  return types;
}

describe('stripPng', () => {
  it('removes tEXt, zTXt, iTXt, eXIf, tIME and anything after IEND', () => {
    const dirty = pngWithMetadata();
    expect(chunkTypes(dirty.subarray(0, dirty.length - `after IEND ${SECRETS.comment}`.length))).toEqual([
      'IHDR', 'tEXt', 'eXIf', 'tIME', 'IDAT', 'IDAT', 'zTXt', 'iTXt', 'IEND',
    ]);
    const clean = stripPng(dirty);
    expect(chunkTypes(clean)).toEqual(['IHDR', 'IDAT', 'IDAT', 'IEND']);
    for (const s of Object.values(SECRETS)) expect(containsBytes(clean, ascii(s)), s).toBe(false);
  });

  it('returns a clean PNG unchanged', () => {
    const base = basePng();
    expect(Buffer.from(stripPng(base)).equals(Buffer.from(base))).toBe(true);
  });

  it('keeps chunks it has no reason to drop (colour, physical size)', () => {
    const base = basePng();
    const withGamma = concat(base.subarray(0, 33), pngChunk('gAMA', Uint8Array.from([0, 0, 0xb1, 0x8f])), base.subarray(33));
    expect(chunkTypes(stripPng(withGamma))).toContain('gAMA');
  });

  it('refuses broken files', () => {
    const base = basePng();
    expect(() => stripPng(ascii('not a png at all'))).toThrow(StripError);
    expect(() => stripPng(base.subarray(0, base.length - 12))).toThrow(/truncated/);
    const bogusType = base.slice();
    bogusType[12] = 0x31;
    expect(() => stripPng(bogusType)).toThrow(/ASCII letters/);
    const idatFirst = concat(base.subarray(0, 8), base.subarray(33));
    expect(() => stripPng(idatFirst)).toThrow(/expected IHDR/);
    const huge = base.slice();
    new DataView(huge.buffer).setUint32(33, 0x7fff0000);
    expect(() => stripPng(huge)).toThrow(/truncated PNG chunk/);
  });
});
