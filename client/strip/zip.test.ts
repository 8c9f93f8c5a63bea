import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateRaw } from './deflate.ts';
import { testZip } from './ooxml.test-helpers.ts';
import { StripError } from './strip-error.ts';
import { ascii, concat } from './test-images.ts';
import { readZip, writeZip } from './zip.ts';

const two = () =>
  testZip([
    { name: '[Content_Types].xml', data: '<Types/>' },
    { name: 'word/document.xml', data: '<w:document>the text</w:document>', descriptor: true },
  ]);

/** Offsets of the central directory and the end record of a zip without a comment. */
function layout(zip: Uint8Array) {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const end = zip.length - 22;
  return { view, end, cd: view.getUint32(end + 16, true), count: view.getUint16(end + 10, true) };
}

/** The zip with `insert` placed at byte `at`, every offset after it moved as a writer would. */
function insertAt(zip: Uint8Array, at: number, insert: Uint8Array, moveFirst = false): Uint8Array {
  const out = concat(zip.subarray(0, at), insert, zip.subarray(at));
  const { view, end, cd, count } = layout(out);
  view.setUint32(end + 16, cd + insert.length, true);
  let p = cd + insert.length;
  for (let i = 0; i < count; i++) {
    const offset = view.getUint32(p + 42, true);
    if (offset >= at && (offset > 0 || moveFirst)) view.setUint32(p + 42, offset + insert.length, true);
    p += 46 + view.getUint16(p + 28, true) + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
  }
  return out;
}

/** Sets a 16-bit field in the first central directory entry (and, with `local`, in the first local header). */
function patch16(zip: Uint8Array, centralField: number, value: number, localField?: number): Uint8Array {
  const out = zip.slice();
  const { view, cd } = layout(out);
  view.setUint16(cd + centralField, value, true);
  if (localField !== undefined) view.setUint16(localField, value, true);
  return out;
}

describe('readZip', () => {
  it('reads what desktop writers make: extra fields, data descriptors, real dates', () => {
    const entries = readZip(two());
    expect(entries.map((e) => [e.name, e.method, e.size])).toEqual([
      ['[Content_Types].xml', 8, 8],
      ['word/document.xml', 8, 33],
    ]);
  });

  it('writes what it reads, with nothing of the original archive around the data', () => {
    const entries = readZip(two());
    const rewritten = writeZip(entries);
    expect(readZip(rewritten)).toEqual(entries);
    expect(rewritten.length).toBeLessThan(two().length);
  });

  it('accepts a zip comment and drops it', () => {
    const zip = two();
    const comment = ascii('made by Kim');
    const withComment = concat(zip, comment);
    new DataView(withComment.buffer).setUint16(zip.length - 2, comment.length, true);
    expect(readZip(withComment)).toEqual(readZip(zip));
  });

  it('refuses encrypted entries, zip64, other methods, unknown flags and versions it does not read', () => {
    const zip = two();
    const cases: [string, Uint8Array, RegExp][] = [
      ['encrypted', patch16(zip, 8, 1, 6), /is encrypted/],
      ['strong encryption', patch16(zip, 8, 0x40, 6), /is encrypted/],
      ['bzip2', patch16(zip, 10, 12, 8), /compression method 12/],
      ['unknown flag', patch16(zip, 8, 0x0010, 6), /flags 10/],
      ['version 4.5 (zip64)', patch16(zip, 6, 45), /needs zip version 4.5/],
    ];
    const zip64 = zip.slice();
    const { view, cd } = layout(zip64);
    view.setUint32(cd + 24, 0xffffffff, true);
    cases.push(['a zip64 size', zip64, /zip64/]);
    const zip64End = zip.slice();
    new DataView(zip64End.buffer).setUint16(zip.length - 22 + 10, 0xffff, true);
    cases.push(['a zip64 end record', zip64End, /zip64/]);
    for (const [what, bytes, message] of cases) expect(() => readZip(bytes), what).toThrow(message);
  });

  it('refuses two entries whose names differ only in case, and unsafe names', () => {
    expect(() => readZip(testZip([{ name: 'word/a.xml', data: 'x' }, { name: 'Word/A.xml', data: 'y' }]))).toThrow(/two entries named/);
    for (const name of ['../evil.xml', '/etc/passwd', 'word\\a.xml', 'word//a.xml', 'word/../a.xml', 'a/..']) {
      expect(() => readZip(testZip([{ name, data: 'x' }])), name).toThrow(/unsafe name/);
    }
    const nonAscii = testZip([{ name: 'word/文件.xml', data: 'x' }]);
    expect(() => readZip(nonAscii)).toThrow(/outside printable ASCII/);
    expect(readZip(patch16(nonAscii, 8, 0x0800, 6))[0]!.name).toBe('word/文件.xml');
  });

  it('refuses gaps, bytes before the first entry, overlapping entries and bytes after the end record', () => {
    const zip = two();
    const second = (() => {
      for (let i = 4; i < zip.length; i++) if (zip[i] === 0x50 && zip[i + 1] === 0x4b && zip[i + 2] === 3 && zip[i + 3] === 4) return i;
      throw new Error('no second entry');
    })();
    const hidden = ascii(`GPS 37.55N 126.99E ${'x'.repeat(40)}`);
    expect(() => readZip(insertAt(zip, second, hidden))).toThrow(/expected \d+: the archive has gaps or overlaps/);
    expect(() => readZip(insertAt(zip, 0, concat(ascii('PK\x03\x04'), hidden), true))).toThrow(/gaps or overlaps|no local header/);
    const { cd } = layout(zip);
    expect(() => readZip(insertAt(zip, cd, hidden))).toThrow(/between its last entry and its central directory/);
    // Both directory entries pointing at the first local header: the bytes would count twice.
    const overlap = zip.slice();
    const o = layout(overlap);
    const secondCentral = o.cd + 46 + o.view.getUint16(o.cd + 28, true) + o.view.getUint16(o.cd + 30, true);
    o.view.setUint32(secondCentral + 42, 0, true);
    expect(() => readZip(overlap)).toThrow(/gaps or overlaps|disagrees/);
    expect(() => readZip(concat(zip, ascii('trailing')))).toThrow(/no zip end of central directory/);
  });

  it('refuses a local header or data descriptor that disagrees with the central directory', () => {
    const zip = two();
    const renamed = zip.slice();
    renamed[30] = 0x5c; // the first local name's first byte
    expect(() => readZip(renamed)).toThrow(/local header disagrees/);
    const badSize = zip.slice();
    new DataView(badSize.buffer).setUint32(22, 9999, true);
    expect(() => readZip(badSize)).toThrow(/CRC or sizes disagree/);
    const { cd } = layout(zip);
    const badDescriptor = zip.slice();
    new DataView(badDescriptor.buffer).setUint32(cd - 4, 9999, true); // the descriptor's size field
    expect(() => readZip(badDescriptor)).toThrow(/data descriptor disagrees/);
  });
});

describe('inflateRaw', () => {
  it('inflates exactly the declared size and refuses a bomb that claims less', async () => {
    const big = new Uint8Array(1 << 20);
    const deflated = new Uint8Array(deflateRawSync(big));
    expect(deflated.length).toBeLessThan(2048);
    expect(Buffer.from(await inflateRaw(deflated, big.length, 'test')).equals(Buffer.from(big))).toBe(true);
    await expect(inflateRaw(deflated, 1000, 'bomb')).rejects.toThrow(/inflates to more than the 1000 bytes/);
    await expect(inflateRaw(deflated, big.length + 1, 'short')).rejects.toThrow(/inflates to 1048576 bytes/);
    await expect(inflateRaw(ascii('not deflate at all, no'), 10, 'junk')).rejects.toThrow(StripError);
  });
});
