/**
 * @module client/strip/zip-directory — a zip's end record and central directory (APPNOTE.TXT
 * 4.3.12, 4.3.16), read strictly: the part of the zip rules (zip.ts) the page needs to tell an
 * Office file from another archive by reading only the file's end.
 */
import { StripError } from './strip-error.ts';

export type CentralEntry = {
  name: string;
  nameBytes: Uint8Array;
  method: 0 | 8;
  crc: number;
  size: number;
  compressedSize: number;
  flags: number;
  offset: number;
};

export const LOCAL = 0x04034b50;
export const CENTRAL = 0x02014b50;
export const END = 0x06054b50;
const ZIP64_EXTRA = 0x0001;
const ALLOWED_FLAGS = 0x0002 | 0x0004 | 0x0008 | 0x0800;
export const MAX_ZIP_ENTRIES = 20_000;

/** The end of central directory record: where the directory is and how many entries it has. */
export function readZipEnd(bytes: Uint8Array, fileLength = bytes.length): { count: number; cdOffset: number; cdSize: number; endOffset: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // `bytes` may be the file's last bytes only (the page reads no more); offsets are in the file.
  const shift = fileLength - bytes.length;
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - 0xffff; at--) {
    if (view.getUint32(at, true) !== END) continue;
    const commentLength = view.getUint16(at + 20, true);
    if (at + 22 + commentLength !== bytes.length) continue;
    const disk = view.getUint16(at + 4, true);
    const cdDisk = view.getUint16(at + 6, true);
    const onDisk = view.getUint16(at + 8, true);
    const count = view.getUint16(at + 10, true);
    const cdSize = view.getUint32(at + 12, true);
    const cdOffset = view.getUint32(at + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw new StripError('zip64 archives are not supported');
    if (disk !== 0 || cdDisk !== 0 || onDisk !== count) throw new StripError('multi-disk zip archives are not supported');
    if (cdOffset + cdSize !== shift + at) throw new StripError('zip central directory does not end where the end record starts');
    return { count, cdOffset, cdSize, endOffset: shift + at };
  }
  throw new StripError('no zip end of central directory record at the end of the file');
}

/** The central directory's entries (names, sizes, offsets), checked; `cd` is the directory's bytes. */
export function readCentralDirectory(cd: Uint8Array, count: number): CentralEntry[] {
  if (count > MAX_ZIP_ENTRIES) throw new StripError(`zip with ${count} entries, over ${MAX_ZIP_ENTRIES}`);
  const view = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries: CentralEntry[] = [];
  const keys = new Set<string>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.length || view.getUint32(at, true) !== CENTRAL) throw new StripError(`zip central directory entry ${i} is broken`);
    const needed = view.getUint16(at + 6, true);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const disk = view.getUint16(at + 34, true);
    const offset = view.getUint32(at + 42, true);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > cd.length) throw new StripError(`zip central directory entry ${i} runs past the directory`);
    const nameBytes = cd.slice(at + 46, at + 46 + nameLength);
    const name = entryName(nameBytes, (flags & 0x0800) !== 0, i);
    const where = `zip entry ${JSON.stringify(name)}`;
    if (flags & 1 || flags & 0x40 || flags & 0x2000) throw new StripError(`${where} is encrypted`);
    if (flags & ~ALLOWED_FLAGS) throw new StripError(`${where} has flags ${flags.toString(16)} this code does not know`);
    if (method !== 0 && method !== 8) throw new StripError(`${where} uses compression method ${method}`);
    if ((needed & 0xff) > 20) throw new StripError(`${where} needs zip version ${(needed & 0xff) / 10}`);
    if (disk !== 0) throw new StripError(`${where} is on another disk`);
    if (size === 0xffffffff || compressedSize === 0xffffffff || offset === 0xffffffff || hasZip64Extra(cd, at + 46 + nameLength, extraLength)) {
      throw new StripError(`${where} uses zip64, which is not supported`);
    }
    if (method === 0 && size !== compressedSize) throw new StripError(`${where} is stored with two different sizes`);
    const key = name.normalize('NFC').toLowerCase();
    if (keys.has(key)) throw new StripError(`zip has two entries named ${JSON.stringify(name)}`);
    keys.add(key);
    entries.push({ name, nameBytes, method: method as 0 | 8, crc, size, compressedSize, flags, offset });
    at = end;
  }
  if (at !== cd.length) throw new StripError('zip central directory has bytes after its last entry');
  return entries;
}

export function hasZip64Extra(bytes: Uint8Array, at: number, length: number): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = at; p + 4 <= at + length; p += 4 + view.getUint16(p + 2, true)) {
    if (view.getUint16(p, true) === ZIP64_EXTRA) return true;
  }
  return false;
}

function entryName(nameBytes: Uint8Array, utf8: boolean, index: number): string {
  let name: string;
  if (utf8) {
    try {
      name = new TextDecoder('utf-8', { fatal: true }).decode(nameBytes);
    } catch {
      throw new StripError(`zip entry ${index} has a name that is not UTF-8`);
    }
  } else {
    if (nameBytes.some((b) => b < 0x20 || b > 0x7e)) throw new StripError(`zip entry ${index} has a name with bytes outside printable ASCII`);
    name = String.fromCharCode(...nameBytes);
  }
  const parts = name.split('/');
  const dirs = parts.slice(0, -1);
  if (name === '' || name.includes('\\') || name.includes('\0') || name.startsWith('/') || dirs.some((p) => p === '' || p === '.' || p === '..') || parts.at(-1) === '..' || parts.at(-1) === '.') {
    throw new StripError(`zip entry ${index} has an unsafe name ${JSON.stringify(name)}`);
  }
  return name;
}

