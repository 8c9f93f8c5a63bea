/**
 * @module client/strip/png — remove metadata chunks from a PNG (W3C PNG 3rd edition, section 5).
 *
 * Only the chunks named in KEPT survive: the image data and the chunks that say how to show it
 * (colour space, gamma, transparency, pixel size, animation frames). Everything else goes, known
 * metadata (tEXt, zTXt, iTXt, eXIf, tIME) and every chunk this code does not know alike, since
 * any of them may hold a location or a name (caBX C2PA manifests, zxIf, private EXIF or XMP
 * chunks). sPLT is not kept either: it is only a palette suggestion and carries a free-text name.
 *
 * iCCP goes too: an embedded ICC profile has a creation time, a device maker and model and free
 * text (a calibrated screen's profile names the machine; a macOS screenshot carries the
 * display's). Nothing replaces it: without a colour chunk a viewer shows sRGB, which is what an
 * sRGB chunk would say, and a gAMA/cHRM pair written as the profile's fallback now applies, as
 * the format intends. A wide-gamut picture may look a little duller; nobody is named by that.
 *
 * An unknown critical chunk (uppercase first letter) means the image cannot be shown without it,
 * so the file is refused with StripError rather than rewritten into something else. Kept chunks
 * with a fixed size must have exactly that size (a 4-byte gAMA of 4,000 bytes would carry text
 * along): a wrong-sized critical chunk refuses the file, a wrong-sized ancillary one is dropped,
 * as decoders drop it. Everything after IEND is dropped too. Kept chunks are copied byte for
 * byte, so their CRCs stay valid.
 */
import { ByteWriter } from './byte-writer.ts';
import { isPng } from './detect.ts';
import { StripError } from './strip-error.ts';

/** Kept chunk types and the data lengths they may have (undefined: any length). */
const KEPT = new Map<string, ((length: number) => boolean) | undefined>([
  // critical
  ['IHDR', (n) => n === 13],
  ['PLTE', (n) => n > 0 && n <= 768 && n % 3 === 0],
  ['IDAT', undefined],
  ['IEND', (n) => n === 0],
  // transparency, colour space and gamma, HDR (PNG 3rd edition)
  ['tRNS', (n) => n <= 256],
  ['cHRM', (n) => n === 32],
  ['gAMA', (n) => n === 4],
  ['sBIT', (n) => n >= 1 && n <= 4],
  ['sRGB', (n) => n === 1],
  ['cICP', (n) => n === 4],
  ['mDCV', (n) => n === 24],
  ['cLLI', (n) => n === 8],
  // background, palette histogram, pixel size
  ['bKGD', (n) => n === 1 || n === 2 || n === 6],
  ['hIST', (n) => n <= 512 && n % 2 === 0],
  ['pHYs', (n) => n === 9],
  // APNG: fdAT is a sequence number and image data
  ['acTL', (n) => n === 8],
  ['fcTL', (n) => n === 26],
  ['fdAT', (n) => n >= 4],
]);


/** Return a copy of `png` without metadata chunks; throws StripError when the structure is broken. */
export function stripPng(png: Uint8Array): Uint8Array {
  if (!isPng(png)) throw new StripError('not a PNG: wrong signature');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out = new ByteWriter(png.length);
  out.push(png.subarray(0, 8));
  let pos = 8;
  let first = true;
  for (;;) {
    if (pos + 12 > png.length) throw new StripError(`truncated PNG: chunk header at byte ${pos}`);
    const length = view.getUint32(pos);
    if (length > 0x7fffffff) throw new StripError(`PNG chunk length ${length} over 2^31-1`);
    const type = chunkType(png, pos + 4);
    const end = pos + 12 + length;
    if (end > png.length) throw new StripError(`truncated PNG chunk ${type} at byte ${pos}`);
    if (first && type !== 'IHDR') throw new StripError(`PNG starts with ${type}, expected IHDR`);
    first = false;
    const sized = KEPT.get(type);
    const kept = KEPT.has(type) && (sized === undefined || sized(length));
    if (kept) {
      out.push(png.subarray(pos, end));
    } else if (isCritical(type)) {
      const why = KEPT.has(type) ? `${type} of ${length} bytes` : `unknown critical chunk ${type}`;
      throw new StripError(`PNG with ${why}: it cannot be cleaned safely`);
    }
    // else dropped: metadata, a colour profile, or an ancillary chunk this code does not know or
    // that has the wrong size
    pos = end;
    if (type === 'IEND') return out.finish();
  }
}

/** Section 5.4: bit 5 of the first byte clear (uppercase) marks a chunk a decoder cannot skip. */
function isCritical(type: string): boolean {
  return (type.charCodeAt(0) & 0x20) === 0;
}

function chunkType(png: Uint8Array, pos: number): string {
  let type = '';
  for (let i = 0; i < 4; i++) {
    const c = png[pos + i]!;
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!letter) throw new StripError(`PNG chunk type with byte ${c} at ${pos + i}: expected ASCII letters`);
    type += String.fromCharCode(c);
  }
  return type;
}
