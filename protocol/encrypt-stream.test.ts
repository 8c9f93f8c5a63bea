import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { decrypt, decryptKey, generateKey, readMessage, readPrivateKey, type PrivateKey, type PublicKey } from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEnvelope, envelopeStream, parseEnvelope, planEnvelope } from './envelope.ts';
import { ENVELOPE_PIECE_BYTES, encryptStreamToKeys, literalPacketLength, type EncryptedStream } from './encrypt-stream.ts';
import { EnvelopeError } from './errors.ts';
import { inspectMessage, readNewsroomPublicKey } from './openpgp-checks.ts';
import { encryptToKeys } from './source-keys.ts';

const demoPublic = readFileSync(new URL('../keys.example/newsroom.pub.asc', import.meta.url), 'utf8');
const demoSecret = readFileSync(new URL('../keys.example/newsroom.sec.asc', import.meta.url), 'utf8');
const demoPassphrase = 'demo-never-use'; // keys.example/README.md

let newsroom: PublicKey;
let newsroomIds: string[];
let newsroomSecret: PrivateKey;
let v6: { publicKey: PublicKey; privateKey: PrivateKey };
beforeAll(async () => {
  ({ key: newsroom, encryptionKeyIds: newsroomIds } = await readNewsroomPublicKey(demoPublic));
  newsroomSecret = await decryptKey({ privateKey: await readPrivateKey({ armoredKey: demoSecret }), passphrase: demoPassphrase });
  const pair = await generateKey({ type: 'curve25519', userIDs: [{ name: 'v6 newsroom' }], format: 'object', config: { v6Keys: true } });
  v6 = { publicKey: pair.publicKey, privateKey: pair.privateKey };
});

async function readAll(stream: EncryptedStream): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let part = await stream.read(); part; part = await stream.read()) parts.push(part.slice());
  return Buffer.concat(parts);
}

const pattern = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 7919 + seed) % 251);

/** The envelope of one file of `size` bytes, planned, streamed and built whole. */
async function envelopeOf(size: number, pieces = 100_003) {
  const file = pattern(size);
  const input = { language: 'en', message: 'streamed', files: [{ name: 'big.bin', type: 'application/octet-stream', bytes: file, stripped: false }] };
  const plan = planEnvelope({ ...input, files: [{ ...input.files[0]!, size }] });
  // the file comes in pieces of another size than the envelope's: the envelope re-cuts them
  const parts = function* () {
    for (let o = 0; o < size; o += pieces) yield file.subarray(o, o + pieces);
  };
  return { plan, stream: envelopeStream(plan, () => parts(), ENVELOPE_PIECE_BYTES), whole: await buildEnvelope(input) };
}

describe('envelopeStream', () => {
  it('gives the very bytes buildEnvelope builds, in pieces of exactly ENVELOPE_PIECE_BYTES but the last', async () => {
    for (const size of [0, 1, 511, 512, 65_536, 300_001]) {
      const { plan, stream, whole } = await envelopeOf(size);
      const pieces: Uint8Array[] = [];
      for await (const piece of stream as unknown as AsyncIterable<Uint8Array>) pieces.push(piece);
      expect(pieces.slice(0, -1).every((p) => p.length === ENVELOPE_PIECE_BYTES)).toBe(true);
      expect(pieces.at(-1)!.length).toBeGreaterThan(0);
      expect(Buffer.concat(pieces)).toEqual(Buffer.from(whole));
      expect(plan.length).toBe(whole.length);
    }
  });

  it('fails when a file gives other than its planned size (changed since it was chosen)', async () => {
    const plan = planEnvelope({ language: 'en', message: '', files: [{ name: 'a', type: '', size: 10, stripped: false }] });
    for (const bytes of [new Uint8Array(9), new Uint8Array(11)]) {
      const reader = envelopeStream(plan, () => [bytes], ENVELOPE_PIECE_BYTES).getReader();
      const error = await reader.read().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(EnvelopeError);
      expect((error as EnvelopeError).code).toBe('file_changed');
    }
  });
});

describe('encryptStreamToKeys', () => {
  it('announces the exact size, writes one definite length like encryptToKeys, and decrypts to the envelope (v4, SEIPDv1)', async () => {
    // sizes around the framing's edges: a last piece that makes a power of two, one byte over, several pieces
    const sizes = [0, 100, 4090 - 1536 - 200, 60_000, 65_536 * 3 - 1536, 1_000_000];
    for (const size of sizes) {
      const { plan, stream, whole } = await envelopeOf(size);
      const encrypted = await encryptStreamToKeys(plan.length, stream, [newsroom]);
      const bytes = await readAll(encrypted);
      expect(bytes.length).toBe(encrypted.size);
      const info = await inspectMessage(bytes);
      expect(info.recipientKeyIds.some((id) => newsroomIds.includes(id))).toBe(true);
      // the encrypted packet's header: tag 18, one definite length (no partial lengths)
      const reference = await encryptToKeys(whole, [newsroom]);
      expect(Math.abs(bytes.length - reference.length)).toBeLessThan(64 + whole.length / 4096);
      const { data } = await decrypt({ message: await readMessage({ binaryMessage: bytes }), decryptionKeys: newsroomSecret, format: 'binary' });
      expect(createHash('sha256').update(data as Uint8Array).digest('hex')).toBe(createHash('sha256').update(whole).digest('hex'));
      await parseEnvelope(data as Uint8Array);
    }
  });

  it('does the same for a v6 key (SEIPDv2, OCB), across AEAD chunk boundaries', async () => {
    for (const size of [0, 262_144 - 1536, 262_144 * 2, 700_000]) {
      const { plan, stream, whole } = await envelopeOf(size);
      const encrypted = await encryptStreamToKeys(plan.length, stream, [v6.publicKey]);
      const bytes = await readAll(encrypted);
      expect(bytes.length).toBe(encrypted.size);
      expect((await inspectMessage(bytes)).recipientKeyIds).toHaveLength(1);
      const { data } = await decrypt({ message: await readMessage({ binaryMessage: bytes }), decryptionKeys: v6.privateKey, format: 'binary' });
      expect(Buffer.from(data as Uint8Array)).toEqual(Buffer.from(whole));
    }
  });

  it('literalPacketLength follows the framing for every last-piece length near a power of two', () => {
    // one byte of tag, partial bodies of 2^16 per full piece (each with its own length byte), then the rest
    expect(literalPacketLength(ENVELOPE_PIECE_BYTES)).toBe(1 + 1 + 65_536 + 1 + 6);
    expect(literalPacketLength(4096)).toBe(1 + 1 + 4096 + 1 + 6);
    expect(literalPacketLength(100)).toBe(1 + 1 + 106);
  });
});
