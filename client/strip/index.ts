/**
 * @module client/strip — the metadata cleaners, picked by the file's bytes (detect.ts), never by
 * its name or type: images (JPEG, PNG, WebP, HEIC/AVIF) and Office Open XML files. The crypto
 * worker loads this; the page loads only detect.ts.
 */
import { detectImageKind, type CleanableKind, type ImageKind } from './detect.ts';
import { stripHeif } from './heif.ts';
import { stripJpeg } from './jpeg.ts';
import { stripOoxml } from './ooxml.ts';
import { stripPng } from './png.ts';
import { stripWebp } from './webp.ts';

export { StripError } from './strip-error.ts';
export { detectFileKind, detectImageKind, isCleanable, type CleanableKind, type FileKind, type ImageKind } from './detect.ts';

export function stripImage(kind: ImageKind, bytes: Uint8Array): Uint8Array {
  switch (kind) {
    case 'jpeg':
      return stripJpeg(bytes);
    case 'png':
      return stripPng(bytes);
    case 'webp':
      return stripWebp(bytes);
    case 'heif':
      return stripHeif(bytes);
  }
}

/** A picture inside an Office file, cleaned when it is one of the image kinds; undefined otherwise. */
export function cleanPicture(bytes: Uint8Array): Uint8Array | undefined {
  const kind = detectImageKind(bytes.subarray(0, 16));
  return kind ? stripImage(kind, bytes) : undefined;
}

/** The file without its metadata; throws StripError when it cannot be cleaned with confidence. */
export async function cleanFile(kind: CleanableKind, bytes: Uint8Array): Promise<Uint8Array> {
  return kind === 'ooxml' ? stripOoxml(bytes, cleanPicture) : stripImage(kind, bytes);
}
