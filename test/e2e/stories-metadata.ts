/**
 * @module test/e2e/stories-metadata — the source's files, in a real browser (metadata-chromium,
 * metadata-firefox; Firefox with the JIT off as Tor Browser "Safer" runs it): an iPhone photo, a
 * Word file, colour profiles and file names reach the newsroom without what would name the
 * source, each file is told what will happen to it, and a photo that cannot be cleaned is not
 * sent at all. The newsroom's side decrypts with the demo key and searches the bytes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxOf, heifFixture, readHeifItems, relocateHeif } from '../../client/strip/heif.test-helpers.ts';
import { stripHeif } from '../../client/strip/heif.ts';
import { stripJpeg } from '../../client/strip/jpeg.ts';
import { OFFICE_CONTENT, OFFICE_SECRETS, makeDocx } from '../../client/strip/ooxml.test-helpers.ts';
import { stripPng } from '../../client/strip/png.ts';
import {
  ICC_DATE,
  SECRETS,
  ascii,
  containsBytes,
  jpegWithMetadata,
  pngWithIccProfile,
  webpWithIccProfile,
} from '../../client/strip/test-images.ts';
import { stripWebp } from '../../client/strip/webp.ts';
import { readZip } from '../../client/strip/zip.ts';
import { CATALOGUES } from '../../client/i18n/index.ts';
import { browserAvailable, launchBrowser, type BrowserName, type LaunchedBrowser } from './browsers.ts';
import { startSourceServer, type SourceServer } from './harness.ts';
import { SourceNavigator } from './navigator.ts';
import { newsroomOpensTipOf } from './newsroom.ts';

const en = CATALOGUES.en;
const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/** No 16-byte run of `payload` is left in `file`. */
function sharesNoRunWith(file: Uint8Array, payload: Uint8Array): boolean {
  for (let i = 0; i + 16 <= payload.length; i++) if (containsBytes(file, payload.subarray(i, i + 16))) return false;
  return true;
}

export function defineMetadataStories(name: BrowserName): void {
  describe.skipIf(!browserAvailable(name))(`a source's files in ${name}`, () => {
    let server: SourceServer;
    let launched: LaunchedBrowser;
    let dir: string;
    const file = (fileName: string, bytes: Uint8Array) => {
      const path = join(dir, fileName);
      writeFileSync(path, bytes);
      return path;
    };

    beforeAll(async () => {
      [server, launched] = await Promise.all([startSourceServer({ powDifficulty: 8 }), launchBrowser(name)]);
      dir = mkdtempSync(join(tmpdir(), 'sealdrop-e2e-metadata-'));
    });
    afterAll(async () => {
      await launched?.close();
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('sends an iPhone photo (HEIC) with GPS, make and model, and it arrives without them', async () => {
      const dirty = heifFixture('photo.heic');
      const metadata = readHeifItems(dirty).filter((i) => i.type === 'Exif' || i.type === 'mime');
      expect(metadata).toHaveLength(2);
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      const notes = await source.sourceAttachesFiles(file('IMG_0042.HEIC', dirty));
      expect(notes).toEqual([`ok: ${en.file_cleaned}`]);
      await source.sourceWatchesProgress();
      const codename = await source.sourceSubmitsTip({ message: 'the photo of the ledger' });
      await source.sourceConfirmsSheWroteItDown();
      expect(await source.progressShown()).toContain(en.progress_cleaning);

      const { ciphertext, envelope } = await newsroomOpensTipOf(server.database.db, codename);
      expect(containsBytes(ciphertext, ascii(SECRETS.camera))).toBe(false);
      const [photo] = envelope.files;
      expect([photo!.name, photo!.stripped]).toEqual(['file-1.heic', true]);
      for (const s of [SECRETS.camera, SECRETS.author, 'LeakyPhone 9 Pro', '2024:03:01', 'Exif', 'rdf+xml', 'Display SealdropTestCam']) {
        expect(containsBytes(photo!.bytes, ascii(s)), s).toBe(false);
      }
      // The Exif block (its GPS rationals included) and the XMP packet are gone byte for byte.
      for (const item of metadata) expect(sharesNoRunWith(photo!.bytes, item.data), item.type).toBe(true);
      expect(containsBytes(photo!.bytes, ICC_DATE)).toBe(false);
      // What arrived is what the cleaner makes here, so it decodes as heif-convert showed (heif.test.ts).
      expect(Buffer.from(photo!.bytes).equals(Buffer.from(stripHeif(dirty)))).toBe(true);
      expect(source.foreignRequests()).toEqual([]);
      expect(await source.cspViolations()).toEqual([]);
      await source.page.close();
    });

    it("sends a Word file, and its author, company, comment names and dates are gone; its text is not", async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      const notes = await source.sourceAttachesFiles(file('Kim_Chol_report_final.docx', makeDocx()));
      expect(notes).toEqual([`ok: ${en.file_cleaned_document}`]);
      await source.sourceWatchesProgress();
      const codename = await source.sourceSubmitsTip({ message: 'the draft' });
      await source.sourceConfirmsSheWroteItDown();
      expect(await source.progressShown()).toContain(en.progress_cleaning_files);
      expect(await source.progressShown()).not.toContain(en.progress_cleaning);

      const { envelope } = await newsroomOpensTipOf(server.database.db, codename);
      const [docx] = envelope.files;
      expect([docx!.name, docx!.stripped]).toEqual(['file-1.docx', true]);
      expect(containsBytes(docx!.bytes, ascii('Kim_Chol'))).toBe(false);
      // Unzipped by node:zlib: every part, searched for every trace of the author.
      const parts = new Map(readZip(docx!.bytes).map((e) => [e.name, e.method === 8 ? inflateRawSync(e.data) : Buffer.from(e.data)]));
      for (const [part, bytes] of parts) {
        for (const secret of [...Object.values(OFFICE_SECRETS), ...Object.values(SECRETS)]) {
          expect(bytes.includes(Buffer.from(secret)), `${part}: ${secret}`).toBe(false);
        }
      }
      expect(parts.get('docProps/core.xml')!.toString()).toMatch(/<cp:coreProperties [^>]*><\/cp:coreProperties>$/);
      expect(parts.has('docProps/thumbnail.jpeg')).toBe(false);
      const document = parts.get('word/document.xml')!.toString();
      expect(document).toContain(OFFICE_CONTENT.body);
      expect(document).toContain(OFFICE_CONTENT.inserted);
      expect(document).toContain('w:author="Author"');
      expect(parts.get('word/comments.xml')!.toString()).toContain(OFFICE_CONTENT.comment);
      expect(Buffer.from(parts.get('word/media/image1.jpeg')!).equals(Buffer.from(stripJpeg(jpegWithMetadata())))).toBe(true);
      await source.page.close();
    });

    it('warns about every file name, renames by default, sends the name the source typed, and never the original', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/?lang=ko');
      await source.sourceWaitsForThePageToBeReady();
      const ko = CATALOGUES.ko;
      const paths = [
        file('Kim_Chol_passport_scan.jpg', jpegWithMetadata()),
        file('김철_여권_2024-03-01_010-1234-5678.pdf', ascii('%PDF-1.7\n1 0 obj << /Author (Kim Chol) >> endobj\n%%EOF\n')),
        file('Kim_Chol_notes.txt', ascii('The ministry moved the files on Tuesday.\n')),
      ];
      await source.sourceAttachesFiles(...paths);
      expect(await source.sourceReadsFileNotes()).toEqual([
        { note: `ok: ${ko.file_cleaned}`, nameNote: `warn: ${ko.file_name_note}`, sendName: 'file-1.jpg' },
        { note: `warn: ${ko.file_pdf}`, nameNote: `warn: ${ko.file_name_note}`, sendName: 'file-2.pdf' },
        { note: `ok: ${ko.file_text}`, nameNote: `warn: ${ko.file_name_note}`, sendName: 'file-3.txt' },
      ]);
      // Each name box is labelled and described by the warning above it.
      expect(await source.accessibilityProblems(AXE)).toEqual([]);
      await source.sourceRenamesFile(1, 'ledger-scan.pdf');
      await source.sourceWatchesProgress();
      const codename = await source.sourceSubmitsTip({ message: '장부 사진입니다' });
      await source.sourceConfirmsSheWroteItDown();
      expect(await source.progressShown()).toContain(ko.progress_cleaning);

      const { envelope } = await newsroomOpensTipOf(server.database.db, codename);
      expect(envelope.files.map((f) => [f.name, f.stripped])).toEqual([
        ['file-1.jpg', true],
        ['ledger-scan.pdf', false],
        ['file-3.txt', false],
      ]);
      expect(envelope.manifest.files.map((f) => f.name)).toEqual(['file-1.jpg', 'ledger-scan.pdf', 'file-3.txt']);
      const everything = Buffer.concat([Buffer.from(JSON.stringify(envelope.manifest)), ...envelope.files.map((f) => Buffer.from(f.bytes))]);
      for (const original of ['Kim_Chol', '김철', 'passport', '010-1234-5678']) expect(everything.includes(Buffer.from(original)), original).toBe(false);
      await source.page.close();
    });

    it('tells a text file, a PDF, a video and an unknown file what happens to them, and shows no cleaning for them', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      const mp4 = Uint8Array.from([0, 0, 0, 0x18, ...ascii('ftypisom'), 0, 0, 2, 0, ...ascii('isomiso2'), ...new Uint8Array(64)]);
      const notes = await source.sourceAttachesFiles(
        file('memo.txt', ascii('budget: 4.2M\n')),
        file('scan.pdf', ascii('%PDF-1.4\n%%EOF\n')),
        file('clip.mp4', mp4),
        file('ledger.bin', Uint8Array.from([0, 1, 2, 3, 0xfe, 0xed, 0xfa, 0xce])),
      );
      expect(notes).toEqual([`ok: ${en.file_text}`, `warn: ${en.file_pdf}`, `warn: ${en.file_video}`, `warn: ${en.file_warning}`]);
      await source.sourceWatchesProgress();
      const codename = await source.sourceSubmitsTip({ message: 'four files' });
      await source.sourceConfirmsSheWroteItDown();
      const shown = await source.progressShown();
      expect(shown.filter((t) => t === en.progress_cleaning || t === en.progress_cleaning_files)).toEqual([]);
      const { envelope } = await newsroomOpensTipOf(server.database.db, codename);
      expect(envelope.files.map((f) => [f.name, f.stripped])).toEqual([
        ['file-1.txt', false],
        ['file-2.pdf', false],
        ['file-3.mp4', false],
        ['file-4.bin', false],
      ]);
      await source.page.close();
    });

    it('sends a PNG and a WebP with a calibrated screen\'s ICC profile, and they arrive without it, still pictures', async () => {
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      const png = pngWithIccProfile();
      const webp = webpWithIccProfile();
      for (const dirty of [png, webp]) expect(containsBytes(dirty, ICC_DATE)).toBe(true);
      const notes = await source.sourceAttachesFiles(file('Screenshot 2024-03-01 at 09.41.07.png', png), file('display.webp', webp));
      expect(notes).toEqual([`ok: ${en.file_cleaned}`, `ok: ${en.file_cleaned}`]);
      const codename = await source.sourceSubmitsTip({ message: 'two screenshots' });
      await source.sourceConfirmsSheWroteItDown();

      const { envelope } = await newsroomOpensTipOf(server.database.db, codename);
      expect(envelope.files.map((f) => [f.name, f.stripped])).toEqual([
        ['file-1.png', true],
        ['file-2.webp', true],
      ]);
      const [cleanPng, cleanWebp] = envelope.files.map((f) => f.bytes);
      for (const bytes of [cleanPng!, cleanWebp!]) {
        for (const needle of [ICC_DATE, ascii('SDcmLK09'), ascii(SECRETS.camera), ascii(SECRETS.author), ascii('iCCP'), ascii('ICCP')]) {
          expect(containsBytes(bytes, needle)).toBe(false);
        }
      }
      expect(Buffer.from(cleanPng!).equals(Buffer.from(stripPng(png)))).toBe(true);
      expect(Buffer.from(cleanWebp!).equals(Buffer.from(stripWebp(webp)))).toBe(true);
      for (const [type, bytes] of [['image/png', cleanPng!], ['image/webp', cleanWebp!]] as const) {
        const size = await source.page.evaluate(
          async (type, b64) => {
            const img = new Image();
            img.src = `data:${type};base64,${b64}`;
            await img.decode();
            return [img.naturalWidth, img.naturalHeight];
          },
          type,
          Buffer.from(bytes).toString('base64'),
        );
        expect(size, type).toEqual([8, 8]);
      }
      await source.page.close();
    });

    it('refuses to send a HEIC it cannot clean, says how to convert it, and sends nothing', async () => {
      // An image sequence (a moov box beside the still image): its tracks carry metadata of their own.
      const sequence = relocateHeif(heifFixture('photo.heic'), { version: 1, offsetSize: 4, lengthSize: 4, baseOffsetSize: 0, after: [boxOf('moov', new Uint8Array(8))] });
      const source = await SourceNavigator.open(launched.browser, server.origin);
      await source.sourceVisits('/');
      await source.sourceWaitsForThePageToBeReady();
      expect(await source.sourceAttachesFiles(file('IMG_0043.HEIC', sequence))).toEqual([`ok: ${en.file_cleaned}`]);
      const mark = server.requests.length;
      await expect(source.sourceSubmitsTip({ message: 'a live photo' })).rejects.toThrow(en.error_heif.replace('{name}', 'IMG_0043.HEIC'));
      expect(server.requests.slice(mark).filter((r) => r.startsWith('POST /api/v1/uploads') || r.startsWith('PUT '))).toEqual([]);
      expect(await source.page.$eval('[data-testid=submit]', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
      await source.page.close();
    });
  });
}
