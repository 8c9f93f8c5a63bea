/**
 * @module server/source/message-check — the completion check of an upload, streamed.
 *
 * A submission may be 2 GiB, so it is never held whole: chunks come from the database one at a
 * time, feed an incremental SHA-256 and a walker over the OpenPGP packet framing (RFC 9580 §4.2:
 * headers and lengths only). protocol's `inspectMessage` wants the whole message as bytes, so for a
 * message of more than one chunk it is given a *condensed* message: every packet re-framed with a
 * definite length, PKESK bodies whole, any other body cut to its first BODY_PREFIX bytes. That is
 * enough for everything inspectMessage looks at (packet order, PKESK contents, the SEIPD version
 * octets and its minimum length, which is below BODY_PREFIX), while the walker here checks what the
 * condensed copy cannot show: that the real framing is sound and ends exactly at the last byte.
 * A single-chunk message (every text tip) goes to inspectMessage as it is.
 * The framing rules mirror protocol/_packets.ts; if protocol grows a streaming inspector, use it.
 */
import { createHash } from 'node:crypto';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
import { inspectMessage, type MessageInfo } from '../../protocol/openpgp-checks.ts';

const BODY_PREFIX = 64;
const MAX_PKESK_BODY = 4096;
const MAX_PACKETS = 256;
/** Tags that RFC 9580 §4.2.1.4 allows to use partial body lengths (as protocol/_packets.ts). */
const PARTIAL_OK = new Set([8, 9, 11, 18, 20]);

const fail = (code: string, message: string): never => {
  throw new OpenPgpCheckError(code, message);
};

interface Frame {
  tag: number;
  /** PKESK: the whole body; others: the first BODY_PREFIX bytes */
  kept: number[];
}

/** Pulls bytes from a chunk stream, hashing every chunk it takes. */
class ByteReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private offset = 0;
  private done = false;
  readonly hash = createHash('sha256');
  constructor(private readonly chunks: AsyncIterator<Uint8Array>) {}

  /** False at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      if (this.done) return false;
      const next = await this.chunks.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      this.hash.update(next.value);
      this.chunk = next.value;
      this.offset = 0;
    }
    return true;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  async byte(what: string): Promise<number> {
    if (!(await this.fill())) fail('truncated', `expected ${what}, got the end of the message`);
    return this.chunk[this.offset++]!;
  }

  /** Skips `n` bytes, keeping the first `keep` of them in `into`. */
  async skip(n: number, keep: number, into: number[], what: string): Promise<void> {
    while (n > 0) {
      if (!(await this.fill())) fail('truncated', `expected ${n} more byte(s) of ${what}, got the end of the message`);
      const take = Math.min(n, this.chunk.length - this.offset);
      const want = Math.min(take, keep - into.length);
      for (let i = 0; i < want; i++) into.push(this.chunk[this.offset + i]!);
      this.offset += take;
      n -= take;
    }
  }

  /** Skips to the end of the stream, keeping the first `keep` bytes in `into`. */
  async skipRest(keep: number, into: number[]): Promise<void> {
    while (await this.fill()) {
      const want = Math.min(this.chunk.length - this.offset, keep - into.length);
      for (let i = 0; i < want; i++) into.push(this.chunk[this.offset + i]!);
      this.offset = this.chunk.length;
    }
  }

  /** Reads (and hashes) whatever is left, e.g. after a framing error. */
  async drain(): Promise<void> {
    while (await this.fill()) this.offset = this.chunk.length;
  }
}

async function readFrame(r: ByteReader, index: number): Promise<Frame> {
  const first = await r.byte('a packet header');
  if ((first & 0x80) === 0) {
    fail('not_openpgp', `expected an OpenPGP packet header (bit 7 set) for packet ${index}, got 0x${first.toString(16).padStart(2, '0')}`);
  }
  const kept: number[] = [];
  let tag: number;
  if ((first & 0x40) === 0) {
    tag = (first >> 2) & 0x0f;
    const type = first & 3;
    const keep = tag === 1 ? MAX_PKESK_BODY : BODY_PREFIX;
    if (type === 3) {
      // indeterminate length: the body runs to the end of the message
      await r.skipRest(keep, kept);
      return { tag, kept };
    }
    let length = 0;
    for (let i = 0; i < [1, 2, 4][type]!; i++) length = length * 256 + (await r.byte('a packet length'));
    if (tag === 1 && length > MAX_PKESK_BODY) fail('bad_pkesk', `expected a PKESK of at most ${MAX_PKESK_BODY} bytes, got ${length}`);
    await r.skip(length, keep, kept, `packet ${index} body`);
    return { tag, kept };
  }
  tag = first & 0x3f;
  const keep = tag === 1 ? MAX_PKESK_BODY : BODY_PREFIX;
  let total = 0;
  for (let part = 0; ; part++) {
    const a = await r.byte('a packet length');
    let length: number;
    let partial = false;
    if (a < 192) length = a;
    else if (a < 224) length = ((a - 192) << 8) + (await r.byte('a packet length')) + 192;
    else if (a === 255) {
      length = 0;
      for (let i = 0; i < 4; i++) length = length * 256 + (await r.byte('a packet length'));
    } else {
      length = 1 << (a & 0x1f);
      partial = true;
    }
    if (partial && !PARTIAL_OK.has(tag)) fail('bad_packet', `expected a definite length for packet tag ${tag}, got a partial length`);
    if (partial && part === 0 && length < 512) {
      fail('bad_packet', `expected a first partial body length of at least 512 bytes, got ${length}`);
    }
    total += length;
    if (tag === 1 && total > MAX_PKESK_BODY) fail('bad_pkesk', `expected a PKESK of at most ${MAX_PKESK_BODY} bytes, got more`);
    await r.skip(length, keep, kept, `packet ${index} body`);
    if (!partial) return { tag, kept };
  }
}

/** A new-format packet with a definite length (RFC 9580 §4.2.1). */
function encodeFrame(frame: Frame): number[] {
  const n = frame.kept.length;
  const header = [0xc0 | frame.tag];
  if (n < 192) header.push(n);
  else if (n < 8384) header.push(((n - 192) >> 8) + 192, (n - 192) & 0xff);
  else header.push(255, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  return [...header, ...frame.kept];
}

export interface CheckedCiphertext {
  sha256: string;
  /** the structural result, or the refusal that inspectMessage or the framing walk gave */
  message: { ok: true; info: MessageInfo } | { ok: false; error: OpenPgpCheckError };
}

/**
 * Hashes every chunk and checks the OpenPGP structure. `chunks` yields the ciphertext in order,
 * in pieces of any size; with `chunkCount` 1 the pieces are joined and inspectMessage sees the
 * message as it is.
 */
export async function checkCiphertext(chunks: AsyncIterable<Uint8Array>, chunkCount: number): Promise<CheckedCiphertext> {
  const iterator = chunks[Symbol.asyncIterator]();
  if (chunkCount === 1) {
    // one chunk (at most MAX_CHUNK_BYTES) may come in pieces: join them
    const pieces: Uint8Array[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) pieces.push(next.value);
    const bytes = pieces.length === 1 ? pieces[0]! : new Uint8Array(Buffer.concat(pieces));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return { sha256, message: await settle(() => inspectMessage(bytes)) };
  }
  const reader = new ByteReader(iterator);
  const frames: Frame[] = [];
  let walkError: OpenPgpCheckError | undefined;
  try {
    if (await reader.atEnd()) fail('empty', 'expected an OpenPGP message, got 0 bytes');
    while (!(await reader.atEnd())) {
      if (frames.length >= MAX_PACKETS) fail('bad_packet_sequence', `expected at most ${MAX_PACKETS} packets, got more`);
      frames.push(await readFrame(reader, frames.length));
    }
  } catch (error) {
    if (!(error instanceof OpenPgpCheckError)) throw error;
    walkError = error;
    await reader.drain();
  }
  const sha256 = reader.hash.digest('hex');
  if (walkError) return { sha256, message: { ok: false, error: walkError } };
  const condensed = Uint8Array.from(frames.flatMap(encodeFrame));
  return { sha256, message: await settle(() => inspectMessage(condensed)) };
}

async function settle(check: () => Promise<MessageInfo>): Promise<CheckedCiphertext['message']> {
  try {
    return { ok: true, info: await check() };
  } catch (error) {
    if (error instanceof OpenPgpCheckError) return { ok: false, error };
    throw error;
  }
}
