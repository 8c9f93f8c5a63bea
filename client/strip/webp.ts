/**
 * @module client/strip/webp — remove EXIF, XMP and colour profiles from a WebP (RFC 9649, "WebP
 * Image Format").
 *
 * A simple-format WebP (first chunk VP8 or VP8L) cannot carry metadata and is copied as is, minus
 * any bytes after the RIFF payload. An extended one (VP8X) loses its EXIF and XMP chunks, its ICCP
 * colour profile (a profile has a creation time, a device maker and model and free text; without
 * it a viewer shows sRGB) and any chunk this code does not know (they could hold anything). VP8X
 * is rewritten to its 10 bytes with only the alpha and animation flags kept, and the RIFF size
 * rewritten. An animation frame (ANMF) is rebuilt from its 16-byte frame header and its ALPH, VP8
 * and VP8L subchunks only, since unknown subchunks may follow the image data inside a frame (an
 * EXIF there would otherwise ride along); its size is rewritten to match.
 */
import { ByteWriter } from './byte-writer.ts';
import { isWebp } from './detect.ts';
import { StripError } from './strip-error.ts';

/** The image data chunks, kept as they are at the top level and inside frames. */
const IMAGE_CHUNKS = new Set(['ALPH', 'VP8 ', 'VP8L']);
const ANMF_HEADER = 16;
const VP8X_SIZE = 10;
const ANIM_SIZE = 6;
/** VP8X flags (RFC 9649 section 2.7): only these two say anything about the picture itself. */
const FLAG_ALPHA = 0x10;
const FLAG_ANIMATION = 0x02;


/** Return a copy of `webp` without EXIF, XMP or ICC profile; throws StripError when the structure is broken. */
export function stripWebp(webp: Uint8Array): Uint8Array {
  if (!isWebp(webp)) throw new StripError('not a WebP: expected RIFF....WEBP');
  const view = new DataView(webp.buffer, webp.byteOffset, webp.byteLength);
  const riffSize = view.getUint32(4, true);
  const riffEnd = 8 + riffSize;
  if (riffSize % 2 !== 0 || riffEnd > webp.length) {
    throw new StripError(`WebP RIFF size ${riffSize} does not fit a file of ${webp.length} bytes`);
  }
  const out = new ByteWriter(riffEnd);
  out.push(webp.subarray(0, 12));
  let pos = 12;
  let first = true;
  while (pos < riffEnd) {
    if (pos + 8 > riffEnd) throw new StripError(`truncated WebP chunk header at byte ${pos}`);
    const fourcc = ascii(webp, pos);
    const size = view.getUint32(pos + 4, true);
    const end = pos + 8 + size + (size % 2);
    if (end > riffEnd) throw new StripError(`WebP chunk ${JSON.stringify(fourcc)} runs past the RIFF end`);
    if (first) {
      if (fourcc === 'VP8 ' || fourcc === 'VP8L') {
        // Simple format: one image chunk and nothing else may follow.
        out.push(webp.subarray(pos, end));
        return withRiffSize(out.finish());
      }
      if (fourcc !== 'VP8X' || size !== VP8X_SIZE) {
        throw new StripError(`WebP starts with chunk ${JSON.stringify(fourcc)} of ${size} bytes, expected VP8X of ${VP8X_SIZE}`);
      }
      out.push(plainVp8x(webp.subarray(pos + 8, pos + 8 + VP8X_SIZE)));
    } else if (fourcc === 'ANMF') {
      out.push(cleanFrame(webp, pos, size));
    } else if (fourcc === 'ANIM') {
      if (size !== ANIM_SIZE) throw new StripError(`WebP ANIM chunk of ${size} bytes, expected ${ANIM_SIZE}`);
      out.push(webp.subarray(pos, end));
    } else if (IMAGE_CHUNKS.has(fourcc)) {
      out.push(webp.subarray(pos, end));
    }
    // else dropped: EXIF, XMP, ICCP, or a chunk this code does not know
    first = false;
    pos = end;
  }
  if (first) throw new StripError('WebP without any chunk');
  return withRiffSize(out.finish());
}

/** VP8X with the alpha and animation flags, reserved bits zero, and the canvas size as it was. */
function plainVp8x(payload: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(8 + VP8X_SIZE);
  chunk.set([0x56, 0x50, 0x38, 0x58, VP8X_SIZE, 0, 0, 0, payload[0]! & (FLAG_ALPHA | FLAG_ANIMATION), 0, 0, 0]);
  chunk.set(payload.subarray(4, 10), 12);
  return chunk;
}

/** The ANMF chunk at `pos` (payload `size` bytes) with only its frame header and image subchunks. */
function cleanFrame(webp: Uint8Array, pos: number, size: number): Uint8Array {
  if (size < ANMF_HEADER) throw new StripError(`WebP ANMF chunk at byte ${pos} of ${size} bytes, under ${ANMF_HEADER}`);
  const view = new DataView(webp.buffer, webp.byteOffset, webp.byteLength);
  const payloadEnd = pos + 8 + size;
  const out = new ByteWriter(8 + size);
  out.push(webp.subarray(pos, pos + 8 + ANMF_HEADER));
  let at = pos + 8 + ANMF_HEADER;
  let image = false;
  while (at < payloadEnd) {
    if (at + 8 > payloadEnd) throw new StripError(`truncated WebP frame subchunk header at byte ${at}`);
    const fourcc = ascii(webp, at);
    const subSize = view.getUint32(at + 4, true);
    const end = at + 8 + subSize + (subSize % 2);
    if (end > payloadEnd) throw new StripError(`WebP frame subchunk ${JSON.stringify(fourcc)} runs past its ANMF end`);
    if (IMAGE_CHUNKS.has(fourcc)) {
      out.push(webp.subarray(at, at + 8 + subSize));
      if (subSize % 2) out.push(new Uint8Array(1));
      if (fourcc !== 'ALPH') image = true;
    }
    // else dropped: EXIF, XMP or anything else a frame has no need of
    at = end;
  }
  if (!image) throw new StripError(`WebP ANMF chunk at byte ${pos} without VP8 or VP8L image data`);
  const frame = out.finish();
  new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setUint32(4, frame.length - 8, true);
  return frame;
}

function withRiffSize(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(4, bytes.length - 8, true);
  return bytes;
}

function ascii(bytes: Uint8Array, pos: number): string {
  return String.fromCharCode(bytes[pos] ?? 0, bytes[pos + 1] ?? 0, bytes[pos + 2] ?? 0, bytes[pos + 3] ?? 0);
}
