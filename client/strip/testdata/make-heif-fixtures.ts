/**
 * @module client/strip/testdata/make-heif-fixtures — how the committed HEIF fixtures were made,
 * with the real tools a phone's file resembles: libheif's heif-enc (x265 and aom encoders) and
 * ExifTool (Debian: libheif-examples, libimage-exiftool-perl). Run from the repository root:
 * `npx tsx client/strip/testdata/make-heif-fixtures.ts`. The tests read the files, not this script.
 *
 * Each picture is 64×48 pixels, made here as a PNG carrying customIccProfile() (so the encoder
 * writes a `colr` ICC profile), then encoded with a 32-pixel thumbnail, then given the EXIF
 * (Make, Model, GPS, date) and XMP (creator) a phone or an editor would add.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { FIXTURE_METADATA } from '../heif.test-helpers.ts';
import { concat, customIccProfile, pngChunk } from '../test-images.ts';

function png(alpha: boolean): Uint8Array {
  const [w, h] = [64, 48];
  const channels = alpha ? 4 : 3;
  const raw = new Uint8Array(h * (1 + w * channels));
  for (let y = 0; y < h; y++) {
    const row = y * (1 + w * channels);
    for (let x = 0; x < w; x++) {
      const at = row + 1 + x * channels;
      raw.set([x * 4, y * 5, (x * y) & 0xff], at);
      if (alpha) raw[at + 3] = x < 32 ? 255 : 128;
    }
  }
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, w);
  new DataView(ihdr.buffer).setUint32(4, h);
  ihdr.set([8, alpha ? 6 : 2, 0, 0, 0], 8);
  const iccp = concat(Uint8Array.from([0x70, 0x31, 0, 0]), deflateSync(customIccProfile()));
  return concat(
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('iCCP', iccp),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', new Uint8Array(0)),
  );
}

const m = FIXTURE_METADATA;
const work = mkdtempSync(join(tmpdir(), 'heif-fixtures-'));
const out = new URL('./', import.meta.url).pathname;
try {
  for (const [name, alpha, extra] of [
    ['photo.heic', false, []],
    ['alpha.heic', true, []],
    ['photo.avif', true, ['-A']],
  ] as const) {
    const source = join(work, `${name}.png`);
    writeFileSync(source, png(alpha));
    const target = join(work, name);
    execFileSync('heif-enc', ['-q', '60', '-t', '32', ...extra, '-o', target, source], { stdio: 'pipe' });
    execFileSync('exiftool', [
      '-q', '-overwrite_original',
      `-Make=${m.make}`, `-Model=${m.model}`,
      `-GPSLatitude=${m.latitude}`, '-GPSLatitudeRef=N', `-GPSLongitude=${m.longitude}`, '-GPSLongitudeRef=E',
      `-DateTimeOriginal=${m.date}`, `-XMP-dc:Creator=${m.creator}`,
      target,
    ]);
    writeFileSync(join(out, name), readFileSync(target));
    console.log(`${name}: ${readFileSync(target).length} bytes`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
