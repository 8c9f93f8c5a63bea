/**
 * @module protocol/encrypt-stream — the streamed form of `encryptToKeys` (PROTOCOL.md, "Streamed
 * submissions"): an envelope of known length, arriving in pieces, encrypted to the newsroom key
 * with the same packets, and its exact ciphertext length known before the first encrypted byte,
 * so that an upload can be opened before the file is read and sent as it is encrypted.
 *
 * OpenPGP.js frames a streamed packet with partial lengths sized by the pieces it happens to
 * receive, so its raw output's length depends on how its internal transforms cut the data (the
 * WebCrypto CFB path and Node's differ). Two things make the length exact: the plaintext arrives
 * in pieces of fixed size (`ENVELOPE_PIECE_BYTES`, the last shorter), which fixes the framing of
 * the literal packet inside the encryption (`literalPacketLength`); and the encrypted packet's own
 * framing is rewritten on the way out (`reframe`): its partial lengths are dropped and one
 * definite length is written in their place, as `encryptToKeys` writes it. The encrypted bytes
 * are OpenPGP.js's own, untouched.
 */
import { createMessage, encrypt, type Key } from 'openpgp';
import { recipientPackets } from './source-keys.ts';

/** The size of every piece of plaintext handed to OpenPGP.js but the last. */
export const ENVELOPE_PIECE_BYTES = 64 * 1024;

/** OpenPGP.js's literal header for a binary packet with no name, dated 0: format, name length, date. */
const LITERAL_HEADER_BYTES = 1 + 1 + 4;
const AES256_BLOCK = 16;
/** SEIPDv2 (RFC 9580 §5.13.2): chunk size byte, so chunks of 2^(12+6) = 256 KiB; OCB tags of 16. */
const AEAD_CHUNK_SIZE_BYTE = 12;
const AEAD_TAG_BYTES = 16;
const SEIPD_TAG = 18;

export class StreamEncryptError extends Error {
  override name = 'StreamEncryptError';
}

/** Bytes of an OpenPGP new-format length field for a definite `length` (RFC 9580 §4.2.1). */
export function lengthFieldBytes(length: number): number {
  return length < 192 ? 1 : length < 8384 ? 2 : 5;
}

function writeLength(length: number): Uint8Array {
  if (length < 192) return Uint8Array.of(length);
  if (length < 8384) return Uint8Array.of(((length - 192) >> 8) + 192, (length - 192) & 0xff);
  return Uint8Array.of(255, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
}

/**
 * The length of the literal packet OpenPGP.js writes for `length` bytes of plaintext arriving in
 * pieces of `pieceBytes` (the last shorter): the same arithmetic as its PacketList.write, which
 * buffers until 512 bytes and then writes the largest power of two it holds as one partial body,
 * and ends with a definite length for the rest. Run in the engine that encrypts (the expression
 * is OpenPGP.js's, floating point and all).
 */
export function literalPacketLength(length: number, pieceBytes = ENVELOPE_PIECE_BYTES): number {
  let out = 1; // the tag
  let buffered = 0;
  const take = (value: number) => {
    buffered += value;
    if (buffered >= 512) {
      const power = Math.min((Math.log(buffered) / Math.LN2) | 0, 30);
      out += 1 + 2 ** power;
      buffered -= 2 ** power;
    }
  };
  take(LITERAL_HEADER_BYTES);
  for (let left = length; left > 0; left -= pieceBytes) take(Math.min(left, pieceBytes));
  return out + lengthFieldBytes(buffered) + buffered;
}

/** The body length of the encrypted packet around a literal packet of `literal` bytes. */
export function encryptedBodyLength(literal: number, v6: boolean): number {
  if (!v6) return 1 + (AES256_BLOCK + 2) + literal + 2 + 20; // version, prefix, data, MDC packet
  const chunk = 2 ** (AEAD_CHUNK_SIZE_BYTE + 6);
  return 4 + 32 + literal + AEAD_TAG_BYTES * Math.ceil(literal / chunk) + AEAD_TAG_BYTES; // header, salt, chunks, final tag
}

/** Pieces of a byte stream, read by exact counts. */
class ByteReader {
  private pending: Uint8Array = new Uint8Array(0);
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  /** Up to `max` bytes (at least one), or undefined at the end. */
  async some(max: number): Promise<Uint8Array | undefined> {
    if (this.pending.length === 0) {
      const next = await this.reader.read();
      if (next.done) return undefined;
      this.pending = next.value;
    }
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(out.length);
    return out;
  }

  async exactly(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    for (let have = 0; have < n; ) {
      const part = await this.some(n - have);
      if (!part) throw new StreamEncryptError(`expected ${n - have} more bytes from OpenPGP.js, got the end`);
      out.set(part, have);
      have += part.length;
    }
    return out;
  }

  async byte(): Promise<number> {
    return (await this.exactly(1))[0]!;
  }

  async atEnd(): Promise<boolean> {
    if (this.pending.length > 0) return false;
    const next = await this.reader.read();
    if (next.done) return true;
    this.pending = next.value;
    return false;
  }
}

/** A new-format length field: the definite length, or the partial body length (RFC 9580 §4.2.1.4). */
async function readLength(bytes: ByteReader): Promise<{ length: number; partial: boolean }> {
  const first = await bytes.byte();
  if (first < 192) return { length: first, partial: false };
  if (first < 224) return { length: ((first - 192) << 8) + (await bytes.byte()) + 192, partial: false };
  if (first < 255) return { length: 2 ** (first & 0x1f), partial: true };
  const b = await bytes.exactly(4);
  return { length: ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0, partial: false };
}

export type EncryptedStream = {
  /** the exact length of the whole ciphertext */
  size: number;
  /** the ciphertext in pieces, in order; done at the end (its length then checked against `size`) */
  read(): Promise<Uint8Array | undefined>;
  cancel(reason?: unknown): Promise<void>;
};

/**
 * Encrypts `length` bytes arriving from `plaintext` (in pieces of exactly ENVELOPE_PIECE_BYTES but
 * the last, as protocol/envelope's envelopeStream makes them) to `publicKeys`, as encryptToKeys
 * does: binary, no compression, literal packet unnamed and dated 0, AES-256, SEIPDv1 for v4 keys
 * and SEIPDv2 (OCB) when every key is v6. Resolves once the key packets are out, with the exact
 * ciphertext length; nothing of the plaintext has been read beyond what OpenPGP.js asks for first.
 */
export async function encryptStreamToKeys(
  length: number,
  plaintext: ReadableStream<Uint8Array>,
  publicKeys: Key[],
): Promise<EncryptedStream> {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`expected a plaintext length, got ${length}`);
  if (publicKeys.length === 0) throw new TypeError('expected at least one recipient key, got none');
  const { v6, sessionKey, config } = recipientPackets(publicKeys);
  const message = await createMessage({ binary: plaintext, format: 'binary', date: new Date(0) });
  const out = (await encrypt({
    message,
    encryptionKeys: publicKeys,
    sessionKey,
    format: 'binary',
    config: { ...config, aeadChunkSizeByte: AEAD_CHUNK_SIZE_BYTE },
  })) as unknown as ReadableStream<Uint8Array>;
  sessionKey.data.fill(0);
  const reader = out.getReader();
  const bytes = new ByteReader(reader);

  // The key packets, as they are (definite lengths), up to the encrypted packet's tag.
  const head: Uint8Array[] = [];
  for (;;) {
    const tag = await bytes.byte();
    if ((tag & 0xc0) !== 0xc0) throw new StreamEncryptError(`expected a new-format packet header from OpenPGP.js, got 0x${tag.toString(16)}`);
    if ((tag & 0x3f) === SEIPD_TAG) break;
    const { length: packetLength, partial } = await readLength(bytes);
    if (partial) throw new StreamEncryptError('expected a definite length on a key packet');
    head.push(Uint8Array.of(tag), writeLength(packetLength), await bytes.exactly(packetLength));
  }
  const body = encryptedBodyLength(literalPacketLength(length), v6);
  head.push(Uint8Array.of(0xc0 | SEIPD_TAG), writeLength(body));
  const size = head.reduce((n, part) => n + part.length, 0) + body;

  let left = 0; // of the current partial (or final) body part
  let last = false;
  let bodySent = 0;
  let ended = false;
  return {
    size,
    async read() {
      if (head.length > 0) {
        const all = new Uint8Array(head.reduce((n, part) => n + part.length, 0));
        let o = 0;
        for (const part of head) {
          all.set(part, o);
          o += part.length;
        }
        head.length = 0;
        return all;
      }
      if (ended) return undefined;
      while (left === 0) {
        if (last) {
          if (!(await bytes.atEnd())) throw new StreamEncryptError('expected the end of the message after the encrypted packet');
          if (bodySent !== body) throw new StreamEncryptError(`expected an encrypted body of ${body} bytes, OpenPGP.js wrote ${bodySent}`);
          ended = true;
          return undefined;
        }
        const field = await readLength(bytes);
        left = field.length;
        last = !field.partial;
      }
      const piece = await bytes.some(left);
      if (!piece) throw new StreamEncryptError('expected more of the encrypted packet, got the end');
      left -= piece.length;
      bodySent += piece.length;
      if (bodySent > body) throw new StreamEncryptError(`expected an encrypted body of ${body} bytes, OpenPGP.js wrote more`);
      return piece;
    },
    async cancel(reason) {
      ended = true;
      await reader.cancel(reason).catch(() => {});
    },
  };
}
