/**
 * @module client/strip/heif.test-helpers — a second, deliberately plain HEIF reader and writer for
 * the tests (not the cleaner's code): read a file's items and their bytes, and lay the same file
 * out again with another `iloc` encoding (version, field sizes, base offsets, split extents,
 * several mdat boxes), so the cleaner can be shown to read every form to the same result.
 */
import { readFileSync } from 'node:fs';
import { SECRETS } from './test-images.ts';

export type TestItem = { id: number; type: string; method: number; data: Uint8Array };

/** What testdata/make-heif-fixtures.ts had ExifTool write into every fixture. */
export const FIXTURE_METADATA = {
  make: SECRETS.camera,
  model: 'LeakyPhone 9 Pro',
  latitude: '37.5512',
  longitude: '126.9882',
  date: '2024:03:01 09:41:07',
  creator: SECRETS.author,
} as const;

const FIXTURES = new URL('./testdata/', import.meta.url);
export function heifFixture(name: 'photo.heic' | 'alpha.heic' | 'photo.avif'): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

type RawBox = { type: string; start: number; payload: number; end: number };

function boxesIn(bytes: Uint8Array, start: number, end: number): RawBox[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RawBox[] = [];
  for (let pos = start; pos < end; ) {
    let size = view.getUint32(pos);
    let payload = pos + 8;
    if (size === 1) {
      size = Number(view.getBigUint64(pos + 8));
      payload += 8;
    }
    if (size === 0) size = end - pos;
    out.push({ type: String.fromCharCode(...bytes.subarray(pos + 4, pos + 8)), start: pos, payload, end: pos + size });
    pos += size;
  }
  return out;
}

function readUint(view: DataView, at: number, size: number): number {
  if (size === 0) return 0;
  if (size === 4) return view.getUint32(at);
  return Number(view.getBigUint64(at));
}

/** Every item (iinf) with its bytes (iloc, methods 0 and 1). */
export function readHeifItems(file: Uint8Array): TestItem[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const meta = boxesIn(file, 0, file.length).find((b) => b.type === 'meta')!;
  const children = boxesIn(file, meta.payload + 4, meta.end);
  const get = (t: string) => children.find((b) => b.type === t);
  const iinf = get('iinf')!;
  const types = new Map<number, string>();
  const countSize = file[iinf.payload] === 0 ? 2 : 4;
  for (const infe of boxesIn(file, iinf.payload + 4 + countSize, iinf.end)) {
    const v = file[infe.payload]!;
    const id = v === 2 ? view.getUint16(infe.payload + 4) : view.getUint32(infe.payload + 4);
    const typeAt = infe.payload + 4 + (v === 2 ? 2 : 4) + 2;
    types.set(id, String.fromCharCode(...file.subarray(typeAt, typeAt + 4)));
  }
  const idat = get('idat');
  return parseIloc(file, get('iloc')!).map((loc) => {
    const parts = loc.extents.map(({ offset, length }) =>
      loc.method === 1 ? file.subarray(idat!.payload + offset, idat!.payload + offset + length) : file.subarray(offset, offset + length),
    );
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    return { id: loc.id, type: types.get(loc.id) ?? '?', method: loc.method, data };
  });
}

type Location = { id: number; method: number; extents: { offset: number; length: number }[] };

function parseIloc(file: Uint8Array, iloc: RawBox): Location[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = file[iloc.payload]!;
  let at = iloc.payload + 4;
  const sizes = view.getUint16(at);
  at += 2;
  const [offsetSize, lengthSize, baseSize] = [sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15];
  const indexSize = version > 0 ? sizes & 15 : 0;
  const count = version < 2 ? view.getUint16(at) : view.getUint32(at);
  at += version < 2 ? 2 : 4;
  const out: Location[] = [];
  for (let i = 0; i < count; i++) {
    const id = version < 2 ? view.getUint16(at) : view.getUint32(at);
    at += version < 2 ? 2 : 4;
    let method = 0;
    if (version > 0) {
      method = view.getUint16(at) & 15;
      at += 2;
    }
    at += 2; // data reference index
    const base = readUint(view, at, baseSize);
    at += baseSize;
    const n = view.getUint16(at);
    at += 2;
    const extents: { offset: number; length: number }[] = [];
    for (let e = 0; e < n; e++) {
      at += indexSize;
      const offset = base + readUint(view, at, offsetSize);
      at += offsetSize;
      const length = readUint(view, at, lengthSize);
      at += lengthSize;
      extents.push({ offset, length });
    }
    out.push({ id, method, extents });
  }
  return out;
}

export type Layout = {
  version: 0 | 1 | 2;
  offsetSize: 4 | 8;
  lengthSize: 4 | 8;
  baseOffsetSize: 0 | 4 | 8;
  indexSize?: 0 | 4 | 8;
  /** Each file item in two extents, the halves in two mdat boxes, the second one first. */
  split?: boolean;
  /** Change an item's bytes (e.g. add a NAL unit) before it is laid out. */
  transform?: (item: TestItem) => Uint8Array;
  /** Write something else into an item's iloc entry (the bytes stay where they are). */
  locate?: (item: TestItem) => { method?: number; dataReference?: number; shift?: number; zeroLength?: boolean } | undefined;
  /** Change the meta box's other children (their order, their bytes) or add some. */
  metaChildren?: (children: { type: string; bytes: Uint8Array }[]) => { type: string; bytes: Uint8Array }[];
  /** Boxes added after the last mdat. */
  after?: Uint8Array[];
};

const be = (n: number, size: number) => {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  if (size === 2) view.setUint16(0, n);
  else if (size === 4) view.setUint32(0, n);
  else if (size === 8) view.setBigUint64(0, BigInt(n));
  return out;
};
const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
export const boxOf = (type: string, ...parts: Uint8Array[]) => {
  const body = join(...parts);
  return join(be(body.length + 8, 4), Uint8Array.from(type, (c) => c.charCodeAt(0)), body);
};

/**
 * The same items laid out again: ftyp, meta (iloc re-encoded with `layout`, every other box as it
 * was), then the file items' bytes in new mdat boxes. Method 1 items stay in idat where they were.
 */
export function relocateHeif(file: Uint8Array, layout: Layout): Uint8Array {
  const top = boxesIn(file, 0, file.length);
  const ftyp = top.find((b) => b.type === 'ftyp')!;
  const meta = top.find((b) => b.type === 'meta')!;
  const children = boxesIn(file, meta.payload + 4, meta.end);
  const items = readHeifItems(file).map((item) => ({ ...item, data: layout.transform?.(item) ?? item.data }));
  const idatOffsets = new Map(parseIloc(file, children.find((b) => b.type === 'iloc')!).map((l) => [l.id, l.extents]));
  if (layout.version === 0 && items.some((i) => i.method !== 0)) throw new Error('iloc version 0 cannot say construction method 1');
  const fileItems = items.filter((i) => i.method === 0);
  const halves = fileItems.map((i) => (layout.split ? [i.data.subarray(0, i.data.length >> 1), i.data.subarray(i.data.length >> 1)] : [i.data]));
  const mdatA = join(...halves.map((h) => h[0]!));
  const mdatB = join(...halves.map((h) => h[1] ?? new Uint8Array(0)));

  const buildIloc = (mdatAData: number, mdatBData: number) => {
    const { version, offsetSize, lengthSize, baseOffsetSize } = layout;
    const indexSize = layout.indexSize ?? 0;
    const parts: Uint8Array[] = [
      Uint8Array.from([version, 0, 0, 0]),
      be((offsetSize << 12) | (lengthSize << 8) | (baseOffsetSize << 4) | (version > 0 ? indexSize : 0), 2),
      be(items.length, version < 2 ? 2 : 4),
    ];
    let a = mdatAData;
    let b = mdatBData;
    for (const item of items) {
      let extents: { offset: number; length: number }[];
      if (item.method === 1) {
        extents = idatOffsets.get(item.id)!;
      } else {
        const k = fileItems.indexOf(item);
        extents = [{ offset: a, length: halves[k]![0]!.length }];
        a += halves[k]![0]!.length;
        if (halves[k]![1]) {
          extents.push({ offset: b, length: halves[k]![1]!.length });
          b += halves[k]![1]!.length;
        }
      }
      const change = layout.locate?.(item) ?? {};
      extents = extents.map((e, i) => ({ offset: e.offset + (change.shift ?? 0), length: change.zeroLength && i === 0 ? 0 : e.length }));
      // With a base offset, the first extent's offset goes into it and the extents are relative.
      const base = baseOffsetSize && extents.length ? Math.min(...extents.map((e) => e.offset)) : 0;
      parts.push(be(item.id, version < 2 ? 2 : 4));
      if (version > 0) parts.push(be(change.method ?? item.method, 2));
      parts.push(be(change.dataReference ?? 0, 2), baseOffsetSize ? be(base, baseOffsetSize) : new Uint8Array(0), be(extents.length, 2));
      for (const e of extents) parts.push(indexSize ? be(0, indexSize) : new Uint8Array(0), be(e.offset - base, offsetSize), be(e.length, lengthSize));
    }
    return boxOf('iloc', ...parts);
  };
  const others = children.map((c) => ({ type: c.type, bytes: file.subarray(c.start, c.end) }));
  const kept = layout.metaChildren ? layout.metaChildren(others) : others;
  const buildMeta = (a: number, b: number) =>
    boxOf('meta', file.subarray(meta.payload, meta.payload + 4), ...kept.map((c) => (c.type === 'iloc' ? buildIloc(a, b) : c.bytes)));
  const ftypBytes = file.subarray(ftyp.start, ftyp.end);
  const metaLength = buildMeta(0, 0).length;
  // Second mdat (second halves) first, so extents do not simply follow one another.
  const bStart = ftypBytes.length + metaLength + 8;
  const aStart = layout.split ? bStart + mdatB.length + 8 : bStart;
  const metaBytes = buildMeta(aStart, bStart);
  return join(ftypBytes, metaBytes, ...(layout.split ? [boxOf('mdat', mdatB)] : []), boxOf('mdat', mdatA), ...(layout.after ?? []));
}
