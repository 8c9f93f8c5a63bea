/**
 * @module client/strip/heif — remove metadata from a HEIF still image: HEIC (the iPhone's
 * default) and AVIF (ISO/IEC 23008-12 on ISO/IEC 14496-12; MIAF 23000-22; the AVIF spec).
 *
 * Like the JPEG cleaner, this rebuilds only what a decoder needs and refuses what it cannot parse.
 * A HEIF file is a `meta` box listing items (pictures, tiles, Exif blocks, XMP packets) and where
 * their bytes are (`iloc`), plus `mdat` boxes holding those bytes. The new file is:
 *
 * - `ftyp` with the standard brands only;
 * - `meta` with `hdlr` 'pict' (no name), `pitm`, `iinf`, `iloc`, `iref`, `iprp` and `idat`, all
 *   written afresh, holding only the primary picture, the items it is derived from (grid tiles,
 *   `iden`, `iovl` inputs) and its alpha plane. Exif, XMP (`mime`) and `uri ` items, thumbnails,
 *   depth maps, HDR gain maps and other auxiliary pictures, other pictures, entity groups, item
 *   names and every box this code does not know are left behind, and with them their `cdsc`,
 *   `thmb` and other references;
 * - one `mdat` holding the kept items' bytes and nothing else: the Exif and XMP payloads are gone
 *   from the file, not merely unreferenced. Items are copied extent by extent into one extent
 *   each, and `iloc` is rewritten (version 1, or 2 for 32-bit item ids; 4-byte offsets and
 *   lengths). `iloc` versions 0, 1 and 2, construction methods 0 (file) and 1 (`idat`), and
 *   offset, length and base offset sizes of 0, 4 or 8 bytes are read; method 2 (data in other
 *   items) and data in other files are refused.
 *
 * Item properties are kept only from an allowlist, each rewritten in its canonical size: `hvcC`
 * with only its VPS, SPS and PPS arrays, `av1C` with only its sequence header, `ispe`, `pixi`,
 * `colr` of type nclx (an ICC profile, `prof` or `rICC`, goes as it does from PNG and WebP),
 * `irot`, `imir`, `clap`, `pasp`, `clli`, `mdcv`, `rloc`, `iscl`, `lsel`, `a1op`, `a1lx`, and
 * `auxC` of an alpha plane. Anything else (`udes` free text, camera intrinsics, unknown boxes)
 * is dropped, unless a kept item marks it essential: then the picture cannot be shown without it
 * and the file is refused. The coded pictures are filtered too: an HEVC item keeps only its
 * slice and parameter-set NAL units (SEI messages, where encoders write their name and settings,
 * and filler data go), an AV1 item only its sequence header, temporal delimiter, frame, frame
 * header, tile group and tile list OBUs (metadata and padding OBUs go).
 *
 * Image sequences (a `moov` box) are refused: their tracks carry their own metadata.
 */
import { BoxReader, box, concatBytes, fourcc, fullBox, readBoxes, u16, u32, u8, type Box } from './bmff.ts';
import { ByteWriter } from './byte-writer.ts';
import { HEIF_BRANDS, isHeif } from './detect.ts';
import { StripError } from './strip-error.ts';

/** Brands written back into ftyp: those of HEIF, MIAF (23000-22) and AVIF, nothing else. */
const KEPT_BRANDS = new Set([...HEIF_BRANDS, 'miaf', 'MiHA', 'MiHB', 'MiHE', 'MiPr', 'MiAC', 'avio', 'MA1A', 'MA1B']);

const ALPHA_URNS = new Set(['urn:mpeg:hevc:2015:auxid:1', 'urn:mpeg:mpegB:cicp:systems:auxiliary:alpha']);
const CODED = new Set(['hvc1', 'av01']);
const AV1_PICTURE_OBUS = new Set([1, 2, 3, 4, 6, 7, 8]);
const AV1_CONFIG_OBUS = new Set([1]);
const DERIVED = new Set(['grid', 'iden', 'iovl']);

/** Bounds on what the file may declare, far above what cameras write (an iPhone's 48 MP photo has under 300 items). */
const MAX_ITEMS = 4096;
const MAX_EXTENTS = 1024;
const MAX_DERIVATION_DEPTH = 8;


type Item = {
  id: number;
  type: string;
  hidden: boolean;
  location?: { method: number; dataReference: number; extents: { offset: number; length: number }[] };
  properties: { index: number; essential: boolean }[];
};
type Reference = { type: string; from: number; to: number[] };
type Kept = { item: Item; data: Uint8Array };

/** Return a copy of `heif` with only its primary picture; throws StripError when it cannot. */
export function stripHeif(heif: Uint8Array): Uint8Array {
  if (!isHeif(heif)) throw new StripError('not a HEIF image: expected ftyp with a HEIF brand at the start');
  const top = readBoxes(heif, 0, heif.length, 'file', true);
  if (top[0]?.type !== 'ftyp') throw new StripError('HEIF file must start with ftyp');
  if (top.some((b) => b.type === 'moov')) throw new StripError('HEIF image sequences (moov) cannot be cleaned');
  const metas = top.filter((b) => b.type === 'meta');
  if (metas.length !== 1) throw new StripError(`HEIF file with ${metas.length} meta boxes, expected 1`);
  const mdats = top.filter((b) => b.type === 'mdat');

  const ftyp = cleanFtyp(heif, top[0]);
  const meta = parseMeta(heif, metas[0]!);
  const items = keptItems(meta);
  const sources = items.map((item) => ({ item, data: itemData(heif, meta, mdats, item) }));
  // Extents may overlap, but kept items larger than the file would be a decompression bomb of sorts.
  if (sources.reduce((n, k) => n + k.data.length, 0) > heif.length) throw new StripError('HEIF items claim more bytes than the file has');
  const cleaned = sources.map((k) => ({ item: k.item, data: cleanItemData(heif, meta, k) }));
  for (const k of cleaned) checkDerivedData(k, meta.references);

  // Properties: only those the kept items use, each rewritten; the new index list follows first use.
  const newIndex = new Map<number, number>();
  const propertyBoxes: Uint8Array[] = [];
  const associations = new Map<number, { index: number; essential: boolean }[]>();
  for (const k of cleaned) {
    const list: { index: number; essential: boolean }[] = [];
    for (const p of k.item.properties) {
      let index = newIndex.get(p.index);
      if (index === undefined) {
        const rebuilt = cleanProperty(heif, meta.properties[p.index - 1]!);
        if (rebuilt === UNKNOWN && p.essential) {
          throw new StripError(`HEIF item ${k.item.id} needs property ${JSON.stringify(meta.properties[p.index - 1]!.type)}, which this code does not know`);
        }
        if (rebuilt === UNKNOWN || rebuilt === DROPPED) continue;
        propertyBoxes.push(rebuilt);
        index = propertyBoxes.length;
        newIndex.set(p.index, index);
      }
      list.push({ index, essential: p.essential });
    }
    associations.set(k.item.id, list);
  }

  const keptIds = new Set(cleaned.map((k) => k.item.id));
  const references = keptReferences(meta.references, keptIds);
  const wide = [...keptIds].some((id) => id > 0xffff) || references.some((r) => r.to.some((id) => id > 0xffff));

  // Method 1 items go to the new idat, the others to the new mdat, each as one extent.
  const idatParts = cleaned.filter((k) => k.item.location?.method === 1).map((k) => k.data);
  const mdatParts = cleaned.filter((k) => k.item.location?.method !== 1).map((k) => k.data);
  const buildMeta = (mdatDataStart: number) => {
    const locations: { id: number; method: number; offset: number; length: number }[] = [];
    let idatAt = 0;
    let mdatAt = mdatDataStart;
    for (const k of cleaned) {
      if (!k.item.location || k.data.length === 0) {
        locations.push({ id: k.item.id, method: 0, offset: 0, length: 0 });
      } else if (k.item.location.method === 1) {
        locations.push({ id: k.item.id, method: 1, offset: idatAt, length: k.data.length });
        idatAt += k.data.length;
      } else {
        locations.push({ id: k.item.id, method: 0, offset: mdatAt, length: k.data.length });
        mdatAt += k.data.length;
      }
    }
    return fullBox(
      'meta', 0, 0,
      fullBox('hdlr', 0, 0, u32(0), fourcc('pict'), u32(0), u32(0), u32(0), u8(0)),
      meta.primary > 0xffff ? fullBox('pitm', 1, 0, u32(meta.primary)) : fullBox('pitm', 0, 0, u16(meta.primary)),
      writeIinf(cleaned.map((k) => k.item)),
      writeIloc(locations, wide),
      ...(references.length ? [writeIref(references, wide)] : []),
      box('iprp', box('ipco', ...propertyBoxes), writeIpma(cleaned.map((k) => ({ id: k.item.id, list: associations.get(k.item.id)! })), wide, propertyBoxes.length)),
      ...(idatParts.length ? [box('idat', ...idatParts)] : []),
    );
  };
  const mdatLength = mdatParts.reduce((n, p) => n + p.length, 0);
  if (ftyp.length + 8 + mdatLength > 0xffffffff) throw new StripError('HEIF image over 4 GiB');
  // The meta box's size does not depend on the offsets it holds (4 bytes each), so measure, then write.
  const metaLength = buildMeta(0).length;
  const metaBox = buildMeta(ftyp.length + metaLength + 8);
  const out = new ByteWriter(ftyp.length + metaBox.length + 8 + mdatLength);
  out.push(ftyp);
  out.push(metaBox);
  out.push(u32(8 + mdatLength));
  out.push(fourcc('mdat'));
  for (const p of mdatParts) out.push(p);
  return out.finish();
}

function cleanFtyp(heif: Uint8Array, ftyp: Box): Uint8Array {
  const r = new BoxReader(heif, ftyp.payload, ftyp.end, 'ftyp');
  const major = r.fourcc();
  r.u32(); // minor version: written back as 0
  if (r.left % 4 !== 0) throw new StripError('HEIF ftyp: compatible brands are not 4-byte codes');
  const brands: string[] = [];
  while (r.left > 0) {
    const brand = r.fourcc();
    if (KEPT_BRANDS.has(brand) && !brands.includes(brand)) brands.push(brand);
  }
  return box('ftyp', fourcc(major), u32(0), ...brands.map(fourcc));
}

type Meta = {
  /** The whole file: every Box below points into it. */
  bytes: Uint8Array;
  primary: number;
  items: Map<number, Item>;
  references: Reference[];
  properties: Box[];
  idat?: Box;
  selfContained: (index: number) => boolean;
};

function parseMeta(heif: Uint8Array, metaBox: Box): Meta {
  const r = new BoxReader(heif, metaBox.payload, metaBox.end, 'meta');
  r.fullBox(0);
  const children = readBoxes(heif, r.pos, metaBox.end, 'meta');
  const one = (type: string, required: boolean): Box | undefined => {
    const found = children.filter((b) => b.type === type);
    if (found.length > 1) throw new StripError(`HEIF meta with ${found.length} ${type} boxes`);
    if (required && found.length === 0) throw new StripError(`HEIF meta without ${type}`);
    return found[0];
  };

  const hdlrBox = one('hdlr', true)!;
  const hdlr = new BoxReader(heif, hdlrBox.payload, hdlrBox.end, 'hdlr');
  hdlr.fullBox(0);
  hdlr.u32();
  const handler = hdlr.fourcc();
  if (handler !== 'pict') throw new StripError(`HEIF meta handler ${JSON.stringify(handler)}, expected "pict"`);

  const pitmBox = one('pitm', true)!;
  const pitm = new BoxReader(heif, pitmBox.payload, pitmBox.end, 'pitm');
  const primary = pitm.fullBox(1).version === 0 ? pitm.u16() : pitm.u32();
  pitm.finish();

  const items = parseIinf(heif, one('iinf', true)!);
  parseIloc(heif, one('iloc', true)!, items);
  const iref = one('iref', false);
  const references = iref ? parseIref(heif, iref) : [];
  const iprp = one('iprp', true)!;
  const properties = parseIprp(heif, iprp, items);
  const idat = one('idat', false);
  const dinf = one('dinf', false);
  const selfContained = dinf ? parseDinf(heif, dinf) : () => false;
  if (!items.has(primary)) throw new StripError(`HEIF primary item ${primary} is not in iinf`);
  return { bytes: heif, primary, items, references, properties, idat, selfContained };
}

function parseIinf(heif: Uint8Array, iinf: Box): Map<number, Item> {
  const r = new BoxReader(heif, iinf.payload, iinf.end, 'iinf');
  // Version 0 has a 16-bit count; 1 (and the version 2 some writers use) a 32-bit one.
  const count = r.fullBox(2).version === 0 ? r.u16() : r.u32();
  const entries = readBoxes(heif, r.pos, iinf.end, 'iinf');
  if (entries.length !== count || count > MAX_ITEMS) throw new StripError(`HEIF iinf declares ${count} items and holds ${entries.length}`);
  const items = new Map<number, Item>();
  for (const entry of entries) {
    if (entry.type !== 'infe') throw new StripError(`HEIF iinf holds a ${JSON.stringify(entry.type)} box`);
    const e = new BoxReader(heif, entry.payload, entry.end, 'infe');
    const { version, flags } = e.fullBox(3);
    if (version < 2) throw new StripError(`HEIF infe version ${version}: HEIF requires 2 or 3`);
    const id = version === 2 ? e.u16() : e.u32();
    const protection = e.u16();
    const type = e.fourcc();
    // The rest (item name, MIME type, URI type) is never copied; the name must still be well formed.
    e.skipString();
    if (items.has(id)) throw new StripError(`HEIF item ${id} is listed twice in iinf`);
    if (protection !== 0 && (CODED.has(type) || DERIVED.has(type))) throw new StripError(`HEIF item ${id} is encrypted`);
    items.set(id, { id, type, hidden: (flags & 1) === 1, properties: [] });
  }
  return items;
}

function parseIloc(heif: Uint8Array, iloc: Box, items: Map<number, Item>): void {
  const r = new BoxReader(heif, iloc.payload, iloc.end, 'iloc');
  const { version } = r.fullBox(2);
  const sizes = r.u16();
  const offsetSize = sizes >>> 12;
  const lengthSize = (sizes >>> 8) & 0xf;
  const baseOffsetSize = (sizes >>> 4) & 0xf;
  const indexSize = version >= 1 ? sizes & 0xf : 0;
  for (const [name, size] of [['offset', offsetSize], ['length', lengthSize], ['base offset', baseOffsetSize], ['index', indexSize]] as const) {
    if (size !== 0 && size !== 4 && size !== 8) throw new StripError(`HEIF iloc ${name} size ${size}, expected 0, 4 or 8`);
  }
  const count = version < 2 ? r.u16() : r.u32();
  if (count > MAX_ITEMS) throw new StripError(`HEIF iloc with ${count} items`);
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const id = version < 2 ? r.u16() : r.u32();
    const method = version >= 1 ? r.u16() & 0xf : 0;
    const dataReference = r.u16();
    const base = r.sized(baseOffsetSize);
    const extentCount = r.u16();
    if (extentCount > MAX_EXTENTS) throw new StripError(`HEIF item ${id} in ${extentCount} extents`);
    const extents: { offset: number; length: number }[] = [];
    for (let e = 0; e < extentCount; e++) {
      r.sized(indexSize); // only construction method 2 uses it
      const offset = base + r.sized(offsetSize);
      const length = r.sized(lengthSize);
      extents.push({ offset, length });
    }
    if (seen.has(id)) throw new StripError(`HEIF item ${id} is located twice in iloc`);
    seen.add(id);
    const item = items.get(id);
    // A location for an item iinf does not list is dropped with the bytes it points at.
    if (item) item.location = { method, dataReference, extents };
  }
  r.finish();
}

function parseIref(heif: Uint8Array, iref: Box): Reference[] {
  const r = new BoxReader(heif, iref.payload, iref.end, 'iref');
  const wide = r.fullBox(1).version === 1;
  const references: Reference[] = [];
  for (const b of readBoxes(heif, r.pos, iref.end, 'iref')) {
    const e = new BoxReader(heif, b.payload, b.end, `iref ${b.type}`);
    const from = wide ? e.u32() : e.u16();
    const count = e.u16();
    if (count > MAX_ITEMS) throw new StripError(`HEIF iref ${b.type} with ${count} references`);
    const to: number[] = [];
    for (let i = 0; i < count; i++) to.push(wide ? e.u32() : e.u16());
    e.finish();
    references.push({ type: b.type, from, to });
  }
  return references;
}

function parseIprp(heif: Uint8Array, iprp: Box, items: Map<number, Item>): Box[] {
  const children = readBoxes(heif, iprp.payload, iprp.end, 'iprp');
  const ipco = children.filter((b) => b.type === 'ipco');
  if (ipco.length !== 1) throw new StripError(`HEIF iprp with ${ipco.length} ipco boxes, expected 1`);
  const properties = readBoxes(heif, ipco[0]!.payload, ipco[0]!.end, 'ipco');
  const associated = new Set<number>();
  for (const ipma of children.filter((b) => b.type === 'ipma')) {
    const r = new BoxReader(heif, ipma.payload, ipma.end, 'ipma');
    const { version, flags } = r.fullBox(1);
    const count = r.u32();
    if (count > MAX_ITEMS) throw new StripError(`HEIF ipma with ${count} entries`);
    for (let i = 0; i < count; i++) {
      const id = version === 0 ? r.u16() : r.u32();
      if (associated.has(id)) throw new StripError(`HEIF item ${id} has properties in two ipma entries`);
      associated.add(id);
      const n = r.u8();
      const list: { index: number; essential: boolean }[] = [];
      for (let k = 0; k < n; k++) {
        const value = flags & 1 ? r.u16() : r.u8();
        const mask = flags & 1 ? 0x7fff : 0x7f;
        const index = value & mask;
        if (index > properties.length) throw new StripError(`HEIF item ${id} refers to property ${index} of ${properties.length}`);
        if (index !== 0) list.push({ index, essential: value > mask });
      }
      const item = items.get(id);
      if (item) item.properties = list;
    }
    r.finish();
  }
  return properties;
}

/** Which data reference indexes point at this very file (a 'url ' entry with flag 1). */
function parseDinf(heif: Uint8Array, dinf: Box): (index: number) => boolean {
  const self = new Set<number>();
  for (const dref of readBoxes(heif, dinf.payload, dinf.end, 'dinf').filter((b) => b.type === 'dref')) {
    const r = new BoxReader(heif, dref.payload, dref.end, 'dref');
    r.fullBox(0);
    const count = r.u32();
    const entries = readBoxes(heif, r.pos, dref.end, 'dref');
    if (entries.length !== count) throw new StripError(`HEIF dref declares ${count} entries and holds ${entries.length}`);
    entries.forEach((entry, i) => {
      const e = new BoxReader(heif, entry.payload, entry.end, 'dref entry');
      if ((entry.type === 'url ' || entry.type === 'urn ') && (e.fullBox(255).flags & 1) === 1) self.add(i + 1);
    });
  }
  return (index) => self.has(index);
}

/** The primary item, what it is derived from, and its alpha planes, each once, parents first. */
function keptItems(meta: Meta): Item[] {
  const kept = new Map<number, Item>();
  const visiting = new Set<number>();
  const keep = (id: number, depth: number, role: string) => {
    if (visiting.has(id)) throw new StripError(`HEIF item ${id} is derived from itself`);
    if (kept.has(id)) return;
    if (depth > MAX_DERIVATION_DEPTH) throw new StripError(`HEIF derivation deeper than ${MAX_DERIVATION_DEPTH}`);
    const item = meta.items.get(id);
    if (!item) throw new StripError(`HEIF ${role} item ${id} is not in iinf`);
    if (!CODED.has(item.type) && !DERIVED.has(item.type)) {
      throw new StripError(`HEIF ${role} item ${id} of type ${JSON.stringify(item.type)}: not a picture this code can clean`);
    }
    visiting.add(id);
    const inputs = meta.references.filter((r) => r.type === 'dimg' && r.from === id);
    if (DERIVED.has(item.type) !== inputs.length > 0 || inputs.length > 1) {
      throw new StripError(`HEIF item ${id} of type ${item.type} with ${inputs.length} dimg references`);
    }
    kept.set(id, item);
    for (const input of inputs[0]?.to ?? []) keep(input, depth + 1, 'input');
    visiting.delete(id);
  };
  keep(meta.primary, 0, 'primary');
  // Alpha planes of kept pictures: an auxl reference to a kept item and an alpha auxC.
  for (const ref of meta.references.filter((r) => r.type === 'auxl')) {
    if (kept.has(ref.from) || !ref.to.some((id) => kept.has(id))) continue;
    const item = meta.items.get(ref.from);
    if (item && item.properties.some((p) => isAlpha(meta, p.index))) keep(ref.from, 1, 'alpha');
  }
  return [...kept.values()];
}

function isAlpha(meta: Meta, index: number): boolean {
  const property = meta.properties[index - 1]!;
  if (property.type !== 'auxC') return false;
  const r = new BoxReader(meta.bytes, property.payload, property.end, 'auxC');
  r.fullBox(0);
  return ALPHA_URNS.has(r.string());
}

/** The item's bytes, its extents joined, from this file's mdat boxes or from idat. */
function itemData(heif: Uint8Array, meta: Meta, mdats: Box[], item: Item): Uint8Array {
  const location = item.location;
  if (!location) {
    if (item.type === 'iden') return new Uint8Array(0);
    throw new StripError(`HEIF item ${item.id} has no location in iloc`);
  }
  const { method, dataReference, extents } = location;
  if (dataReference !== 0 && !meta.selfContained(dataReference)) {
    throw new StripError(`HEIF item ${item.id} has its data in another file (data reference ${dataReference})`);
  }
  if (method !== 0 && method !== 1) throw new StripError(`HEIF item ${item.id} uses iloc construction method ${method}: not supported`);
  const parts: Uint8Array[] = [];
  for (const { offset, length } of extents) {
    if (length === 0) throw new StripError(`HEIF item ${item.id} has an extent of length 0 ("the rest of the container"): not supported`);
    if (method === 0) {
      const end = offset + length;
      if (!mdats.some((m) => offset >= m.payload && end <= m.end)) {
        throw new StripError(`HEIF item ${item.id} has an extent at bytes ${offset}-${end} outside every mdat box`);
      }
      parts.push(heif.subarray(offset, end));
    } else {
      const idat = meta.idat;
      if (!idat || idat.payload + offset + length > idat.end) throw new StripError(`HEIF item ${item.id} has an extent outside idat`);
      parts.push(heif.subarray(idat.payload + offset, idat.payload + offset + length));
    }
  }
  return concatBytes(parts);
}

/** Coded pictures keep only the units a decoder needs; derived items are checked, not changed. */
function cleanItemData(heif: Uint8Array, meta: Meta, k: Kept): Uint8Array {
  const { item, data } = k;
  if (item.type === 'hvc1') {
    const config = item.properties.map((p) => meta.properties[p.index - 1]!).find((b) => b.type === 'hvcC');
    if (!config || config.end - config.payload < 23) throw new StripError(`HEIF item ${item.id} (HEVC) without a valid hvcC property`);
    return cleanHevcNalUnits(data, (heif[config.payload + 21]! & 3) + 1, `item ${item.id}`, true);
  }
  if (item.type === 'av01') return cleanAv1Obus(data, `item ${item.id}`, true);
  return data;
}

function checkDerivedData(k: Kept, references: Reference[]): void {
  const { item, data } = k;
  const inputs = references.find((r) => r.type === 'dimg' && r.from === item.id)?.to.length ?? 0;
  const wrong = (expected: string) => new StripError(`HEIF ${item.type} item ${item.id}: ${data.length} bytes of data, expected ${expected}`);
  if (item.type === 'iden') {
    if (data.length !== 0) throw wrong('none');
    if (inputs !== 1) throw new StripError(`HEIF iden item ${item.id} with ${inputs} inputs, expected 1`);
  } else if (item.type === 'grid') {
    // ImageGrid (23008-12 6.6.2.3): version 0, flags, rows - 1, columns - 1, width, height.
    const field = data[1]! & 1 ? 4 : 2;
    if (data.length !== 4 + 2 * field || data[0] !== 0) throw wrong(`a version 0 ImageGrid of ${4 + 2 * field}`);
    if ((data[2]! + 1) * (data[3]! + 1) !== inputs) throw new StripError(`HEIF grid item ${item.id}: ${data[2]! + 1}×${data[3]! + 1} tiles for ${inputs} inputs`);
  } else if (item.type === 'iovl') {
    // ImageOverlay (6.6.2.4): version 0, flags, four 16-bit fill values, size, then an offset pair per input.
    const field = data[1]! & 1 ? 4 : 2;
    const expected = 2 + 8 + 2 * field + inputs * 2 * field;
    if (data.length !== expected || data[0] !== 0) throw wrong(`a version 0 ImageOverlay of ${expected}`);
  }
}

/**
 * HEVC data as ISO/IEC 14496-15 stores it: NAL units, each after a big-endian length of
 * `lengthSize` bytes. Kept: the defined slice types (0-9, 16-21) and VPS, SPS, PPS (32-34); gone:
 * SEI (39, 40: encoder names and settings, user data), filler data (38), access unit and
 * end-of-stream markers, and reserved or unspecified types.
 */
function cleanHevcNalUnits(data: Uint8Array, lengthSize: number, where: string, needPicture: boolean): Uint8Array {
  if (lengthSize === 3) throw new StripError(`HEIF ${where}: NAL length size 3 is not allowed`);
  const out = new ByteWriter(data.length);
  let pos = 0;
  let slices = 0;
  while (pos < data.length) {
    if (pos + lengthSize > data.length) throw new StripError(`HEIF ${where}: truncated NAL unit length at byte ${pos}`);
    let n = 0;
    for (let i = 0; i < lengthSize; i++) n = n * 256 + data[pos + i]!;
    const start = pos + lengthSize;
    const end = start + n;
    if (n < 2 || end > data.length) throw new StripError(`HEIF ${where}: NAL unit of ${n} bytes at byte ${pos} does not fit`);
    if (data[start]! & 0x80) throw new StripError(`HEIF ${where}: NAL unit with its forbidden bit set at byte ${start}`);
    const type = (data[start]! >> 1) & 0x3f;
    const isSlice = type <= 9 || (type >= 16 && type <= 21);
    if (isSlice || (type >= 32 && type <= 34)) out.push(data.subarray(pos, end));
    if (isSlice) slices++;
    pos = end;
  }
  if (needPicture && slices === 0) throw new StripError(`HEIF ${where}: HEVC data without a picture`);
  return out.finish();
}

/**
 * AV1 data as AVIF stores it: OBUs with size fields (AV1 spec 5.3). Kept: sequence header (1),
 * temporal delimiter (2, empty by definition), frame header (3), tile group (4), frame (6),
 * redundant frame header (7), tile list (8); gone: metadata (5) and padding (15) OBUs, and
 * reserved types.
 */
function cleanAv1Obus(data: Uint8Array, where: string, needPicture: boolean, keep = AV1_PICTURE_OBUS): Uint8Array {
  const out = new ByteWriter(data.length);
  let pos = 0;
  let frames = 0;
  while (pos < data.length) {
    const header = data[pos]!;
    const type = (header >> 3) & 0xf;
    const extension = (header >> 2) & 1;
    if (header & 0x80) throw new StripError(`HEIF ${where}: OBU with its forbidden bit set at byte ${pos}`);
    if (!(header & 2)) throw new StripError(`HEIF ${where}: OBU without a size field at byte ${pos}`);
    let at = pos + 1 + extension;
    let size = 0;
    for (let i = 0; ; i++) {
      if (i === 8 || at >= data.length) throw new StripError(`HEIF ${where}: bad OBU size at byte ${pos}`);
      const b = data[at++]!;
      size += (b & 0x7f) * 2 ** (7 * i);
      if (!(b & 0x80)) break;
    }
    const end = at + size;
    if (end > data.length) throw new StripError(`HEIF ${where}: OBU of ${size} bytes at byte ${pos} does not fit`);
    if (type === 2 && size !== 0) throw new StripError(`HEIF ${where}: temporal delimiter OBU of ${size} bytes at byte ${pos}`);
    if (keep.has(type)) out.push(data.subarray(pos, end));
    if (type === 6 || type === 4) frames++;
    pos = end;
  }
  if (needPicture && frames === 0) throw new StripError(`HEIF ${where}: AV1 data without a frame`);
  return out.finish();
}

/** A property this code knows and leaves behind on purpose (an ICC profile), essential or not. */
const DROPPED = 'dropped';
/** A property this code does not know: dropped, unless a kept item cannot be shown without it. */
const UNKNOWN = 'unknown';

/** One property, rewritten to its canonical form, or DROPPED or UNKNOWN. */
function cleanProperty(heif: Uint8Array, p: Box): Uint8Array | typeof DROPPED | typeof UNKNOWN {
  const r = new BoxReader(heif, p.payload, p.end, `property ${p.type}`);
  const fixed = (n: number) => {
    const bytes = r.take(n);
    r.finish();
    return bytes;
  };
  switch (p.type) {
    case 'hvcC': {
      const header = r.take(22);
      const lengthSize = (header[21]! & 3) + 1;
      const count = r.u8();
      const arrays: Uint8Array[] = [];
      let kept = 0;
      for (let i = 0; i < count; i++) {
        const head = r.u8();
        const type = head & 0x3f;
        const n = r.u16();
        const units: Uint8Array[] = [];
        for (let k = 0; k < n; k++) {
          const unit = r.take(r.u16());
          if (unit.length < 2 || ((unit[0]! >> 1) & 0x3f) !== type) throw new StripError(`HEIF hvcC: a NAL unit in the array of type ${type} is not of that type`);
          units.push(u16(unit.length), unit);
        }
        if (type >= 32 && type <= 34) {
          arrays.push(u8(head & 0xbf), u16(n), ...units);
          kept++;
        }
      }
      r.finish();
      if (lengthSize === 3) throw new StripError('HEIF hvcC: NAL length size 3 is not allowed');
      return box('hvcC', header, u8(kept), ...arrays);
    }
    case 'av1C': {
      const header = r.take(4);
      if (header[0] !== 0x81) throw new StripError(`HEIF av1C: marker and version ${header[0]}, expected 0x81`);
      // Only the sequence header may stay in the configuration.
      return box('av1C', header, cleanAv1Obus(r.take(r.left), 'av1C', false, AV1_CONFIG_OBUS));
    }
    case 'ispe': {
      r.fullBox(0);
      return fullBox('ispe', 0, 0, fixed(8));
    }
    case 'pixi': {
      r.fullBox(0);
      const n = r.u8();
      return fullBox('pixi', 0, 0, u8(n), fixed(n));
    }
    case 'colr': {
      // An ICC profile ('prof', 'rICC') goes: it carries a creation time, a maker, a model, free text.
      if (r.fourcc() !== 'nclx') return DROPPED;
      const v = fixed(7);
      return box('colr', fourcc('nclx'), v.subarray(0, 6), u8(v[6]! & 0x80));
    }
    case 'irot':
      return box('irot', u8(fixed(1)[0]! & 3));
    case 'imir':
      return box('imir', u8(fixed(1)[0]! & 1));
    case 'clap':
      return box('clap', fixed(32));
    case 'pasp':
      return box('pasp', fixed(8));
    case 'clli':
      return box('clli', fixed(4));
    case 'mdcv':
      return box('mdcv', fixed(24));
    case 'rloc':
      r.fullBox(0);
      return fullBox('rloc', 0, 0, fixed(8));
    case 'iscl':
      r.fullBox(0);
      return fullBox('iscl', 0, 0, fixed(8));
    case 'lsel':
      return box('lsel', fixed(2));
    case 'a1op':
      return box('a1op', fixed(1));
    case 'a1lx': {
      const large = r.u8() & 1;
      return box('a1lx', u8(large), fixed(large ? 12 : 6));
    }
    case 'auxC': {
      r.fullBox(0);
      const urn = r.string();
      // Only an alpha plane's auxC is ever reached (keptItems); its subtype bytes are dropped.
      if (!ALPHA_URNS.has(urn)) return DROPPED;
      return fullBox('auxC', 0, 0, fourccString(urn), u8(0));
    }
    case 'udes': // user description: a name, a description and tags, all free text
      return DROPPED;
    default:
      return UNKNOWN;
  }
}

function fourccString(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** dimg (tiles, inputs), auxl (alpha to its picture) and prem (premultiplied alpha) between kept items. */
function keptReferences(references: Reference[], kept: Set<number>): Reference[] {
  const out: Reference[] = [];
  for (const r of references) {
    if (!['dimg', 'auxl', 'prem'].includes(r.type) || !kept.has(r.from)) continue;
    const to = r.to.filter((id) => kept.has(id));
    if (r.type === 'dimg' && to.length !== r.to.length) throw new StripError(`HEIF item ${r.from} lost an input`);
    if (to.length) out.push({ type: r.type, from: r.from, to });
  }
  return out;
}

const id = (n: number, wide: boolean) => (wide ? u32(n) : u16(n));

function writeIinf(items: Item[]): Uint8Array {
  const entries = items.map((item) =>
    item.id > 0xffff
      ? fullBox('infe', 3, item.hidden ? 1 : 0, u32(item.id), u16(0), fourcc(item.type), u8(0))
      : fullBox('infe', 2, item.hidden ? 1 : 0, u16(item.id), u16(0), fourcc(item.type), u8(0)),
  );
  return fullBox('iinf', 0, 0, u16(items.length), ...entries);
}

function writeIloc(locations: { id: number; method: number; offset: number; length: number }[], wide: boolean): Uint8Array {
  const parts: Uint8Array[] = [u16(0x4400), wide ? u32(locations.length) : u16(locations.length)];
  for (const l of locations) {
    if (l.offset + l.length > 0xffffffff) throw new StripError('HEIF image over 4 GiB');
    parts.push(id(l.id, wide), u16(l.method), u16(0));
    if (l.length === 0) parts.push(u16(0));
    else parts.push(u16(1), u32(l.offset), u32(l.length));
  }
  return fullBox('iloc', wide ? 2 : 1, 0, ...parts);
}

function writeIref(references: Reference[], wide: boolean): Uint8Array {
  return fullBox('iref', wide ? 1 : 0, 0, ...references.map((r) => box(r.type, id(r.from, wide), u16(r.to.length), ...r.to.map((t) => id(t, wide)))));
}

function writeIpma(entries: { id: number; list: { index: number; essential: boolean }[] }[], wide: boolean, count: number): Uint8Array {
  const large = count > 0x7f;
  const parts: Uint8Array[] = [u32(entries.length)];
  for (const e of entries) {
    parts.push(id(e.id, wide), u8(e.list.length));
    for (const p of e.list) parts.push(large ? u16(p.index | (p.essential ? 0x8000 : 0)) : u8(p.index | (p.essential ? 0x80 : 0)));
  }
  return fullBox('ipma', wide ? 1 : 0, large ? 1 : 0, ...parts);
}
