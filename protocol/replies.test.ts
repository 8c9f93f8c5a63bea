import { readFileSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { OpenPgpCheckError } from './errors.ts';
import { MAX_REPLY_BYTES } from './limits.ts';
import { paddedLength } from './padme.ts';
import { replayReply } from './testdata/reply-cases.ts';
import { checkReplySignature, MAX_REPLY_SIGNATURES, openReply, REPLY_RECIPIENT_NOTATION, replyRecipientNotation, findPadding, sealReply } from './replies.ts';
import { affordableToUnlock, encryptToKeys, generateSourceKeys } from './source-keys.ts';

const DEMO_SECRET = readFileSync(new URL('../keys.example/newsroom.sec.asc', import.meta.url), 'utf8');
const SOURCE_PASSPHRASE = 's'.repeat(64);
const utf8 = (text: string) => new TextEncoder().encode(text);

let newsroom: openpgp.PrivateKey;
let newsroomPublic: openpgp.PublicKey;
let other: openpgp.PrivateKey;
let sourcePublic: openpgp.PublicKey;
let sourcePrivate: openpgp.PrivateKey;
let otherSourcePublic: openpgp.PublicKey;
let otherSourcePrivate: openpgp.PrivateKey;

beforeAll(async () => {
  newsroom = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: DEMO_SECRET }), passphrase: 'demo-never-use' });
  newsroomPublic = newsroom.toPublic();
  ({ privateKey: other } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'not the newsroom' }], format: 'object' }));
  const keys = await generateSourceKeys(SOURCE_PASSPHRASE, newsroomPublic);
  sourcePublic = await openpgp.readKey({ armoredKey: keys.publicKey });
  sourcePrivate = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: keys.lockedPrivateKey }), passphrase: SOURCE_PASSPHRASE });
  const otherKeys = await generateSourceKeys('o'.repeat(64), newsroomPublic);
  otherSourcePublic = await openpgp.readKey({ armoredKey: otherKeys.publicKey });
  otherSourcePrivate = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: otherKeys.lockedPrivateKey }), passphrase: 'o'.repeat(64) });
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

/**
 * A signed and encrypted message as `gpg --sig-notation to@sealdrop.org=FPR --sign --encrypt`
 * makes it for the source, but signed by `signer` (with `notations`: by default the binding).
 */
async function signedBy(signer: openpgp.PrivateKey, text: string, notations?: openpgp.RawNotation[], compression = openpgp.enums.compression.uncompressed): Promise<Uint8Array> {
  return (await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: utf8(text) }),
    encryptionKeys: [sourcePublic, newsroomPublic],
    signingKeys: signer,
    signatureNotations: notations ?? [replyRecipientNotation(sourcePublic)],
    format: 'binary',
    config: { preferredCompressionAlgorithm: compression },
  })) as Uint8Array;
}

/** The notations in the hashed area of the newsroom's signature inside `message`, as the page reads them. */
async function innerNotations(message: Uint8Array, key: openpgp.PrivateKey) {
  const { signatures } = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: message }), decryptionKeys: key, format: 'binary' });
  const packet = (await signatures[0]!.signature).packets[0]!;
  return packet.rawNotations.map(({ name, value, critical }) => ({ name, value: new TextDecoder().decode(value), critical }));
}

describe('findPadding', () => {
  // The framing of a reply as measured: 517 bytes unpadded, a literal header one byte longer from
  // 192 bytes of body; `short` lists the tries whose signature lost a byte to a leading zero.
  function framing(short: number[]) {
    const pads: number[] = [];
    const measure = async (pad: number) => {
      pads.push(pad);
      const length = 517 + pad + (pad >= 180 ? 1 : 0) - (short.includes(pads.length - 1) ? 1 : 0);
      return { length, pad };
    };
    return { measure, pads };
  }

  it('lands on the target when a short signature falls between two header steps (it used to oscillate 4097, 4095, 4097 and pad to 4352)', async () => {
    const { measure, pads } = framing([2]);
    expect((await findPadding(measure)).length).toBe(4096);
    expect(pads).toEqual([0, 3579, 3578, 3578]);
  });

  it('lands on the target whichever tries are short, the first included', async () => {
    for (const short of [[], [0], [1], [0, 2], [2, 3], [1, 2, 3]]) {
      expect((await findPadding(framing(short).measure)).length, `short tries ${short.join(', ')}`).toBe(4096);
    }
  });

  it('moves to the next PADMÉ size when a header step makes the target unreachable', async () => {
    // every pad lands one below or one above 4096
    const measure = async (pad: number) => ({ length: 517 + pad + (pad >= 3579 ? 2 : 0) });
    expect((await findPadding(measure)).length).toBe(paddedLength(4097));
  });
});

describe('sealReply', () => {
  it('pads replies of 3 and 4 bytes to the same PADMÉ size, and each opens to its own text', async () => {
    const three = await sealReply(utf8('Yes'), sourcePublic, newsroom);
    const four = await sealReply(utf8('No.!'), sourcePublic, newsroom);
    expect(three.message.length).toBe(four.message.length);
    expect(three.message.length).toBe(paddedLength(three.message.length));
    expect(await openReply(three.message, sourcePrivate, newsroomPublic)).toMatchObject({ ok: true, text: 'Yes' });
    expect(await openReply(four.message, sourcePrivate, newsroomPublic)).toMatchObject({ ok: true, text: 'No.!' });
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

  it('names the source key in the hashed area of the signature inside: one non-critical notation, its fingerprint in lower-case hex', async () => {
    const { message } = await sealReply(utf8('for you alone'), sourcePublic, newsroom);
    const fingerprint = sourcePublic.getFingerprint();
    expect(fingerprint).toMatch(/^[0-9a-f]{40}$/);
    // (OpenPGP.js adds its own salt notation to v4 signatures beside it.)
    const ours = (await innerNotations(message, sourcePrivate)).filter((n) => n.name === REPLY_RECIPIENT_NOTATION);
    expect(ours).toEqual([{ name: REPLY_RECIPIENT_NOTATION, value: fingerprint, critical: false }]);
    expect(await openReply(message, otherSourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'unreadable' });
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

  it('dates a reply by its signature, not by any clock, and gives every copy of one signed reply the same signatureId', async () => {
    const signedOn = new Date('2026-03-04T23:59:58Z');
    const once = (await openpgp.sign({
      message: await openpgp.createMessage({ binary: utf8('the same words') }),
      signingKeys: newsroom, signatureNotations: [replyRecipientNotation(sourcePublic)], date: signedOn, format: 'object',
    }));
    const encryptAgain = async () => (await openpgp.encrypt({ message: once, encryptionKeys: [sourcePublic, newsroomPublic], format: 'binary', config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed } })) as Uint8Array;
    const [a, b] = [await encryptAgain(), await encryptAgain()];
    expect(a).not.toEqual(b);
    const openedA = await openReply(a, sourcePrivate, newsroomPublic);
    const openedB = await openReply(b, sourcePrivate, newsroomPublic);
    expect(openedA).toMatchObject({ ok: true, text: 'the same words', signedAt: signedOn.getTime() });
    expect(openedA.ok && openedB.ok && openedA.signatureId === openedB.signatureId).toBe(true);
    const fresh = await openReply(await signedBy(newsroom, 'the same words'), sourcePrivate, newsroomPublic);
    expect(fresh.ok && openedA.ok && fresh.signatureId !== openedA.signatureId).toBe(true);
  });

  it('refuses a reply larger than MAX_REPLY_BYTES, and one with more than MAX_REPLY_SIGNATURES signatures, as unreadable without verifying', async () => {
    const big = await encryptToKeys(new Uint8Array(MAX_REPLY_BYTES + 1).fill(0x61), [sourcePublic, newsroomPublic]);
    expect(await openReply(big, sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'unreadable' });
    expect(await openReply(openpgp.armor(openpgp.enums.armor.message, big), sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'unreadable' });
    const signers = Array.from({ length: MAX_REPLY_SIGNATURES + 1 }, () => newsroom);
    const many = (await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: utf8('many') }), encryptionKeys: [sourcePublic, newsroomPublic], signingKeys: signers,
      signatureNotations: [replyRecipientNotation(sourcePublic)], format: 'binary', config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
    })) as Uint8Array;
    expect(await openReply(many, sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'unreadable' });
    const few = (await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: utf8('two') }), encryptionKeys: [sourcePublic, newsroomPublic], signingKeys: [newsroom, newsroom],
      signatureNotations: [replyRecipientNotation(sourcePublic)], format: 'binary', config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed },
    })) as Uint8Array;
    expect(await openReply(few, sourcePrivate, newsroomPublic)).toMatchObject({ ok: true, text: 'two' });
  });
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

  it('binds with a v6 source key\'s 64-digit fingerprint, and refuses a replay between v6 sources too', async () => {
    const { privateKey: v6Newsroom } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'Newsroom' }], format: 'object', config: { v6Keys: true } });
    const keysOf = async (passphrase: string) => {
      const keys = await generateSourceKeys(passphrase, v6Newsroom.toPublic());
      return {
        public: await openpgp.readKey({ armoredKey: keys.publicKey }),
        private: await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: keys.lockedPrivateKey }), passphrase }),
      };
    };
    const [a, b] = [await keysOf('v'.repeat(64)), await keysOf('w'.repeat(64))];
    expect(a.public.getFingerprint()).toMatch(/^[0-9a-f]{64}$/);
    const { message } = await sealReply(utf8('v6 reply'), a.public, v6Newsroom);
    expect(await openReply(message, a.private, v6Newsroom.toPublic())).toMatchObject({ ok: true, text: 'v6 reply' });
    const replayed = await replayReply(message, a.private, [b.public, v6Newsroom.toPublic()]);
    expect(await openReply(replayed, b.private, v6Newsroom.toPublic())).toEqual({ ok: false, problem: 'not_for_you' });
  });

  it('refuses a genuine reply to one source re-encrypted to another as not_for_you, and shows it to its own source', async () => {
    const { message } = await sealReply(utf8('We got your files.'), otherSourcePublic, newsroom);
    expect(await openReply(message, otherSourcePrivate, newsroomPublic)).toMatchObject({ ok: true, text: 'We got your files.' });
    // The attacker is the other source (or anyone who read that reply): the signed data, re-encrypted.
    const replayed = await replayReply(message, otherSourcePrivate, [sourcePublic, newsroomPublic]);
    expect(await openReply(replayed, sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'not_for_you' });
    // The same packets encrypted back to the source they name still open: the check is the binding, not the route.
    expect(await openReply(await replayReply(message, otherSourcePrivate, [otherSourcePublic]), otherSourcePrivate, newsroomPublic)).toMatchObject({ ok: true, text: 'We got your files.' });
    // The newsroom opening its own copy names the source it expects.
    expect(await openReply(message, newsroom, newsroomPublic, otherSourcePublic.getFingerprint())).toMatchObject({ ok: true, text: 'We got your files.' });
    expect(await openReply(message, newsroom, newsroomPublic, sourcePublic.getFingerprint())).toEqual({ ok: false, problem: 'not_for_you' });
  });

  it('refuses a newsroom signature without the notation, with another value, with two names, or in upper case', async () => {
    const withValue = (value: string) => [{ ...replyRecipientNotation(sourcePublic), value: utf8(value) }];
    const fingerprint = sourcePublic.getFingerprint();
    const cases: [string, openpgp.RawNotation[]][] = [
      ['none', []],
      ['another notation only', [{ name: 'to@example.org', value: utf8(fingerprint), humanReadable: true, critical: false }]],
      ['another source', [replyRecipientNotation(otherSourcePublic)]],
      ['this and another', [replyRecipientNotation(sourcePublic), replyRecipientNotation(otherSourcePublic)]],
      ['upper case', withValue(fingerprint.toUpperCase())],
      ['the key id only', withValue(fingerprint.slice(-16))],
      ['a trailing newline', withValue(`${fingerprint}\n`)],
      ['the newsroom', [replyRecipientNotation(newsroomPublic)]],
    ];
    for (const [name, notations] of cases) {
      expect(await openReply(await signedBy(newsroom, 'x', notations), sourcePrivate, newsroomPublic), name).toEqual({ ok: false, problem: 'not_for_you' });
    }
    // Twice the right one is still only the right one.
    expect(await openReply(await signedBy(newsroom, 'x', [...withValue(fingerprint), ...withValue(fingerprint)]), sourcePrivate, newsroomPublic)).toMatchObject({ ok: true, text: 'x' });
  });

  it('does not take the notation from the unhashed area, which anyone can add without breaking the signature', async () => {
    const unbound = await signedBy(newsroom, 'stay safe', []);
    const { data, signatures } = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: unbound }), decryptionKeys: sourcePrivate, format: 'binary' });
    const signature = await signatures[0]!.signature;
    const packet = signature.packets[0]! as unknown as { unhashedSubpackets: { type: number; critical: boolean; body: Uint8Array }[] };
    const name = utf8(REPLY_RECIPIENT_NOTATION);
    const value = utf8(sourcePublic.getFingerprint());
    const body = new Uint8Array([0x80, 0, 0, 0, 0, name.length, 0, value.length, ...name, ...value]);
    packet.unhashedSubpackets.push({ type: 20, critical: false, body }); // 20: notation data
    const packets = new openpgp.PacketList<openpgp.AnyPacket>();
    packets.push(...signature.packets, ...(await openpgp.createMessage({ binary: data as Uint8Array })).packets);
    const planted = (await openpgp.encrypt({ message: new openpgp.Message(packets as never), encryptionKeys: [sourcePublic], format: 'binary', config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed } })) as Uint8Array;
    // The planted subpacket is there, and the signature still verifies: only the binding is missing.
    const reread = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: planted }), decryptionKeys: sourcePrivate, verificationKeys: newsroomPublic, format: 'binary' });
    await reread.signatures[0]!.verified;
    expect((await reread.signatures[0]!.signature).packets[0]!.unhashedSubpackets.some((s: { type: number }) => s.type === 20)).toBe(true);
    expect(await openReply(planted, sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'not_for_you' });
  });

  it('refuses a compressed reply without inflating it: a 64 MiB bomb in 65 KB, zip, zlib, and algorithm 0', async () => {
    const bomb = (await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: new Uint8Array(64 * 1024 * 1024) }),
      encryptionKeys: [sourcePublic, newsroomPublic],
      signingKeys: newsroom,
      signatureNotations: [replyRecipientNotation(sourcePublic)],
      format: 'binary',
      config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
    })) as Uint8Array;
    expect(bomb.length).toBeLessThan(100_000);
    // Every inflater OpenPGP.js would use in a browser or here goes through DecompressionStream.
    const Real = globalThis.DecompressionStream;
    let inflaters = 0;
    globalThis.DecompressionStream = class extends Real {
      constructor(format: CompressionFormat) {
        super(format);
        inflaters++;
      }
    };
    try {
      expect(await openReply(bomb, sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'compressed' });
      expect(await openReply(openpgp.armor(openpgp.enums.armor.message, bomb), sourcePrivate, newsroomPublic)).toEqual({ ok: false, problem: 'compressed' });
      expect(inflaters).toBe(0);
      // The counter counts: OpenPGP.js left to itself inflates the same message.
      const plain = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: bomb }), decryptionKeys: sourcePrivate, format: 'binary' });
      expect([(plain.data as Uint8Array).length, inflaters]).toEqual([64 * 1024 * 1024, 1]);
    } finally {
      globalThis.DecompressionStream = Real;
    }
    for (const algorithm of [openpgp.enums.compression.zip, openpgp.enums.compression.zlib, openpgp.enums.compression.uncompressed]) {
      // A compressed data packet with algorithm 0 (stored) is still a compressed data packet.
      const message = algorithm === openpgp.enums.compression.uncompressed
        ? await wrapInCompressedPacket(await signedBy(newsroom, 'gpg -z 0 writes no such packet', undefined), sourcePrivate)
        : await signedBy(newsroom, 'gpg compresses by default', undefined, algorithm);
      expect(await openReply(message, sourcePrivate, newsroomPublic), `algorithm ${algorithm}`).toEqual({ ok: false, problem: 'compressed' });
    }
  });

  it('shows a signed reply without padding (as gpg makes it), armored or binary', async () => {
    const plain = await signedBy(newsroom, 'made elsewhere\n');
    expect(await openReply(plain, sourcePrivate, newsroomPublic)).toMatchObject({ ok: true, text: 'made elsewhere\n' });
    expect(await openReply(openpgp.armor(openpgp.enums.armor.message, plain), sourcePrivate, newsroomPublic)).toMatchObject({ ok: true, text: 'made elsewhere\n' });
  });
});

/** `message`'s signed contents inside a compressed data packet of algorithm 0 (stored), encrypted again to the source. */
async function wrapInCompressedPacket(message: Uint8Array, key: openpgp.PrivateKey): Promise<Uint8Array> {
  const inner = await replayReply(message, key, [sourcePublic]);
  const { data, signatures } = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: inner }), decryptionKeys: key, format: 'binary' });
  const list = new openpgp.PacketList<openpgp.AnyPacket>();
  for (const s of signatures) list.push(...(await s.signature).packets);
  list.push(...(await openpgp.createMessage({ binary: data as Uint8Array, date: new Date(0) })).packets);
  // Algorithm 0 has no compressor in OpenPGP.js: the packet's body is written as it is.
  const compressed = Object.assign(new openpgp.CompressedDataPacket(), { algorithm: openpgp.enums.compression.uncompressed, compressed: list.write(), packets: list });
  const outer = new openpgp.PacketList<openpgp.AnyPacket>();
  outer.push(compressed);
  return (await openpgp.encrypt({ message: new openpgp.Message(outer as never), encryptionKeys: [sourcePublic], format: 'binary', config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed } })) as Uint8Array;
}

describe('affordableToUnlock', () => {
  it('refuses a served key locked with an Argon2 S2K dearer than MAX_ARGON2, and takes the iterated S2K source keys use', async () => {
    const lockWith = async (passes: number) => {
      const { privateKey } = await openpgp.generateKey({
        type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], passphrase: 'p', format: 'object',
        config: { aeadProtect: true, s2kType: openpgp.enums.s2k.argon2, s2kArgon2Params: { passes, parallelism: 1, memoryExponent: 10 } },
      });
      return privateKey;
    };
    expect(affordableToUnlock(await lockWith(3))).toBe(true);
    expect(affordableToUnlock(await lockWith(4))).toBe(false);
    const keys = await generateSourceKeys(SOURCE_PASSPHRASE, newsroomPublic);
    expect(affordableToUnlock(await openpgp.readPrivateKey({ armoredKey: keys.lockedPrivateKey }))).toBe(true);
  });
});
