/**
 * @module client/strip/png — remove metadata chunks from a PNG (W3C PNG 3rd edition, section 5).
 *
 * Only the chunks named in KEPT survive: the image data and the chunks that say how to show it
 * (colour space, gamma, transparency, pixel size, animation frames). Everything else goes, known
 * metadata (tEXt, zTXt, iTXt, eXIf, tIME) and every chunk this code does not know alike, since
 * any of them may hold a location or a name (caBX C2PA manifests, zxIf, private EXIF or XMP
 * chunks). sPLT is not kept either: it is only a palette suggestion and carries a free-text name.
 * An unknown critical chunk (uppercase first letter) means the image cannot be shown without it,
 * so the file is refused with StripError rather than rewritten into something else. Everything
 * after IEND is dropped too. Kept chunks are copied byte for byte, so their CRCs stay valid.
 */
import { ByteWriter } from './byte-writer.ts';
import { StripError } from './strip-error.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CRITICAL = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND']);
const KEPT = new Set([
  ...CRITICAL,
  // transparency, colour space and gamma, HDR (PNG 3rd edition)
  'tRNS', 'cHRM', 'gAMA', 'iCCP', 'sBIT', 'sRGB', 'cICP', 'mDCV', 'cLLI',
  // background, palette histogram, pixel size
  'bKGD', 'hIST', 'pHYs',
  // APNG
  'acTL', 'fcTL', 'fdAT',
]);

export function isPng(bytes: Uint8Array): boolean {
  return SIGNATURE.every((b, i) => bytes[i] === b);
}

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
    if (KEPT.has(type)) {
      out.push(png.subarray(pos, end));
    } else if (isCritical(type)) {
      throw new StripError(`PNG with unknown critical chunk ${type}: it cannot be cleaned safely`);
    }
    // else dropped: metadata or an ancillary chunk this code does not know
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
