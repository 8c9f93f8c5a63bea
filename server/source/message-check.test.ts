import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createMessage, encrypt, enums, generateKey, readKey } from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectMessage } from '../../protocol/openpgp-checks.ts';
import { buildEnvelope } from '../../protocol/envelope.ts';
import { encryptTip, encryptToKeys, generateSourceKeyPair } from '../../protocol/source-keys.ts';
import { demoNewsroomKey } from '../test-helpers.ts';
import { checkCiphertext } from './message-check.ts';

async function* chunksOf(bytes: Uint8Array, size: number) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** inspectMessage on the whole message: the reference the streamed check must agree with. */
async function reference(bytes: Uint8Array) {
  try {
    return { ok: true, recipients: (await inspectMessage(bytes)).recipientKeyIds };
  } catch (error) {
    return { ok: false, code: (error as { code?: string }).code };
  }
}

async function streamed(bytes: Uint8Array, size: number) {
  const result = await checkCiphertext(chunksOf(bytes, size));
  expect(result.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  return result.message.ok
    ? { ok: true, recipients: result.message.info.recipientKeyIds }
    : { ok: false, code: result.message.error.code };
}

let messages: Uint8Array[] = [];
let source: Awaited<ReturnType<typeof generateSourceKeyPair>>;
let signedTip: Uint8Array;

beforeAll(async () => {
  const newsroom = await demoNewsroomKey();
  const other = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'x' }], format: 'object' });
  const v6 = await generateKey({ type: 'curve25519', userIDs: [{ name: 'y' }], format: 'object', config: { v6Keys: true } });
  messages = [
    await encryptToKeys(new Uint8Array(randomBytes(10)), [newsroom.key]),
    await encryptToKeys(new Uint8Array(randomBytes(5000)), [newsroom.key, other.publicKey]),
    await encryptToKeys(new Uint8Array(randomBytes(70_000)), [newsroom.key]),
    await encryptToKeys(new Uint8Array(randomBytes(3000)), [v6.publicKey]),
  ];
  // a tip as the page makes it now: signed by the source key inside the encryption (PROTOCOL.md, "Signed tips")
  source = await generateSourceKeyPair('s'.repeat(64), newsroom.key);
  signedTip = await encryptTip(await buildEnvelope({ language: 'en', message: 'signed', files: [], sourceKeyFingerprint: source.signingKey.getFingerprint() }), [newsroom.key], source.signingKey);
  messages.push(signedTip);
  // a streamed encryption: partial body lengths, as big uploads from the browser have
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(randomBytes(4096)));
      controller.close();
    },
  });
  const streamedMessage = await encrypt({
    message: await createMessage({ binary: stream, format: 'binary' }),
    encryptionKeys: newsroom.key,
    format: 'binary',
    config: { preferredCompressionAlgorithm: enums.compression.uncompressed },
  });
  const parts: Uint8Array[] = [];
  for await (const part of streamedMessage as unknown as AsyncIterable<Uint8Array>) parts.push(part);
  messages.push(new Uint8Array(Buffer.concat(parts)));
  void readKey;
});

describe('checkCiphertext', () => {
  it('agrees with inspectMessage on real messages, whatever the chunk size', async () => {
    for (const message of messages) {
      const expected = await reference(message);
      expect(expected.ok).toBe(true);
      for (const size of [1, 7, 512, 1024, 4096, message.length, message.length + 1]) {
        expect(await streamed(message, size), `size ${size} of ${message.length}`).toEqual(expected);
      }
    }
  });

  it('agrees with inspectMessage on broken messages: cut, extended, flipped header bytes, plaintext', async () => {
    const rng = (n: number) => randomBytes(4).readUInt32BE() % n;
    const variants: Uint8Array[] = [new TextEncoder().encode('plain text, no OpenPGP at all'), new Uint8Array([0xff, 0, 1])];
    for (const message of messages) {
      variants.push(message.subarray(0, message.length - 1));
      variants.push(message.subarray(0, 40));
      variants.push(new Uint8Array([...message, 0xc1, 0x01, 0x00]));
      variants.push(new Uint8Array([...message, ...message]));
      for (let i = 0; i < 15; i++) {
        const copy = new Uint8Array(message);
        // mostly the framing and PKESK region, where the checks look
        const at = rng(Math.min(copy.length, 300));
        copy[at] = rng(256);
        variants.push(copy);
      }
    }
    let refused = 0;
    for (const variant of variants) {
      const expected = await reference(variant);
      if (!expected.ok) refused++;
      for (const size of [3, 1024]) {
        const got = await streamed(variant, size);
        // both refuse (inspectMessageStream reads as it goes, so its code may differ), or both accept alike
        expect(got.ok, `variant of ${variant.length} bytes, chunk size ${size}: ${JSON.stringify({ expected, got })}`).toBe(expected.ok);
        if (expected.ok) expect(got).toEqual(expected);
      }
    }
    // the cut and extended variants at least (flips inside the encrypted body are fine for both)
    expect(refused).toBeGreaterThanOrEqual(2 + 4 * messages.length);
  });

  it('hashes everything even when the structure is refused early', async () => {
    const junk = new Uint8Array(randomBytes(10_000));
    junk[0] = 0x20;
    const result = await checkCiphertext(chunksOf(junk, 1000));
    expect(result.message.ok).toBe(false);
    expect(result.sha256).toBe(createHash('sha256').update(junk).digest('hex'));
  });
});

describe('a signed tip', () => {
  it('passes the completion check, and shows nothing of its signature outside the encryption', async () => {
    expect(await streamed(signedTip, 1000)).toEqual(await reference(signedTip));
    expect((await streamed(signedTip, 1000)).ok).toBe(true);
    // the outer packets are the PKESK and the SEIPD only, and neither the signer's key id nor its fingerprint is in the clear
    const info = await inspectMessage(signedTip);
    expect([info.pkeskVersion, info.seipdVersion]).toEqual([3, 1]);
    const bytes = Buffer.from(signedTip);
    expect(bytes.includes(Buffer.from(source.signingKey.getKeyID().toHex(), 'hex'))).toBe(false);
    expect(bytes.includes(Buffer.from(source.signingKey.getFingerprint(), 'hex'))).toBe(false);
  });
});

describe('the chunks\' digests, read back (protocol/testdata/upload-digests-*)', () => {
  const dir = new URL('../../protocol/testdata/', import.meta.url);
  const names = readdirSync(dir).filter((f) => f.startsWith('upload-digests-'));
  it.each(names)('%s: the same digests as the page makes, however the pieces are cut', async (name) => {
    const file = readFileSync(new URL(name, dir), 'utf8');
    const split = file.indexOf('\n\n');
    const h = Object.fromEntries(file.slice(0, split).split('\n').map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
    const bytes = new Uint8Array(Buffer.from(file.slice(split + 2).replace(/\n/g, ''), 'base64'));
    for (const piece of [1000, 333, bytes.length]) {
      const { digests } = await checkCiphertext(chunksOf(bytes, piece), { chunkSize: Number(h['chunk-size']) });
      expect(digests === h.digests ? 'success' : 'upload-digests failure: hash_mismatch').toBe(h.expect);
    }
  });
});
