/**
 * @module cli/seipd — the fast path of `sealdrop decrypt` for exactly the shape a Sealdrop page
 * sends when it streams a tip (protocol/PROTOCOL.md, "Envelope" and "Signed tips"): PKESK v3
 * packet(s), then one SEIPD v1 packet (AES), inside it one binary literal packet and the MDC.
 *
 * OpenPGP.js decrypts the session key from the PKESK packets alone (`openpgp.decryptSessionKeys`);
 * everything else runs on a worker thread next to the SHA-256 of the file: the SEIPD's framing
 * (partial body lengths), AES-CFB (as ECB of the previous ciphertext block XOR the ciphertext:
 * OpenSSL's CFB decryption is serial, ten times slower than its ECB), and the SHA-1 of the MDC. The
 * main thread only parses the literal packet (`LiteralParser`) and writes the envelope.
 *
 * The fast path never decides an error: whatever it does not recognise, or any failure of the
 * quick check, the MDC, the framing or the SHA-256, ends it with `FastPathDeclined`, and the caller
 * (cli/submission.ts) deletes what it wrote and decrypts the file again through `openpgp.decrypt`,
 * which then gives exactly the error it always gave. It accepts only what that path accepts, with
 * the same bytes out: a signed tip (one-pass signature first), compressed data, SEIPD v2, other
 * ciphers, a text literal, any packet before or after — all declined.
 */

import { Worker } from 'node:worker_threads';

/** The fast path does not apply (or failed): decrypt the file again the usual way. */
export class FastPathDeclined extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FastPathDeclined';
  }
}

const decline = (why: string): never => {
  throw new FastPathDeclined(why);
};

/** At most this many PKESK packets, each at most PKESK_MAX bytes, before the SEIPD. */
export const MAX_PKESKS = 32;
export const PKESK_MAX = 4096;
/** The bytes read to find the SEIPD: enough for MAX_PKESKS of PKESK_MAX. */
export const HEAD_BYTES = MAX_PKESKS * (PKESK_MAX + 6) + 8;

const TAG_PKESK = 1;
const TAG_LITERAL = 11;
const TAG_SEIPD = 18;

/** The key sizes of the ciphers the fast path takes (OpenPGP.js's names), and OpenSSL's ECB for each. */
export const FAST_CIPHERS: Record<string, { keyBytes: number; ecb: string }> = {
  aes128: { keyBytes: 16, ecb: 'aes-128-ecb' },
  aes192: { keyBytes: 24, ecb: 'aes-192-ecb' },
  aes256: { keyBytes: 32, ecb: 'aes-256-ecb' },
};

export interface OuterLayout {
  /** The PKESK packets, exactly as in the file. */
  pkesks: Uint8Array;
  /** Offset of the SEIPD packet's tag byte. */
  seipdAt: number;
}

/**
 * The PKESK packets and where the SEIPD v1 packet starts, from the first bytes of the file (at most
 * HEAD_BYTES, all of the file if shorter). Declines anything else: another packet, a PKESK that is
 * not version 3, an indeterminate or partial length before the SEIPD, a SEIPD of another version.
 */
export function parseOuterLayout(head: Uint8Array): OuterLayout {
  let at = 0;
  let count = 0;
  for (;;) {
    if (at >= head.length) decline('no SEIPD packet in the first bytes');
    const first = head[at]!;
    if ((first & 0x80) === 0) decline('not an OpenPGP packet header');
    let tag: number;
    let length: number;
    let headerLength: number;
    if (first & 0x40) {
      tag = first & 0x3f;
      if (tag === TAG_SEIPD) {
        // its length is the worker's to parse (it may be partial); here only the version byte
        const body = newLengthAt(head, at + 1);
        if (body === undefined) decline('the SEIPD header is cut off');
        if (head[at + 1 + body!.octets] !== 1) decline('not a version 1 SEIPD packet');
        if (count === 0) decline('no PKESK packet');
        return { pkesks: head.slice(0, at), seipdAt: at };
      }
      const l = newLengthAt(head, at + 1);
      if (l === undefined || l.partial) decline('a packet before the SEIPD with a partial or cut-off length');
      length = l!.length;
      headerLength = 1 + l!.octets;
    } else {
      tag = (first >> 2) & 0x0f;
      const type = first & 3;
      if (type === 3) decline('an indeterminate length before the SEIPD');
      const octets = 1 << type;
      if (at + 1 + octets > head.length) decline('a packet header is cut off');
      length = 0;
      for (let i = 0; i < octets; i++) length = length * 256 + head[at + 1 + i]!;
      headerLength = 1 + octets;
    }
    if (tag !== TAG_PKESK) decline(`a packet of tag ${tag} before the SEIPD`);
    if (length > PKESK_MAX || ++count > MAX_PKESKS) decline('too many or too large PKESK packets');
    if (length < 1 || head[at + headerLength] !== 3) decline('not a version 3 PKESK packet');
    at += headerLength + length;
  }
}

/** A new-format length at `at`: its value, how many octets it took, whether it is a partial length. */
export function newLengthAt(bytes: Uint8Array, at: number): { length: number; octets: number; partial: boolean } | undefined {
  if (at >= bytes.length) return undefined;
  const o = bytes[at]!;
  if (o < 192) return { length: o, octets: 1, partial: false };
  if (o < 224) {
    if (at + 1 >= bytes.length) return undefined;
    return { length: ((o - 192) << 8) + bytes[at + 1]! + 192, octets: 2, partial: false };
  }
  if (o < 255) return { length: 2 ** (o & 0x1f), octets: 1, partial: true };
  if (at + 4 >= bytes.length) return undefined;
  return { length: bytes[at + 1]! * 2 ** 24 + bytes[at + 2]! * 2 ** 16 + bytes[at + 3]! * 2 ** 8 + bytes[at + 4]!, octets: 5, partial: false };
}

/**
 * A packet header at `at` (bit 7 of its first octet set): its tag, the octets it took, its body's
 * length (undefined: an old-format indeterminate length, to the end) and whether that is a partial
 * length; undefined when it is cut off.
 */
export function packetHeaderAt(bytes: Uint8Array, at: number): { tag: number; octets: number; length: number | undefined; partial: boolean } | undefined {
  const first = bytes[at]!;
  if (first & 0x40) {
    const l = newLengthAt(bytes, at + 1);
    return l && { tag: first & 0x3f, octets: 1 + l.octets, length: l.length, partial: l.partial };
  }
  const tag = (first >> 2) & 0x0f;
  const type = first & 3;
  if (type === 3) return { tag, octets: 1, length: undefined, partial: false };
  const octets = 1 << type;
  if (at + 1 + octets > bytes.length) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + bytes[at + 1 + i]!;
  return { tag, octets: 1 + octets, length, partial: false };
}

/**
 * The plaintext of the SEIPD (prefix and MDC already taken off by the worker) parsed as exactly one
 * literal packet of format 'b': `push` returns the literal's data in that chunk (a view of it).
 * Declines (FastPathDeclined) any other first packet, another format, a partial length under 512
 * (RFC 4880 asks it of the first part; here of every part, which bounds the work per byte), a
 * cut-off packet at `end`, and any byte after the literal packet.
 */
export class LiteralParser {
  private state: 'tag' | 'length' | 'header' | 'data' | 'after' = 'tag';
  private newFormat = false;
  private lengthOctets: number[] = [];
  private lengthNeeded = 0;
  /** bytes left in the current part of the packet body */
  private remaining = 0;
  private lastPart = false;
  /** the literal's own header: format, name length, name, date */
  private header: number[] = [];
  private headerNeeded = 2;
  /** True once the literal's header has been read whole: from then on the data is the envelope. */
  started = false;

  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case 'tag': {
          const first = chunk[at++]!;
          if ((first & 0x80) === 0) decline('the plaintext is not an OpenPGP packet');
          if (first & 0x40) {
            if ((first & 0x3f) !== TAG_LITERAL) decline(`the first inner packet has tag ${first & 0x3f}, not a literal packet`);
            this.newFormat = true;
            this.state = 'length';
            this.lengthNeeded = 0;
          } else {
            if (((first >> 2) & 0x0f) !== TAG_LITERAL) decline(`the first inner packet has tag ${(first >> 2) & 0x0f}, not a literal packet`);
            if ((first & 3) === 3) decline('a literal packet of indeterminate length');
            this.newFormat = false;
            this.state = 'length';
            this.lengthNeeded = 1 << (first & 3);
          }
          this.lengthOctets = [];
          break;
        }
        case 'length': {
          this.lengthOctets.push(chunk[at++]!);
          if (this.newFormat) {
            const o = this.lengthOctets[0]!;
            const need = o < 192 ? 1 : o < 224 ? 2 : o < 255 ? 1 : 5;
            if (this.lengthOctets.length < need) break;
            const l = newLengthAt(Uint8Array.from(this.lengthOctets), 0)!;
            // RFC 4880 asks it of the first part; of the others, to bound the work a byte of ciphertext can cost
            if (l.partial && l.length < 512) decline('a partial length under 512 bytes');
            this.remaining = l.length;
            this.lastPart = !l.partial;
          } else {
            if (this.lengthOctets.length < this.lengthNeeded) break;
            this.remaining = this.lengthOctets.reduce((n, o) => n * 256 + o, 0);
            this.lastPart = true;
          }
          this.state = this.started ? 'data' : 'header';
          if (this.remaining === 0) this.endOfPart();
          break;
        }
        case 'header': {
          const n = Math.min(this.remaining, chunk.length - at);
          let taken = 0;
          while (taken < n && !this.started) {
            this.header.push(chunk[at + taken]!);
            taken++;
            if (this.header.length === 2) {
              if (this.header[0] !== 0x62) decline(`a literal packet of format 0x${this.header[0]!.toString(16)}, not 'b'`);
              this.headerNeeded = 2 + this.header[1]! + 4;
            }
            if (this.header.length === this.headerNeeded) this.started = true;
          }
          at += taken;
          this.remaining -= taken;
          if (this.started) this.state = 'data';
          if (this.remaining === 0) this.endOfPart();
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - at);
          out.push(chunk.subarray(at, at + n));
          at += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endOfPart();
          break;
        }
        case 'after':
          decline('data after the literal packet');
      }
    }
    return out;
  }

  /** The plaintext ended: the literal packet must be complete. */
  end(): void {
    if (this.state !== 'after') decline('the literal packet is cut off');
  }

  private endOfPart(): void {
    if (this.lastPart) {
      if (!this.started) decline('a literal packet shorter than its own header');
      this.state = 'after';
    } else {
      if (!this.newFormat) decline('unreachable: a partial length in an old-format packet');
      this.state = 'length';
      this.lengthOctets = [];
    }
  }
}

// Plain CommonJS evaluated in the worker (no loader hooks there, and cli/fast-start.js bundles it
// as this string). The first message: { fd, chunk, seipdAt, ecb, key }. Then each 'read' reads the
// next `chunk` bytes of `fd` (from offset 0), hashes them (SHA-256, the whole file), takes the SEIPD
// packet's framing off the bytes from `seipdAt` on, decrypts them (CFB with a zero IV: plaintext
// block i = ciphertext block i XOR AES(ciphertext block i-1)), feeds the SHA-1 of the MDC, and
// answers { type: 'chunk', buffer, length, read } with the plaintext after the prefix, less the last
// 22 bytes so far (the MDC packet, once the file ends). At the end of the file it answers
// { type: 'end', ok, why }: ok only if the framing ended exactly at the end of the file, the quick
// check and the MDC (compared in constant time) hold. A failure answers { type: 'error', message },
// and so does every request after it. 'digest' is answered as in cli/ciphertext-reader.ts.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { createCipheriv, createHash, timingSafeEqual } = require('node:crypto');
const BLOCK = 16;
let fd, chunk, seipdAt, ecb, limit, pkesks;
const sha256 = createHash('sha256');
const mdc = createHash('sha1');
let position = 0;
let ended = false;
let failure;
// framing: 'pre' (before the SEIPD), 'tag', 'length', 'version', 'body', 'done'
let frame = 'pre';
let lengthOctets = [];
let partRemaining = 0;
let lastPart = false;
let firstPart = true;
// CFB
let previous = new Uint8Array(BLOCK);
let carry = new Uint8Array(0);
// plaintext: the prefix (BLOCK + 2 bytes), then all but the last 22 bytes go out
const prefix = new Uint8Array(BLOCK + 2);
let prefixFill = 0;
let tail = new Uint8Array(0);
let out = [];
let outLength = 0;

const fail = (message) => { throw new Error(message); };

function newLength(octets) {
  const o = octets[0];
  if (o < 192) return octets.length === 1 ? { length: o, partial: false } : undefined;
  if (o < 224) return octets.length === 2 ? { length: ((o - 192) << 8) + octets[1] + 192, partial: false } : undefined;
  if (o < 255) return { length: 2 ** (o & 0x1f), partial: true };
  return octets.length === 5 ? { length: octets[1] * 2 ** 24 + octets[2] * 2 ** 16 + octets[3] * 2 ** 8 + octets[4], partial: false } : undefined;
}

function emitPlain(p) {
  if (prefixFill < prefix.length) {
    const n = Math.min(prefix.length - prefixFill, p.length);
    prefix.set(p.subarray(0, n), prefixFill);
    prefixFill += n;
    mdc.update(p.subarray(0, n));
    p = p.subarray(n);
    if (p.length === 0) return;
  }
  const all = tail.length + p.length;
  if (all <= 22) {
    const t = new Uint8Array(all);
    t.set(tail);
    t.set(p, tail.length);
    tail = t;
    return;
  }
  const release = all - 22;
  const fromTail = Math.min(tail.length, release);
  if (fromTail > 0) {
    const t = tail.slice(0, fromTail);
    mdc.update(t);
    out.push(t);
    outLength += t.length;
  }
  const fromP = release - fromTail;
  if (fromP > 0) {
    const q = p.subarray(0, fromP);
    mdc.update(q);
    out.push(q);
    outLength += q.length;
  }
  const t = new Uint8Array(22);
  const keep = tail.subarray(fromTail);
  t.set(keep);
  t.set(p.subarray(fromP), keep.length);
  tail = t;
}

function xorInto(target, keystream) {
  // target: a fresh Uint8Array (offset 0); keystream: a Buffer, copied if it is not 4-byte aligned
  const k = keystream.byteOffset % 4 === 0 ? keystream : Uint8Array.from(keystream);
  const words = target.length >>> 2;
  const a = new Int32Array(target.buffer, target.byteOffset, words);
  const b = new Int32Array(k.buffer, k.byteOffset, words);
  for (let i = 0; i < words; i++) a[i] ^= b[i];
  for (let i = words << 2; i < target.length; i++) target[i] ^= k[i];
}

function decrypt(c) {
  let data = c;
  if (carry.length > 0) {
    data = new Uint8Array(carry.length + c.length);
    data.set(carry);
    data.set(c, carry.length);
  }
  const whole = data.length - (data.length % BLOCK);
  if (whole > 0) {
    const input = Buffer.allocUnsafe(whole);
    input.set(previous, 0);
    input.set(data.subarray(0, whole - BLOCK), BLOCK);
    const keystream = ecb.update(input);
    if (keystream.length !== whole) fail('the block cipher answered short');
    const plain = new Uint8Array(whole);
    plain.set(data.subarray(0, whole));
    xorInto(plain, keystream);
    previous = data.slice(whole - BLOCK, whole);
    emitPlain(plain);
  }
  carry = data.slice(whole);
}

function decryptLast() {
  if (carry.length === 0) return;
  const keystream = ecb.update(previous);
  const plain = carry.slice();
  for (let i = 0; i < plain.length; i++) plain[i] ^= keystream[i];
  carry = new Uint8Array(0);
  emitPlain(plain);
}

// the body bytes of one chunk, decrypted at once (a part may be as short as 1 byte)
let pending = [];
function flushPending() {
  if (pending.length === 0) return;
  const parts = pending;
  pending = [];
  if (parts.length === 1) {
    decrypt(parts[0]);
    return;
  }
  const data = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let o = 0;
  for (const part of parts) {
    data.set(part, o);
    o += part.length;
  }
  decrypt(data);
}

function unframe(bytes, offset) {
  let at = 0;
  while (at < bytes.length) {
    if (frame === 'pre') {
      // the PKESK packets the session key came from (read by the main thread): the very bytes
      // hashed here, or the file changed between the two reads
      const n = Math.min(seipdAt - (offset + at), bytes.length - at);
      const from = offset + at;
      if (Buffer.compare(Buffer.from(bytes.buffer, bytes.byteOffset + at, n), Buffer.from(pkesks.buffer, pkesks.byteOffset + from, n)) !== 0) {
        fail('the PKESK packets changed between the two reads');
      }
      at += n;
      if (offset + at === seipdAt) frame = 'tag';
    } else if (frame === 'tag') {
      if (bytes[at++] !== 0xd2) fail('not a new-format SEIPD packet');
      frame = 'length';
      lengthOctets = [];
    } else if (frame === 'length') {
      lengthOctets.push(bytes[at++]);
      const l = newLength(lengthOctets);
      if (l === undefined) continue;
      if (l.partial && l.length < 512) fail('a partial length under 512 bytes'); // RFC 4880: the first; the rest: a cost bound
      partRemaining = l.length;
      lastPart = !l.partial;
      frame = firstPart ? 'version' : 'body';
      if (partRemaining === 0) endOfPart();
    } else if (frame === 'version' || frame === 'body') {
      let n = Math.min(partRemaining, bytes.length - at);
      if (frame === 'version') {
        if (bytes[at] !== 1) fail('not a version 1 SEIPD packet');
        firstPart = false;
        frame = 'body';
        at += 1;
        partRemaining -= 1;
        n -= 1;
      }
      if (n > 0) pending.push(bytes.subarray(at, at + n));
      at += n;
      partRemaining -= n;
      if (partRemaining === 0) endOfPart();
    } else {
      fail('data after the SEIPD packet');
    }
  }
  flushPending();
}

function endOfPart() {
  if (frame === 'version') fail('an empty first part of the SEIPD packet');
  if (lastPart) {
    frame = 'done';
    flushPending();
    decryptLast(); // the last partial block: its plaintext goes out with this chunk
  } else {
    frame = 'length';
    lengthOctets = [];
  }
}

function finish() {
  if (frame !== 'done') fail('the SEIPD packet is cut off');
  if (prefixFill < prefix.length || tail.length !== 22) fail('the SEIPD packet is too short for its prefix and MDC');
  const quickCheck = prefix[BLOCK - 2] === prefix[BLOCK] && prefix[BLOCK - 1] === prefix[BLOCK + 1];
  mdc.update(tail.subarray(0, 2));
  const digest = mdc.digest();
  const mdcOk = timingSafeEqual(digest, tail.subarray(2)) && tail[0] === 0xd3 && tail[1] === 0x14;
  return { ok: quickCheck && mdcOk, why: quickCheck ? (mdcOk ? '' : 'the MDC does not match') : 'the quick check of the prefix fails' };
}

function send() {
  const buffer = new ArrayBuffer(outLength);
  const view = new Uint8Array(buffer);
  let o = 0;
  for (const part of out) {
    view.set(part, o);
    o += part.length;
  }
  out = [];
  outLength = 0;
  return buffer;
}

parentPort.on('message', (request) => {
  if (fd === undefined) {
    ({ fd, chunk, seipdAt, limit, pkesks } = request);
    if (!(pkesks instanceof Uint8Array) || pkesks.length !== seipdAt) fail('expected the PKESK bytes before the SEIPD');
    ecb = createCipheriv(request.ecb, request.key, null);
    ecb.setAutoPadding(false);
    return;
  }
  if (request === 'digest') {
    parentPort.postMessage({ type: 'digest', bytes: position, sha256: sha256.copy().digest('hex') });
    return;
  }
  if (failure !== undefined) {
    parentPort.postMessage({ type: 'error', message: failure });
    return;
  }
  if (ended) {
    parentPort.postMessage({ type: 'error', message: 'read past the end' });
    return;
  }
  try {
    const buffer = new ArrayBuffer(chunk);
    const view = new Uint8Array(buffer);
    let length = 0;
    // never past the size the file had when it was checked (a file that grows while read would
    // otherwise be read for as long as it grows: the usual path stops at its plaintext cap)
    const want = Math.min(chunk, limit - position);
    while (length < want) {
      const n = readSync(fd, view, length, want - length, position + length);
      if (n === 0) break;
      length += n;
    }
    if (length === 0) {
      // one byte beyond the size: the file grew, and the usual path says what that is
      if (position >= limit && readSync(fd, new Uint8Array(1), 0, 1, position) > 0) fail('the file grew past its size while it was read');
      ended = true;
      const result = finish();
      parentPort.postMessage({ type: 'end', ok: result.ok, why: result.why });
      return;
    }
    const bytes = view.subarray(0, length);
    sha256.update(bytes);
    const offset = position;
    position += length;
    unframe(bytes, offset);
    const plaintext = send();
    parentPort.postMessage({ type: 'chunk', buffer: plaintext, length: plaintext.byteLength, read: length }, [plaintext]);
  } catch (error) {
    failure = String((error && error.message) || error);
    parentPort.postMessage({ type: 'error', message: failure });
  }
});
`;

type Reply =
  | { type: 'chunk'; buffer: ArrayBuffer; length: number; read: number }
  | { type: 'end'; ok: boolean; why: string }
  | { type: 'digest'; bytes: number; sha256: string }
  | { type: 'error'; message: string };

export interface SeipdReader {
  /**
   * The next plaintext (after the prefix, before the MDC) and the ciphertext bytes it came from;
   * `done` once the file ended and the quick check, MDC and framing held. Throws FastPathDeclined
   * for any failure, of the file as of the worker.
   */
  next(): Promise<{ done: false; plaintext: Uint8Array; read: number } | { done: true }>;
  /** Bytes of the file read so far, and their SHA-256. */
  digest(): Promise<{ bytes: number; sha256: string }>;
  /** Stops the worker; resolves once it can no longer touch `fd`. */
  close(): Promise<void>;
}

/** A started worker no file has been given yet; unref'd, so that an unused one never keeps the process up. */
let spare: Worker | undefined;

/**
 * Starts the worker the next openSeipdReader will take (no-op if one is waiting): one takes tens of
 * milliseconds to boot, which decrypt spends unlocking the keys instead.
 */
export function warmSeipdReader(): void {
  if (spare !== undefined) return;
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  worker.unref();
  worker.on('error', () => {}); // then 'exit': a spare that died is not handed out
  worker.once('exit', () => {
    if (spare === worker) spare = undefined;
  });
  spare = worker;
}

/**
 * Reads, hashes and decrypts the open file `fd` on a worker; `readAhead` chunks of `chunkSize`
 * bytes in flight ahead of the consumer at most (memory: about 3 × readAhead × chunkSize).
 */
export function openSeipdReader(
  fd: number,
  options: { chunkSize: number; readAhead: number; seipdAt: number; pkesks: Uint8Array; algorithm: string; key: Uint8Array; size: number },
): SeipdReader {
  const cipher = FAST_CIPHERS[options.algorithm];
  if (cipher === undefined || options.key.length !== cipher.keyBytes) decline(`the cipher ${options.algorithm}`);
  if (!Number.isSafeInteger(options.size) || options.size < 0) throw new TypeError(`expected the file's size in bytes, got ${options.size}`);
  const worker = spare ?? new Worker(WORKER_SOURCE, { eval: true });
  spare = undefined;
  worker.ref();
  const waiting: { resolve(reply: Reply): void; reject(error: Error): void }[] = [];
  let failure: Error | undefined;
  let closed = false;
  let finished = false;
  const fail = (error: Error): void => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  worker.on('message', (reply: Reply) => waiting.shift()?.resolve(reply));
  worker.on('error', (error) => fail(error));
  worker.on('exit', (code) => fail(new Error(closed ? 'the decryption worker was closed' : `the decryption worker stopped (exit code ${code})`)));
  worker.postMessage({ fd, chunk: options.chunkSize, seipdAt: options.seipdAt, pkesks: options.pkesks, ecb: cipher!.ecb, key: options.key, limit: options.size });

  const ask = (request: 'read' | 'digest'): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      waiting.push({ resolve, reject });
      worker.postMessage(request);
    });
  const pending: Promise<Reply>[] = [];
  const refill = (): void => {
    while (!finished && pending.length < options.readAhead) {
      const p = ask('read');
      p.catch(() => undefined); // taken up by next(); never left to reject unheard
      pending.push(p);
    }
  };

  return {
    async next() {
      if (finished) return { done: true };
      refill();
      let reply: Reply;
      try {
        reply = await pending.shift()!;
      } catch (error) {
        throw new FastPathDeclined(`the decryption worker failed: ${(error as Error).message}`);
      }
      if (reply.type === 'chunk') {
        refill();
        return { done: false, plaintext: new Uint8Array(reply.buffer, 0, reply.length), read: reply.read };
      }
      finished = true;
      if (reply.type === 'end') {
        if (!reply.ok) decline(reply.why);
        return { done: true };
      }
      if (reply.type === 'error') decline(reply.message);
      return decline('the decryption worker answered out of turn');
    },
    async digest() {
      // the reads in flight are answered first (one worker answers in order); only after the end
      if (!finished) decline('digest asked before the end');
      let reply: Reply;
      try {
        reply = await ask('digest');
      } catch (error) {
        // a worker that died here is a failure of the fast path like any other: the usual path decides
        throw new FastPathDeclined(`the decryption worker failed: ${(error as Error).message}`);
      }
      if (reply.type !== 'digest') decline('the decryption worker answered out of turn');
      return { bytes: (reply as { bytes: number }).bytes, sha256: (reply as { sha256: string }).sha256 };
    },
    async close() {
      closed = true;
      await worker.terminate();
    },
  };
}
