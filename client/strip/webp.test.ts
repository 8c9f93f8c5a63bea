import { describe, expect, it } from 'vitest';
import { StripError } from './strip-error.ts';
import {
  ICC_DATE,
  SECRETS,
  animatedWebpWithMetadata,
  ascii,
  baseVp8Chunk,
  baseWebp,
  concat,
  containsBytes,
  riffChunk,
  webpWithIccProfile,
  webpWithMetadata,
} from './test-images.ts';
import { stripWebp } from './webp.ts';

function chunks(webp: Uint8Array): string[] {
  const view = new DataView(webp.buffer, webp.byteOffset, webp.byteLength);
  const found: string[] = [];
  for (let pos = 12; pos < 8 + view.getUint32(4, true); ) {
    const size = view.getUint32(pos + 4, true);
    found.push(String.fromCharCode(...webp.subarray(pos, pos + 4)));
    pos += 8 + size + (size % 2);
  }
  return found;
}

/** The subchunks of every ANMF chunk, in order, and each frame's 16-byte header. */
function frames(webp: Uint8Array): { header: number[]; subchunks: string[] }[] {
  const view = new DataView(webp.buffer, webp.byteOffset, webp.byteLength);
  const found: { header: number[]; subchunks: string[] }[] = [];
  for (let pos = 12; pos < 8 + view.getUint32(4, true); ) {
    const size = view.getUint32(pos + 4, true);
    if (String.fromCharCode(...webp.subarray(pos, pos + 4)) === 'ANMF') {
      const subchunks: string[] = [];
      for (let at = pos + 24; at < pos + 8 + size; ) {
        const subSize = view.getUint32(at + 4, true);
        subchunks.push(String.fromCharCode(...webp.subarray(at, at + 4)));
        at += 8 + subSize + (subSize % 2);
      }
      found.push({ header: Array.from(webp.subarray(pos + 8, pos + 24)), subchunks });
    }
    pos += 8 + size + (size % 2);
  }
  return found;
}

describe('stripWebp', () => {
  it('removes EXIF, XMP, ICCP and unknown chunks, clears the VP8X flags and fixes the RIFF size', () => {
    const dirty = webpWithMetadata();
    expect(chunks(dirty)).toEqual(['VP8X', 'ICCP', 'VP8 ', 'EXIF', 'XMP ', 'ZZZZ']);
    expect(dirty[20]! & 0x2c).toBe(0x2c);
    const clean = stripWebp(dirty);
    expect(chunks(clean)).toEqual(['VP8X', 'VP8 ']);
    expect(clean[20]).toBe(0); // no ICC, EXIF or XMP flag; not animated, no alpha
    expect(new DataView(clean.buffer).getUint32(4, true)).toBe(clean.length - 8);
    for (const s of Object.values(SECRETS)) expect(containsBytes(clean, ascii(s)), s).toBe(false);
    // The browser's own file without its profile: VP8X (canvas size unchanged), then its VP8 chunk.
    const base = baseWebp();
    expect(Buffer.from(clean.subarray(21)).equals(Buffer.concat([base.subarray(21, 30), baseVp8Chunk()]))).toBe(true);
  });

  it('drops a custom ICC profile with its creation time, device maker and model', () => {
    const dirty = webpWithIccProfile();
    expect(chunks(dirty)).toEqual(['VP8X', 'ICCP', 'VP8 ']);
    for (const needle of [ICC_DATE, ascii('SDcmLK09'), ascii(SECRETS.camera), ascii(SECRETS.author)]) {
      expect(containsBytes(dirty, needle)).toBe(true);
    }
    const clean = stripWebp(dirty);
    expect(chunks(clean)).toEqual(['VP8X', 'VP8 ']);
    expect(clean[20]! & 0x20).toBe(0);
    for (const needle of [ICC_DATE, ascii('SDcmLK09'), ascii(SECRETS.camera), ascii(SECRETS.author), ascii('ICCP')]) {
      expect(containsBytes(clean, needle)).toBe(false);
    }
    expect(Buffer.from(clean).equals(Buffer.from(stripWebp(webpWithMetadata())))).toBe(true);
  });

  it('rewrites VP8X to its ten bytes, keeping only the alpha and animation flags', () => {
    const base = baseWebp();
    const vp8x = concat(ascii('VP8X'), Uint8Array.from([14, 0, 0, 0, 0xff, 0xaa, 0xbb, 0xcc, 7, 0, 0, 7, 0, 0]), ascii('Kim!'));
    const body = concat(ascii('WEBP'), vp8x, baseVp8Chunk());
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(0, body.length, true);
    expect(() => stripWebp(concat(ascii('RIFF'), size, body))).toThrow(/VP8X of 10/);
    const ten = concat(ascii('VP8X'), Uint8Array.from([10, 0, 0, 0, 0xff, 0xaa, 0xbb, 0xcc, 7, 0, 0, 7, 0, 0]));
    const body10 = concat(ascii('WEBP'), ten, baseVp8Chunk());
    new DataView(size.buffer).setUint32(0, body10.length, true);
    const clean = stripWebp(concat(ascii('RIFF'), size, body10));
    expect(Array.from(clean.subarray(12, 30))).toEqual([...ascii('VP8X'), 10, 0, 0, 0, 0x12, 0, 0, 0, 7, 0, 0, 7, 0, 0]);
    expect(Buffer.from(clean.subarray(30)).equals(Buffer.from(base.subarray(12 + 18 + 8 + 456)))).toBe(true);
  });

  it('copies a simple-format WebP and drops bytes after the RIFF payload', () => {
    const base = baseWebp();
    const vp8 = base.subarray(12 + 18 + 8 + 456);
    const body = concat(ascii('WEBP'), vp8);
    const simple = concat(ascii('RIFF'), Uint8Array.from([body.length, 0, 0, 0]), body);
    expect(chunks(simple)).toEqual(['VP8 ']);
    const clean = stripWebp(concat(simple, ascii(SECRETS.comment)));
    expect(Buffer.from(clean).equals(Buffer.from(simple))).toBe(true);
  });

  it('rebuilds animation frames without the EXIF, XMP and unknown subchunks they carry', () => {
    const dirty = animatedWebpWithMetadata();
    expect(frames(dirty).map((f) => f.subchunks)).toEqual([['VP8 ', 'EXIF', 'XMP '], ['ZZZZ', 'VP8 ']]);
    for (const s of Object.values(SECRETS)) expect(containsBytes(dirty, ascii(s))).toBe(true);
    const clean = stripWebp(dirty);
    expect(chunks(clean)).toEqual(['VP8X', 'ANIM', 'ANMF', 'ANMF']);
    const cleanFrames = frames(clean);
    expect(cleanFrames.map((f) => f.subchunks)).toEqual([['VP8 '], ['VP8 ']]);
    expect(cleanFrames.map((f) => f.header)).toEqual(frames(dirty).map((f) => f.header));
    for (const s of Object.values(SECRETS)) expect(containsBytes(clean, ascii(s)), s).toBe(false);
    expect(containsBytes(clean, ascii('GPS'))).toBe(false);
    expect(clean[20]! & 0x0c).toBe(0);
    expect(clean[20]! & 0x02).toBe(0x02); // still animated
    // Each frame is now exactly its header plus the browser's VP8 chunk, and the sizes add up.
    const frameChunk = concat(ascii('ANMF'), Uint8Array.from([16 + 90, 0, 0, 0]), Uint8Array.from(cleanFrames[0]!.header), baseVp8Chunk());
    expect(Buffer.from(clean.subarray(clean.length - frameChunk.length)).equals(Buffer.from(frameChunk))).toBe(true);
    expect(new DataView(clean.buffer).getUint32(4, true)).toBe(clean.length - 8);
    expect(Buffer.from(stripWebp(clean)).equals(Buffer.from(clean))).toBe(true);
  });

  it('keeps a frame\'s ALPH and VP8L subchunks, padding odd ones', () => {
    const alph = riffChunk('ALPH', Uint8Array.from([0, 1, 2]));
    const vp8l = riffChunk('VP8L', Uint8Array.from([0x2f, 7, 0xc0, 0x41, 0x10]));
    const clean = stripWebp(animatedWebpWithMetadata(concat(alph, vp8l, riffChunk('EXIF', ascii(SECRETS.camera)))));
    expect(frames(clean)[0]!.subchunks).toEqual(['VP8 ', 'ALPH', 'VP8L']);
    expect(containsBytes(clean, concat(alph, vp8l))).toBe(true);
    expect(containsBytes(clean, ascii(SECRETS.camera))).toBe(false);
  });

  it('refuses animation frames it cannot parse', () => {
    const anmf = (payload: Uint8Array) => {
      const vp8x = concat(ascii('VP8X'), Uint8Array.from([10, 0, 0, 0, 0x02, 0, 0, 0, 7, 0, 0, 7, 0, 0]));
      const body = concat(ascii('WEBP'), vp8x, riffChunk('ANMF', payload));
      const size = new Uint8Array(4);
      new DataView(size.buffer).setUint32(0, body.length, true);
      return concat(ascii('RIFF'), size, body);
    };
    const header = new Uint8Array(16);
    expect(() => stripWebp(anmf(new Uint8Array(10)))).toThrow(/under 16/);
    expect(() => stripWebp(anmf(concat(header, riffChunk('EXIF', ascii(SECRETS.camera)))))).toThrow(/without VP8 or VP8L/);
    const overrun = concat(header, baseVp8Chunk());
    new DataView(overrun.buffer).setUint32(16 + 4, 5000, true);
    expect(() => stripWebp(anmf(overrun))).toThrow(/runs past its ANMF end/);
    expect(() => stripWebp(anmf(concat(header, baseVp8Chunk(), ascii('EXIF'))))).toThrow(/truncated WebP frame/);
    expect(() => stripWebp(anmf(concat(header, baseVp8Chunk())))).not.toThrow();
  });

  it('refuses broken files', () => {
    expect(() => stripWebp(ascii('RIFF\x04\0\0\0WAVE'))).toThrow(StripError);
    const dirty = webpWithMetadata();
    const short = dirty.slice(0, 100);
    expect(() => stripWebp(short)).toThrow(/does not fit/);
    const lying = concat(dirty.subarray(0, 12), riffChunk('EXIF', ascii('x')));
    new DataView(lying.buffer).setUint32(4, lying.length - 8, true);
    expect(() => stripWebp(lying)).toThrow(/starts with chunk "EXIF"/);
    const overrun = baseWebp();
    new DataView(overrun.buffer).setUint32(16, 5000, true);
    expect(() => stripWebp(overrun)).toThrow(/runs past/);
  });
});
