/**
 * @module client/strip/detect — what kind of file this is, from its bytes, never from its name or
 * its browser-given type. The page (to tell the source what will happen to the file) and the worker
 * (to decide what to clean) run this same code, so what the page says is what the worker does.
 *
 * Small and free of the cleaners, since the page loads it: a zip's central directory is read
 * from the file's end (at most MAX_DIRECTORY_BYTES) to tell an Office file from other archives.
 */
import { isOpcPackage } from './opc.ts';
import { readCentralDirectory, readZipEnd } from './zip-directory.ts';

export type FileKind = 'jpeg' | 'png' | 'webp' | 'heif' | 'ooxml' | 'pdf' | 'text' | 'video' | 'audio' | 'other';
/** The kinds the worker cleans; every other kind is sent as it is, after the page's warning. */
export type CleanableKind = 'jpeg' | 'png' | 'webp' | 'heif' | 'ooxml';
export type ImageKind = 'jpeg' | 'png' | 'webp' | 'heif';

export const CLEANABLE: ReadonlySet<FileKind> = new Set<FileKind>(['jpeg', 'png', 'webp', 'heif', 'ooxml']);
export function isCleanable(kind: FileKind): kind is CleanableKind {
  return CLEANABLE.has(kind);
}

/** Reads bytes [start, end) of the file (a File slice in the page, a subarray in the worker). */
export type ByteReader = (start: number, end: number) => Promise<Uint8Array>;

const HEAD_BYTES = 64 * 1024;
const MAX_DIRECTORY_BYTES = 4 * 1024 * 1024;
const ZIP_END_SEARCH = 22 + 0xffff;

/** Major brands of a HEIF still image the cleaner handles (ISO/IEC 23008-12 Annex, AVIF). */
export const HEIF_BRANDS: ReadonlySet<string> = new Set(['heic', 'heix', 'heim', 'heis', 'mif1', 'mif2', 'avif']);
const AUDIO_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ', 'F4A ', 'F4B ']);

const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

export function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}
export function isPng(b: Uint8Array): boolean {
  return [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x);
}
export function isWebp(b: Uint8Array): boolean {
  return b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP';
}
export function isHeif(b: Uint8Array): boolean {
  return b.length >= 12 && ascii(b, 4, 4) === 'ftyp' && HEIF_BRANDS.has(ascii(b, 8, 4));
}
export function isZip(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 3 && b[3] === 4;
}

/** The image kinds, from the first 16 bytes (also used for the pictures inside Office files). */
export function detectImageKind(head: Uint8Array): ImageKind | undefined {
  if (isJpeg(head)) return 'jpeg';
  if (isPng(head)) return 'png';
  if (isWebp(head)) return 'webp';
  if (isHeif(head)) return 'heif';
  return undefined;
}

export async function detectFileKind(read: ByteReader, size: number): Promise<FileKind> {
  const head = await read(0, Math.min(size, HEAD_BYTES));
  const image = detectImageKind(head);
  if (image) return image;
  if (isZip(head)) return (await isOfficeZip(read, size)) ? 'ooxml' : 'other';
  // PDF readers accept the header anywhere in the first 1024 bytes (ISO 32000-2, 7.5.2 note).
  if (ascii(head, 0, 1024).includes('%PDF-')) return 'pdf';
  const media = mediaKind(head);
  if (media) return media;
  if (isPlainText(head, size <= HEAD_BYTES)) return 'text';
  return 'other';
}

async function isOfficeZip(read: ByteReader, size: number): Promise<boolean> {
  try {
    const tail = await read(Math.max(0, size - ZIP_END_SEARCH), size);
    const end = readZipEnd(tail, size);
    if (end.cdSize > MAX_DIRECTORY_BYTES) return false;
    const names = readCentralDirectory(await read(end.cdOffset, end.cdOffset + end.cdSize), end.count).map((e) => e.name);
    return isOpcPackage(names);
  } catch {
    // A zip this code cannot read is not one it can clean: the page warns, the worker sends it as it is.
    return false;
  }
}

function mediaKind(b: Uint8Array): 'video' | 'audio' | undefined {
  const box = ascii(b, 4, 4);
  if (box === 'ftyp') return AUDIO_BRANDS.has(ascii(b, 8, 4)) ? 'audio' : 'video';
  if (['moov', 'mdat', 'wide', 'free', 'skip', 'pnot'].includes(box)) return 'video'; // QuickTime without ftyp
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'video'; // Matroska, WebM
  if (ascii(b, 0, 4) === 'RIFF') return ascii(b, 8, 4) === 'AVI ' ? 'video' : ascii(b, 8, 4) === 'WAVE' ? 'audio' : undefined;
  if (ascii(b, 0, 3) === 'FLV') return 'video';
  if (b[0] === 0x47 && b[188] === 0x47 && b[376] === 0x47) return 'video'; // MPEG transport stream
  if (b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0xba) return 'video'; // MPEG program stream
  if (['OggS', 'fLaC', '#!AM', '.snd'].includes(ascii(b, 0, 4))) return 'audio';
  // MP3 with its ID3 tag. A bare MPEG audio frame header (FF Ex) is not sniffed: one random file
  // in two thousand starts like one, and the general warning fits an untagged MP3 as well.
  if (ascii(b, 0, 3) === 'ID3') return 'audio';
  return undefined;
}

/**
 * UTF-8 text (a BOM allowed) with no control characters but tab, line feed, form feed and
 * carriage return, and not markup or RTF, whose hidden parts (comments, metadata elements, the
 * RTF info group) a reader never sees. `whole` says `head` is the whole file (else its last
 * character may be cut in two).
 */
function isPlainText(head: Uint8Array, whole: boolean): boolean {
  if (head.length === 0) return true;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: !whole });
  } catch {
    return false;
  }
  if (/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text)) return false;
  const start = text.replace(/^\ufeff?\s*/, '');
  return !start.startsWith('<') && !start.startsWith('{\\rtf');
}
