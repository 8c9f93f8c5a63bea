/**
 * @module protocol/_tar — the one ustar header form the envelope uses (POSIX.1-1988 ustar, as
 * written by `pax -x ustar`): every field but name, prefix, size and checksum is fixed, so a
 * header is canonical exactly when it equals the header this module writes for its name and size.
 */
import { utf8Encode } from './encoding.ts';

export const BLOCK = 512;

/** [offset, length] of each field. */
export const FIELDS = {
  name: [0, 100], mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12],
  chksum: [148, 8], typeflag: [156, 1], linkname: [157, 100], magic: [257, 6], version: [263, 2],
  uname: [265, 32], gname: [297, 32], devmajor: [329, 8], devminor: [337, 8], prefix: [345, 155],
  pad: [500, 12],
} as const;
export type Field = keyof typeof FIELDS;

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** n in octal, zero-padded to `length - 1` digits, then NUL. */
function octal(n: number, length: number): Uint8Array {
  const digits = n.toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new RangeError(`expected a value that fits ${length - 1} octal digits, got ${n}`);
  return ascii(digits + '\0');
}

export function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum;
}

/** The canonical header for a regular file `prefix/name` of `size` bytes. */
export function writeHeader(name: string, prefix: string, size: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (field: Field, bytes: Uint8Array) => {
    const [offset, length] = FIELDS[field];
    if (bytes.length > length) throw new RangeError(`expected ${field} of at most ${length} bytes, got ${bytes.length}`);
    h.set(bytes, offset);
  };
  put('name', utf8Encode(name));
  put('mode', octal(0o644, 8));
  put('uid', octal(0, 8));
  put('gid', octal(0, 8));
  put('size', octal(size, 12));
  put('mtime', octal(0, 12));
  put('typeflag', ascii('0'));
  put('magic', ascii('ustar\0'));
  put('version', ascii('00'));
  put('prefix', utf8Encode(prefix));
  // Checksum: six octal digits, NUL, space (the form GNU tar and pax write).
  put('chksum', ascii(checksum(h).toString(8).padStart(6, '0') + '\0 '));
  return h;
}

export function field(header: Uint8Array, name: Field): Uint8Array {
  const [offset, length] = FIELDS[name];
  return header.subarray(offset, offset + length);
}

/** A NUL-terminated (or full-width) string field's bytes, without the NULs. */
export function stringField(header: Uint8Array, name: Field): Uint8Array {
  const bytes = field(header, name);
  const nul = bytes.indexOf(0);
  return nul === -1 ? bytes : bytes.subarray(0, nul);
}

/** Octal digits then NUL; undefined when the field has any other shape. */
export function octalField(header: Uint8Array, name: Field): number | undefined {
  const text = String.fromCharCode(...field(header, name));
  const m = /^([0-7]+)\0$/.exec(text);
  return m ? parseInt(m[1]!, 8) : undefined;
}

export const isZero = (bytes: Uint8Array) => bytes.every((b) => b === 0);
export const roundUp = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
