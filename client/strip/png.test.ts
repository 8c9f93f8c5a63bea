import { describe, expect, it } from 'vitest';
import { stripPng } from './png.ts';
import { StripError } from './strip-error.ts';
import {
  ICC_DATE,
  SECRETS,
  ascii,
  basePng,
  concat,
  containsBytes,
  customIccProfile,
  exifWithGps,
  pngChunk,
  pngWithIccProfile,
  pngWithMetadata,
} from './test-images.ts';

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

  it('drops every chunk outside the allowlist: C2PA caBX, zxIf, exIf, tXMP, sPLT, private ones', () => {
    const base = basePng();
    const gps = 'GPSLatitude=48.85N';
    const dirty = concat(
      base.subarray(0, 33),
      pngChunk('caBX', concat(ascii('jumb c2pa '), ascii(gps))),
      pngChunk('zxIf', exifWithGps()),
      pngChunk('exIf', concat(ascii(gps), exifWithGps())),
      pngChunk('tXMP', ascii(`<x:xmpmeta exif:${gps}/>`)),
      pngChunk('sPLT', concat(ascii(`${SECRETS.author}\0`), Uint8Array.from([8, 1, 2, 3, 4, 0, 1]))),
      base.subarray(33, base.length - 12),
      pngChunk('prVt', ascii(SECRETS.comment)),
      base.subarray(base.length - 12),
    );
    const clean = stripPng(dirty);
    expect(chunkTypes(clean)).toEqual(['IHDR', 'IDAT', 'IDAT', 'IEND']);
    expect(containsBytes(clean, ascii(gps))).toBe(false);
    expect(containsBytes(clean, ascii(SECRETS.camera))).toBe(false);
    for (const s of Object.values(SECRETS)) expect(containsBytes(clean, ascii(s)), s).toBe(false);
    expect(Buffer.from(clean).equals(Buffer.from(base))).toBe(true);
  });

  it('keeps the chunks that say how to show the image, byte for byte and in order', () => {
    const base = basePng();
    const kept: [string, number[]][] = [
      ['cHRM', new Array(32).fill(1)],
      ['gAMA', [0, 0, 0xb1, 0x8f]],
      ['sBIT', [8, 8, 8, 8]],
      ['sRGB', [0]],
      ['cICP', [1, 13, 0, 1]],
      ['cLLI', [0, 0, 0, 1, 0, 0, 0, 1]],
      ['bKGD', [0, 1, 0, 2, 0, 3]],
      ['pHYs', [0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1]],
    ];
    const withChunks = concat(base.subarray(0, 33), ...kept.map(([t, d]) => pngChunk(t, Uint8Array.from(d))), base.subarray(33));
    const clean = stripPng(withChunks);
    expect(chunkTypes(clean)).toEqual(['IHDR', ...kept.map(([t]) => t), 'IDAT', 'IDAT', 'IEND']);
    expect(Buffer.from(clean).equals(Buffer.from(withChunks))).toBe(true);
  });

  it('drops an iCCP colour profile with its creation time, device maker and model, and adds nothing', () => {
    const dirty = pngWithIccProfile();
    expect(chunkTypes(dirty)).toEqual(['IHDR', 'iCCP', 'IDAT', 'IDAT', 'IEND']);
    const profile = customIccProfile();
    for (const needle of [ICC_DATE, ascii('SDcmLK09'), ascii(SECRETS.camera), ascii(SECRETS.author)]) {
      expect(containsBytes(dirty, needle)).toBe(true);
    }
    const clean = stripPng(dirty);
    expect(chunkTypes(clean)).toEqual(['IHDR', 'IDAT', 'IDAT', 'IEND']);
    for (const needle of [ICC_DATE, ascii('SDcmLK09'), ascii(SECRETS.camera), ascii(SECRETS.author), profile.subarray(0, 48)]) {
      expect(containsBytes(clean, needle)).toBe(false);
    }
    expect(Buffer.from(clean).equals(Buffer.from(basePng()))).toBe(true);
  });

  it('drops an ancillary chunk of the wrong size and refuses a critical one', () => {
    const base = basePng();
    const note = ascii(`${SECRETS.comment}....`);
    const longGama = concat(base.subarray(0, 33), pngChunk('gAMA', note), pngChunk('pHYs', note), base.subarray(33));
    const clean = stripPng(longGama);
    expect(chunkTypes(clean)).toEqual(['IHDR', 'IDAT', 'IDAT', 'IEND']);
    expect(containsBytes(clean, ascii(SECRETS.comment))).toBe(false);
    const longIend = concat(base.subarray(0, base.length - 12), pngChunk('IEND', note));
    expect(() => stripPng(longIend)).toThrow(/IEND of 34 bytes/);
    const longIhdr = concat(base.subarray(0, 8), pngChunk('IHDR', concat(base.subarray(16, 29), note)), base.subarray(33));
    expect(() => stripPng(longIhdr)).toThrow(/IHDR of 47 bytes/);
  });

  it('refuses a PNG with a critical chunk it does not know rather than dropping it', () => {
    const base = basePng();
    const unknownCritical = concat(base.subarray(0, 33), pngChunk('GPSx', ascii('GPSLatitude=48.85N')), base.subarray(33));
    expect(() => stripPng(unknownCritical)).toThrow(StripError);
    expect(() => stripPng(unknownCritical)).toThrow(/unknown critical chunk GPSx/);
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
