/**
 * LiteralParser's state machine fed one byte at a time, and at every split point in two, against
 * the same plaintext pushed whole: old-format lengths of 1, 2 and 4 octets; new-format lengths of 1,
 * 2 and 5 octets; partial parts of 512 bytes whose boundaries fall in the literal's header, in its
 * file name, between its date and its data; a name of 0 and 255 bytes; a zero-length last part; and
 * the declines (a cut-off packet, a byte after it, a partial part under 512, format 't', a packet
 * shorter than its header). Safe means: every split gives the same data, and declines exactly when
 * the whole push declines.
 */

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FastPathDeclined, LiteralParser } from '../../../cli/seipd.ts';

type Result = { data: Buffer } | { declined: string };

function parse(chunks: Uint8Array[]): Result {
  const parser = new LiteralParser();
  const out: Buffer[] = [];
  try {
    for (const chunk of chunks) for (const part of parser.push(chunk)) out.push(Buffer.from(part));
    parser.end();
    return { data: Buffer.concat(out) };
  } catch (error) {
    if (error instanceof FastPathDeclined) return { declined: 'declined' };
    throw error;
  }
}

const same = (a: Result, b: Result): boolean =>
  'data' in a && 'data' in b ? a.data.equals(b.data) : 'declined' in a && 'declined' in b;

const header = (name: Uint8Array, format = 0x62) => Buffer.concat([Buffer.from([format, name.length]), name, Buffer.from([1, 2, 3, 4])]);

function newLength(n: number): Buffer {
  if (n < 192) return Buffer.from([n]);
  if (n < 8384) return Buffer.from([((n - 192) >> 8) + 192, (n - 192) & 255]);
  return Buffer.from([0xff, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

/** a new-format literal whose body is cut into the parts of `sizes` (2^k each) and a definite rest */
function partial(body: Uint8Array, sizes: number[], restFormat: 'short' | 'five' = 'short'): Buffer {
  const out: Buffer[] = [Buffer.from([0xcb])];
  let at = 0;
  for (const size of sizes) {
    out.push(Buffer.from([0xe0 | Math.log2(size)]), Buffer.from(body.subarray(at, at + size)));
    at += size;
  }
  const rest = body.length - at;
  out.push(restFormat === 'five' ? Buffer.from([0xff, rest >>> 24, (rest >>> 16) & 255, (rest >>> 8) & 255, rest & 255]) : newLength(rest), Buffer.from(body.subarray(at)));
  return Buffer.concat(out);
}

const cases: [string, Buffer, Buffer | undefined][] = [];
{
  const data = randomBytes(300);
  const body = Buffer.concat([header(Buffer.alloc(0)), data]);
  cases.push(['old format, 2-octet length', Buffer.concat([Buffer.from([0xad, body.length >> 8, body.length & 255]), body]), data]);
  cases.push(['old format, 4-octet length', Buffer.concat([Buffer.from([0xae, 0, 0, body.length >> 8, body.length & 255]), body]), data]);
  cases.push(['new format, 2-octet length', Buffer.concat([Buffer.from([0xcb]), newLength(body.length), body]), data]);
  cases.push(['new format, 5-octet length', Buffer.concat([Buffer.from([0xcb, 0xff, 0, 0, body.length >> 8, body.length & 255]), body]), data]);
  cases.push(['a byte after the packet', Buffer.concat([Buffer.from([0xcb]), newLength(body.length), body, Buffer.from([0])]), undefined]);
  cases.push(['cut off by one byte', Buffer.concat([Buffer.from([0xcb]), newLength(body.length), body]).subarray(0, 2 + body.length), undefined]);
  const t = Buffer.concat([header(Buffer.alloc(0), 0x74), data]);
  cases.push(["format 't'", Buffer.concat([Buffer.from([0xcb]), newLength(t.length), t]), undefined]);
}
{
  const data = randomBytes(100);
  const body = Buffer.concat([header(Buffer.alloc(0)), data]);
  cases.push(['old format, 1-octet length', Buffer.concat([Buffer.from([0xac, body.length]), body]), data]);
  cases.push(['new format, 1-octet length', Buffer.concat([Buffer.from([0xcb, body.length]), body]), data]);
  cases.push(['shorter than its own header', Buffer.from([0xcb, 4, 0x62, 3, 0x61, 0x62]), undefined]);
  cases.push(['old format, empty', Buffer.from([0xac, 0]), undefined]);
}
for (const nameLength of [0, 255]) {
  const name = randomBytes(nameLength);
  const data = randomBytes(3000);
  const body = Buffer.concat([header(name), data]);
  cases.push([`partial 512 parts, name ${nameLength}`, partial(body, [512, 512, 1024]), data]);
  cases.push([`partial 512 parts, name ${nameLength}, zero-length last part`, partial(body.subarray(0, 2048), [512, 512, 1024]), data.subarray(0, 2048 - 6 - nameLength)]);
  cases.push([`partial parts, name ${nameLength}, a 5-octet last length`, partial(body, [1024, 512], 'five'), data]);
  cases.push([`a partial part of 256, name ${nameLength}`, partial(body, [512, 256]), undefined]);
}
{
  // the header itself cut by a part boundary is impossible at 512 (a header is at most 261 bytes),
  // so the name and date are cut by chunk boundaries below instead, at every split
  const name = randomBytes(255);
  const data = randomBytes(600);
  const body = Buffer.concat([header(name), data]);
  cases.push(['a 261-byte header in the first 512 part', partial(body, [512]), data]);
}

describe('LiteralParser: one byte at a time and every split in two, against the whole', () => {
  for (const [name, bytes, expected] of cases) {
    it(name, () => {
      const whole = parse([bytes]);
      if (expected === undefined) expect(whole, name).toEqual({ declined: 'declined' });
      else expect(whole, name).toEqual({ data: expected });
      const bytewise = parse(Array.from(bytes, (b) => Uint8Array.of(b)));
      expect(bytewise, `${name}: one byte at a time`).toEqual(whole);
      for (let split = 0; split <= bytes.length; split++) {
        const two = parse([bytes.subarray(0, split), bytes.subarray(split)]);
        if (!same(two, whole)) expect(two, `${name}: split at ${split}`).toEqual(whole);
      }
    });
  }
});
