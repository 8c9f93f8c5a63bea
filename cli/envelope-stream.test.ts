import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnvelope, EnvelopeError, paddedLength, parseEnvelope, renderAnswers, serializeManifest } from '../protocol/index.ts';
import { BLOCK, roundUp, writeHeader } from '../protocol/_tar.ts';
import { EnvelopeStreamWriter } from './envelope-stream.ts';

let root: string;
let counter = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealdrop-envstream-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs the streaming writer over `bytes` cut into pieces of `chunk` bytes. */
async function stream(bytes: Uint8Array, chunk: number): Promise<{ ok: true; dir: string; names: string[] } | { ok: false; code: string; message: string }> {
  const dir = join(root, `s${counter++}`);
  await import('node:fs/promises').then((fs) => fs.mkdir(dir));
  const writer = new EnvelopeStreamWriter(dir);
  try {
    for (let o = 0; o < bytes.length; o += chunk) await writer.write(bytes.subarray(o, o + chunk));
    const result = await writer.end();
    return { ok: true, dir, names: result.savedNames };
  } catch (error) {
    await writer.abort();
    if (!(error instanceof EnvelopeError)) throw error;
    return { ok: false, code: error.code, message: error.message };
  }
}

async function whole(bytes: Uint8Array): Promise<{ ok: true } | { ok: false; code: string }> {
  try {
    await parseEnvelope(bytes);
    return { ok: true };
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    return { ok: false, code: error.code };
  }
}

/** A small deterministic PRNG (xorshift32), so a failing case can be replayed. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('EnvelopeStreamWriter', () => {
  let envelope: Uint8Array;
  const fileA = new Uint8Array(1500).map((_, i) => (i * 7) & 0xff);
  beforeAll(async () => {
    envelope = await buildEnvelope({
      language: 'ko',
      message: '안녕하세요 — a tip.\n',
      files: [
        { name: 'scan.pdf', type: 'application/pdf', bytes: fileA, stripped: false },
        { name: 'empty.txt', type: 'text/plain', bytes: new Uint8Array(0), stripped: false },
      ],
    });
  });

  it('writes manifest.json, message.txt and files/ for a canonical envelope, whatever the chunking', async () => {
    for (const chunk of [1, 7, 511, 512, 513, 4096, envelope.length]) {
      const r = await stream(envelope, chunk);
      expect(r.ok, `chunk ${chunk}`).toBe(true);
      if (!r.ok) continue;
      expect(r.names).toEqual(['scan.pdf', 'empty.txt']);
      expect(await readFile(join(r.dir, 'message.txt'), 'utf8')).toBe('안녕하세요 — a tip.\n');
      expect(new Uint8Array(await readFile(join(r.dir, 'files/scan.pdf')))).toEqual(fileA);
      expect((await readFile(join(r.dir, 'files/empty.txt'))).length).toBe(0);
      expect(JSON.parse(await readFile(join(r.dir, 'manifest.json'), 'utf8')).files).toHaveLength(2);
      expect((await readdir(r.dir)).sort()).toEqual(['files', 'manifest.json', 'message.txt']);
    }
  });

  it('agrees with parseEnvelope on every truncation and extension', async () => {
    for (const cut of [0, 1, 511, 512, 1024, 1536, 2047, 2048, envelope.length - 1024, envelope.length - 1]) {
      const bytes = envelope.subarray(0, cut);
      const [s, w] = [await stream(bytes, 333), await whole(bytes)];
      expect(s.ok, `cut at ${cut}`).toBe(false);
      expect(w.ok, `cut at ${cut}`).toBe(false);
    }
    for (const extra of [new Uint8Array(1), new Uint8Array(512), Uint8Array.of(1)]) {
      const bytes = new Uint8Array([...envelope, ...extra]);
      expect((await stream(bytes, 1000)).ok).toBe(false);
      expect((await whole(bytes)).ok).toBe(false);
    }
  });

  it('agrees with parseEnvelope on 400 single-byte corruptions (differential)', async () => {
    const random = prng(0x5ea1d);
    let rejected = 0;
    for (let n = 0; n < 400; n++) {
      const bytes = envelope.slice();
      // Half in the first 4 KiB (headers, manifest, message), half anywhere.
      const at = Math.floor(random() * (n % 2 === 0 ? Math.min(4096, bytes.length) : bytes.length));
      bytes[at] = (bytes[at]! + 1 + Math.floor(random() * 255)) & 0xff;
      const [s, w] = [await stream(bytes, 4096), await whole(bytes)];
      expect(s.ok, `byte ${at}: stream ${JSON.stringify(s)} vs whole ${JSON.stringify(w)}`).toBe(w.ok);
      if (!s.ok) rejected++;
    }
    // Changing file content bytes is legitimately accepted; most corruptions must not be.
    expect(rejected).toBeGreaterThan(100);
  });

  it('refuses, like parseEnvelope, a manifest.json that starts with a UTF-8 byte order mark', async () => {
    const message = new TextEncoder().encode('hi');
    const manifest = new TextEncoder().encode('\uFEFF' + serializeManifest({ version: 1, language: 'en', message: { bytes: message.length }, files: [] }));
    const tarLength = 2 * BLOCK + roundUp(manifest.length) + roundUp(message.length) + 2 * BLOCK;
    const bytes = new Uint8Array(paddedLength(tarLength));
    bytes.set(writeHeader('manifest.json', '', manifest.length), 0);
    bytes.set(manifest, BLOCK);
    const at = BLOCK + roundUp(manifest.length);
    bytes.set(writeHeader('message.txt', '', message.length), at);
    bytes.set(message, at + BLOCK);
    expect(await whole(bytes)).toEqual({ ok: false, code: 'bad_manifest' });
    for (const chunk of [100, 65536]) expect(await stream(bytes, chunk)).toMatchObject({ ok: false, code: 'bad_manifest' });
  });

  it('stops as soon as the data runs past the length the manifest implies', async () => {
    const bomb = new Uint8Array(envelope.length + 10 * 1024 * 1024);
    bomb.set(envelope);
    const dir = join(root, 'bomb');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    const writer = new EnvelopeStreamWriter(dir);
    let thrown: unknown;
    try {
      for (let o = 0; o < bomb.length; o += 65536) await writer.write(bomb.subarray(o, o + 65536));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EnvelopeError);
    expect((thrown as EnvelopeError).code).toBe('bad_padded_length');
    expect(writer.bytesWritten).toBeLessThanOrEqual(envelope.length);
  });
});

describe('EnvelopeStreamWriter with answers', () => {
  const answers = [
    { id: 'where', label: '어디에서?', value: ['프놈펜\n항구'] },
    { id: 'which', label: 'Which?', value: ['A', 'B'] },
    { id: 'how', label: 'How?', value: [] },
  ];
  let envelope: Uint8Array;
  beforeAll(async () => {
    envelope = await buildEnvelope({
      language: 'ko', message: 'tip', answers,
      files: [{ name: 'scan.pdf', type: 'application/pdf', bytes: new Uint8Array(700).fill(3), stripped: false }],
    });
  });

  it('writes answers.txt, the rendering of the manifest\'s answers, beside message.txt', async () => {
    for (const chunk of [1, 100, 512, 4096]) {
      const r = await stream(envelope, chunk);
      expect(r.ok, `chunk ${chunk}`).toBe(true);
      if (!r.ok) continue;
      expect(await readFile(join(r.dir, 'answers.txt'), 'utf8')).toBe(renderAnswers(answers));
      expect(r.names).toEqual(['scan.pdf']);
      expect((await readdir(r.dir)).sort()).toEqual(['answers.txt', 'files', 'manifest.json', 'message.txt']);
    }
  });

  it('agrees with parseEnvelope on 300 single-byte corruptions of the headers, manifest, message and answers (differential)', async () => {
    const random = prng(0xa115);
    let rejected = 0;
    for (let n = 0; n < 300; n++) {
      const bytes = envelope.slice();
      const at = Math.floor(random() * 3072);
      bytes[at] = (bytes[at]! + 1 + Math.floor(random() * 255)) & 0xff;
      const [s, w] = [await stream(bytes, 4096), await whole(bytes)];
      expect(s.ok, `byte ${at}: stream ${JSON.stringify(s)} vs whole ${JSON.stringify(w)}`).toBe(w.ok);
      if (!s.ok && !w.ok) expect(s.code, `byte ${at}`).toBe(w.code);
      if (!s.ok) rejected++;
    }
    expect(rejected).toBeGreaterThan(250);
  });
});

/** protocol/testdata's envelope vectors (format: headers, a blank line, base64 data). */
function envelopeVectors(): { name: string; expect: string; data: Uint8Array }[] {
  const dir = new URL('../protocol/testdata/', import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.startsWith('envelope-') && !f.includes('.'))
    .sort()
    .map((name) => {
      const text = readFileSync(new URL(name, dir), 'utf8');
      const split = text.indexOf('\n\n');
      const headers = Object.fromEntries(text.slice(0, split).split('\n').map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
      expect(headers.encoding).toBe('base64');
      return { name, expect: headers.expect!, data: new Uint8Array(Buffer.from(text.slice(split + 2).replace(/\n/g, ''), 'base64')) };
    });
}

describe('EnvelopeStreamWriter on protocol/testdata', () => {
  const vectors = envelopeVectors();
  it('has the envelope vectors', () => {
    expect(vectors.length).toBeGreaterThan(30);
  });
  it.each(vectors.map((v) => [v.name, v] as const))('%s', async (_name, vector) => {
    for (const chunk of [509, 65536]) {
      const r = await stream(vector.data, chunk);
      expect(r.ok ? 'success' : `envelope failure: ${r.code}`).toBe(vector.expect);
    }
  });
});
