import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { box, fullBox, u16, u8 } from './bmff.ts';
import { FIXTURE_METADATA, boxOf, heifFixture, readHeifItems, relocateHeif, type Layout } from './heif.test-helpers.ts';
import { stripHeif } from './heif.ts';
import { StripError } from './strip-error.ts';
import { ICC_DATE, SECRETS, ascii, concat, containsBytes } from './test-images.ts';

const FIXTURES = ['photo.heic', 'alpha.heic', 'photo.avif'] as const;
const PLAIN: Layout = { version: 1, offsetSize: 4, lengthSize: 4, baseOffsetSize: 0 };

/** Every `window`-byte run of `payload` that occurs in `file`. */
function sharedRuns(file: Uint8Array, payload: Uint8Array, window = 16): number {
  let found = 0;
  for (let i = 0; i + window <= payload.length; i++) if (containsBytes(file, payload.subarray(i, i + window))) found++;
  return found;
}

const types = (file: Uint8Array) => readHeifItems(file).map((i) => `${i.id}:${i.type}`);

describe('stripHeif on files made by heif-enc and ExifTool', () => {
  it.each(FIXTURES)('%s: Make, Model, GPS, date, creator, the ICC profile and the Exif and XMP bytes are gone', (name) => {
    const dirty = heifFixture(name);
    const metadata = readHeifItems(dirty).filter((i) => i.type === 'Exif' || i.type === 'mime');
    expect(metadata.map((i) => i.type)).toEqual(['Exif', 'mime']);
    const needles = [FIXTURE_METADATA.make, FIXTURE_METADATA.model, FIXTURE_METADATA.creator, FIXTURE_METADATA.date, 'Display SealdropTestCam', 'SDcm', 'application/rdf+xml', 'Exif'];
    for (const n of needles) expect(containsBytes(dirty, ascii(n)), n).toBe(true);
    expect(containsBytes(dirty, ICC_DATE)).toBe(true);

    const clean = stripHeif(dirty);
    for (const n of needles) expect(containsBytes(clean, ascii(n)), n).toBe(false);
    for (const s of Object.values(SECRETS)) expect(containsBytes(clean, ascii(s)), s).toBe(false);
    expect(containsBytes(clean, ICC_DATE)).toBe(false);
    // Not one 16-byte run of the Exif block (GPS rationals included) or of the XMP packet is left.
    for (const item of metadata) expect(sharedRuns(clean, item.data), item.type).toBe(0);
    expect(stripHeif(clean)).toEqual(clean);
  });

  it('keeps the primary picture and its tiles, drops the thumbnail and the metadata items', () => {
    expect(types(heifFixture('photo.heic'))).toEqual(['1:hvc1', '2:grid', '3:hvc1', '4:grid', '5:Exif', '6:mime']);
    expect(types(stripHeif(heifFixture('photo.heic')))).toEqual(['2:grid', '1:hvc1']);
    // the alpha plane is a grid of its own, linked to the picture by auxl: kept; its thumbnail's alpha goes
    expect(types(stripHeif(heifFixture('alpha.heic')))).toEqual(['2:grid', '1:hvc1', '4:grid', '3:hvc1']);
    expect(types(stripHeif(heifFixture('photo.avif')))).toEqual(['1:av01', '2:av01']);
  });

  it('copies the coded picture byte for byte', () => {
    for (const name of FIXTURES) {
      const dirty = heifFixture(name);
      const clean = stripHeif(dirty);
      const before = readHeifItems(dirty).filter((i) => i.id === 1)[0]!.data;
      const after = readHeifItems(clean).filter((i) => i.id === 1)[0]!.data;
      expect(Buffer.from(after).equals(Buffer.from(before)), name).toBe(true);
    }
  });

  it('reads iloc versions 0, 1 and 2, 4- and 8-byte fields, base offsets and split extents to the same result', () => {
    const layouts: Layout[] = [
      PLAIN,
      { version: 2, offsetSize: 8, lengthSize: 8, baseOffsetSize: 8, indexSize: 4, split: true },
      { version: 1, offsetSize: 8, lengthSize: 4, baseOffsetSize: 4, split: true },
    ];
    for (const name of FIXTURES) {
      const expected = stripHeif(heifFixture(name));
      for (const layout of layouts) expect(stripHeif(relocateHeif(heifFixture(name), layout)), `${name} ${JSON.stringify(layout)}`).toEqual(expected);
    }
    // Version 0 has no construction method: the AVIF (no idat) as heif-enc wrote it, and relaid.
    expect(heifFixture('photo.avif')[99 + 8]).toBe(0);
    const v0 = relocateHeif(heifFixture('photo.avif'), { version: 0, offsetSize: 4, lengthSize: 8, baseOffsetSize: 4, split: true });
    expect(stripHeif(v0)).toEqual(stripHeif(heifFixture('photo.avif')));
  });

  it('drops SEI NAL units (where encoders write their name and settings) from HEVC items and from hvcC', () => {
    const sei = concat(Uint8Array.from([0, 0, 0, 5 + SECRETS.software.length, 0x4e, 0x01, 0x05, SECRETS.software.length]), ascii(SECRETS.software), u8(0x80));
    const dirty = relocateHeif(heifFixture('photo.heic'), {
      ...PLAIN,
      transform: (item) => (item.type === 'hvc1' ? concat(sei, item.data) : item.data),
      metaChildren: (children) => children.map((c) => (c.type === 'iprp' ? { type: c.type, bytes: withSeiInHvcC(c.bytes) } : c)),
    });
    expect(containsBytes(dirty, ascii(SECRETS.software))).toBe(true);
    expect(containsBytes(dirty, ascii(SECRETS.comment))).toBe(true);
    const clean = stripHeif(dirty);
    expect(containsBytes(clean, ascii(SECRETS.software))).toBe(false);
    expect(containsBytes(clean, ascii(SECRETS.comment))).toBe(false);
    expect(clean).toEqual(stripHeif(heifFixture('photo.heic')));
  });

  it('drops a udes description and a property it does not know, and refuses one a picture marks essential', () => {
    const udes = fullBox('udes', 0, 0, ascii(`en\0${SECRETS.author}\0${SECRETS.comment}\0tags\0`));
    const unknown = box('zzzz', ascii(SECRETS.camera));
    for (const property of [udes, unknown]) {
      const dirty = relocateHeif(heifFixture('photo.heic'), { ...PLAIN, metaChildren: withProperty(property, 2, false) });
      expect(containsBytes(dirty, property.subarray(8))).toBe(true);
      expect(stripHeif(dirty)).toEqual(stripHeif(heifFixture('photo.heic')));
    }
    const essential = relocateHeif(heifFixture('photo.heic'), { ...PLAIN, metaChildren: withProperty(unknown, 2, true) });
    expect(() => stripHeif(essential)).toThrow(/needs property "zzzz"/);
    // An ICC profile goes even though libheif marks it essential, as heif-enc did in these files.
    const photo = heifFixture('photo.heic');
    const iprp = readHeifBox(photo, 'iprp');
    const { properties, entries } = splitIprp(iprp);
    const colr = properties.findIndex((p) => String.fromCharCode(...p.subarray(4, 12)) === 'colrprof') + 1;
    expect(entries.find((e) => e.id === 2)!.list).toContain(colr | 0x80);
    expect(containsBytes(stripHeif(photo), ascii('prof'))).toBe(false);
  });

  it('refuses what it cannot clean rather than passing it on', () => {
    const photo = heifFixture('photo.heic');
    const refusals: [string, Uint8Array, RegExp][] = [
      ['not HEIF', ascii('\0\0\0\x18ftypmp42\0\0\0\0mp42isom'), /not a HEIF image/],
      ['truncated', photo.subarray(0, 900), /does not fit|truncated/],
      ['an image sequence', relocateHeif(photo, { ...PLAIN, after: [boxOf('moov', new Uint8Array(8))] }), /image sequences/],
      ['iloc method 2', relocateHeif(photo, { ...PLAIN, locate: (i) => (i.id === 1 ? { method: 2 } : undefined) }), /construction method 2/],
      ['data in another file', relocateHeif(photo, { ...PLAIN, locate: (i) => (i.id === 1 ? { dataReference: 1 } : undefined) }), /another file/],
      ['an extent outside mdat', relocateHeif(photo, { ...PLAIN, locate: (i) => (i.id === 1 ? { shift: -40 } : undefined) }), /outside every mdat/],
      ['an extent of length 0', relocateHeif(photo, { ...PLAIN, locate: (i) => (i.id === 1 ? { zeroLength: true } : undefined) }), /length 0/],
      ['a primary picture it does not know', relocateHeif(photo, { ...PLAIN, metaChildren: retypeItem(2, 'jpeg') }), /type "jpeg": not a picture/],
      ['a tile it does not know', relocateHeif(photo, { ...PLAIN, metaChildren: retypeItem(1, 'unci') }), /input item 1 of type "unci"/],
      ['an encrypted item', relocateHeif(photo, { ...PLAIN, metaChildren: protectItem(1) }), /encrypted/],
      ['a coded picture with inputs', relocateHeif(photo, { ...PLAIN, metaChildren: addReference('dimg', 1, [3]) }), /hvc1 with 1 dimg references/],
      ['a derivation cycle', relocateHeif(photo, { ...PLAIN, metaChildren: (c) => addReference('dimg', 1, [2])(retypeItem(1, 'iden')(c)) }), /item 2 is derived from itself/],
      ['a grid with the wrong tile count', relocateHeif(photo, { ...PLAIN, metaChildren: patchIdat((d) => d.set([0, 0, 1, 0], 0)) }), /2×1 tiles for 1 inputs/],
      ['a broken NAL unit', relocateHeif(photo, { ...PLAIN, transform: (i) => (i.type === 'hvc1' ? concat(Uint8Array.from([0, 0, 0x40, 0]), i.data) : i.data) }), /does not fit/],
    ];
    for (const [what, file, message] of refusals) {
      expect(() => stripHeif(file), what).toThrow(StripError);
      expect(() => stripHeif(file), what).toThrow(message);
    }
  });

  it('accepts data references to this very file (a self-contained url entry in dinf)', () => {
    const dref = fullBox('dref', 0, 0, Uint8Array.from([0, 0, 0, 1]), fullBox('url ', 0, 1));
    const file = relocateHeif(heifFixture('photo.heic'), {
      ...PLAIN,
      locate: () => ({ dataReference: 1 }),
      metaChildren: (children) => [...children, { type: 'dinf', bytes: box('dinf', dref) }],
    });
    expect(stripHeif(file)).toEqual(stripHeif(heifFixture('photo.heic')));
  });
});

// libheif's own tools decode what the cleaner wrote: same size, same pixels. CI installs them
// (libheif-examples, libimage-exiftool-perl in .ci/run); a workstation without them skips.
const TOOLS = ['/usr/bin/heif-convert', '/usr/bin/heif-info', '/usr/bin/exiftool'];
const haveTools = TOOLS.every((t) => existsSync(t));
if (!haveTools && process.env.CI === 'true') throw new Error(`CI=true but one of ${TOOLS.join(', ')} is missing`);

describe.skipIf(!haveTools)('what libheif and ExifTool make of the cleaned files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealdrop-heif-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(FIXTURES)('%s decodes to the same pixels, and ExifTool finds no camera, place, date or profile', (name) => {
    const dirty = join(dir, `dirty-${name}`);
    const clean = join(dir, `clean-${name}`);
    writeFileSync(dirty, heifFixture(name));
    writeFileSync(clean, stripHeif(heifFixture(name)));
    const info = execFileSync('heif-info', [clean], { encoding: 'utf8' });
    expect(info).toMatch(/image: 64x48 \(id=\d+\), primary/);
    expect(info).toMatch(/metadata:\s+none/);
    expect(info).toMatch(/color profile: no/);
    expect(info).not.toMatch(/thumbnail/);
    if (name !== 'photo.heic') expect(info).toMatch(/alpha channel: yes/);
    execFileSync('heif-convert', ['--quiet', dirty, join(dir, `dirty-${name}.png`)]);
    execFileSync('heif-convert', ['--quiet', clean, join(dir, `clean-${name}.png`)]);
    const before = pngPixels(readFileSync(join(dir, `dirty-${name}.png`)));
    const after = pngPixels(readFileSync(join(dir, `clean-${name}.png`)));
    expect(after.size).toEqual([64, 48]);
    expect(after.size).toEqual(before.size);
    expect(Buffer.from(after.pixels).equals(Buffer.from(before.pixels))).toBe(true);

    const tags = JSON.parse(execFileSync('exiftool', ['-j', '-a', '-G1', dirty], { encoding: 'utf8' }))[0];
    expect(tags['IFD0:Make']).toBe(FIXTURE_METADATA.make);
    expect(tags['GPS:GPSLatitude']).toBeDefined();
    const cleanTags = Object.keys(JSON.parse(execFileSync('exiftool', ['-j', '-a', '-G1', clean], { encoding: 'utf8' }))[0]);
    const groups = new Set(cleanTags.map((t) => t.split(':')[0]));
    expect([...groups].filter((g) => /^(IFD|ExifIFD|GPS|XMP|ICC|MakerNotes|Apple)/.test(g!))).toEqual([]);
    expect(cleanTags.filter((t) => /Make|Model|GPS|DateTimeOriginal|Creator|ProfileDescription|DeviceManufacturer/.test(t))).toEqual([]);
  });
});

/** A child of the meta box, as it is in the file. */
function readHeifBox(file: Uint8Array, type: string): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let meta = 0;
  while (String.fromCharCode(...file.subarray(meta + 4, meta + 8)) !== 'meta') meta += view.getUint32(meta);
  for (let at = meta + 12; ; at += view.getUint32(at)) {
    if (String.fromCharCode(...file.subarray(at + 4, at + 8)) === type) return file.subarray(at, at + view.getUint32(at));
  }
}

function pngPixels(png: Uint8Array): { size: number[]; pixels: Uint8Array } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const parts: Uint8Array[] = [];
  let size: number[] = [];
  for (let pos = 8; pos < png.length; pos += 12 + view.getUint32(pos)) {
    const type = String.fromCharCode(...png.subarray(pos + 4, pos + 8));
    if (type === 'IHDR') size = [view.getUint32(pos + 8), view.getUint32(pos + 12)];
    if (type === 'IDAT') parts.push(png.subarray(pos + 8, pos + 8 + view.getUint32(pos)));
  }
  return { size, pixels: inflateSync(concat(...parts)) };
}

type Child = { type: string; bytes: Uint8Array };

/** iprp with `property` added to ipco and associated with `item` (heif-enc's ipma: version 0, 8-bit indexes). */
function withProperty(property: Uint8Array, item: number, essential: boolean): (children: Child[]) => Child[] {
  return (children) =>
    children.map((c) => {
      if (c.type !== 'iprp') return c;
      const { properties, entries } = splitIprp(c.bytes);
      const index = properties.length + 1;
      const changed = entries.map((e) => (e.id === item ? { ...e, list: [...e.list, index | (essential ? 0x80 : 0)] } : e));
      return { type: 'iprp', bytes: buildIprp([...properties, property], changed) };
    });
}

function withSeiInHvcC(iprp: Uint8Array): Uint8Array {
  const { properties, entries } = splitIprp(iprp);
  const sei = concat(Uint8Array.from([0x4e, 0x01, 0x05, SECRETS.comment.length]), ascii(SECRETS.comment), u8(0x80));
  const changed = properties.map((p) => {
    if (String.fromCharCode(...p.subarray(4, 8)) !== 'hvcC') return p;
    const body = p.subarray(8);
    const arrays = body[22]!;
    return box('hvcC', body.subarray(0, 22), u8(arrays + 1), body.subarray(23), u8(0x80 | 39), u16(1), u16(sei.length), sei);
  });
  return buildIprp(changed, entries);
}

function splitIprp(iprp: Uint8Array): { properties: Uint8Array[]; entries: { id: number; list: number[] }[] } {
  const view = new DataView(iprp.buffer, iprp.byteOffset, iprp.byteLength);
  const ipcoEnd = 8 + view.getUint32(8);
  const properties: Uint8Array[] = [];
  for (let at = 16; at < ipcoEnd; at += view.getUint32(at)) properties.push(iprp.slice(at, at + view.getUint32(at)));
  const ipma = ipcoEnd;
  const entries: { id: number; list: number[] }[] = [];
  let at = ipma + 16;
  const count = view.getUint32(ipma + 12);
  for (let i = 0; i < count; i++) {
    const id = view.getUint16(at);
    const n = iprp[at + 2]!;
    entries.push({ id, list: [...iprp.subarray(at + 3, at + 3 + n)] });
    at += 3 + n;
  }
  return { properties, entries };
}

function buildIprp(properties: Uint8Array[], entries: { id: number; list: number[] }[]): Uint8Array {
  const ipma = fullBox('ipma', 0, 0, Uint8Array.from([0, 0, 0, entries.length]), ...entries.map((e) => concat(u16(e.id), u8(e.list.length), Uint8Array.from(e.list))));
  return box('iprp', box('ipco', ...properties), ipma);
}

function retypeItem(id: number, type: string): (children: Child[]) => Child[] {
  return editInfe(id, (infe) => infe.set(ascii(type), 16));
}
function protectItem(id: number): (children: Child[]) => Child[] {
  return editInfe(id, (infe) => infe.set([0, 1], 14));
}
/** Changes the infe of version 2 for `id` (header 12 bytes, then id, protection index, type). */
function editInfe(id: number, edit: (infe: Uint8Array) => void): (children: Child[]) => Child[] {
  return (children) =>
    children.map((c) => {
      if (c.type !== 'iinf') return c;
      const bytes = c.bytes.slice();
      const view = new DataView(bytes.buffer);
      for (let at = 14; at < bytes.length; at += view.getUint32(at)) if (view.getUint16(at + 12) === id) edit(bytes.subarray(at));
      return { type: 'iinf', bytes };
    });
}
function addReference(type: string, from: number, to: number[]): (children: Child[]) => Child[] {
  return (children) =>
    children.map((c) => (c.type === 'iref' ? { type: 'iref', bytes: concat(c.bytes.subarray(0, 12), c.bytes.subarray(12), box(type, u16(from), u16(to.length), ...to.map(u16))) } : c))
      .map((c) => (c.type === 'iref' ? { type: 'iref', bytes: fixSize(c.bytes) } : c));
}
function patchIdat(edit: (data: Uint8Array) => void): (children: Child[]) => Child[] {
  return (children) =>
    children.map((c) => {
      if (c.type !== 'idat') return c;
      const bytes = c.bytes.slice();
      edit(bytes.subarray(8));
      return { type: 'idat', bytes };
    });
}
function fixSize(b: Uint8Array): Uint8Array {
  new DataView(b.buffer, b.byteOffset).setUint32(0, b.length);
  return b;
}
