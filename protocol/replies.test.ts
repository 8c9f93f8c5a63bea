import { readFileSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { OpenPgpCheckError } from './errors.ts';
import { paddedLength } from './padme.ts';
import { checkReplySignature, openReply, sealReply } from './replies.ts';
import { encryptToKeys, generateSourceKeys } from './source-keys.ts';

const DEMO_SECRET = readFileSync(new URL('../keys.example/newsroom.sec.asc', import.meta.url), 'utf8');
const SOURCE_PASSPHRASE = 's'.repeat(64);
const utf8 = (text: string) => new TextEncoder().encode(text);

let newsroom: openpgp.PrivateKey;
let newsroomPublic: openpgp.PublicKey;
let other: openpgp.PrivateKey;
let sourcePublic: openpgp.PublicKey;
let sourcePrivate: openpgp.PrivateKey;

beforeAll(async () => {
  newsroom = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: DEMO_SECRET }), passphrase: 'demo-never-use' });
  newsroomPublic = newsroom.toPublic();
  ({ privateKey: other } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'not the newsroom' }], format: 'object' }));
  const keys = await generateSourceKeys(SOURCE_PASSPHRASE, newsroomPublic);
  sourcePublic = await openpgp.readKey({ armoredKey: keys.publicKey });
  sourcePrivate = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: keys.lockedPrivateKey }), passphrase: SOURCE_PASSPHRASE });
});

const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    if (!(error instanceof OpenPgpCheckError)) throw error;
    return error.code;
  }
};

/** A signed and encrypted message as gpg --sign --encrypt makes it, but signed by `signer`. */
async function signedBy(signer: openpgp.PrivateKey, text: string): Promise<Uint8Array> {
  return (await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: utf8(text) }),
    encryptionKeys: [sourcePublic, newsroomPublic],
    signingKeys: signer,
    format: 'binary',
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
  })) as Uint8Array;
}

describe('sealReply', () => {
  it('pads replies of 3 and 4 bytes to the same PADMÉ size, and each opens to its own text', async () => {
    const three = await sealReply(utf8('Yes'), sourcePublic, newsroom);
    const four = await sealReply(utf8('No.!'), sourcePublic, newsroom);
    expect(three.message.length).toBe(four.message.length);
    expect(three.message.length).toBe(paddedLength(three.message.length));
    expect(await openReply(three.message, sourcePrivate, newsroomPublic)).toEqual({ ok: true, text: 'Yes' });
    expect(await openReply(four.message, sourcePrivate, newsroomPublic)).toEqual({ ok: true, text: 'No.!' });
  });

  it('lands exactly on a PADMÉ size for lengths around the packet-header and PADMÉ steps', async () => {
    for (const n of [3600, 3650, 7900, 8000, 8383, 8384, 8390, 20_000]) {
      const { message } = await sealReply(utf8('x'.repeat(n)), sourcePublic, newsroom);
      expect(message.length, `${n} bytes of text`).toBe(paddedLength(message.length));
      expect(message.length).toBeGreaterThan(n);
    }
  });

  it('makes a detached signature the editor API accepts, and refuses NUL in the text', async () => {
    const { message, signature } = await sealReply(utf8('Thank you. 감사합니다.'), sourcePublic, newsroom);
    expect(await codeOf(checkReplySignature(message, signature, newsroomPublic))).toBe('accepted');
    const armored = openpgp.armor(openpgp.enums.armor.signature, signature);
    expect(await codeOf(checkReplySignature(message, utf8(armored), newsroomPublic))).toBe('accepted');
    await expect(sealReply(utf8('a\0b'), sourcePublic, newsroom)).rejects.toThrow(/NUL/);
  });
});

describe('checkReplySignature', () => {
  let message: Uint8Array;
  let signature: Uint8Array;
  beforeAll(async () => {
    ({ message, signature } = await sealReply(utf8('a reply'), sourcePublic, newsroom));
  });

  it('refuses a signature over other bytes, a tampered signature, and a flipped ciphertext byte', async () => {
    const flipped = message.slice();
    flipped[flipped.length - 10]! ^= 1;
    expect(await codeOf(checkReplySignature(flipped, signature, newsroomPublic))).toBe('bad_signature');
    const tampered = signature.slice();
    tampered[tampered.length - 5]! ^= 1;
    expect(await codeOf(checkReplySignature(message, tampered, newsroomPublic))).toBe('bad_signature');
  });

  it('refuses a valid signature by another key as wrong_signer', async () => {
    const byOther = (await openpgp.sign({ message: await openpgp.createMessage({ binary: message }), signingKeys: other, detached: true, format: 'binary' })) as Uint8Array;
    expect(await codeOf(checkReplySignature(message, byOther, newsroomPublic))).toBe('wrong_signer');
  });

  it('refuses what is not one binary-document signature packet', async () => {
    const text = (await openpgp.sign({ message: await openpgp.createMessage({ text: 'x' }), signingKeys: newsroom, detached: true, format: 'binary' })) as Uint8Array;
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['too long', new Uint8Array(5000).fill(0xc2)],
      ['two signatures', new Uint8Array([...signature, ...signature])],
      ['cut short', signature.subarray(0, 40)],
      ['the message itself', message.subarray(0, 4000)],
      ['a text-mode signature', text],
      ['armored garbage', utf8('-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n')],
      ['an armored message', utf8(openpgp.armor(openpgp.enums.armor.message, message))],
    ];
    for (const [name, bytes] of cases) expect(await codeOf(checkReplySignature(message, bytes, newsroomPublic)), name).toBe('bad_signature_format');
  });
});

describe('openReply', () => {
  it('refuses an unsigned reply, one signed by another key, and an undecryptable one, saying which', async () => {
    const unsigned = await encryptToKeys(utf8('send your name'), [sourcePublic, newsroomPublic]);
    expect(await openReply(unsigned, sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'unsigned' });
    expect(await openReply(await signedBy(other, 'send your name'), sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'wrong_signer' });
    expect(await openReply(await encryptToKeys(utf8('x'), [newsroomPublic]), sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'unreadable' });
  });

  it('refuses a newsroom signature that does not verify', async () => {
    // Sign one text, then put another literal in front of the same signature: the packets of a
    // message whose signature was made over other bytes.
    const good = await openpgp.sign({ message: await openpgp.createMessage({ binary: utf8('meet at noon') }), signingKeys: newsroom, format: 'object' });
    const packets = good.packets;
    const literal = packets.findPacket(openpgp.enums.packet.literalData) as unknown as { setBytes(bytes: Uint8Array, format: openpgp.enums.literal): void };
    literal.setBytes(utf8('meet at nine'), openpgp.enums.literal.binary);
    const forged = (await openpgp.encrypt({ message: good, encryptionKeys: [sourcePublic], format: 'binary', config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed } })) as Uint8Array;
    expect(await openReply(forged, sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'bad_signature' });
  });

  it('shows a signed reply without padding (as gpg makes it), armored or binary', async () => {
    const plain = await signedBy(newsroom, 'made elsewhere\n');
    expect(await openReply(plain, sourcePrivate, newsroomPublic)).toEqual({ ok: true, text: 'made elsewhere\n' });
    expect(await openReply(openpgp.armor(openpgp.enums.armor.message, plain), sourcePrivate, newsroomPublic)).toEqual({ ok: true, text: 'made elsewhere\n' });
  });
});
