import { describe, expect, it } from 'vitest';
import { StripError } from './strip-error.ts';
import { SECRETS, ascii, baseWebp, concat, containsBytes, riffChunk, webpWithMetadata } from './test-images.ts';
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

describe('stripWebp', () => {
  it('removes EXIF, XMP and unknown chunks, clears the VP8X flags and fixes the RIFF size', () => {
    const dirty = webpWithMetadata();
    expect(chunks(dirty)).toEqual(['VP8X', 'ICCP', 'VP8 ', 'EXIF', 'XMP ', 'ZZZZ']);
    expect(dirty[20]! & 0x0c).toBe(0x0c);
    const clean = stripWebp(dirty);
    expect(chunks(clean)).toEqual(['VP8X', 'ICCP', 'VP8 ']);
    expect(clean[20]! & 0x0c).toBe(0);
    expect(clean[20]! & 0x20).toBe(0x20); // the ICC flag stays with its chunk
    expect(new DataView(clean.buffer).getUint32(4, true)).toBe(clean.length - 8);
    for (const s of Object.values(SECRETS)) expect(containsBytes(clean, ascii(s)), s).toBe(false);
    // Exactly the browser's own file comes back.
    expect(Buffer.from(clean).equals(Buffer.from(baseWebp()))).toBe(true);
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
