import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { detectFileKind, type FileKind } from './detect.ts';
import { heifFixture } from './heif.test-helpers.ts';
import { makeDocx, makePptx, makeXlsx, testZip } from './ooxml.test-helpers.ts';
import { ascii, basePng, baseWebp, concat, jpegWithMetadata } from './test-images.ts';

/** The page reads slices of a File; this reader records what it was asked for. */
function sliceReader(bytes: Uint8Array) {
  const asked: [number, number][] = [];
  const read = async (start: number, end: number) => {
    asked.push([start, end]);
    return bytes.slice(start, end);
  };
  return { read, asked };
}
const kindOf = (bytes: Uint8Array) => detectFileKind(sliceReader(bytes).read, bytes.length);
const ftyp = (major: string, ...compatible: string[]) => {
  const body = concat(ascii(major), new Uint8Array(4), ...compatible.map(ascii));
  return concat(Uint8Array.from([0, 0, 0, 8 + body.length]), ascii('ftyp'), body, new Uint8Array(64));
};

describe('detectFileKind', () => {
  it.each<[string, Uint8Array, FileKind]>([
    ['a JPEG', jpegWithMetadata(), 'jpeg'],
    ['a PNG', basePng(), 'png'],
    ['a WebP', baseWebp(), 'webp'],
    ['an iPhone-style HEIC', heifFixture('photo.heic'), 'heif'],
    ['an AVIF', heifFixture('photo.avif'), 'heif'],
    ['a docx', makeDocx(), 'ooxml'],
    ['an xlsx', makeXlsx(), 'ooxml'],
    ['a pptx', makePptx(), 'ooxml'],
    ['a zip of other files', testZip([{ name: 'notes.txt', data: 'x' }]), 'other'],
    ['a zip with only [Content_Types].xml', testZip([{ name: '[Content_Types].xml', data: '<Types/>' }]), 'other'],
    ['a broken zip', concat(ascii('PK\x03\x04'), randomBytes(200)), 'other'],
    ['a PDF', ascii('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj'), 'pdf'],
    ['a PDF after junk', concat(randomBytes(300).map((b) => b & 0x7f | 1), ascii('%PDF-1.4\n')), 'pdf'],
    ['English text', ascii('The ministry moved the files.\r\n\tTuesday\n'), 'text'],
    ['Korean text with a BOM', new TextEncoder().encode('\ufeff자료는 화요일에 옮겨졌다.\n'), 'text'],
    ['a CSV', ascii('name,total\nledger,4.2\n'), 'text'],
    ['an empty file', new Uint8Array(0), 'text'],
    ['HTML (comments and meta tags hide)', ascii('  <!doctype html><meta name="author" content="Kim">'), 'other'],
    ['SVG', ascii('<?xml version="1.0"?><svg><metadata>Kim</metadata></svg>'), 'other'],
    ['RTF (an info group holds the author)', ascii('{\\rtf1\\ansi{\\info{\\author Kim}}}'), 'other'],
    ['UTF-16 text', Uint8Array.from([0xff, 0xfe, 0x41, 0, 0x42, 0]), 'other'],
    ['text with a NUL', ascii('abc\0def'), 'other'],
    ['random bytes', randomBytes(4096), 'other'],
    ['an MP4', ftyp('isom', 'iso2', 'avc1', 'mp41'), 'video'],
    ['an iPhone MOV', ftyp('qt  ', 'qt  '), 'video'],
    ['a WebM', concat(Uint8Array.from([0x1a, 0x45, 0xdf, 0xa3]), randomBytes(60)), 'video'],
    ['an AVI', concat(ascii('RIFF\x10\0\0\0AVI LIST'), new Uint8Array(40)), 'video'],
    ['an M4A', ftyp('M4A ', 'M4A ', 'mp42', 'isom'), 'audio'],
    ['an MP3 with ID3', concat(ascii('ID3\x04\0\0\0\0\0\0'), randomBytes(100)), 'audio'],
    ['an Ogg', concat(ascii('OggS\0\x02'), new Uint8Array(60)), 'audio'],
    ['a WAV', concat(ascii('RIFF\x24\0\0\0WAVEfmt '), new Uint8Array(40)), 'audio'],
    ['an AMR voice note', ascii('#!AMR\n\x3c\x91\x17'), 'audio'],
  ])('%s', async (_what, bytes, kind) => {
    expect(await kindOf(bytes)).toBe(kind);
  });

  it('reads only the head and the end of a large file, as the page does with File slices', async () => {
    const big = makeDocx({ embedded: testZip([{ name: 'filler.bin', data: randomBytes(300_000), method: 0 }]) });
    const { read, asked } = sliceReader(big);
    expect(await detectFileKind(read, big.length)).toBe('ooxml');
    const bytesRead = asked.reduce((n, [s, e]) => n + (e - s), 0);
    expect(bytesRead).toBeLessThan(big.length / 2);
    expect(asked[0]).toEqual([0, 64 * 1024]);
  });

  it('calls text whose first 64 KiB end inside a character text', async () => {
    const korean = new TextEncoder().encode('가'.repeat(30_000)); // 3 bytes each: 65536 is mid-character
    expect(korean.length).toBeGreaterThan(64 * 1024);
    expect(await kindOf(korean)).toBe('text');
  });
});
