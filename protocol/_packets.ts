/**
 * @module protocol/_packets — walks OpenPGP packet framing (RFC 9580 §4.2) without copying or
 * decrypting: tags, body offsets and lengths only, so it is cheap on a 2 GiB ciphertext.
 */
import { OpenPgpCheckError } from './errors.ts';

export type PacketFrame = {
  tag: number;
  /** Offset of the header's first byte. */
  start: number;
  /** Body pieces: one for a definite length, several for partial lengths. */
  parts: { offset: number; length: number }[];
  /** Offset just past the packet. */
  end: number;
  partial: boolean;
};

/** Tags that RFC 9580 §4.2.1.4 allows to use partial body lengths. */
const PARTIAL_OK = new Set([8, 9, 11, 18, 20]);

const fail = (code: string, message: string): never => {
  throw new OpenPgpCheckError(code, message);
};

function need(bytes: Uint8Array, offset: number, n: number, what: string): void {
  if (offset + n > bytes.length) {
    fail('truncated', `expected ${n} more byte(s) of ${what} at offset ${offset}, got ${bytes.length - offset}`);
  }
}

function readNewLength(bytes: Uint8Array, o: number): { length: number; size: number; partial: boolean } {
  need(bytes, o, 1, 'packet length');
  const a = bytes[o]!;
  if (a < 192) return { length: a, size: 1, partial: false };
  if (a < 224) {
    need(bytes, o, 2, 'packet length');
    return { length: ((a - 192) << 8) + bytes[o + 1]! + 192, size: 2, partial: false };
  }
  if (a === 255) {
    need(bytes, o, 5, 'packet length');
    const length = ((bytes[o + 1]! << 24) >>> 0) + (bytes[o + 2]! << 16) + (bytes[o + 3]! << 8) + bytes[o + 4]!;
    return { length, size: 5, partial: false };
  }
  return { length: 1 << (a & 0x1f), size: 1, partial: true };
}

function readFrame(bytes: Uint8Array, start: number): PacketFrame {
  const first = bytes[start]!;
  if ((first & 0x80) === 0) fail('not_openpgp', `expected a packet header (bit 7 set) at offset ${start}, got 0x${first.toString(16).padStart(2, '0')}`);
  let o = start + 1;
  if ((first & 0x40) === 0) {
    // Legacy format: tag in bits 5-2, length type in bits 1-0.
    const tag = (first >> 2) & 0x0f;
    const type = first & 3;
    if (type === 3) return { tag, start, parts: [{ offset: o, length: bytes.length - o }], end: bytes.length, partial: false };
    const size = [1, 2, 4][type]!;
    need(bytes, o, size, 'packet length');
    let length = 0;
    for (let i = 0; i < size; i++) length = length * 256 + bytes[o + i]!;
    o += size;
    need(bytes, o, length, `packet (tag ${tag}) body`);
    return { tag, start, parts: [{ offset: o, length }], end: o + length, partial: false };
  }
  const tag = first & 0x3f;
  const parts: PacketFrame['parts'] = [];
  let partial = false;
  for (;;) {
    const len = readNewLength(bytes, o);
    if (len.partial && !PARTIAL_OK.has(tag)) fail('bad_packet', `expected a definite length for packet tag ${tag}, got a partial length`);
    if (len.partial && parts.length === 0 && len.length < 512) {
      fail('bad_packet', `expected a first partial body length of at least 512 bytes, got ${len.length}`);
    }
    o += len.size;
    need(bytes, o, len.length, `packet (tag ${tag}) body`);
    parts.push({ offset: o, length: len.length });
    o += len.length;
    if (!len.partial) break;
    partial = true;
  }
  return { tag, start, parts, end: o, partial };
}

/** Every packet frame in `bytes`, in order. Throws OpenPgpCheckError on broken framing. */
export function readPacketFrames(bytes: Uint8Array): PacketFrame[] {
  const frames: PacketFrame[] = [];
  for (let o = 0; o < bytes.length; ) {
    const frame = readFrame(bytes, o);
    frames.push(frame);
    o = frame.end;
  }
  return frames;
}

/** The first `n` body bytes of a frame (fewer if the body is shorter), copied. */
export function bodyPrefix(bytes: Uint8Array, frame: PacketFrame, n: number): Uint8Array {
  const out: number[] = [];
  for (const part of frame.parts) {
    for (let i = 0; i < part.length && out.length < n; i++) out.push(bytes[part.offset + i]!);
    if (out.length >= n) break;
  }
  return Uint8Array.from(out);
}

export const bodyLength = (frame: PacketFrame) => frame.parts.reduce((sum, p) => sum + p.length, 0);
