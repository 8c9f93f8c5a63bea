import { unpackTar } from 'modern-tar';
import { describe, expect, it } from 'vitest';
import { buildEnvelope, checkEntryHeader, envelopeLength, isLanguageTag, parseEnvelope, parseManifest, serializeManifest } from './envelope.ts';
import { BLOCK } from './_tar.ts';
import { utf8Encode } from './encoding.ts';
import { EnvelopeError } from './errors.ts';
import { MAX_FILES, MAX_MESSAGE_BYTES } from './limits.ts';
import { paddedLength } from './padme.ts';

const photo = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251);
const input = {
  language: 'ko',
  message: '제보합니다.\nЭто важно. 😀',
  files: [
    { name: 'photo.JPG', type: 'image/jpeg', bytes: photo, stripped: true },
    { name: '../문서.pdf', type: 'application/pdf', bytes: utf8Encode('%PDF-1.7'), stripped: false },
    { name: 'empty', type: '', bytes: new Uint8Array(0), stripped: false },
  ],
};

async function rejects(bytes: Uint8Array): Promise<string> {
  try {
    await parseEnvelope(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(EnvelopeError);
    return (e as EnvelopeError).code;
  }
  throw new Error('expected parseEnvelope to throw');
}

describe('envelope', () => {
  it('round-trips message, files and manifest', async () => {
    const bytes = await buildEnvelope(input);
    const env = await parseEnvelope(bytes);
    expect(env.message).toBe(input.message);
    expect(env.files.map((f) => [f.name, f.type, f.size, f.stripped])).toEqual([
      ['photo.JPG', 'image/jpeg', 70_000, true],
      ['문서.pdf', 'application/pdf', 8, false],
      ['empty', 'application/octet-stream', 0, false],
    ]);
    expect(env.files[0]!.bytes).toEqual(photo);
    expect(env.manifest).toEqual({
      version: 1,
      language: 'ko',
      message: { bytes: utf8Encode(input.message).length },
      files: env.files.map((f) => ({ name: f.name, path: `files/${f.name}`, type: f.type, size: f.size, stripped: f.stripped })),
    });
  });

  it('is padded to the PADMÉ length of the archive, deterministically', async () => {
    const bytes = await buildEnvelope(input);
    const manifestLength = utf8Encode(serializeManifest((await parseEnvelope(bytes)).manifest)).length;
    const block = (n: number) => 512 + Math.ceil(n / 512) * 512;
    const tar = block(manifestLength) + block(utf8Encode(input.message).length) + block(70_000) + block(8) + block(0) + 1024;
    expect(bytes.length).toBe(paddedLength(tar));
    expect(await buildEnvelope(input)).toEqual(bytes);
    expect((await buildEnvelope({ language: 'en', message: '', files: [] })).length).toBe(4096);
  });

  it('is read the same by an independent tar reader (modern-tar, strict)', async () => {
    const entries = await unpackTar(await buildEnvelope(input), { strict: true });
    expect(entries.map((e) => [e.header.name, e.header.size, e.header.mode, e.header.uid, e.header.uname ?? ''])).toEqual([
      ['manifest.json', expect.any(Number), 0o644, 0, ''],
      ['message.txt', utf8Encode(input.message).length, 0o644, 0, ''],
      ['files/photo.JPG', 70_000, 0o644, 0, ''],
      ['files/문서.pdf', 8, 0o644, 0, ''],
      ['files/empty', 0, 0o644, 0, ''],
    ]);
    expect(entries.every((e) => e.header.mtime?.getTime() === 0)).toBe(true);
    expect(entries[2]!.data).toEqual(photo);
  });

  it('rejects any changed byte outside the contents (message, files, manifest values)', async () => {
    const bytes = await buildEnvelope({ language: 'en', message: 'hi', files: [{ name: 'a.txt', type: 'text/plain', bytes: utf8Encode('abc'), stripped: false }] });
    const manifest = new TextDecoder().decode(bytes.subarray(512, 1024)).replace(/\0+$/, '');
    // Bytes whose change can still give a valid envelope: language and type letters, "hi", "abc".
    const free = new Set<number>([512 * 3, 512 * 3 + 1, 512 * 5, 512 * 5 + 1, 512 * 5 + 2]);
    for (const word of ['"en"', '"text/plain"']) {
      const at = manifest.indexOf(word);
      for (let i = 1; i < word.length - 1; i++) free.add(512 + at + i);
    }
    let refused = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (free.has(i)) continue;
      const copy = bytes.slice();
      copy[i]! ^= 0x01;
      await rejects(copy);
      refused++;
    }
    expect(refused).toBe(bytes.length - free.size);
  });

  it('refuses what it cannot build', async () => {
    await expect(buildEnvelope({ ...input, language: 'Korean' })).rejects.toThrow(EnvelopeError);
    await expect(buildEnvelope({ ...input, message: 'x'.repeat(MAX_MESSAGE_BYTES + 1) })).rejects.toThrow(/at most/);
    const many = Array.from({ length: MAX_FILES + 1 }, (_, i) => ({ name: `${i}`, type: '', bytes: new Uint8Array(1), stripped: false }));
    await expect(buildEnvelope({ ...input, files: many })).rejects.toThrow(EnvelopeError);
    await expect(buildEnvelope({ ...input, message: 'a\ud800' })).rejects.toThrow();
    for (const bad of ['D59550C5A4895EA55787F850CA968B8EC7FC9799', 'ca968b8ec7fc9799', '', 'd59550c5a4895ea55787f850ca968b8ec7fc979g']) {
      await expect(buildEnvelope({ ...input, sourceKeyFingerprint: bad })).rejects.toMatchObject({ code: 'bad_fingerprint' });
    }
  });

  it('names the source key last in the manifest when given, and parses back to it', async () => {
    const fingerprint = 'd59550c5a4895ea55787f850ca968b8ec7fc9799';
    const env = await parseEnvelope(await buildEnvelope({ ...input, sourceKeyFingerprint: fingerprint }));
    expect(env.manifest.sourceKeyFingerprint).toBe(fingerprint);
    expect(serializeManifest(env.manifest).endsWith(`],"sourceKeyFingerprint":"${fingerprint}"}`)).toBe(true);
    expect((await parseEnvelope(await buildEnvelope(input))).manifest).not.toHaveProperty('sourceKeyFingerprint');
  });

  it('refuses extra bytes, a missing byte, and non-zero padding', async () => {
    const bytes = await buildEnvelope(input);
    expect(await rejects(bytes.subarray(0, bytes.length - 1))).toBe('bad_padded_length');
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(await rejects(longer)).toBe('bad_padded_length');
    const dirty = bytes.slice();
    dirty[dirty.length - 1] = 1;
    expect(await rejects(dirty)).toBe('non_zero_padding');
  });
});

describe('parseEnvelope on hostile input', () => {
  it('answers or throws EnvelopeError, never anything else', async () => {
    const ok = await buildEnvelope(input);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 2000; round++) {
      const copy = round % 2 ? ok.slice() : ok.slice(0, Math.floor(random() * ok.length));
      for (let k = 0; k < 1 + Math.floor(random() * 6); k++) copy[Math.floor(random() * 2048) % Math.max(1, copy.length)] = Math.floor(random() * 256);
      try {
        await parseEnvelope(copy);
      } catch (e) {
        if (!(e instanceof EnvelopeError)) throw new Error(`round ${round}: ${String(e)}`);
      }
    }
  });
});

describe('the envelope pieces a streaming parser uses', () => {
  it('isLanguageTag accepts BCP 47 tags of the manifest\'s shape only', () => {
    for (const tag of ['ko', 'zh-Hans', 'km', 'en-GB', 'ru']) expect(isLanguageTag(tag)).toBe(true);
    for (const tag of ['Korean', 'KO', 'k', '', 'ko-', 'ko_KR', `en${'-abcdefgh'.repeat(4)}`, 7, undefined]) expect(isLanguageTag(tag)).toBe(false);
  });
  it('parseManifest reads the manifest buildEnvelope wrote, and envelopeLength is the padded length', async () => {
    const bytes = await buildEnvelope(input);
    const env = await parseEnvelope(bytes);
    const text = utf8Encode(serializeManifest(env.manifest));
    expect(parseManifest(text)).toEqual(env.manifest);
    expect(envelopeLength(env.manifest, text.length)).toBe(bytes.length);
  });
  it('parseManifest refuses what parseEnvelope refuses in a manifest', () => {
    const good = { version: 1, language: 'ko', message: { bytes: 3 }, files: [{ name: 'a.txt', path: 'files/a.txt', type: 'text/plain', size: 1, stripped: false }] };
    const code = (m: unknown, text = serializeManifest(m as never)) => {
      try {
        parseManifest(utf8Encode(text));
      } catch (e) {
        expect(e).toBeInstanceOf(EnvelopeError);
        return (e as EnvelopeError).code;
      }
      return 'accepted';
    };
    expect(code(good)).toBe('accepted');
    expect(code(good, '\uFEFF' + serializeManifest(good))).toBe('bad_manifest');
    expect(code(good, serializeManifest(good).replace(',', ', '))).toBe('non_canonical_manifest');
    expect(code({ ...good, version: 2 })).toBe('unsupported_version');
    expect(code({ ...good, language: 'Korean' })).toBe('bad_manifest');
    expect(code({ ...good, files: [{ ...good.files[0]!, name: '../a.txt', path: 'files/../a.txt' }] })).toBe('unsafe_name');
    expect(code({ ...good, files: [{ ...good.files[0]!, path: 'files/b.txt' }] })).toBe('manifest_mismatch');
    expect(code({ ...good, files: [good.files[0]!, { ...good.files[0]!, name: 'A.TXT', path: 'files/A.TXT' }] })).toBe('duplicate_name');
  });
  it('checkEntryHeader reads each header of a canonical envelope and its end marker', async () => {
    const bytes = await buildEnvelope({ language: 'en', message: 'hi', files: [] });
    const manifestSize = checkEntryHeader(bytes.subarray(0, BLOCK), 0, undefined, 0, bytes.length)!.size;
    const manifest = parseManifest(bytes.subarray(BLOCK, BLOCK + manifestSize));
    const at = BLOCK + Math.ceil(manifestSize / BLOCK) * BLOCK;
    expect(checkEntryHeader(bytes.subarray(at, at + BLOCK), 1, manifest, at, bytes.length)).toEqual({ path: 'message.txt', size: 2 });
    expect(checkEntryHeader(new Uint8Array(BLOCK), 2, manifest, at + 2 * BLOCK, bytes.length)).toBeUndefined();
    expect(() => checkEntryHeader(new Uint8Array(BLOCK), 1, manifest, at, bytes.length)).toThrow(EnvelopeError);
    expect(() => checkEntryHeader(bytes.subarray(at, at + BLOCK), 0, undefined, at, bytes.length)).toThrow(/expected entry 0 to be "manifest.json"/);
  });
});
