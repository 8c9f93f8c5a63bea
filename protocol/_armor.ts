/**
 * @module protocol/_armor — strict ASCII armor (RFC 9580 §6) for a single block (a MESSAGE, a
 * PUBLIC KEY BLOCK or a PRIVATE KEY BLOCK): nothing before BEGIN or after END but white space, the
 * CRC-24 checked when present.
 */
import { OpenPgpCheckError } from './errors.ts';

export type ArmorLabel = 'MESSAGE' | 'PUBLIC KEY BLOCK' | 'PRIVATE KEY BLOCK';

/** CRC-24 (RFC 9580 §6.1), a byte at a time through a table: a 16 KiB key is checked in microseconds. */
const CRC24_TABLE = Uint32Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 16;
  for (let i = 0; i < 8; i++) {
    crc <<= 1;
    if (crc & 0x1000000) crc ^= 0x1864cfb;
  }
  return crc & 0xffffff;
});

function crc24(bytes: Uint8Array): number {
  let crc = 0xb704ce;
  for (const b of bytes) crc = ((crc << 8) & 0xffffff) ^ CRC24_TABLE[((crc >> 16) ^ b) & 0xff]!;
  return crc;
}

function decodeBase64(text: string, what: string): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new OpenPgpCheckError('bad_armor', `expected base64 ${what}, got invalid characters or length`);
  }
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function looksArmored(input: string | Uint8Array): boolean {
  const head = typeof input === 'string' ? input.slice(0, 64) : String.fromCharCode(...input.subarray(0, 64));
  return head.trimStart().startsWith('-----BEGIN PGP');
}

export function dearmorMessage(text: string): Uint8Array {
  return dearmorBlock(text, 'MESSAGE');
}

/** The bytes of the one `label` block that `text` must be. Throws OpenPgpCheckError('bad_armor'). */
export function dearmorBlock(text: string, label: ArmorLabel): Uint8Array {
  const BEGIN = `-----BEGIN PGP ${label}-----`;
  const END = `-----END PGP ${label}-----`;
  const lines = text.trim().split(/\r?\n/).map((l) => l.replace(/[ \t]+$/, ''));
  if (lines[0] !== BEGIN) throw new OpenPgpCheckError('bad_armor', `expected "${BEGIN}" first, got ${JSON.stringify(lines[0]?.slice(0, 40))}`);
  if (lines[lines.length - 1] !== END) throw new OpenPgpCheckError('bad_armor', `expected "${END}" last`);
  let i = 1;
  while (i < lines.length - 1 && lines[i] !== '') {
    if (!/^[A-Za-z]+: /.test(lines[i]!)) throw new OpenPgpCheckError('bad_armor', `expected an armor header "Key: value", got ${JSON.stringify(lines[i]!.slice(0, 40))}`);
    i++;
  }
  if (lines[i] !== '') throw new OpenPgpCheckError('bad_armor', 'expected a blank line after the armor headers');
  const body = lines.slice(i + 1, -1);
  let checksum: string | undefined;
  if (body.length > 0 && body[body.length - 1]!.startsWith('=')) checksum = body.pop()!.slice(1);
  const data = decodeBase64(body.join(''), 'armor data');
  if (checksum !== undefined) {
    const c = decodeBase64(checksum, 'checksum');
    if (c.length !== 3 || ((c[0]! << 16) | (c[1]! << 8) | c[2]!) !== crc24(data)) {
      throw new OpenPgpCheckError('bad_armor', 'expected the armor checksum to match the data, got a mismatch');
    }
  }
  return data;
}
