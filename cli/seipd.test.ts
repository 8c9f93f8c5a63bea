/**
 * The fast path of decrypt (cli/seipd.ts): on its own, it decrypts what OpenPGP.js, the pages and
 * gpg make byte for byte as openpgp.decrypt does, and declines every other shape and every tamper;
 * through decryptSubmission, every case it declines ends exactly as it does with the fast path
 * switched off (the outcome, error text and hint equal), with nothing left in the output folder.
 */

import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildEnvelope } from '../protocol/index.ts';
import type { Identity } from './identities.ts';
import { FastPathDeclined, HEAD_BYTES, LiteralParser, openSeipdReader, parseOuterLayout, warmSeipdReader } from './seipd.ts';
import { decryptSubmission } from './submission.ts';
import type { SourcePublicKey } from './source-key.ts';

/** Sources of the workers started, and how the next one's source is changed. */
const workers = vi.hoisted(() => ({ started: [] as string[], transform: (source: string) => source }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(source: string, options?: import('node:worker_threads').WorkerOptions) {
      workers.started.push(source);
      super(workers.transform(source), options);
    }
  }
  return { ...real, Worker, default: { ...real, Worker } };
});
const isFastWorker = (source: string): boolean => source.includes("createHash('sha1')");
/** The fast path switched off: its worker exits at once (the path then declines). */
const FAST_OFF = (source: string): string => (isFastWorker(source) ? 'process.exit(3);' : source);

const ROOT = resolve(import.meta.dirname, '..');
let dir: string;
let demoPublic: openpgp.PublicKey;
let demoSecret: openpgp.PrivateKey;
let identity: Identity;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealdrop-seipd-'));
  demoPublic = await openpgp.readKey({ armoredKey: await readFile(join(ROOT, 'keys.example/newsroom.pub.asc'), 'utf8') }) as openpgp.PublicKey;
  const locked = await openpgp.readPrivateKey({ armoredKey: await readFile(join(ROOT, 'keys.example/newsroom.sec.asc'), 'utf8') });
  demoSecret = await openpgp.decryptKey({ privateKey: locked, passphrase: 'demo-never-use' });
  identity = toIdentity(demoSecret, 'newsroom.sec.asc');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  workers.started = [];
  workers.transform = (source) => source;
});

function toIdentity(key: openpgp.PrivateKey, path: string): Identity {
  return { path, fingerprint: key.getFingerprint(), keyIds: new Set(key.getKeyIDs().map((id) => id.toHex())), key };
}

let counter = 0;
async function writeTemp(bytes: Uint8Array): Promise<string> {
  const path = join(dir, `m${counter++}.pgp`);
  await writeFile(path, bytes);
  return path;
}

function randomData(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

/** What openpgp.decrypt gives (the literal data), as decrypt's usual path calls it. */
async function today(bytes: Uint8Array, key = demoSecret): Promise<Uint8Array> {
  const message = await openpgp.readMessage({ binaryMessage: bytes });
  const { data } = await openpgp.decrypt({ message, decryptionKeys: key, format: 'binary', config: { allowUnauthenticatedStream: true } });
  return data as Uint8Array;
}

/** The fast path alone over the file: its literal data; throws FastPathDeclined. Small chunks cross every boundary. */
async function fast(bytes: Uint8Array, chunkSize = 4096, key = demoSecret): Promise<Uint8Array> {
  const path = await writeTemp(bytes);
  const handle = await open(path, 'r');
  try {
    const { pkesks, seipdAt } = parseOuterLayout(bytes.subarray(0, HEAD_BYTES));
    const [sessionKey] = await openpgp.decryptSessionKeys({ message: await openpgp.readMessage({ binaryMessage: pkesks }), decryptionKeys: key });
    const reader = openSeipdReader(handle.fd, { chunkSize, readAhead: 2, seipdAt, pkesks, algorithm: sessionKey!.algorithm!, key: sessionKey!.data, size: bytes.length });
    try {
      const literal = new LiteralParser();
      const parts: Uint8Array[] = [];
      for (;;) {
        const next = await reader.next();
        if (next.done) break;
        for (const part of literal.push(next.plaintext)) parts.push(part.slice());
      }
      literal.end();
      const digest = await reader.digest();
      expect(digest).toEqual({ bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
      return Buffer.concat(parts);
    } finally {
      await reader.close();
    }
  } finally {
    await handle.close();
  }
}

// --- messages made by hand: every field under the test's control ---

const KEY_BYTES = { aes128: 16, aes256: 32 } as const;

/** A new-format header for `tag`: one definite length, or partial parts of 2^`partial` bytes. */
function packet(tag: number, body: Uint8Array, partial?: number): Uint8Array {
  if (partial === undefined) {
    const header = Buffer.from([0xc0 | tag, 0xff, 0, 0, 0, 0]);
    header.writeUInt32BE(body.length, 2);
    return Buffer.concat([header, body]);
  }
  const size = 2 ** partial;
  const parts: Uint8Array[] = [Buffer.from([0xc0 | tag])];
  let at = 0;
  while (body.length - at > size) {
    parts.push(Buffer.from([0xe0 | partial]), body.subarray(at, at + size));
    at += size;
  }
  const rest = body.length - at;
  parts.push(rest < 192 ? Buffer.from([rest]) : Buffer.from([0xff, rest >>> 24, (rest >>> 16) & 255, (rest >>> 8) & 255, rest & 255]), body.subarray(at));
  return Buffer.concat(parts);
}

/** A literal packet of format 'b', unnamed, dated 0; `old`: an old-format header with a 4-byte length. */
function literalPacket(data: Uint8Array, options: { partial?: number; old?: boolean; format?: number } = {}): Uint8Array {
  const body = Buffer.concat([Buffer.from([options.format ?? 0x62, 0, 0, 0, 0, 0]), data]);
  if (options.old) {
    const header = Buffer.from([0x80 | (11 << 2) | 2, 0, 0, 0, 0]);
    header.writeUInt32BE(body.length, 1);
    return Buffer.concat([header, body]);
  }
  return packet(11, body, options.partial);
}

interface HandMade {
  algorithm?: keyof typeof KEY_BYTES;
  /** SEIPD parts of 2^n bytes */
  partial?: number;
  mdc?: 'ok' | 'missing';
}

/** PKESK (by OpenPGP.js) + SEIPD v1 over `inner`, with the prefix and MDC as RFC 4880 § 5.13 makes them. */
async function handMade(inner: Uint8Array, options: HandMade = {}): Promise<Uint8Array> {
  const algorithm = options.algorithm ?? 'aes256';
  const sessionKey = randomBytes(KEY_BYTES[algorithm]);
  const pkesk = (await openpgp.encryptSessionKey({ data: sessionKey, algorithm, encryptionKeys: demoPublic, format: 'binary' })) as Uint8Array;
  const random = randomBytes(16);
  const prefix = Buffer.concat([random, random.subarray(14)]);
  const mdcHead = Buffer.from([0xd3, 0x14]);
  const hashed = Buffer.concat([prefix, inner, mdcHead]);
  const plain = options.mdc === 'missing' ? Buffer.concat([prefix, inner]) : Buffer.concat([hashed, createHash('sha1').update(hashed).digest()]);
  const cipher = createCipheriv(`${algorithm.replace('aes', 'aes-')}-cfb`, sessionKey, Buffer.alloc(16));
  const body = Buffer.concat([Buffer.from([1]), cipher.update(plain), cipher.final()]);
  return Buffer.concat([pkesk, packet(18, body, options.partial)]);
}

async function envelope(fileBytes: number): Promise<Uint8Array> {
  return buildEnvelope({ language: 'en', message: 'the ledger\n', files: [{ name: 'ledger.bin', type: 'application/octet-stream', bytes: randomData(fileBytes), stripped: false }] });
}

describe('the fast path on its own', () => {
  it('decrypts OpenPGP.js messages (definite and partial lengths) as openpgp.decrypt does', async () => {
    for (const size of [0, 1, 15, 16, 17, 4095, 100_000, 300_001]) {
      const data = randomData(size);
      const whole = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: data }), encryptionKeys: demoPublic, format: 'binary' })) as Uint8Array;
      const streamedInput = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < size; i += 10_000) controller.enqueue(data.slice(i, i + 10_000));
          controller.close();
        },
      });
      const streamed = new Uint8Array(await new Response(
        (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: streamedInput }), encryptionKeys: demoPublic, format: 'binary' })) as unknown as ReadableStream<Uint8Array>,
      ).arrayBuffer());
      for (const message of [whole, streamed]) {
        const got = await fast(message);
        expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
        expect(Buffer.from(got).equals(Buffer.from(await today(message)))).toBe(true);
      }
    }
  });

  it('decrypts hand-made messages: partial SEIPD and literal parts, an old-format literal, AES-128, chunks of any size', async () => {
    const data = randomData(70_000);
    const cases: [Uint8Array, HandMade][] = [
      [literalPacket(data), {}],
      [literalPacket(data, { partial: 9 }), { partial: 9 }],
      [literalPacket(data, { partial: 13 }), { partial: 10, algorithm: 'aes128' }],
      [literalPacket(data, { old: true }), { partial: 12 }],
    ];
    for (const [inner, options] of cases) {
      const message = await handMade(inner, options);
      for (const chunk of [1000, 4096, 65536]) {
        const got = await fast(message, chunk);
        expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
      }
      expect(Buffer.from(await today(message)).equals(Buffer.from(data))).toBe(true);
    }
  });

  it.skipIf(spawnSync('gpg', ['--version']).status !== 0 && process.env.CI !== 'true')('decrypts gpg-made messages (from a file and from a pipe) as openpgp.decrypt does', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sealdrop-seipd-gpg-'));
    try {
      const data = randomData(200_000);
      const input = join(home, 'input.bin');
      await writeFile(input, data);
      const gpg = ['--homedir', home, '--batch', '--no-tty', '--trust-model', 'always', '--compress-algo', 'none', '--recipient-file', join(ROOT, 'keys.example/newsroom.pub.asc'), '--encrypt'];
      const fromFile = spawnSync('gpg', [...gpg, '--output', '-', input], { env: { PATH: process.env.PATH ?? '', GNUPGHOME: home }, maxBuffer: 1 << 24 });
      const fromPipe = spawnSync('gpg', gpg, { input: data, env: { PATH: process.env.PATH ?? '', GNUPGHOME: home }, maxBuffer: 1 << 24 });
      for (const made of [fromFile, fromPipe]) {
        expect(made.status, made.stderr.toString()).toBe(0);
        const message = new Uint8Array(made.stdout);
        const got = await fast(message);
        expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
        expect(Buffer.from(got).equals(Buffer.from(await today(message)))).toBe(true);
      }
    } finally {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
      await rm(home, { recursive: true, force: true });
    }
  });

  it('takes the worker warmSeipdReader started, and starts its own for the next file', async () => {
    const data = randomData(10_000);
    const message = await handMade(literalPacket(data));
    warmSeipdReader();
    warmSeipdReader(); // one spare, not two
    expect(workers.started.length).toBe(1);
    expect(Buffer.from(await fast(message)).equals(Buffer.from(data))).toBe(true);
    expect(workers.started.length).toBe(1);
    expect(Buffer.from(await fast(message)).equals(Buffer.from(data))).toBe(true);
    expect(workers.started.length).toBe(2);
  });

  it('declines every tamper and every other shape', async () => {
    const data = randomData(20_000);
    const good = await handMade(literalPacket(data));
    const flip = (bytes: Uint8Array, at: number): Uint8Array => {
      const out = Uint8Array.from(bytes);
      out[at < 0 ? out.length + at : at]! ^= 1;
      return out;
    };
    const seipdAt = parseOuterLayout(good).seipdAt;
    const compressed = (await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: data }), encryptionKeys: demoPublic, format: 'binary', config: { preferredCompressionAlgorithm: openpgp.enums.compression.zip },
    })) as Uint8Array;
    const declined: [string, Uint8Array][] = [
      ['a flipped bit in the body', flip(good, 5000)],
      ['a flipped bit in the MDC', flip(good, -1)],
      ['a flipped bit in the MDC packet header', flip(good, -22)],
      // SEIPD tag, 4-byte length, version: then the ciphertext of the prefix; byte 16 is the first of the quick check
      ['a flipped bit in the quick check', flip(good, seipdAt + 6 + 1 + 16)],
      ['truncated by 1 byte', good.subarray(0, good.length - 1)],
      ['truncated by 22 bytes', good.subarray(0, good.length - 22)],
      ['truncated by 23 bytes', good.subarray(0, good.length - 23)],
      ['a byte appended', Buffer.concat([good, Buffer.from([0])])],
      ['no MDC', await handMade(literalPacket(data), { mdc: 'missing' })],
      ['a second literal packet', await handMade(Buffer.concat([literalPacket(data), literalPacket(data)]))],
      ['a marker packet after the literal', await handMade(Buffer.concat([literalPacket(data), packet(10, Buffer.from('PGP'))]))],
      ['a literal packet cut off', await handMade(literalPacket(data).subarray(0, 10_000))],
      ['a text literal', await handMade(literalPacket(data, { format: 0x75 }))],
      ['a first partial part under 512 bytes (SEIPD)', await handMade(literalPacket(data), { partial: 8 })],
      ['a first partial part under 512 bytes (literal)', await handMade(literalPacket(data, { partial: 8 }))],
      ['a later partial part under 512 bytes (SEIPD)', await (async () => {
        const message = await handMade(literalPacket(data), { partial: 9 });
        const at = parseOuterLayout(message).seipdAt + 1 + 1 + 512; // after the tag, the first part's length octet and 512 bytes
        expect(message[at]).toBe(0xe9);
        // the rest of the packet is parts of 2^9 bytes and a final one: cut the second 512 into 2^8 + 2^8
        return Buffer.concat([message.subarray(0, at), Buffer.from([0xe8]), message.subarray(at + 1, at + 1 + 256), Buffer.from([0xe8]), message.subarray(at + 1 + 256)]);
      })()],
      ['a compressed packet inside', compressed],
    ];
    for (const [name, message] of declined) {
      await expect(fast(message), name).rejects.toBeInstanceOf(FastPathDeclined);
    }
  });

  it('declines at the layout what is not PKESK v3 + SEIPD v1', async () => {
    const v6 = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'v6' }], format: 'object', config: { v6Keys: true, aeadProtect: true } });
    const aead = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: new Uint8Array(10) }), encryptionKeys: v6.publicKey, format: 'binary' })) as Uint8Array;
    const symmetric = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: new Uint8Array(10) }), passwords: 'x', format: 'binary' })) as Uint8Array;
    for (const message of [aead, symmetric, new Uint8Array(0), Buffer.from('-----BEGIN PGP MESSAGE-----')]) {
      expect(() => parseOuterLayout(message)).toThrow(FastPathDeclined);
    }
  });
});

describe('decryptSubmission with the fast path', () => {
  const FILE_BYTES = 1_500_000; // two of decrypt's 1 MiB chunks

  async function run(ciphertext: Uint8Array, options: { identities?: Identity[]; sourceKeys?: SourcePublicKey[]; fastOff?: boolean } = {}) {
    const root = await mkdtemp(join(dir, 'run-'));
    const id = 'b7e4f0c2-5d1a-4e8b-9c3f-2a6d8e0f1b4c'; // one id for both paths, whose outcomes are compared
    await mkdir(join(root, 'bundle/submissions'), { recursive: true });
    await writeFile(join(root, 'bundle/submissions', `${id}.pgp`), ciphertext);
    const submission = {
      id, handle: 'quiet-otter', day: '2026-11-27', size: ciphertext.length,
      sha256: createHash('sha256').update(ciphertext).digest('hex'), path: `submissions/${id}.pgp`,
    };
    const outDir = join(root, 'out');
    await mkdir(outDir);
    workers.started = [];
    workers.transform = options.fastOff ? FAST_OFF : (source) => source;
    const outcome = await decryptSubmission({
      submission, bundleDir: join(root, 'bundle'), outDir, identities: options.identities ?? [identity], sourceKeys: options.sourceKeys ?? [],
    });
    const started = workers.started.map((source) => (isFastWorker(source) ? 'fast' : 'usual'));
    const left = await readdir(outDir);
    const files = outcome.status === 'ok' ? await readFile(join(outcome.path, 'files', outcome.savedNames[0]!)) : undefined;
    return { outcome: { ...outcome, path: undefined }, started, left, files };
  }

  it('takes the fast path for a page-made unsigned tip, and writes what the usual path writes', async () => {
    const plain = await envelope(FILE_BYTES);
    const ciphertext = (await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: plain, format: 'binary', date: new Date(0) }), encryptionKeys: demoPublic, format: 'binary',
      config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
    })) as Uint8Array;
    const quick = await run(ciphertext);
    expect(quick.outcome.status).toBe('ok');
    expect(quick.started).toEqual(['fast']);
    expect(quick.left).toEqual(['quiet-otter']);
    const usual = await run(ciphertext, { fastOff: true });
    expect(usual.started).toEqual(['fast', 'usual']);
    expect(quick.outcome).toEqual(usual.outcome);
    expect(quick.files!.equals(usual.files!)).toBe(true);
    expect(quick.files!.length).toBe(FILE_BYTES);
  });

  it('falls back for a signed tip, a SEIPD v2 one and a compressed one, which then decrypt as before', async () => {
    const sourceKey = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'source' }], format: 'object' });
    const signed = (await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: await envelope(10_000), format: 'binary' }), encryptionKeys: demoPublic, signingKeys: sourceKey.privateKey, format: 'binary',
      config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
    })) as Uint8Array;
    const sourceKeys: SourcePublicKey[] = [{ handle: 'quiet-otter', key: sourceKey.publicKey, fingerprint: sourceKey.publicKey.getFingerprint(), armored: sourceKey.publicKey.armor() } as SourcePublicKey];
    const s = await run(signed, { sourceKeys });
    expect(s.outcome.status).toBe('ok');
    expect(s.started).toEqual(['fast', 'usual']);
    expect((s.outcome as { signature: { status: string } }).signature.status).toBe('signed');

    const v6 = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'v6' }], format: 'object', config: { v6Keys: true, aeadProtect: true } });
    const aead = (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: await envelope(10_000), format: 'binary' }), encryptionKeys: v6.publicKey, format: 'binary' })) as Uint8Array;
    const a = await run(aead, { identities: [toIdentity(v6.privateKey, 'v6.sec.asc')] });
    expect(a.outcome.status).toBe('ok');
    expect(a.started).toEqual(['usual']); // declined at the layout, before any worker

    // compressed: decrypted (and bounded) by the usual path as before
    const compressed = (await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: await envelope(10_000), format: 'binary' }), encryptionKeys: demoPublic, format: 'binary',
      config: { preferredCompressionAlgorithm: openpgp.enums.compression.zip },
    })) as Uint8Array;
    const c = await run(compressed);
    const cOff = await run(compressed, { fastOff: true });
    expect(c.outcome.status).toBe('ok');
    expect(c.started).toEqual(['fast', 'usual']);
    expect(c.outcome).toEqual(cOff.outcome);
  });

  it('ends every declined case exactly as the usual path does, keeping nothing', async () => {
    const plain = await envelope(FILE_BYTES);
    const good = await handMade(literalPacket(plain, { partial: 16 }), { partial: 16 });
    const flip = (at: number): Uint8Array => {
      const out = Uint8Array.from(good);
      out[at < 0 ? out.length + at : at]! ^= 1;
      return out;
    };
    const seipdAt = parseOuterLayout(good).seipdAt;
    const other = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'other' }], format: 'object' });
    const cases: [string, Uint8Array, Identity[]?][] = [
      ['a flipped bit in the body', flip(1_200_000)],
      ['a flipped bit in the MDC', flip(-1)],
      ['a flipped bit in the quick check', flip(seipdAt + 2 + 1 + 16)],
      ['truncated by 1 byte', good.subarray(0, good.length - 1)],
      ['truncated by 22 bytes', good.subarray(0, good.length - 22)],
      ['truncated by 23 bytes', good.subarray(0, good.length - 23)],
      ['a byte appended', Buffer.concat([good, Buffer.from([0])])],
      ['no MDC', await handMade(literalPacket(plain), { mdc: 'missing' })],
      ['a second literal packet', await handMade(Buffer.concat([literalPacket(plain), literalPacket(plain)]))],
      ['a bad envelope', await handMade(literalPacket(randomData(5000)))],
      ['the wrong key', await handMade(literalPacket(plain)), [toIdentity(other.privateKey, 'other.sec.asc')]],
    ];
    for (const [name, ciphertext, identities] of cases) {
      const quick = await run(ciphertext, identities ? { identities } : {});
      const usual = await run(ciphertext, { ...(identities ? { identities } : {}), fastOff: true });
      expect(quick.outcome.status, name).toBe('failed');
      expect(quick.outcome, name).toEqual(usual.outcome);
      expect(quick.left, name).toEqual([]);
      expect(usual.left, name).toEqual([]);
    }
  });
});
