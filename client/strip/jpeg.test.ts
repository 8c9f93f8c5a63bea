import { describe, expect, it } from 'vitest';
import { stripJpeg } from './jpeg.ts';
import { StripError } from './strip-error.ts';
import { SECRETS, ascii, baseJpeg, concat, containsBytes, exifApp1Payload, jpegWithMetadata } from './test-images.ts';

/** Markers of the segments before the first scan, in order. */
function markers(jpeg: Uint8Array): number[] {
  const found: number[] = [];
  let pos = 2;
  for (;;) {
    const m = jpeg[pos + 1]!;
    found.push(m);
    if (m === 0xda) return found;
    pos += 2 + ((jpeg[pos + 2]! << 8) | jpeg[pos + 3]!);
  }
}

describe('stripJpeg', () => {
  it('removes EXIF with GPS, XMP, IPTC, comments, vendor APPn, the JFIF thumbnail and the trailer', () => {
    const dirty = jpegWithMetadata();
    for (const s of Object.values(SECRETS)) expect(containsBytes(dirty, ascii(s))).toBe(true);
    const clean = stripJpeg(dirty);
    for (const s of Object.values(SECRETS)) expect(containsBytes(clean, ascii(s)), s).toBe(false);
    expect(containsBytes(clean, ascii('Exif\0\0'))).toBe(false);
    expect(containsBytes(clean, ascii('ICC_PROFILE'))).toBe(false);
    expect(containsBytes(clean, ascii('Photoshop'))).toBe(false);
    // SOI, plain JFIF, then only the image's own tables, frame and scan.
    expect(markers(clean)).toEqual([0xe0, 0xdb, 0xdb, 0xc0, 0xc4, 0xc4, 0xc4, 0xc4, 0xda]);
    expect(Array.from(clean.subarray(0, 20))).toEqual([
      0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 2, 0, 0, 1, 0, 1, 0, 0,
    ]);
    expect(Array.from(clean.subarray(-2))).toEqual([0xff, 0xd9]);
  });

  it('keeps the image data byte for byte', () => {
    const base = baseJpeg();
    const clean = stripJpeg(jpegWithMetadata());
    // After SOI and JFIF: the browser's own file minus its ICC APP2 (bytes 20..494), so the
    // tables, frame and scan arrive unchanged.
    expect(Buffer.from(clean.subarray(20)).equals(Buffer.from(base.subarray(494)))).toBe(true);
  });

  it('is idempotent', () => {
    const once = stripJpeg(jpegWithMetadata());
    expect(Buffer.from(stripJpeg(once)).equals(Buffer.from(once))).toBe(true);
  });

  it('drops APPn segments met between progressive scans and keeps RST markers and stuffed bytes', () => {
    const base = baseJpeg();
    const eoi = base.length - 2;
    // Fake a second scan after the first: DHT-less SOS header + data with FF00 and RST3, APP1 before it.
    const secondScan = concat(
      Uint8Array.from([0xff, 0xe1, 0, 8]),
      ascii('Exif\0\0'),
      Uint8Array.from([0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0, 0x12, 0xff, 0x00, 0x34, 0xff, 0xd3, 0x56]),
    );
    const dirty = concat(base.subarray(0, eoi), secondScan, base.subarray(eoi));
    const clean = stripJpeg(dirty);
    expect(containsBytes(clean, ascii('Exif'))).toBe(false);
    expect(containsBytes(clean, Uint8Array.from([0x12, 0xff, 0x00, 0x34, 0xff, 0xd3, 0x56, 0xff, 0xd9]))).toBe(true);
  });

  it('keeps only the colour transform of an Adobe APP14', () => {
    const base = baseJpeg();
    const adobe = concat(Uint8Array.from([0xff, 0xee, 0, 14]), ascii('Adobe'), Uint8Array.from([0, 0x65, 0x12, 0x34, 0x56, 0x78, 2]));
    const clean = stripJpeg(concat(base.subarray(0, 20), adobe, base.subarray(20)));
    expect(containsBytes(clean, concat(ascii('Adobe'), Uint8Array.from([0, 100, 0, 0, 0, 0, 2])))).toBe(true);
  });

  it('refuses JPG, JPGn, reserved and other markers it does not keep instead of copying them', () => {
    const base = baseJpeg();
    for (const marker of [0x02, 0x4f, 0xbf, 0xc8, 0xf0, 0xf7, 0xfd]) {
      // A length-carrying segment with an EXIF payload, where the JFIF APP0 ends.
      const payload = exifApp1Payload();
      const hidden = concat(Uint8Array.from([0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]), payload);
      const dirty = concat(base.subarray(0, 20), hidden, base.subarray(20));
      expect(() => stripJpeg(dirty), marker.toString(16)).toThrow(StripError);
      expect(() => stripJpeg(dirty), marker.toString(16)).toThrow(new RegExp(`unexpected JPEG marker FF ${marker.toString(16).toUpperCase().padStart(2, '0')}`));
      // Between scans too, where a file could hide it after the image data.
      const eoi = base.length - 2;
      expect(() => stripJpeg(concat(base.subarray(0, eoi), hidden, base.subarray(eoi))), marker.toString(16)).toThrow(StripError);
    }
    for (const marker of [0x01, 0xd0, 0xd7, 0xd8]) {
      const dirty = concat(base.subarray(0, 20), Uint8Array.from([0xff, marker]), base.subarray(20));
      expect(() => stripJpeg(dirty), marker.toString(16)).toThrow(/unexpected JPEG marker/);
    }
  });

  it('keeps DRI, DAC, DNL, DHP and EXP segments as they are', () => {
    const base = baseJpeg();
    const dri = Uint8Array.from([0xff, 0xdd, 0, 4, 0, 8]);
    const dac = Uint8Array.from([0xff, 0xcc, 0, 4, 0x00, 0x10]);
    const dhp = Uint8Array.from([0xff, 0xde, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
    const exp = Uint8Array.from([0xff, 0xdf, 0, 3, 0x11]);
    const dnl = Uint8Array.from([0xff, 0xdc, 0, 4, 0, 8]);
    const eoi = base.length - 2;
    const dirty = concat(base.subarray(0, 20), dri, dac, dhp, exp, base.subarray(20, eoi), dnl, base.subarray(eoi));
    const clean = stripJpeg(dirty);
    expect(containsBytes(clean, concat(dri, dac, dhp, exp))).toBe(true);
    expect(Array.from(clean.subarray(-8))).toEqual([...dnl, 0xff, 0xd9]);
  });

  it('refuses what it cannot parse instead of passing it through', () => {
    const dirty = jpegWithMetadata();
    expect(() => stripJpeg(ascii('GIF89a'))).toThrow(StripError);
    expect(() => stripJpeg(dirty.subarray(0, 300))).toThrow(/truncated/);
    const noEoi = baseJpeg().subarray(0, baseJpeg().length - 2);
    expect(() => stripJpeg(noEoi)).toThrow(/truncated JPEG scan/);
    const badLength = baseJpeg();
    badLength[4] = 0;
    badLength[5] = 1;
    expect(() => stripJpeg(badLength)).toThrow(/length 1/);
    const garbage = concat(baseJpeg().subarray(0, 20), Uint8Array.from([0x12, 0x34]), baseJpeg().subarray(20));
    expect(() => stripJpeg(garbage)).toThrow(/expected a JPEG marker/);
  });
});
