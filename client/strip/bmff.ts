/**
 * @module client/strip/bmff — reading and writing ISO base media file format boxes (ISO/IEC
 * 14496-12 section 4.2) for the HEIF cleaner: a bounded reader that refuses to run past a box,
 * and builders for the boxes it writes back.
 */
import { StripError } from './strip-error.ts';

export type Box = {
  type: string;
  /** Offsets in the whole file: the box's first byte, its payload's first byte, and its end. */
  start: number;
  payload: number;
  end: number;
};

const MAX_STRING = 1024;

/** Reads big-endian fields from `bytes` between `pos` and `end`, refusing to go past `end`. */
export class BoxReader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    private readonly where: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): number {
    if (this.pos + n > this.end) throw new StripError(`truncated HEIF ${this.where} at byte ${this.pos}`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  get left(): number {
    return this.end - this.pos;
  }
  u8(): number {
    return this.bytes[this.need(1)]!;
  }
  u16(): number {
    return this.view.getUint16(this.need(2));
  }
  u24(): number {
    const at = this.need(3);
    return (this.bytes[at]! << 16) | (this.bytes[at + 1]! << 8) | this.bytes[at + 2]!;
  }
  u32(): number {
    return this.view.getUint32(this.need(4));
  }
  /** A 64-bit field; refused above 2^53 (no file this page handles is that large). */
  u64(): number {
    const high = this.u32();
    const low = this.u32();
    if (high >= 0x200000) throw new StripError(`HEIF ${this.where}: 64-bit value too large at byte ${this.pos - 8}`);
    return high * 0x100000000 + low;
  }
  /** A field of 0, 4 or 8 bytes (iloc's offset, length, base offset and index sizes). */
  sized(size: number): number {
    if (size === 0) return 0;
    return size === 4 ? this.u32() : this.u64();
  }
  fourcc(): string {
    const at = this.need(4);
    return String.fromCharCode(this.bytes[at]!, this.bytes[at + 1]!, this.bytes[at + 2]!, this.bytes[at + 3]!);
  }
  take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  /** A NUL-terminated UTF-8 string (the terminator must be inside the box). */
  skipString(): void {
    const nul = this.bytes.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw new StripError(`HEIF ${this.where}: string without its terminating NUL`);
    this.pos = nul + 1;
  }
  /** A short NUL-terminated string (a URN, a type): longer than MAX_STRING is refused. */
  string(): string {
    const from = this.pos;
    this.skipString();
    if (this.pos - 1 - from > MAX_STRING) throw new StripError(`HEIF ${this.where}: string of ${this.pos - 1 - from} bytes`);
    return String.fromCharCode(...this.bytes.subarray(from, this.pos - 1));
  }
  /** Version and flags of a FullBox. */
  fullBox(maxVersion: number): { version: number; flags: number } {
    const version = this.u8();
    const flags = this.u24();
    if (version > maxVersion) throw new StripError(`HEIF ${this.where} version ${version}: not supported`);
    return { version, flags };
  }
  /** Nothing may follow the fields this code read: trailing bytes could carry anything. */
  finish(): void {
    if (this.pos !== this.end) throw new StripError(`HEIF ${this.where}: ${this.end - this.pos} unexpected bytes at ${this.pos}`);
  }
}

/** The boxes that tile `bytes[start, end)` exactly; size 0 ("to the end") only where `topLevel`. */
export function readBoxes(bytes: Uint8Array, start: number, end: number, where: string, topLevel = false): Box[] {
  const boxes: Box[] = [];
  const r = new BoxReader(bytes, start, end, where);
  while (r.pos < end) {
    const boxStart = r.pos;
    let size = r.u32();
    const type = r.fourcc();
    if (!/^[\x20-\x7e]{4}$/.test(type)) throw new StripError(`HEIF ${where}: box type with bytes that are not ASCII at byte ${boxStart}`);
    if (size === 1) size = r.u64();
    else if (size === 0 && topLevel) size = end - boxStart;
    if (type === 'uuid') r.take(16);
    const payload = r.pos;
    if (size < payload - boxStart || boxStart + size > end) {
      throw new StripError(`HEIF ${where}: box ${JSON.stringify(type)} at byte ${boxStart} of size ${size} does not fit`);
    }
    r.pos = boxStart + size;
    boxes.push({ type, start: boxStart, payload, end: r.pos });
  }
  return boxes;
}

export function u8(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}
export function u16(n: number): Uint8Array {
  return u8(n >>> 8, n & 0xff);
}
export function u32(n: number): Uint8Array {
  return u8(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
export function fourcc(type: string): Uint8Array {
  return Uint8Array.from(type, (c) => c.charCodeAt(0));
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A box with a 32-bit size (everything this cleaner writes is smaller than 4 GiB). */
export function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const body = concatBytes(parts);
  if (body.length + 8 > 0xffffffff) throw new StripError(`HEIF box ${type} over 4 GiB`);
  return concatBytes([u32(body.length + 8), fourcc(type), body]);
}

export function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]): Uint8Array {
  return box(type, u8(version, (flags >>> 16) & 0xff, (flags >>> 8) & 0xff, flags & 0xff), ...parts);
}
