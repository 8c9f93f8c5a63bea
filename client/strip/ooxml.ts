/**
 * @module client/strip/ooxml — remove the metadata of an Office Open XML file (docx, xlsx, pptx;
 * any OPC package: ECMA-376 parts 1 and 2) without touching what it says.
 *
 * Rewritten or removed (each rule below names the parts it reads):
 * - the document properties: `docProps/core.xml` (author, last modified by, dates, title, subject,
 *   keywords, description, category, revision), `docProps/app.xml` (company, manager, template,
 *   editing time, application and version, counts) and `docProps/custom.xml` (custom properties,
 *   sensitivity labels with their owner's e-mail) become empty property sets; found through
 *   `_rels/.rels`, as OPC says. The thumbnail (a picture of the first page as it once was) goes,
 *   with its relationship and content type entry.
 * - Word: comment and tracked-change authors become "Author" and initials "A"; their dates,
 *   revision-save ids (`w:rsid…`, the `w:rsids` table), document ids (`w14:docId`, `w15:docId`),
 *   permission editors (`w:ed`) and the people list's account ids (`w15:presenceInfo`) go.
 * - Excel: comment authors, threaded-comment people (display name, user id, provider), their
 *   dates, shared-workbook revision users and times, the file-sharing user, the folder the file
 *   was saved in (`x15ac:absPath`) and the cloud document id (`xr:revisionPtr`).
 * - PowerPoint: comment authors (name, initials, account ids), comment dates, editing clients.
 * - every relationship to a local file (`file:`, `C:\…`, `\\server\…`: an attached template in
 *   the user's folder, linked pictures) keeps only the file's own name.
 * - pictures in the package (`…/media/`) go through the image cleaners (JPEG, PNG, WebP, HEIF);
 *   embedded Office files (`…/embeddings/`) through this cleaner, two levels deep.
 *
 * Not changed: the text, comments' and tracked changes' text (deleted text included), hidden text,
 * speaker notes, hidden sheets and slides, cropped-away parts of pictures, custom XML data,
 * macros, embedded objects of other kinds, fonts; OPERATIONS.md lists them for the editors.
 *
 * The XML is edited as text, tag by tag, with patterns for the attributes and elements above in
 * the prefixes Office, LibreOffice and Google Docs write (`w:`, `x15ac:`, …). A part that is not
 * UTF-8 is refused. The zip is read strictly and written afresh (zip.ts).
 */
import { crc32, deflateRaw, inflateRaw } from './deflate.ts';
import { isZip } from './detect.ts';
import { isOpcPackage } from './opc.ts';
import { StripError } from './strip-error.ts';
import { readZip, writeZip, type ZipEntry } from './zip.ts';

/** What the cleaner may inflate: XML parts it edits, pictures it cleans, packages it opens. */
const MAX_PART_BYTES = 256 * 1024 * 1024;
const MAX_DEPTH = 2;

export type PictureCleaner = (bytes: Uint8Array) => Uint8Array | undefined;

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n';
const NS = {
  core: 'http://schemas.openxmlformats.org/package/2006/metadata/core-properties',
  app: 'http://schemas.openxmlformats.org/officeDocument/2006/extended-properties',
  appStrict: 'http://purl.oclc.org/ooxml/officeDocument/extendedProperties',
  custom: 'http://schemas.openxmlformats.org/officeDocument/2006/custom-properties',
  customStrict: 'http://purl.oclc.org/ooxml/officeDocument/customProperties',
  vt: 'http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes',
  vtStrict: 'http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes',
};

type Role = 'core' | 'app' | 'custom' | 'thumbnail';
const ROLE_BY_TYPE: [RegExp, Role][] = [
  [/\/metadata\/core-properties$/, 'core'],
  [/\/(extended-properties|extendedProperties)$/, 'app'],
  [/\/(custom-properties|customProperties)$/, 'custom'],
  [/\/metadata\/thumbnail$/, 'thumbnail'],
];

/** A copy of `bytes` (docx, xlsx, pptx…) without the metadata above; StripError when it cannot. */
export async function stripOoxml(bytes: Uint8Array, cleanPicture: PictureCleaner, depth = 0): Promise<Uint8Array> {
  const entries = readZip(bytes);
  const byName = new Map(entries.map((e) => [e.name, e]));
  if (!isOpcPackage([...byName.keys()])) throw new StripError('not an Office Open XML package: no [Content_Types].xml or _rels/.rels');
  const rootRels = await readText(byName.get('_rels/.rels')!);
  // The usual names count even when no relationship points at them (a sloppy writer's leftovers).
  const roles = new Map<string, Role>([
    ['docProps/core.xml', 'core'],
    ['docProps/app.xml', 'app'],
    ['docProps/custom.xml', 'custom'],
  ]);
  for (const rel of relationships(rootRels)) {
    const role = ROLE_BY_TYPE.find(([pattern]) => pattern.test(rel.type))?.[1];
    if (role && !/^external$/i.test(rel.mode)) roles.set(rel.target.replace(/^\//, ''), role);
  }
  const dropped = new Set([...roles].filter(([, role]) => role === 'thumbnail').map(([name]) => name));
  for (const name of byName.keys()) if (/^docProps\/thumbnail\.[A-Za-z0-9]+$/.test(name)) dropped.add(name);

  const out: ZipEntry[] = [];
  for (const entry of entries) {
    if (dropped.has(entry.name)) continue;
    const role = roles.get(entry.name);
    let text: string | undefined;
    if (role === 'core' || role === 'app' || role === 'custom') {
      text = emptyProperties(role, await readText(entry));
    } else if (entry.name === '[Content_Types].xml') {
      text = withoutOverrides(await readText(entry), dropped);
    } else if (entry.name.endsWith('.rels')) {
      text = cleanRelationships(await readText(entry), entry.name === '_rels/.rels');
    } else if (rulesFor(entry.name).length) {
      text = scrubXml(await readText(entry), rulesFor(entry.name));
    }
    if (text !== undefined) {
      out.push(await deflated(entry.name, new TextEncoder().encode(text)));
      continue;
    }
    const inner = /(^|\/)(media|embeddings)\/[^/]+$/.test(entry.name) ? await readBytes(entry) : undefined;
    const picture = inner && cleanPicture(inner);
    if (picture) {
      out.push(stored(entry.name, picture));
    } else if (inner && depth < MAX_DEPTH && isZip(inner) && isOpcInside(inner)) {
      out.push(stored(entry.name, await stripOoxml(inner, cleanPicture, depth + 1)));
    } else {
      out.push(entry);
    }
  }
  return writeZip(out);
}

function isOpcInside(bytes: Uint8Array): boolean {
  try {
    return isOpcPackage(readZip(bytes).map((e) => e.name));
  } catch {
    // An embedded zip that does not parse is another kind of object: it stays as it is.
    return false;
  }
}

async function readBytes(entry: ZipEntry): Promise<Uint8Array> {
  if (entry.size > MAX_PART_BYTES) throw new StripError(`${JSON.stringify(entry.name)} is ${entry.size} bytes, over ${MAX_PART_BYTES}`);
  const where = `zip entry ${JSON.stringify(entry.name)}`;
  const data = entry.method === 0 ? entry.data : await inflateRaw(entry.data, entry.size, where);
  if (crc32(data) !== entry.crc) throw new StripError(`${where}: CRC-32 does not match its data`);
  return data;
}

async function readText(entry: ZipEntry): Promise<string> {
  const bytes = await readBytes(entry);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new StripError(`${JSON.stringify(entry.name)} is not UTF-8 XML`);
  }
}

async function deflated(name: string, data: Uint8Array): Promise<ZipEntry> {
  return { name, method: 8, crc: crc32(data), size: data.length, data: await deflateRaw(data) };
}

function stored(name: string, data: Uint8Array): ZipEntry {
  return { name, method: 0, crc: crc32(data), size: data.length, data };
}

function emptyProperties(role: 'core' | 'app' | 'custom', original: string): string {
  if (role === 'core') {
    return `${XML_HEAD}<cp:coreProperties xmlns:cp="${NS.core}" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"></cp:coreProperties>`;
  }
  const strict = original.includes('purl.oclc.org/ooxml/');
  const ns = role === 'app' ? (strict ? NS.appStrict : NS.app) : strict ? NS.customStrict : NS.custom;
  return `${XML_HEAD}<Properties xmlns="${ns}" xmlns:vt="${strict ? NS.vtStrict : NS.vt}"></Properties>`;
}

// --- XML, tag by tag -------------------------------------------------------------------------

/** A start or empty-element tag, its quoted attribute values allowed to hold `>`. */
const TAG = /<[A-Za-z_][^\s/>]*(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*\/?>/g;
const attribute = (names: string) => new RegExp(`(\\s)(${names})(\\s*=\\s*)(?:"[^"]*"|'[^']*')`, 'g');

type Rule =
  | { kind: 'attribute'; pattern: RegExp; value?: string; tag?: RegExp }
  | { kind: 'element'; pattern: RegExp }
  | { kind: 'text'; pattern: RegExp; replace: (whole: string, inner: string) => string };

const remove = (names: string, tag?: RegExp): Rule => ({ kind: 'attribute', pattern: attribute(names), tag });
const replace = (names: string, value: string, tag?: RegExp): Rule => ({ kind: 'attribute', pattern: attribute(names), value, tag });
const element = (pattern: RegExp): Rule => ({ kind: 'element', pattern });
const FIXED_DATE = '2000-01-01T00:00:00Z';

const WORD: Rule[] = [
  replace('w:author|w15:author', 'Author'),
  replace('w:initials', 'A'),
  remove('w:rsid[A-Za-z]*|w:date|w16du:dateUtc|w16cex:dateUtc|w:ed'),
  element(/<w:rsids\b[^>]*>[\s\S]*?<\/w:rsids>|<w:rsids\b[^>]*\/>/g),
  element(/<w:rsid\b[^>]*\/>/g),
  element(/<w1[45]:docId\b[^>]*\/>/g),
  element(/<w15:presenceInfo\b[^>]*\/>/g),
];
const XL_COMMENTS: Rule[] = [
  // A threaded comment's legacy note names its thread ("tc={…}"), not a person: kept.
  { kind: 'text', pattern: /<author>([^<]*)<\/author>/g, replace: (whole, inner) => (/^tc=\{[0-9A-Fa-f-]+\}$/.test(inner) ? whole : '<author>Author</author>') },
];
const XL_PERSONS: Rule[] = [replace('displayName', 'Author', /^<person\b/), remove('userId|providerId', /^<person\b/)];
const XL_THREADED: Rule[] = [remove('dT', /^<threadedComment\b/)];
const XL_REVISIONS: Rule[] = [replace('userName', 'Author'), replace('name', 'Author', /^<userInfo\b/), replace('dateTime', FIXED_DATE)];
const XL_WORKBOOK: Rule[] = [
  element(/<mc:AlternateContent\b[^>]*>\s*<mc:Choice\b[^>]*>\s*<x15ac:absPath\b[^>]*\/>\s*<\/mc:Choice>\s*<\/mc:AlternateContent>/g),
  element(/<x15ac:absPath\b[^>]*\/>/g),
  element(/<xr:revisionPtr\b[^>]*\/>/g),
  replace('userName', 'Author', /^<fileSharing\b/),
];
const PPT_AUTHORS: Rule[] = [
  replace('name', 'Author', /^<[\w]+:(cmAuthor|author)\b/),
  replace('initials', 'A', /^<[\w]+:(cmAuthor|author)\b/),
  replace('userId|providerId', '', /^<[\w]+:author\b/),
  element(/<p15:presenceInfo\b[^>]*\/>/g),
];
const PPT_COMMENTS: Rule[] = [remove('dt', /^<p:cm\b/), replace('created', FIXED_DATE, /^<[\w]+:(cm|reply)\b/)];
const PPT_REVISION_INFO: Rule[] = [element(/<[\w]+:client\b[^>]*\/>/g)];

const PARTS: [RegExp, Rule[]][] = [
  [/^word\/.+\.xml$/, WORD],
  [/^xl\/comments[^/]*\.xml$/, XL_COMMENTS],
  [/^xl\/persons\/[^/]+\.xml$/, XL_PERSONS],
  [/^xl\/threadedComments\/[^/]+\.xml$/, XL_THREADED],
  [/^xl\/revisions\/[^/]+\.xml$/, XL_REVISIONS],
  [/^xl\/workbook\.xml$/, XL_WORKBOOK],
  [/^ppt\/(commentAuthors|authors)\.xml$/, PPT_AUTHORS],
  [/^ppt\/comments\/[^/]+\.xml$/, PPT_COMMENTS],
  [/^ppt\/revisionInfo\.xml$/, PPT_REVISION_INFO],
];

function rulesFor(name: string): Rule[] {
  return PARTS.filter(([pattern]) => pattern.test(name)).flatMap(([, rules]) => rules);
}

export function scrubXml(xml: string, rules: Rule[]): string {
  let out = xml;
  for (const rule of rules) {
    if (rule.kind === 'element') out = out.replace(rule.pattern, '');
    else if (rule.kind === 'text') out = out.replace(rule.pattern, rule.replace);
  }
  const attributes = rules.filter((r): r is Extract<Rule, { kind: 'attribute' }> => r.kind === 'attribute');
  if (!attributes.length) return out;
  return out.replace(TAG, (tag) => {
    let t = tag;
    for (const rule of attributes) {
      if (rule.tag && !rule.tag.test(t)) continue;
      t = t.replace(rule.pattern, (_whole, space: string, name: string, equals: string) => (rule.value === undefined ? '' : `${space}${name}${equals}"${rule.value}"`));
    }
    return t;
  });
}

// --- relationships and content types --------------------------------------------------------

type Relationship = { id: string; type: string; target: string; mode: string };

const RELATIONSHIP = /<Relationship\b(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*\/?>/g;

function attr(tag: string, name: string): string {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(tag);
  return m ? unescapeXml(m[1] ?? m[2] ?? '') : '';
}

function relationships(xml: string): Relationship[] {
  return [...xml.matchAll(RELATIONSHIP)].map(([tag]) => ({
    id: attr(tag, 'Id'),
    type: attr(tag, 'Type'),
    target: attr(tag, 'Target'),
    mode: attr(tag, 'TargetMode'),
  }));
}

/** Thumbnails out of the package's own relationships; local paths cut to the file's name. */
function cleanRelationships(xml: string, root: boolean): string {
  return xml.replace(RELATIONSHIP, (tag) => {
    const type = attr(tag, 'Type');
    if (root && /\/metadata\/thumbnail$/.test(type)) return '';
    const target = attr(tag, 'Target');
    if (!/^external$/i.test(attr(tag, 'TargetMode')) || !isLocalPath(target)) return tag;
    const name = target.split(/[\\/]/).filter(Boolean).pop() ?? '';
    return tag.replace(/(\sTarget\s*=\s*)(?:"[^"]*"|'[^']*')/, `$1"${escapeXml(name)}"`);
  });
}

function isLocalPath(target: string): boolean {
  return /^file:/i.test(target) || /^[A-Za-z]:[\\/]/.test(target) || /^\\\\/.test(target);
}

function withoutOverrides(xml: string, dropped: Set<string>): string {
  if (!dropped.size) return xml;
  const parts = new Set([...dropped].map((p) => `/${p}`.toLowerCase()));
  return xml.replace(/<Override\b(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*\/?>/g, (tag) => (parts.has(attr(tag, 'PartName').toLowerCase()) ? '' : tag));
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!);
}
function escapeXml(s: string): string {
  return s.replace(/[<>"'&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '&': '&amp;' })[c]!);
}
