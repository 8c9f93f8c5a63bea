/** @module protocol/encoding — strict hex, base64url and UTF-8: one encoding per value, nothing else accepted. */

const HEX = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/** Lower-case hex, even length; anything else throws. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`expected hex string, got ${typeof hex}`);
  if (hex.length % 2 !== 0) throw new TypeError(`expected hex of even length, got length ${hex.length}`);
  if (!/^[0-9a-f]*$/.test(hex)) throw new TypeError('expected lower-case hex digits [0-9a-f]');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_INDEX = new Map([...B64URL].map((c, i) => [c, i]));

/** RFC 4648 §5 base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += B64URL[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/** Strict: no padding, no white space, no other alphabet, unused trailing bits must be zero. */
export function fromBase64Url(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`expected base64url string, got ${typeof text}`);
  if (text.length % 4 === 1) throw new TypeError(`expected base64url, got impossible length ${text.length}`);
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of text) {
    const v = B64URL_INDEX.get(c);
    if (v === undefined) throw new TypeError(`expected base64url alphabet [A-Za-z0-9-_] without padding, got ${JSON.stringify(c)}`);
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new TypeError('expected canonical base64url, got non-zero trailing bits');
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws on a lone surrogate, which TextEncoder would silently turn into U+FFFD. */
export function utf8Encode(text: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== 'string') throw new TypeError(`expected string, got ${typeof text}`);
  if (LONE_SURROGATE.test(text)) throw new TypeError('expected well-formed Unicode, got a lone surrogate');
  return encoder.encode(text);
}

/** Fatal: invalid UTF-8 throws instead of turning into U+FFFD. A BOM is kept, not eaten. */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
