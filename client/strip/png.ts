/**
 * @module client/strip/png — remove metadata chunks from a PNG (W3C PNG 3rd edition, section 5).
 *
 * Dropped: tEXt, zTXt, iTXt (free text: author, software, comments, XMP), eXIf (EXIF with GPS)
 * and tIME (last modification time). Everything after IEND is dropped too. Chunks are copied
 * byte for byte, so their CRCs stay valid.
 */
import { ByteWriter } from './byte-writer.ts';
import { StripError } from './strip-error.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const DROPPED = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME']);

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
    if (!DROPPED.has(type)) out.push(png.subarray(pos, end));
    pos = end;
    if (type === 'IEND') return out.finish();
  }
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
