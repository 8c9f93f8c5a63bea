/**
 * @module client/strip/test-images — real images and metadata builders for the strippers' tests
 * and the browser stories. The three base images are 8×8 pictures that Chromium's own encoders
 * produced (canvas.toBlob), so they are what a browser meets in the wild, ICC profile included.
 */

const B64_JPEG =
  '/9j/4AAQSkZJRgABAQAAAQABAAD/4gHYSUNDX1BST0ZJTEUAAQEAAAHIAAAAAAQwAABtbnRyUkdCIFhZWiAH4AABAAEAAAAAAABhY3NwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAA9tYAAQAAAADTLQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAlkZXNjAAAA8AAAACRyWFlaAAABFAAAABRnWFlaAAABKAAAABRiWFlaAAABPAAAABR3dHB0AAABUAAAABRyVFJDAAABZAAAAChnVFJDAAABZAAAAChiVFJDAAABZAAAAChjcHJ0AAABjAAAADxtbHVjAAAAAAAAAAEAAAAMZW5VUwAAAAgAAAAcAHMAUgBHAEJYWVogAAAAAAAAb6IAADj1AAADkFhZWiAAAAAAAABimQAAt4UAABjaWFlaIAAAAAAAACSgAAAPhAAAts9YWVogAAAAAAAA9tYAAQAAAADTLXBhcmEAAAAAAAQAAAACZmYAAPKnAAANWQAAE9AAAApbAAAAAAAAAABtbHVjAAAAAAAAAAEAAAAMZW5VUwAAACAAAAAcAEcAbwBvAGcAbABlACAASQBuAGMALgAgADIAMAAxADb/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAAIAAgDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAf/xAAeEAABBAEFAAAAAAAAAAAAAAAABRESEwEVI0JRYf/EABUBAQEAAAAAAAAAAAAAAAAAAAYI/8QAHhEBAAICAgMBAAAAAAAAAAAAAQQRAgUAMRIhQQP/2gAMAwEAAhEDEQA/AIyiouj3b11keMWZ/c9gAF7DYSdrJzmTM/L9MqtoLoA9AHQfOV5Bgx9bHxixcfHDG6LXtV9qva/ef//Z';
const B64_WEBP =
  'UklGRkACAABXRUJQVlA4WAoAAAAgAAAABwAABwAASUNDUMgBAAAAAAHIAAAAAAQwAABtbnRyUkdCIFhZWiAH4AABAAEAAAAAAABhY3NwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAA9tYAAQAAAADTLQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAlkZXNjAAAA8AAAACRyWFlaAAABFAAAABRnWFlaAAABKAAAABRiWFlaAAABPAAAABR3dHB0AAABUAAAABRyVFJDAAABZAAAAChnVFJDAAABZAAAAChiVFJDAAABZAAAAChjcHJ0AAABjAAAADxtbHVjAAAAAAAAAAEAAAAMZW5VUwAAAAgAAAAcAHMAUgBHAEJYWVogAAAAAAAAb6IAADj1AAADkFhZWiAAAAAAAABimQAAt4UAABjaWFlaIAAAAAAAACSgAAAPhAAAts9YWVogAAAAAAAA9tYAAQAAAADTLXBhcmEAAAAAAAQAAAACZmYAAPKnAAANWQAAE9AAAApbAAAAAAAAAABtbHVjAAAAAAAAAAEAAAAMZW5VUwAAACAAAAAcAEcAbwBvAGcAbABlACAASQBuAGMALgAgADIAMAAxADZWUDggUgAAALACAJ0BKggACAAAwBIlsAJ0ugH4AIkA/QAGl3gQwAD+/ohrhGoL//69/T/rjn/3Xd1ac9dqFfeb/8hj/y56vNSZ/9FCtGFY/slb7JW/7HkAAAA=';
const B64_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAYAAADED76LAAAAMklEQVR4AayNwQkAAAgCpZUcqpnaqZ3qK376JNxDEC/IHqXJUQJHHgaFhOLGB4Vfel8AAAD//71H7bEAAAAGSURBVAMA5/YVmfLl0HkAAAAASUVORK5CYII=';

/** Strings the metadata carries; a cleaned file must contain none of them. */
export const SECRETS = {
  camera: 'SealdropTestCam',
  author: 'Kim Whistleblower',
  software: 'LeakyPhotoEditor 9.1',
  comment: 'taken at the ministry basement',
} as const;

export function baseJpeg(): Uint8Array {
  return fromBase64(B64_JPEG);
}
export function baseWebp(): Uint8Array {
  return fromBase64(B64_WEBP);
}
export function basePng(): Uint8Array {
  return fromBase64(B64_PNG);
}

/**
 * A little-endian TIFF (the body of EXIF) with IFD0 { Make, GPS IFD pointer } and a GPS IFD
 * { GPSLatitudeRef N, GPSLatitude 37/1 33/1 1234/100, GPSLongitudeRef E, GPSLongitude 126/1 58/1 0/1 }.
 */
export function exifWithGps(): Uint8Array {
  const make = ascii(SECRETS.camera + '\0');
  // Layout: header 8 | IFD0 at 8 (2 entries) | GPS IFD | make string | rationals
  const ifd0At = 8;
  const ifd0Size = 2 + 2 * 12 + 4;
  const gpsAt = ifd0At + ifd0Size;
  const gpsSize = 2 + 4 * 12 + 4;
  const makeAt = gpsAt + gpsSize;
  const latAt = makeAt + make.length;
  const lonAt = latAt + 24;
  const total = lonAt + 24;
  const tiff = new Uint8Array(total);
  const v = new DataView(tiff.buffer);
  tiff.set(ascii('II'), 0);
  v.setUint16(2, 42, true);
  v.setUint32(4, ifd0At, true);
  const entry = (at: number, tag: number, type: number, count: number, value: number | number[]) => {
    v.setUint16(at, tag, true);
    v.setUint16(at + 2, type, true);
    v.setUint32(at + 4, count, true);
    if (Array.isArray(value)) tiff.set(value, at + 8);
    else v.setUint32(at + 8, value, true);
  };
  v.setUint16(ifd0At, 2, true);
  entry(ifd0At + 2, 0x010f, 2, make.length, makeAt); // Make
  entry(ifd0At + 14, 0x8825, 4, 1, gpsAt); // GPSInfo IFD pointer
  v.setUint32(ifd0At + 26, 0, true);
  v.setUint16(gpsAt, 4, true);
  entry(gpsAt + 2, 0x0001, 2, 2, [0x4e, 0, 0, 0]); // GPSLatitudeRef "N"
  entry(gpsAt + 14, 0x0002, 5, 3, latAt); // GPSLatitude
  entry(gpsAt + 26, 0x0003, 2, 2, [0x45, 0, 0, 0]); // GPSLongitudeRef "E"
  entry(gpsAt + 38, 0x0004, 5, 3, lonAt); // GPSLongitude
  v.setUint32(gpsAt + 50, 0, true);
  tiff.set(make, makeAt);
  [37, 1, 33, 1, 1234, 100].forEach((n, i) => v.setUint32(latAt + 4 * i, n, true));
  [126, 1, 58, 1, 0, 1].forEach((n, i) => v.setUint32(lonAt + 4 * i, n, true));
  return tiff;
}

/** The APP1 EXIF payload a camera writes: "Exif\0\0" then the TIFF. */
export function exifApp1Payload(): Uint8Array {
  return concat(ascii('Exif\0\0'), exifWithGps());
}

export function xmpPacket(): Uint8Array {
  return ascii(
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">' +
      `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description dc:creator="${SECRETS.author}" ` +
      `xmp:CreatorTool="${SECRETS.software}" exif:GPSLatitude="37,33.2N"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`,
  );
}

/**
 * The base JPEG dressed like a phone photo: a JFIF APP0 with a thumbnail, APP1 EXIF with GPS,
 * APP1 XMP, APP13 IPTC, a COM, a vendor APP11, and a trailer after EOI.
 */
export function jpegWithMetadata(): Uint8Array {
  const base = baseJpeg();
  // base = SOI, APP0 JFIF (18 bytes), APP2 ICC, tables, SOF, SOS, data, EOI
  const jfifWithThumb = concat(
    u8(0xff, 0xe0),
    u16(2 + 14 + 3 * 2 * 2),
    ascii('JFIF\0'),
    u8(1, 2, 0, 0, 1, 0, 1, 2, 2),
    new Uint8Array(3 * 2 * 2).fill(0x7f),
  );
  const afterJfif = base.subarray(2 + 18);
  const eoiAt = base.length - 2;
  const iptc = concat(ascii('Photoshop 3.0\x008BIM'), u8(0x04, 0x04, 0, 0), u16(0), ascii(`\x1c\x02\x50${SECRETS.author}`));
  return concat(
    base.subarray(0, 2),
    jfifWithThumb,
    segment(0xe1, exifApp1Payload()),
    segment(0xe1, concat(ascii('http://ns.adobe.com/xap/1.0/\0'), xmpPacket())),
    segment(0xed, iptc),
    segment(0xfe, ascii(SECRETS.comment)),
    segment(0xeb, ascii(`JP\0${SECRETS.software}`)),
    afterJfif.subarray(0, eoiAt - 20),
    base.subarray(eoiAt),
    ascii(`trailer ${SECRETS.camera}`),
  );
}

function segment(marker: number, payload: Uint8Array): Uint8Array {
  return concat(u8(0xff, marker), u16(payload.length + 2), payload);
}

/** The base PNG with tEXt, zTXt, iTXt, eXIf and tIME chunks before and after the image data. */
export function pngWithMetadata(): Uint8Array {
  const png = basePng();
  const ihdrEnd = 8 + 12 + 13;
  const iendAt = png.length - 12;
  return concat(
    png.subarray(0, ihdrEnd),
    pngChunk('tEXt', ascii(`Author\0${SECRETS.author}`)),
    pngChunk('eXIf', exifWithGps()),
    pngChunk('tIME', u8(0x07, 0xea, 11, 28, 4, 33, 0)),
    png.subarray(ihdrEnd, iendAt),
    pngChunk('zTXt', ascii(`Comment\0\0`)), // compressed text; the content is never inspected
    pngChunk('iTXt', ascii(`XML:com.adobe.xmp\0\0\0\0\0${SECRETS.software}`)),
    png.subarray(iendAt),
    ascii(`after IEND ${SECRETS.comment}`),
  );
}

/** A PNG chunk with its CRC-32 (ISO 3309, as PNG section 5.5 requires). */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const typeAndData = concat(ascii(type), data);
  return concat(u32be(data.length), typeAndData, u32be(crc32(typeAndData)));
}

/** The base WebP (VP8X + ICCP + VP8) with EXIF, XMP and an unknown chunk added, flags set. */
export function webpWithMetadata(): Uint8Array {
  const webp = baseWebp();
  const vp8x = webp.slice(12, 12 + 18);
  vp8x[8] = vp8x[8]! | 0x08 | 0x04;
  const rest = webp.subarray(12 + 18);
  const body = concat(
    ascii('WEBP'),
    vp8x,
    rest,
    riffChunk('EXIF', exifWithGps()),
    riffChunk('XMP ', xmpPacket()),
    riffChunk('ZZZZ', ascii(SECRETS.comment)),
  );
  return concat(ascii('RIFF'), u32le(body.length), body, ascii(`junk ${SECRETS.author}`));
}

/**
 * An animated WebP (VP8X + ANIM + two ANMF frames made from the base image's VP8 chunk) whose
 * frames carry EXIF, XMP and an unknown subchunk after their image data, and a frame header
 * with a recognisable pattern. `frameExtras` replaces the subchunks after the first frame's VP8.
 */
export function animatedWebpWithMetadata(frameExtras?: Uint8Array): Uint8Array {
  const vp8 = baseVp8Chunk();
  const vp8x = concat(ascii('VP8X'), u32le(10), u8(0x02 | 0x08 | 0x04, 0, 0, 0), u8(7, 0, 0, 7, 0, 0));
  const anim = riffChunk('ANIM', u8(0xff, 0xff, 0xff, 0xff, 0, 0));
  // X/2, Y/2, width-1, height-1, duration (24-bit each) and flags: an 8x8 frame at 0,0 for 100 ms.
  const frameHeader = u8(0, 0, 0, 0, 0, 0, 7, 0, 0, 7, 0, 0, 100, 0, 0, 0x02);
  const extras = frameExtras ?? concat(riffChunk('EXIF', exifWithGps()), riffChunk('XMP ', xmpPacket()));
  const frame1 = riffChunk('ANMF', concat(frameHeader, vp8, extras));
  const frame2 = riffChunk('ANMF', concat(frameHeader, riffChunk('ZZZZ', ascii(SECRETS.comment)), vp8));
  const body = concat(ascii('WEBP'), vp8x, anim, frame1, frame2);
  return concat(ascii('RIFF'), u32le(body.length), body);
}

/** The creation time a custom ICC profile carries (2024-03-01 09:41:07), as its header stores it. */
export const ICC_DATE = Uint8Array.from([0x07, 0xe8, 0, 3, 0, 1, 0, 9, 0, 41, 0, 7]);

/**
 * An ICC v2 display profile as a calibration tool writes one for a particular screen (ICC.1:2001-04):
 * a header with its creation time, device maker 'SDcm' and model 'LK09', a description naming the
 * device and a copyright naming the person, and a white point.
 */
export function customIccProfile(): Uint8Array {
  const text = (sig: string, value: string) => concat(ascii(sig), new Uint8Array(4), ascii(value + '\0'));
  const name = `Display ${SECRETS.camera}\0`;
  // textDescriptionType: ASCII count and text, then empty Unicode and ScriptCode parts.
  const desc = concat(ascii('desc'), new Uint8Array(4), u32be(name.length), ascii(name), new Uint8Array(4 + 4 + 2 + 1 + 67));
  const tags: [string, Uint8Array][] = [
    ['desc', desc],
    ['cprt', text('text', `Calibrated for ${SECRETS.author}`)],
    ['wtpt', concat(ascii('XYZ '), new Uint8Array(4), u32be(0xf6d6), u32be(0x10000), u32be(0xd32d))],
  ];
  const tableEnd = 128 + 4 + 12 * tags.length;
  const offsets: number[] = [];
  let at = tableEnd;
  for (const [, data] of tags) {
    offsets.push(at);
    at += data.length + ((4 - (data.length % 4)) % 4);
  }
  const profile = new Uint8Array(at);
  const v = new DataView(profile.buffer);
  v.setUint32(0, at);
  profile.set(ascii('lcms'), 4);
  v.setUint32(8, 0x02100000);
  profile.set(ascii('mntrRGB XYZ '), 12);
  profile.set(ICC_DATE, 24);
  profile.set(ascii('acspAPPL'), 36);
  profile.set(ascii('SDcmLK09'), 48);
  profile.set(concat(u32be(0xf6d6), u32be(0x10000), u32be(0xd32d)), 68);
  profile.set(ascii('SDtc'), 80);
  v.setUint32(128, tags.length);
  tags.forEach(([sig, data], i) => {
    profile.set(ascii(sig), 132 + 12 * i);
    v.setUint32(136 + 12 * i, offsets[i]!);
    v.setUint32(140 + 12 * i, data.length);
    profile.set(data, offsets[i]!);
  });
  return profile;
}

/** The base PNG with an iCCP chunk holding customIccProfile() (zlib, stored blocks, so it can be searched). */
export function pngWithIccProfile(): Uint8Array {
  const png = basePng();
  const ihdrEnd = 8 + 12 + 13;
  const profile = customIccProfile();
  const iccp = concat(ascii(`${SECRETS.camera} display\0`), u8(0), zlibStored(profile));
  return concat(png.subarray(0, ihdrEnd), pngChunk('iCCP', iccp), png.subarray(ihdrEnd));
}

/** The base WebP with its ICCP chunk holding customIccProfile() instead of Chromium's sRGB profile. */
export function webpWithIccProfile(): Uint8Array {
  const webp = baseWebp();
  const body = concat(ascii('WEBP'), webp.subarray(12, 12 + 18), riffChunk('ICCP', customIccProfile()), baseVp8Chunk());
  return concat(ascii('RIFF'), u32le(body.length), body);
}

/** A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 section 3.2.4). */
function zlibStored(data: Uint8Array): Uint8Array {
  const blocks: Uint8Array[] = [u8(0x78, 0x01)];
  for (let at = 0; at < data.length || at === 0; at += 0xffff) {
    const part = data.subarray(at, at + 0xffff);
    const last = at + 0xffff >= data.length ? 1 : 0;
    blocks.push(u8(last, part.length & 0xff, part.length >> 8, ~part.length & 0xff, (~part.length >> 8) & 0xff), part);
    if (data.length === 0) break;
  }
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  blocks.push(u32be(((b << 16) | a) >>> 0));
  return concat(...blocks);
}

/** The base WebP's 'VP8 ' chunk, header included. */
export function baseVp8Chunk(): Uint8Array {
  const webp = baseWebp();
  return webp.slice(12 + 18 + 8 + 456);
}

export function riffChunk(fourcc: string, data: Uint8Array): Uint8Array {
  const pad = data.length % 2 ? u8(0) : new Uint8Array(0);
  return concat(ascii(fourcc), u32le(data.length), data, pad);
}

/** True when `needle` occurs in `haystack`. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = haystack.indexOf(needle[0]!); i >= 0 && i + needle.length <= haystack.length; i = haystack.indexOf(needle[0]!, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function u8(...bytes: number[]): Uint8Array {
  return Uint8Array.from(bytes);
}
function u16(n: number): Uint8Array {
  return u8(n >> 8, n & 0xff);
}
function u32be(n: number): Uint8Array {
  return u8(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
function u32le(n: number): Uint8Array {
  return u8(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function fromBase64(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
