/** @module client/strip — pick the stripper by the file's first bytes, never by its name or type. */
import { isJpeg, stripJpeg } from './jpeg.ts';
import { isPng, stripPng } from './png.ts';
import { isWebp, stripWebp } from './webp.ts';

export { StripError } from './strip-error.ts';

export type ImageKind = 'jpeg' | 'png' | 'webp';

/** The image kind this code can clean, from the magic bytes (16 are enough), or undefined. */
export function detectImageKind(head: Uint8Array): ImageKind | undefined {
  if (isJpeg(head)) return 'jpeg';
  if (isPng(head)) return 'png';
  if (isWebp(head)) return 'webp';
  return undefined;
}

export function stripImage(kind: ImageKind, bytes: Uint8Array): Uint8Array {
  switch (kind) {
    case 'jpeg':
      return stripJpeg(bytes);
    case 'png':
      return stripPng(bytes);
    case 'webp':
      return stripWebp(bytes);
  }
}
