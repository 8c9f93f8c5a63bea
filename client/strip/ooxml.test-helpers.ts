/**
 * @module client/strip/ooxml.test-helpers — Office files as Word, Excel and PowerPoint write them
 * (the parts, namespaces and attributes of Microsoft 365's own output, shortened), zipped by a
 * plain zip writer of the tests' own (node:zlib, not the cleaner's code) that does what real
 * writers do: real modification times, extended-timestamp extra fields, data descriptors.
 */
import { crc32, deflateRawSync } from 'node:zlib';
import { jpegWithMetadata } from './test-images.ts';

/** What the files carry about the person who made them; a cleaned file holds none of it. */
export const OFFICE_SECRETS = {
  author: 'Kim Whistleblower',
  account: 'kim.w@ministry.example',
  login: 'KimW',
  company: 'Ministry of Hidden Files',
  manager: 'Director Pak',
  title: 'Basement ledger draft',
  date: '2024-03-01T09:4',
  rsid: '00A1B2C3',
  docId: '3F2504E0-4F89-11D3-9A0C-0305E82C3301',
  tenant: 'f00dfeed-1234',
  client: 'C0FFEE00-0000-4000-8000-00000000B0B0',
} as const;
const S = OFFICE_SECRETS;
/** Ids that only link one part to another inside the file (a comment to its thread or person): kept. */
const LINK = '7E1D0C3B-5A49-4F68-9D7E-2B1C0A9F8E7D';

/** Text that is the document's content: it must come out unchanged. */
export const OFFICE_CONTENT = {
  body: 'The ministry moved the files on Tuesday.',
  inserted: ' Three people had the key.',
  comment: 'Check the basement ledger.',
  literal: 'Note: w:author="someone" is only text here.',
  cell: 'Ledger total 4.2M',
  slide: 'Where the money went',
} as const;
const C = OFFICE_CONTENT;

export type TestZipEntry = { name: string; data: Uint8Array | string; method?: 0 | 8; descriptor?: boolean };

const HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n';
const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml" xmlns:w16du="http://schemas.microsoft.com/office/word/2023/wordml/word16du" xmlns:w16cex="http://schemas.microsoft.com/office/word/2018/wordml/cex" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="w14 w15 w16du w16cex"';
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

function contentTypes(overrides: [string, string][]): string {
  return `${HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="jpeg" ContentType="image/jpeg"/>${overrides
    .map(([part, type]) => `<Override PartName="${part}" ContentType="${type}"/>`)
    .join('')}<Override PartName="/docProps/thumbnail.jpeg" ContentType="image/jpeg"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/><Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>`;
}

function rootRels(main: string): string {
  return `${HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/thumbnail" Target="docProps/thumbnail.jpeg"/><Relationship Id="rId1" Type="${REL}/officeDocument" Target="${main}"/><Relationship Id="rId4" Type="${REL}/extended-properties" Target="docProps/app.xml"/><Relationship Id="rId5" Type="${REL}/custom-properties" Target="docProps/custom.xml"/></Relationships>`;
}

function docProps(application: string): TestZipEntry[] {
  return [
    {
      name: 'docProps/core.xml',
      data: `${HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>${S.title}</dc:title><dc:subject>budget</dc:subject><dc:creator>${S.author}</dc:creator><cp:keywords>ledger</cp:keywords><dc:description>for ${S.manager}</dc:description><cp:lastModifiedBy>${S.author}</cp:lastModifiedBy><cp:revision>7</cp:revision><cp:lastPrinted>${S.date}1:00Z</cp:lastPrinted><dcterms:created xsi:type="dcterms:W3CDTF">${S.date}0:00Z</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">${S.date}2:00Z</dcterms:modified></cp:coreProperties>`,
    },
    {
      name: 'docProps/app.xml',
      data: `${HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Template>C:\\Users\\${S.login}\\Templates\\Ministry.dotm</Template><TotalTime>42</TotalTime><Pages>1</Pages><Application>${application}</Application><DocSecurity>0</DocSecurity><Company>${S.company}</Company><Manager>${S.manager}</Manager><HyperlinkBase>file:///C:/Users/${S.login}/</HyperlinkBase><AppVersion>16.0000</AppVersion></Properties>`,
    },
    {
      name: 'docProps/custom.xml',
      data: `${HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="MSIP_Label_${S.tenant}_SetBy"><vt:lpwstr>${S.account}</vt:lpwstr></property><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="3" name="MSIP_Label_${S.tenant}_SetDate"><vt:lpwstr>${S.date}3:00Z</vt:lpwstr></property></Properties>`,
    },
    { name: 'docProps/thumbnail.jpeg', data: jpegWithMetadata(), method: 0 },
  ];
}

/** A Word document with a tracked insertion, a comment, its people, rsids, a template and a GPS photo. */
export function makeDocx(options: { embedded?: Uint8Array } = {}): Uint8Array {
  const docRels = `${HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/styles" Target="styles.xml"/><Relationship Id="rId2" Type="${REL}/settings" Target="settings.xml"/><Relationship Id="rId3" Type="${REL}/comments" Target="comments.xml"/><Relationship Id="rId4" Type="http://schemas.microsoft.com/office/2011/relationships/people" Target="people.xml"/><Relationship Id="rId5" Type="${REL}/image" Target="media/image1.jpeg"/><Relationship Id="rId6" Type="${REL}/hyperlink" Target="https://news.example/tips" TargetMode="External"/><Relationship Id="rId7" Type="${REL}/image" Target="file:///C:/Users/${S.login}/Pictures/office-plan.png" TargetMode="External"/><Relationship Id="rId8" Type="http://schemas.microsoft.com/office/2018/08/relationships/commentsExtensible" Target="commentsExtensible.xml"/>${options.embedded ? `<Relationship Id="rId9" Type="${REL}/package" Target="embeddings/Microsoft_Excel_Worksheet.xlsx"/>` : ''}</Relationships>`;
  const document = `${HEAD}<w:document ${W}><w:body><w:p w14:paraId="1A2B3C4D" w14:textId="77777777" w:rsidR="${S.rsid}" w:rsidRDefault="00D4E5F6" w:rsidP="${S.rsid}"><w:r w:rsidRPr="${S.rsid}"><w:t>${C.body}</w:t></w:r><w:ins w:id="1" w:author="${S.author}" w:date="${S.date}1:00Z" w16du:dateUtc="${S.date}1:00Z"><w:r><w:t xml:space="preserve">${C.inserted}</w:t></w:r></w:ins><w:commentRangeStart w:id="0"/><w:r><w:t xml:space="preserve"> </w:t></w:r><w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r></w:p><w:p><w:permStart w:id="5" w:ed="MINISTRY\\${S.login}"/><w:r><w:t>${C.literal.replace(/"/g, '&quot;')}</w:t></w:r><w:permEnd w:id="5"/></w:p><w:sectPr w:rsidR="${S.rsid}" w:rsidSect="${S.rsid}"><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>`;
  return testZip([
    { name: '[Content_Types].xml', data: contentTypes([['/word/document.xml', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml']]) },
    { name: '_rels/.rels', data: rootRels('word/document.xml') },
    ...docProps('Microsoft Office Word'),
    { name: 'word/document.xml', data: document, descriptor: true },
    { name: 'word/_rels/document.xml.rels', data: docRels },
    {
      name: 'word/comments.xml',
      data: `${HEAD}<w:comments ${W}><w:comment w:id="0" w:author="${S.author}" w:date="${S.date}2:00Z" w:initials="KW"><w:p w14:paraId="5E6F7A8B" w:rsidR="${S.rsid}"><w:r><w:t>${C.comment}</w:t></w:r></w:p></w:comment></w:comments>`,
    },
    {
      name: 'word/people.xml',
      data: `${HEAD}<w15:people ${W}><w15:person w15:author="${S.author}"><w15:presenceInfo w15:providerId="AD" w15:userId="S::${S.account}::${S.client}"/></w15:person></w15:people>`,
    },
    {
      name: 'word/commentsExtensible.xml',
      data: `${HEAD}<w16cex:commentsExtensible ${W}><w16cex:commentExtensible w16cex:durableId="2A3B4C5D" w16cex:dateUtc="${S.date}2:00Z"/></w16cex:commentsExtensible>`,
    },
    {
      name: 'word/settings.xml',
      data: `${HEAD}<w:settings ${W}><w:attachedTemplate r:id="rId1"/><w:defaultTabStop w:val="720"/><w:rsids><w:rsidRoot w:val="${S.rsid}"/><w:rsid w:val="${S.rsid}"/><w:rsid w:val="00D4E5F6"/></w:rsids><w14:docId w14:val="1F2E3D4C"/><w15:docId w15:val="{${S.docId}}"/></w:settings>`,
    },
    {
      name: 'word/_rels/settings.xml.rels',
      data: `${HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/attachedTemplate" Target="file:///C:\\Users\\${S.login}\\AppData\\Roaming\\Microsoft\\Templates\\Normal.dotm" TargetMode="External"/></Relationships>`,
    },
    { name: 'word/styles.xml', data: `${HEAD}<w:styles ${W}><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:rsid w:val="${S.rsid}"/></w:style></w:styles>` },
    { name: 'word/media/image1.jpeg', data: jpegWithMetadata(), method: 0 },
    ...(options.embedded ? [{ name: 'word/embeddings/Microsoft_Excel_Worksheet.xlsx', data: options.embedded, method: 0 as const }] : []),
  ]);
}

/** An Excel workbook with a note, a threaded comment and its person, a saved folder, a cloud id, sharing. */
export function makeXlsx(): Uint8Array {
  const X = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main" xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" xmlns:xr6="http://schemas.microsoft.com/office/spreadsheetml/2016/revision6" mc:Ignorable="x15 xr xr6"';
  return testZip([
    { name: '[Content_Types].xml', data: contentTypes([['/xl/workbook.xml', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml']]) },
    { name: '_rels/.rels', data: rootRels('xl/workbook.xml') },
    ...docProps('Microsoft Excel'),
    {
      name: 'xl/workbook.xml',
      data: `${HEAD}<workbook ${X}><fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="27328"/><fileSharing userName="${S.author}" reservationPassword="CC3D"/><workbookPr defaultThemeVersion="202300"/><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><mc:Choice Requires="x15"><x15ac:absPath url="C:\\Users\\${S.login}\\Desktop\\" xmlns:x15ac="http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac"/></mc:Choice></mc:AlternateContent><xr:revisionPtr revIDLastSave="0" documentId="8_{${S.docId}}" xr6:coauthVersionLast="47" xr6:coauthVersionMax="47" xr10:uidLastSave="{${S.client}}" xmlns:xr10="http://schemas.microsoft.com/office/spreadsheetml/2016/revision10"/><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    },
    { name: 'xl/_rels/workbook.xml.rels', data: `${HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>` },
    { name: 'xl/worksheets/sheet1.xml', data: `${HEAD}<worksheet ${X}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>${C.cell}</t></is></c></row></sheetData></worksheet>`, descriptor: true },
    { name: 'xl/comments1.xml', data: `${HEAD}<comments ${X}><authors><author>${S.author}</author><author>tc={${LINK}}</author></authors><commentList><comment ref="A1" authorId="0"><text><t>${C.comment}</t></text></comment></commentList></comments>` },
    { name: 'xl/persons/person.xml', data: `${HEAD}<personList xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"><person displayName="${S.author}" id="{${LINK}}" userId="${S.account}" providerId="AD"/></personList>` },
    { name: 'xl/threadedComments/threadedComment1.xml', data: `${HEAD}<ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"><threadedComment ref="A1" dT="${S.date}4:00.00" personId="{${LINK}}" id="{11111111-2222-4333-8444-555555555555}"><text>${C.comment}</text></threadedComment></ThreadedComments>` },
  ]);
}

/** A PowerPoint deck with legacy and modern comments, their authors, and its editing clients. */
export function makePptx(): Uint8Array {
  const P = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"';
  return testZip([
    { name: '[Content_Types].xml', data: contentTypes([['/ppt/presentation.xml', 'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml']]) },
    { name: '_rels/.rels', data: rootRels('ppt/presentation.xml') },
    ...docProps('Microsoft Office PowerPoint'),
    { name: 'ppt/presentation.xml', data: `${HEAD}<p:presentation ${P}><p:sldIdLst><p:sldId id="256" r:id="rId2"/></p:sldIdLst></p:presentation>` },
    { name: 'ppt/slides/slide1.xml', data: `${HEAD}<p:sld ${P}><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>${C.slide}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>` },
    { name: 'ppt/commentAuthors.xml', data: `${HEAD}<p:cmAuthorLst ${P}><p:cmAuthor id="1" name="${S.author}" initials="KW" lastIdx="1" clrIdx="0"><p:extLst><p:ext uri="{19B8F6BF-5375-455C-9EA6-DF929625EA0E}"><p15:presenceInfo xmlns:p15="http://schemas.microsoft.com/office/powerpoint/2012/main" userId="S::${S.account}::${S.client}" providerId="AD"/></p:ext></p:extLst></p:cmAuthor></p:cmAuthorLst>` },
    { name: 'ppt/comments/comment1.xml', data: `${HEAD}<p:cmLst ${P}><p:cm authorId="1" dt="${S.date}5:00.000" idx="1"><p:pos x="10" y="10"/><p:text>${C.comment}</p:text></p:cm></p:cmLst>` },
    { name: 'ppt/authors.xml', data: `${HEAD}<p188:authorLst xmlns:p188="http://schemas.microsoft.com/office/powerpoint/2018/8/main"><p188:author id="{${LINK}}" name="${S.author}" initials="KW" userId="S::${S.account}::${S.client}" providerId="AD"/></p188:authorLst>` },
    { name: 'ppt/comments/modernComment_100_0.xml', data: `${HEAD}<p188:cmLst xmlns:p188="http://schemas.microsoft.com/office/powerpoint/2018/8/main"><p188:cm id="{22222222-3333-4444-8555-666666666666}" authorId="{${LINK}}" created="${S.date}6:00.000"><p188:txBody><a:p xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:r><a:t>${C.comment}</a:t></a:r></a:p></p188:txBody></p188:cm></p188:cmLst>` },
    { name: 'ppt/revisionInfo.xml', data: `${HEAD}<p15:revInfo xmlns:p15="http://schemas.microsoft.com/office/powerpoint/2015/10/main"><p15:revLst><p15:client id="{${S.client}}" v="2405" dt="${S.date}7:00.000"/></p15:revLst></p15:revInfo>` },
  ]);
}

/**
 * A zip as desktop writers make one: each entry's real time (2024-03-01 09:41:06) in its DOS
 * fields, an extended-timestamp extra field (0x5455) with the Unix time, and, where asked, the
 * sizes in a signed data descriptor after the data instead of in the local header.
 */
export function testZip(entries: TestZipEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const dosTime = (9 << 11) | (41 << 5) | 3;
  const dosDate = ((2024 - 1980) << 9) | (3 << 5) | 1;
  for (const e of entries) {
    const raw = typeof e.data === 'string' ? encoder.encode(e.data) : e.data;
    const method = e.method ?? 8;
    const data = method === 8 ? deflateRawSync(raw) : Buffer.from(raw);
    const crc = crc32(raw);
    const name = Buffer.from(e.name, 'utf8');
    const extra = Buffer.alloc(9);
    extra.writeUInt16LE(0x5455, 0);
    extra.writeUInt16LE(5, 2);
    extra.writeUInt8(1, 4);
    extra.writeUInt32LE(1709286066, 5);
    const flags = e.descriptor ? 0x0008 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    if (!e.descriptor) {
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(data.length, 18);
      local.writeUInt32LE(raw.length, 22);
    }
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const descriptor = Buffer.alloc(e.descriptor ? 16 : 0);
    if (e.descriptor) {
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(data.length, 8);
      descriptor.writeUInt32LE(raw.length, 12);
    }
    locals.push(local, name, extra, data, descriptor);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by: Unix, 3.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt32LE((0o100644 * 0x10000) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name, extra);
    offset += 30 + name.length + extra.length + data.length + descriptor.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, end]));
}
