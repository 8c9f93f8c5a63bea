/**
 * @module protocol/_packets — walks OpenPGP packet framing (RFC 9580 §4.2) over a stream of chunks:
 * tags and lengths, plus a PKESK's body and the first bytes of any other body. Memory stays at one
 * chunk and a few bytes per packet whatever the message size; nothing is decrypted.
 */
import { OpenPgpCheckError } from './errors.ts';

export type Packet = {
  tag: number;
  /** Offset of the header's first byte in the message. */
  start: number;
  /** Body length in bytes (all parts, for partial lengths). */
  length: number;
  /** True when the body was sent with partial lengths. */
  partial: boolean;
  /** PKESK: the whole body. Any other packet: its first BODY_PREFIX_BYTES. */
  body: Uint8Array;
};

export const BODY_PREFIX_BYTES = 64;
/** Far above any real PKESK (RSA-4096: ~520 bytes); caps what one packet may make us hold. */
export const MAX_PKESK_BYTES = 8192;
/** Far above any real message (one PKESK per recipient, then one SEIPD). */
export const MAX_PACKETS = 256;
const TAG_PKESK = 1;
/** Tags that RFC 9580 §4.2.1.4 allows to use partial body lengths. */
const PARTIAL_OK = new Set([8, 9, 11, 18, 20]);

const fail = (code: string, message: string): never => {
  throw new OpenPgpCheckError(code, message);
};

/** Sequential reader over chunks; holds only the current chunk. */
class Reader {
  private chunk: Uint8Array = new Uint8Array(0);
  private offset = 0;
  position = 0;
  private readonly chunks: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.chunks = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  }

  /** False at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      const next = await this.chunks.next();
      if (next.done) return false;
      if (!(next.value instanceof Uint8Array)) fail('not_openpgp', `expected chunks of Uint8Array, got ${typeof next.value}`);
      this.chunk = next.value;
      this.offset = 0;
    }
    return true;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  async byte(what: string): Promise<number> {
    if (!(await this.fill())) fail('truncated', `expected ${what} at offset ${this.position}, got the end of the message`);
    this.position++;
    return this.chunk[this.offset++]!;
  }

  /** Skips `n` bytes (all of them, or up to the end when `n` is Infinity), keeping the first `keep` in `into`. */
  async skip(n: number, keep: number, into: number[], what: string): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      if (!(await this.fill())) {
        if (n === Infinity) break;
        fail('truncated', `expected ${n - skipped} more byte(s) of ${what} at offset ${this.position}, got the end of the message`);
      }
      const take = Math.min(n - skipped, this.chunk.length - this.offset);
      const want = Math.max(0, Math.min(take, keep - into.length));
      for (let i = 0; i < want; i++) into.push(this.chunk[this.offset + i]!);
      this.offset += take;
      this.position += take;
      skipped += take;
    }
    return skipped;
  }
}

type Length = { length: number; partial: boolean };

async function readNewLength(r: Reader, tag: number): Promise<Length> {
  const what = `the length of packet tag ${tag}`;
  const a = await r.byte(what);
  if (a < 192) return { length: a, partial: false };
  if (a < 224) return { length: ((a - 192) << 8) + (await r.byte(what)) + 192, partial: false };
  if (a === 255) {
    let length = 0;
    for (let i = 0; i < 4; i++) length = length * 256 + (await r.byte(what));
    return { length, partial: false };
  }
  return { length: 2 ** (a & 0x1f), partial: true };
}

async function readPacket(r: Reader): Promise<Packet> {
  const start = r.position;
  const first = await r.byte('a packet header');
  if ((first & 0x80) === 0) {
    fail('not_openpgp', `expected a packet header (bit 7 set) at offset ${start}, got 0x${first.toString(16).padStart(2, '0')}`);
  }
  const kept: number[] = [];
  let tag: number;
  let length = 0;
  let partial = false;
  const keepFor = (t: number) => (t === TAG_PKESK ? MAX_PKESK_BYTES + 1 : BODY_PREFIX_BYTES);
  if ((first & 0x40) === 0) {
    // Legacy format: tag in bits 5-2, length type in bits 1-0 (3: up to the end of the message).
    tag = (first >> 2) & 0x0f;
    const type = first & 3;
    if (type === 3) {
      length = await r.skip(Infinity, keepFor(tag), kept, '');
    } else {
      for (let i = 0; i < [1, 2, 4][type]!; i++) length = length * 256 + (await r.byte(`the length of packet tag ${tag}`));
      await r.skip(length, keepFor(tag), kept, `packet (tag ${tag}) body`);
    }
  } else {
    tag = first & 0x3f;
    for (let part = 0; ; part++) {
      const len = await readNewLength(r, tag);
      if (len.partial && !PARTIAL_OK.has(tag)) fail('bad_packet', `expected a definite length for packet tag ${tag}, got a partial length`);
      if (len.partial && part === 0 && len.length < 512) {
        fail('bad_packet', `expected a first partial body length of at least 512 bytes, got ${len.length}`);
      }
      await r.skip(len.length, keepFor(tag), kept, `packet (tag ${tag}) body`);
      length += len.length;
      if (!len.partial) break;
      partial = true;
    }
  }
  if (tag === TAG_PKESK && length > MAX_PKESK_BYTES) fail('bad_pkesk', `expected a PKESK of at most ${MAX_PKESK_BYTES} bytes, got ${length}`);
  return { tag, start, length, partial, body: Uint8Array.from(kept) };
}

/** Every packet of the message, in order. Throws OpenPgpCheckError on broken framing. */
export async function readPackets(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Packet[]> {
  const r = new Reader(source);
  const packets: Packet[] = [];
  while (!(await r.atEnd())) {
    if (packets.length === MAX_PACKETS) fail('too_many_packets', `expected at most ${MAX_PACKETS} packets, got more`);
    packets.push(await readPacket(r));
  }
  return packets;
}
