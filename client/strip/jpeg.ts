/**
 * @module client/strip/jpeg — remove metadata from a JPEG (ITU T.81, JFIF 1.02).
 *
 * Every APPn segment goes (EXIF and its GPS IFD live in APP1, XMP in APP1, IPTC in APP13, ICC
 * profiles and MPF in APP2, maker data in the rest), and so does every COM segment and anything
 * after EOI (phone trailers, appended files). Two things are kept because images can break without
 * them and they name nothing: a JFIF APP0, rewritten to the plain 16-byte form without its
 * thumbnail, and an Adobe APP14, rewritten to its canonical form keeping only the colour-transform
 * byte that CMYK/YCCK decoders need.
 *
 * Apart from those, only the segments a decoder needs are kept (KEPT: frame headers SOF0-15,
 * tables DHT, DAC, DQT, restart interval DRI, DNL, the hierarchical DHP and EXP, and SOS with its
 * scan data and RSTn inside it). Any other marker (JPG C8, JPGn F0-FD, reserved 02-BF, TEM, a stray
 * SOI or RSTn) could carry anything, so the file is refused with StripError.
 */
import { ByteWriter } from './byte-writer.ts';
import { isJpeg } from './detect.ts';
import { StripError } from './strip-error.ts';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP14 = 0xee;
const APP15 = 0xef;
const COM = 0xfe;
const DHT = 0xc4;
const JPG = 0xc8;
const DAC = 0xcc;
const DQT = 0xdb;
const DNL = 0xdc;
const DRI = 0xdd;
const DHP = 0xde;
const EXP = 0xdf;
const KEPT = new Set([DHT, DAC, DQT, DNL, DRI, DHP, EXP, SOS]);

/** Segments copied as they are: SOF0-15 (C0-CF but DHT, JPG and DAC), and the ones in KEPT. */
function isKept(marker: number): boolean {
  const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== DHT && marker !== JPG && marker !== DAC;
  return isSof || KEPT.has(marker);
}


/** Return a copy of `jpeg` without metadata; throws StripError when the structure is broken. */
export function stripJpeg(jpeg: Uint8Array): Uint8Array {
  if (!isJpeg(jpeg)) throw new StripError('not a JPEG: expected FF D8 FF at the start');
  const out = new ByteWriter(jpeg.length);
  out.push(jpeg.subarray(0, 2));
  let pos = 2;
  let seenEoi = false;
  while (!seenEoi) {
    pos = skipFill(jpeg, pos);
    const marker = jpeg[pos + 1];
    if (marker === undefined) throw new StripError('truncated JPEG: no EOI marker');
    if (marker === EOI) {
      out.push(jpeg.subarray(pos, pos + 2));
      seenEoi = true;
      break;
    }
    const isMetadata = (marker >= APP0 && marker <= APP15) || marker === COM;
    if (!isMetadata && !isKept(marker)) {
      // Checked before reading a length: TEM, RSTn and SOI have none.
      throw new StripError(`unexpected JPEG marker FF ${hex(marker)} at byte ${pos}: neither kept nor metadata`);
    }
    const length = readU16(jpeg, pos + 2);
    if (length < 2) throw new StripError(`JPEG segment FF ${hex(marker)} with length ${length}`);
    const end = pos + 2 + length;
    if (end > jpeg.length) throw new StripError(`truncated JPEG segment FF ${hex(marker)} at byte ${pos}`);
    const body = jpeg.subarray(pos + 4, end);
    if (marker === APP0) {
      const jfif = plainJfif(body);
      if (jfif) out.push(jfif);
    } else if (marker === APP14) {
      const adobe = plainAdobe(body);
      if (adobe) out.push(adobe);
    } else if (isMetadata) {
      // dropped: metadata
    } else {
      out.push(jpeg.subarray(pos, end));
    }
    pos = end;
    if (marker === SOS) {
      const scanEnd = findScanEnd(jpeg, pos);
      out.push(jpeg.subarray(pos, scanEnd));
      pos = scanEnd;
    }
  }
  return out.finish();
}

/** Markers may be preceded by any number of 0xFF fill bytes (T.81 B.1.1.2). */
function skipFill(jpeg: Uint8Array, pos: number): number {
  if (jpeg[pos] !== 0xff) throw new StripError(`expected a JPEG marker at byte ${pos}, got ${hex(jpeg[pos])}`);
  while (jpeg[pos + 1] === 0xff) pos++;
  return pos;
}

/** Entropy-coded data ends at the first 0xFF not followed by 0x00 (stuffing) or RST0-7. */
function findScanEnd(jpeg: Uint8Array, pos: number): number {
  for (;;) {
    // indexOf is native, so this stays quick in a browser with the JIT switched off.
    const ff = jpeg.indexOf(0xff, pos);
    if (ff < 0 || ff + 1 >= jpeg.length) throw new StripError('truncated JPEG scan: no marker after the data');
    const next = jpeg[ff + 1]!;
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
      pos = ff + 2;
    } else if (next === 0xff) {
      pos = ff + 1;
    } else {
      return ff;
    }
  }
}

/** "JFIF\0" + version, units, densities; the optional thumbnail is dropped. Other APP0 (JFXX) go. */
function plainJfif(body: Uint8Array): Uint8Array | undefined {
  if (body.length < 14) return undefined;
  if (!startsWith(body, [0x4a, 0x46, 0x49, 0x46, 0x00])) return undefined;
  const segment = new Uint8Array(18);
  segment.set([0xff, APP0, 0x00, 16]);
  segment.set(body.subarray(0, 12), 4);
  // Xthumbnail = Ythumbnail = 0: no thumbnail follows.
  segment[16] = 0;
  segment[17] = 0;
  return segment;
}

/** "Adobe" + DCTEncodeVersion, flags0, flags1, transform: keep the transform, zero the rest. */
function plainAdobe(body: Uint8Array): Uint8Array | undefined {
  if (body.length < 12 || !startsWith(body, [0x41, 0x64, 0x6f, 0x62, 0x65])) return undefined;
  const segment = new Uint8Array(16);
  segment.set([0xff, APP14, 0x00, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 100, 0, 0, 0, 0, body[11]!]);
  return segment;
}

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

function readU16(bytes: Uint8Array, pos: number): number {
  if (pos + 2 > bytes.length) throw new StripError(`truncated JPEG at byte ${pos}`);
  return (bytes[pos]! << 8) | bytes[pos + 1]!;
}

function hex(b: number | undefined): string {
  return b === undefined ? 'end of file' : b.toString(16).padStart(2, '0').toUpperCase();
}
