/**
 * @module client/strip/zip — a strict zip reader and a plain zip writer (APPNOTE.TXT 6.3) for the
 * Office cleaner. Only what Office, LibreOffice and the usual libraries write is read:
 *
 * - one disk, no zip64 (an entry or archive needing it is refused: the page's 2 GiB cap fits
 *   without), no encryption, methods 0 (stored) and 8 (deflate), general purpose flags 1-3 and 11;
 * - names that are printable ASCII, or UTF-8 with flag 11; no empty, absolute, `..` or backslash
 *   parts; no two names equal ignoring case (OPC part names are case-insensitive);
 * - every local header agreeing with its central directory entry, and the entries, their data
 *   descriptors, the central directory and the end record tiling the file with no gap or overlap
 *   (bytes between entries could hide anything, and overlapping entries are how zip bombs multiply).
 *
 * The writer sets every date to 1980-01-01 00:00, writes no extra fields, comments or
 * attributes, and no data descriptors: nothing of the machine that made the original survives.
 */
import { StripError } from './strip-error.ts';
import { isZip } from './detect.ts';
import { CENTRAL, END, LOCAL, hasZip64Extra, readCentralDirectory, readZipEnd, type CentralEntry } from './zip-directory.ts';

export type ZipEntry = {
  name: string;
  method: 0 | 8;
  crc: number;
  size: number;
  /** The entry's data as stored (deflated for method 8). */
  data: Uint8Array;
};

const DESCRIPTOR = 0x08074b50;
const DOS_DATE_1980_01_01 = 0x0021;


/** All entries of a zip held in memory, every rule above checked. */
export function readZip(bytes: Uint8Array): ZipEntry[] {
  if (!isZip(bytes)) throw new StripError('not a zip archive: expected PK\\3\\4 at the start');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { count, cdOffset, cdSize } = readZipEnd(bytes);
  const central = readCentralDirectory(bytes.subarray(cdOffset, cdOffset + cdSize), count);
  const byOffset = [...central].sort((a, b) => a.offset - b.offset);
  let expected = 0;
  const data = new Map<(typeof central)[number], Uint8Array>();
  for (const entry of byOffset) {
    const where = `zip entry ${JSON.stringify(entry.name)}`;
    const at = entry.offset;
    if (at !== expected) throw new StripError(`${where} starts at byte ${at}, expected ${expected}: the archive has gaps or overlaps`);
    if (at + 30 > cdOffset || view.getUint32(at, true) !== LOCAL) throw new StripError(`${where}: no local header at byte ${at}`);
    const flags = view.getUint16(at + 6, true);
    const method = view.getUint16(at + 8, true);
    const nameLength = view.getUint16(at + 26, true);
    const extraLength = view.getUint16(at + 28, true);
    const name = bytes.subarray(at + 30, at + 30 + nameLength);
    if (flags !== entry.flags || method !== entry.method || !sameBytes(name, entry.nameBytes)) {
      throw new StripError(`${where}: the local header disagrees with the central directory`);
    }
    if (hasZip64Extra(bytes, at + 30 + nameLength, extraLength)) throw new StripError(`${where} uses zip64, which is not supported`);
    if (!(flags & 0x0008)) {
      const [crc, compressedSize, size] = [14, 18, 22].map((o) => view.getUint32(at + o, true));
      if (crc !== entry.crc || compressedSize !== entry.compressedSize || size !== entry.size) {
        throw new StripError(`${where}: the local header's CRC or sizes disagree with the central directory`);
      }
    }
    const start = at + 30 + nameLength + extraLength;
    let end = start + entry.compressedSize;
    if (end > cdOffset) throw new StripError(`${where} runs into the central directory`);
    data.set(entry, bytes.subarray(start, end));
    if (flags & 0x0008) end = afterDescriptor(bytes, end, entry, cdOffset, where);
    expected = end;
  }
  if (expected !== cdOffset) throw new StripError(`zip has ${cdOffset - expected} bytes between its last entry and its central directory`);
  return central.map((e) => ({ name: e.name, method: e.method as 0 | 8, crc: e.crc, size: e.size, data: data.get(e)! }));
}

/** A data descriptor (optionally signed) that must repeat the central directory's CRC and sizes. */
function afterDescriptor(bytes: Uint8Array, at: number, entry: CentralEntry, limit: number, where: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const signed = at + 4 <= limit && view.getUint32(at, true) === DESCRIPTOR;
  const fields = signed ? at + 4 : at;
  if (fields + 12 > limit) throw new StripError(`${where}: truncated data descriptor`);
  const [crc, compressedSize, size] = [0, 4, 8].map((o) => view.getUint32(fields + o, true));
  if (crc !== entry.crc || compressedSize !== entry.compressedSize || size !== entry.size) {
    throw new StripError(`${where}: the data descriptor disagrees with the central directory`);
  }
  return fields + 12;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}


/** A zip of `entries` in order: fixed dates, no extras, no comments, no attributes. */
export function writeZip(entries: ZipEntry[]): Uint8Array {
  if (entries.length > 0xfffe) throw new StripError('too many zip entries to write without zip64');
  const encoder = new TextEncoder();
  const names = entries.map((e) => encoder.encode(e.name));
  const total = entries.reduce((n, e, i) => n + 30 + names[i]!.length + e.data.length + 46 + names[i]!.length, 22);
  if (total > 0xffffffff) throw new StripError('zip over 4 GiB');
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const offsets: number[] = [];
  let at = 0;
  const header = (pos: number, e: ZipEntry, name: Uint8Array) => {
    const utf8 = name.some((b) => b > 0x7e);
    view.setUint16(pos, 20, true); // version needed: 2.0 (deflate)
    view.setUint16(pos + 2, utf8 ? 0x0800 : 0, true);
    view.setUint16(pos + 4, e.method, true);
    view.setUint16(pos + 6, 0, true); // 00:00
    view.setUint16(pos + 8, DOS_DATE_1980_01_01, true);
    view.setUint32(pos + 10, e.crc, true);
    view.setUint32(pos + 14, e.data.length, true);
    view.setUint32(pos + 18, e.size, true);
    view.setUint16(pos + 22, name.length, true);
  };
  entries.forEach((e, i) => {
    offsets.push(at);
    view.setUint32(at, LOCAL, true);
    header(at + 4, e, names[i]!);
    out.set(names[i]!, at + 30);
    out.set(e.data, at + 30 + names[i]!.length);
    at += 30 + names[i]!.length + e.data.length;
  });
  const cdOffset = at;
  entries.forEach((e, i) => {
    view.setUint32(at, CENTRAL, true);
    view.setUint16(at + 4, 20, true); // made by: MS-DOS, 2.0, whatever made the original
    header(at + 6, e, names[i]!);
    view.setUint32(at + 42, offsets[i]!, true);
    out.set(names[i]!, at + 46);
    at += 46 + names[i]!.length;
  });
  view.setUint32(at, END, true);
  view.setUint16(at + 8, entries.length, true);
  view.setUint16(at + 10, entries.length, true);
  view.setUint32(at + 12, at - cdOffset, true);
  view.setUint32(at + 16, cdOffset, true);
  return out;
}
