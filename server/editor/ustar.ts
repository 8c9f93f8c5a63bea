/**
 * @module ustar headers for the bundle export (POSIX.1-1988 ustar, as in pax(1) "ustar Interchange
 * Format"): regular files only, mtime 0, mode 0644, uid/gid 0, no owner names.
 */

export const BLOCK_BYTES = 512;
/** The largest size an 11-digit octal size field holds (8 GiB - 1). */
const MAX_USTAR_SIZE = 0o77777777777;

export class UstarError extends Error {
  override name = 'UstarError';
}

function writeString(block: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > length) throw new UstarError(`expected at most ${length} bytes for a tar field, got ${bytes.length}`);
  block.set(bytes, offset);
}

/** An octal number, zero padded to `length - 1` digits and NUL terminated. */
function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  writeString(block, offset, length, value.toString(8).padStart(length - 1, '0'));
}

/**
 * The 512-byte header of a regular file `name` of `size` bytes. Names must be plain relative
 * ASCII paths of at most 100 bytes (the bundle's names are `bundle.json`, `sources/<handle>.asc`
 * and `submissions/<uuid>.pgp`), so no prefix field or pax extension is ever needed.
 */
export function fileHeader(name: string, size: number): Uint8Array {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name) || name.split('/').some((part) => part === '.' || part === '..')) {
    throw new UstarError(`expected a plain relative tar path, got ${JSON.stringify(name)}`);
  }
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_USTAR_SIZE) {
    throw new UstarError(`expected a file size 0..${MAX_USTAR_SIZE}, got ${size}`);
  }
  const block = new Uint8Array(BLOCK_BYTES);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, 0);
  block[156] = 0x30; // '0': regular file
  writeString(block, 257, 6, 'ustar\0');
  writeString(block, 263, 2, '00');
  // The checksum is computed with its own field taken as eight spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/** Zero bytes that fill a file body of `size` bytes up to the next 512-byte block. */
export function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK_BYTES - (size % BLOCK_BYTES)) % BLOCK_BYTES);
}

/** The end-of-archive marker: two zero blocks. */
export function endOfArchive(): Uint8Array {
  return new Uint8Array(2 * BLOCK_BYTES);
}
