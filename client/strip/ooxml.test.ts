import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32, inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanPicture } from './index.ts';
import { stripJpeg } from './jpeg.ts';
import { OFFICE_CONTENT, OFFICE_SECRETS, makeDocx, makePptx, makeXlsx, testZip } from './ooxml.test-helpers.ts';
import { scrubXml, stripOoxml } from './ooxml.ts';
import { StripError } from './strip-error.ts';
import { SECRETS, ascii, containsBytes, exifWithGps, jpegWithMetadata } from './test-images.ts';
import { readZip } from './zip.ts';

/** Every entry of a zip, inflated by node:zlib and checked against its CRC, read without zip.ts. */
function unzipped(zip: Uint8Array): Map<string, Buffer> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const files = new Map<string, Buffer>();
  let at = 0;
  while (view.getUint32(at, true) === 0x04034b50) {
    const method = view.getUint16(at + 8, true);
    const [time, date] = [view.getUint16(at + 10, true), view.getUint16(at + 12, true)];
    const crc = view.getUint32(at + 14, true);
    const size = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const extraLength = view.getUint16(at + 28, true);
    const name = Buffer.from(zip.subarray(at + 30, at + 30 + nameLength)).toString('utf8');
    expect([time, date, extraLength, view.getUint16(at + 6, true) & 0x0008], name).toEqual([0, 0x21, 0, 0]);
    const raw = zip.subarray(at + 30 + nameLength, at + 30 + nameLength + size);
    const data = method === 8 ? inflateRawSync(raw) : Buffer.from(raw);
    expect(zlibCrc32(data) >>> 0, name).toBe(crc);
    files.set(name, data);
    at += 30 + nameLength + size;
  }
  return files;
}

function text(files: Map<string, Buffer>, name: string): string {
  const f = files.get(name);
  if (!f) throw new Error(`no ${name} in the cleaned file`);
  return f.toString('utf8');
}

/** Every tag closed in order, every attribute quoted: what the regex edits must never break. */
function expectWellFormed(xml: string, name: string): void {
  const stack: string[] = [];
  const body = xml.replace(/^\uFEFF?<\?xml[^>]*\?>\s*/, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<|>/g)) {
    if (m[0] === '<') throw new Error(`${name}: a "<" that opens no tag`);
    if (m[0] === '>') continue; // ">" may stand in text
    const [, close, tag, , empty] = m;
    if (close) expect(stack.pop(), name).toBe(tag);
    else if (!empty) stack.push(tag!);
  }
  expect(stack, name).toEqual([]);
}

const allSecrets = (s: string) => Object.values(OFFICE_SECRETS).filter((v) => s.includes(v));

describe('stripOoxml', () => {
  it('empties the document properties and drops the thumbnail, with its relationship and content type', async () => {
    for (const make of [makeDocx, makeXlsx, makePptx]) {
      const dirty = make();
      const dirtyNames = readZip(dirty).map((e) => e.name);
      expect(dirtyNames).toContain('docProps/thumbnail.jpeg');
      const core = readZip(dirty).find((e) => e.name === 'docProps/core.xml')!;
      expect(allSecrets(inflateRawSync(core.data).toString('utf8'))).toEqual([OFFICE_SECRETS.author, OFFICE_SECRETS.manager, OFFICE_SECRETS.title, OFFICE_SECRETS.date]);
      const files = unzipped(await stripOoxml(dirty, cleanPicture));
      expect(text(files, 'docProps/core.xml')).toMatch(/<cp:coreProperties [^>]*><\/cp:coreProperties>$/);
      expect(text(files, 'docProps/app.xml')).toMatch(/<Properties xmlns="http:\/\/schemas\.openxmlformats\.org\/officeDocument\/2006\/extended-properties" [^>]*><\/Properties>$/);
      expect(text(files, 'docProps/custom.xml')).toMatch(/custom-properties" [^>]*><\/Properties>$/);
      expect(files.has('docProps/thumbnail.jpeg')).toBe(false);
      expect(text(files, '_rels/.rels')).not.toMatch(/thumbnail/);
      expect(text(files, '[Content_Types].xml')).not.toMatch(/thumbnail/);
      expect(text(files, '_rels/.rels')).toMatch(/officeDocument" Target="(word\/document|xl\/workbook|ppt\/presentation)\.xml"/);
    }
  });

  it('Word: authors become "Author", dates, rsids, document ids, account ids and the template path go; the text stays', async () => {
    const dirty = makeDocx();
    const clean = await stripOoxml(dirty, cleanPicture);
    const files = unzipped(clean);
    for (const [name, data] of files) {
      const s = data.toString('latin1');
      expect(allSecrets(s), name).toEqual([]);
      if (name.endsWith('.xml') || name.endsWith('.rels')) expectWellFormed(data.toString('utf8'), name);
    }
    for (const s of Object.values(OFFICE_SECRETS)) expect(containsBytes(clean, ascii(s)), s).toBe(false);
    const document = text(files, 'word/document.xml');
    expect(document).toContain(OFFICE_CONTENT.body);
    expect(document).toContain(OFFICE_CONTENT.inserted);
    // Text that looks like an attribute is text: only tags are edited.
    expect(document).toContain(OFFICE_CONTENT.literal.replace(/"/g, '&quot;'));
    expect(document).toMatch(/<w:ins w:id="1" w:author="Author">/);
    expect(document).toMatch(/<w:p w14:paraId="1A2B3C4D" w14:textId="77777777">/);
    expect(document).toMatch(/<w:permStart w:id="5"\/>/);
    expect(text(files, 'word/comments.xml')).toMatch(/<w:comment w:id="0" w:author="Author" w:initials="A">.*Check the basement ledger\./);
    expect(text(files, 'word/people.xml')).toMatch(/<w15:person w15:author="Author"><\/w15:person>/);
    expect(text(files, 'word/commentsExtensible.xml')).toMatch(/<w16cex:commentExtensible w16cex:durableId="2A3B4C5D"\/>/);
    expect(text(files, 'word/settings.xml')).toMatch(/<w:attachedTemplate r:id="rId1"\/><w:defaultTabStop w:val="720"\/><\/w:settings>$/);
    expect(text(files, 'word/styles.xml')).not.toMatch(/w:rsid/);
    const settingsRels = text(files, 'word/_rels/settings.xml.rels');
    expect(settingsRels).toMatch(/Target="Normal\.dotm" TargetMode="External"/);
    const documentRels = text(files, 'word/_rels/document.xml.rels');
    expect(documentRels).toContain('Target="https://news.example/tips" TargetMode="External"');
    expect(documentRels).toContain('Target="office-plan.png" TargetMode="External"');
    // The photo in the document went through the JPEG cleaner.
    expect(Buffer.from(files.get('word/media/image1.jpeg')!).equals(Buffer.from(stripJpeg(jpegWithMetadata())))).toBe(true);
    expect(containsBytes(clean, exifWithGps().subarray(-48, -24))).toBe(false);
    for (const s of Object.values(SECRETS)) expect(containsBytes(clean, ascii(s)), s).toBe(false);
    expect(await stripOoxml(clean, cleanPicture)).toEqual(clean);
  });

  it('Excel: comment authors, people, dates, the saved folder, the cloud id and the sharing user go', async () => {
    const clean = await stripOoxml(makeXlsx(), cleanPicture);
    const files = unzipped(clean);
    for (const [name, data] of files) {
      expect(allSecrets(data.toString('latin1')), name).toEqual([]);
      if (name.endsWith('.xml')) expectWellFormed(data.toString('utf8'), name);
    }
    const workbook = text(files, 'xl/workbook.xml');
    expect(workbook).not.toMatch(/absPath|AlternateContent|revisionPtr/);
    expect(workbook).toMatch(/<fileSharing userName="Author" reservationPassword="CC3D"\/><workbookPr defaultThemeVersion="202300"\/><sheets>/);
    expect(text(files, 'xl/comments1.xml')).toMatch(/<authors><author>Author<\/author><author>tc=\{[0-9A-F-]+\}<\/author><\/authors>/);
    expect(text(files, 'xl/persons/person.xml')).toMatch(/<person displayName="Author" id="\{[0-9A-F-]+\}"\/>/);
    expect(text(files, 'xl/threadedComments/threadedComment1.xml')).toMatch(/<threadedComment ref="A1" personId="\{[0-9A-F-]+\}" id="\{[0-9a-f-]+\}"><text>Check the basement ledger\.<\/text>/);
    expect(text(files, 'xl/worksheets/sheet1.xml')).toContain(OFFICE_CONTENT.cell);
  });

  it('PowerPoint: comment authors, their accounts, comment dates and editing clients go', async () => {
    const clean = await stripOoxml(makePptx(), cleanPicture);
    const files = unzipped(clean);
    for (const [name, data] of files) {
      expect(allSecrets(data.toString('latin1')), name).toEqual([]);
      if (name.endsWith('.xml')) expectWellFormed(data.toString('utf8'), name);
    }
    expect(text(files, 'ppt/commentAuthors.xml')).toMatch(/<p:cmAuthor id="1" name="Author" initials="A" lastIdx="1" clrIdx="0"><p:extLst><p:ext uri="[^"]+"><\/p:ext>/);
    expect(text(files, 'ppt/comments/comment1.xml')).toMatch(/<p:cm authorId="1" idx="1">/);
    expect(text(files, 'ppt/authors.xml')).toMatch(/name="Author" initials="A" userId="" providerId=""/);
    expect(text(files, 'ppt/comments/modernComment_100_0.xml')).toMatch(/created="2000-01-01T00:00:00Z"/);
    expect(text(files, 'ppt/revisionInfo.xml')).toMatch(/<p15:revLst><\/p15:revLst>/);
    expect(text(files, 'ppt/slides/slide1.xml')).toContain(OFFICE_CONTENT.slide);
  });

  it('cleans an Office file embedded in another one', async () => {
    const clean = await stripOoxml(makeDocx({ embedded: makeXlsx() }), cleanPicture);
    expect(allSecrets(Buffer.from(clean).toString('latin1'))).toEqual([]);
    const inner = unzipped(unzipped(clean).get('word/embeddings/Microsoft_Excel_Worksheet.xlsx')!);
    expect(text(inner, 'xl/worksheets/sheet1.xml')).toContain(OFFICE_CONTENT.cell);
    expect(text(inner, 'xl/comments1.xml')).toContain('<author>Author</author>');
  });

  it('reads data descriptors and writes none; copies untouched parts as they were compressed', async () => {
    const dirty = makeDocx();
    const sheet = readZip(dirty).find((e) => e.name === 'word/document.xml')!;
    expect(sheet.method).toBe(8);
    const xlsx = makeXlsx();
    const before = readZip(xlsx).find((e) => e.name === 'xl/worksheets/sheet1.xml')!;
    const after = readZip(await stripOoxml(xlsx, cleanPicture)).find((e) => e.name === 'xl/worksheets/sheet1.xml')!;
    expect(Buffer.from(after.data).equals(Buffer.from(before.data))).toBe(true);
    expect([after.crc, after.size, after.method]).toEqual([before.crc, before.size, before.method]);
  });

  it('refuses a part that is not UTF-8, a broken picture and a part whose CRC is wrong', async () => {
    const base = [
      { name: '[Content_Types].xml', data: '<Types/>' },
      { name: '_rels/.rels', data: '<Relationships/>' },
    ];
    await expect(stripOoxml(testZip([...base, { name: 'docProps/core.xml', data: Uint8Array.from([0x3c, 0xff, 0xfe, 0x3e]) }]), cleanPicture)).rejects.toThrow(/not UTF-8/);
    await expect(stripOoxml(testZip([...base, { name: 'word/media/image1.png', data: Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]) }]), cleanPicture)).rejects.toThrow(StripError);
    // A byte of a stored part changed after its CRC was written.
    const broken = testZip([...base, { name: 'word/document.xml', data: '<w:document/>', method: 0 }]);
    broken[findStored(broken, '<w:document/>')] = 0x3d;
    await expect(stripOoxml(broken, cleanPicture)).rejects.toThrow(/CRC-32 does not match/);
    await expect(stripOoxml(testZip([{ name: 'a.txt', data: 'x' }]), cleanPicture)).rejects.toThrow(/not an Office Open XML package/);
  });

  it('edits only tags, whatever the quotes, and leaves text alone', () => {
    const rules = [{ kind: 'attribute' as const, pattern: /(\s)(w:author)(\s*=\s*)(?:"[^"]*"|'[^']*')/g, value: 'Author' }];
    expect(scrubXml(`<w:ins w:author='Kim' w:id="1"> w:author="Kim" </w:ins>`, rules)).toBe(`<w:ins w:author="Author" w:id="1"> w:author="Kim" </w:ins>`);
    expect(scrubXml(`<w:ins w:x="a>b" w:author="Kim"/>`, rules)).toBe(`<w:ins w:x="a>b" w:author="Author"/>`);
  });
});

function findStored(zip: Uint8Array, content: string): number {
  const needle = ascii(content);
  for (let i = 0; i < zip.length; i++) if (needle.every((b, k) => zip[i + k] === b)) return i;
  throw new Error('not found');
}

// Info-ZIP's unzip reads the cleaned files without a warning (CI installs it: .ci/run).
const UNZIP = '/usr/bin/unzip';
if (!existsSync(UNZIP) && process.env.CI === 'true') throw new Error(`CI=true but ${UNZIP} is missing`);
describe.skipIf(!existsSync(UNZIP))('what Info-ZIP makes of the cleaned files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealdrop-ooxml-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it.each([
    ['docx', () => makeDocx({ embedded: makeXlsx() })],
    ['xlsx', makeXlsx],
    ['pptx', makePptx],
  ] as const)('%s tests clean with unzip -t', async (ext, make) => {
    const path = join(dir, `clean.${ext}`);
    writeFileSync(path, await stripOoxml(make(), cleanPicture));
    const out = execFileSync(UNZIP, ['-t', path], { encoding: 'utf8' });
    expect(out).toMatch(/No errors detected in compressed data/);
    const listing = execFileSync(UNZIP, ['-Z', '-l', path], { encoding: 'utf8' });
    for (const line of listing.split('\n').filter((l) => /^-/.test(l))) expect(line).toMatch(/ 80-Jan-01 00:00 /);
  });
});
