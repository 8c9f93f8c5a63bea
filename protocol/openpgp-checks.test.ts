import { readFileSync } from 'node:fs';
import {
  armor, createMessage, encrypt, enums, generateKey, readKey, readPrivateKey, reformatKey, sign,
  type PrivateKey, type PublicKey,
} from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { OpenPgpCheckError } from './errors.ts';
import { SOURCE_KEY_DATE } from './limits.ts';
import { checkSourceKeys, checkSourcePublicKey, encryptionKeyIds, inspectMessage, inspectMessageStream, readNewsroomPublicKey } from './openpgp-checks.ts';
import { encryptToKeys, generateSourceKeys } from './source-keys.ts';

const demoPublic = readFileSync(new URL('../keys.example/newsroom.pub.asc', import.meta.url), 'utf8');
const demoSecret = readFileSync(new URL('../keys.example/newsroom.sec.asc', import.meta.url), 'utf8');
const passphrase = 'a'.repeat(64);

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(OpenPgpCheckError);
    return (e as OpenPgpCheckError).code;
  }
  throw new Error('expected an OpenPgpCheckError');
}

let newsroom: PublicKey;
let newsroomIds: string[];
let v6: { publicKey: PublicKey; privateKey: PrivateKey };
beforeAll(async () => {
  ({ key: newsroom, encryptionKeyIds: newsroomIds } = await readNewsroomPublicKey(demoPublic));
  const pair = await generateKey({ type: 'curve25519', userIDs: [{ name: 'v6 newsroom' }], format: 'object', config: { v6Keys: true } });
  v6 = { publicKey: pair.publicKey, privateKey: pair.privateKey };
});

describe('inspectMessage', () => {
  it('reads the recipients of an encryptToKeys message to a v4 key (PKESK v3, SEIPD v1)', async () => {
    const info = await inspectMessage(await encryptToKeys(new Uint8Array(4096), [newsroom]));
    expect(info).toEqual({ recipientKeyIds: newsroomIds, pkeskVersion: 3, seipdVersion: 1 });
  });

  it('lists every recipient', async () => {
    const source = await readKey({ armoredKey: (await generateSourceKeys(passphrase, newsroom)).publicKey });
    const info = await inspectMessage(await encryptToKeys(new Uint8Array(10), [newsroom, source]));
    expect(info.recipientKeyIds).toEqual([...newsroomIds, ...(await encryptionKeyIds(source))]);
  });

  it('reads v6 messages (PKESK v6, SEIPD v2)', async () => {
    const info = await inspectMessage(await encryptToKeys(new Uint8Array(10), [v6.publicKey]));
    expect(info).toEqual({ recipientKeyIds: await encryptionKeyIds(v6.publicKey), pkeskVersion: 6, seipdVersion: 2 });
  });

  it('takes armor only when asked (replies)', async () => {
    const armored = (await encrypt({ message: await createMessage({ text: 'reply' }), encryptionKeys: newsroom })) as string;
    expect(await refusal(inspectMessage(armored))).toBe('armored');
    expect(await refusal(inspectMessage(new TextEncoder().encode(armored)))).toBe('armored');
    expect((await inspectMessage(armored, { armored: true })).recipientKeyIds).toEqual(newsroomIds);
    const broken = armored.replace(/\n=([A-Za-z0-9+/]{4})\n/, (_, c: string) => `\n=${c === 'AAAA' ? 'AAAB' : 'AAAA'}\n`);
    expect(await refusal(inspectMessage(broken, { armored: true }))).toBe('bad_armor');
    expect(await refusal(inspectMessage('hello\n' + armored, { armored: true }))).toBe('bad_armor');
  });

  it('refuses plaintext: a literal data message', async () => {
    const literal = (await createMessage({ binary: new Uint8Array(100) })).write();
    expect(await refusal(inspectMessage(literal))).toBe('no_pkesk');
  });

  it('refuses a signed-only message', async () => {
    const signer = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 's' }], format: 'object' });
    const signed = (await sign({ message: await createMessage({ binary: new Uint8Array(10) }), signingKeys: signer.privateKey, format: 'binary' })) as Uint8Array;
    expect(await refusal(inspectMessage(signed))).toBe('no_pkesk');
  });

  it('refuses a message encrypted with a password only (SKESK)', async () => {
    const message = (await encrypt({ message: await createMessage({ binary: new Uint8Array(10) }), passwords: 'pw', format: 'binary' })) as Uint8Array;
    expect(await refusal(inspectMessage(message))).toBe('no_pkesk');
  });

  it('refuses a compressed or unprotected body, and PKESK then SKESK', async () => {
    const ok = await encryptToKeys(new Uint8Array(10), [newsroom]);
    const pkeskEnd = 2 + ok[1]!; // the v3 PKESK has a one-octet length here
    expect(ok[0]).toBe(0xc1);
    const compressed = Uint8Array.of(0xc8, 0x02, 0x00, 0x00);
    expect(await refusal(inspectMessage(concat(ok.subarray(0, pkeskEnd), compressed)))).toBe('bad_packet_sequence');
    const sed = Uint8Array.of(0xc9, 0x20, ...new Uint8Array(0x20));
    expect(await refusal(inspectMessage(concat(ok.subarray(0, pkeskEnd), sed)))).toBe('bad_packet_sequence');
  });

  it('refuses a trailing packet, a missing body, truncation and garbage', async () => {
    const ok = await encryptToKeys(new Uint8Array(10), [newsroom]);
    const marker = Uint8Array.of(0xca, 0x03, 0x50, 0x47, 0x50);
    expect(await refusal(inspectMessage(concat(ok, marker)))).toBe('trailing_data');
    expect(await refusal(inspectMessage(ok.subarray(0, 2 + ok[1]!)))).toBe('no_encrypted_data');
    expect(await refusal(inspectMessage(ok.subarray(0, ok.length - 1)))).toBe('truncated');
    expect(await refusal(inspectMessage(new TextEncoder().encode('hello world')))).toBe('not_openpgp');
    expect(await refusal(inspectMessage(new Uint8Array(0)))).toBe('empty');
  });

  it('does not touch the encrypted body (a flipped body byte still parses)', async () => {
    const ok = await encryptToKeys(new Uint8Array(5000), [newsroom]);
    const copy = ok.slice();
    copy[copy.length - 100]! ^= 0xff;
    expect((await inspectMessage(copy)).recipientKeyIds).toEqual(newsroomIds);
  });
});

describe('readNewsroomPublicKey', () => {
  it('reads the demo key', async () => {
    const key = await readNewsroomPublicKey(demoPublic);
    expect(key.fingerprint).toMatch(/^[0-9a-f]{40}$/);
    expect(key.encryptionKeyIds).toHaveLength(1);
    expect(key.encryptionKeyIds[0]).not.toBe(key.key.getKeyID().toHex()); // the subkey, not the primary
  });
  it('refuses secret key material, even after a public key', async () => {
    expect(await refusal(readNewsroomPublicKey(demoSecret))).toBe('secret_key_material');
    expect(await refusal(readNewsroomPublicKey(demoPublic + '\n' + demoSecret))).toBe('secret_key_material');
  });
  it('refuses an expired key, two keys, and text that is no key', async () => {
    const old = await generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'old' }], date: new Date('2021-01-01'), keyExpirationTime: 86400, format: 'armored',
    });
    expect(await refusal(readNewsroomPublicKey(old.publicKey))).toBe('invalid_key');
    expect((await readNewsroomPublicKey(old.publicKey, new Date('2021-01-01T12:00:00Z'))).encryptionKeyIds).toHaveLength(1);
    expect(await refusal(readNewsroomPublicKey(demoPublic + '\n' + v6.publicKey.armor()))).toBe('not_one_key');
    expect(await refusal(readNewsroomPublicKey('not a key'))).toBe('not_a_key');
  });
  it('refuses a key whose only encryption subkey has expired', async () => {
    const pair = await generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'n' }], date: new Date('2021-01-01'),
      subkeys: [{ keyExpirationTime: 86400 }], format: 'armored',
    });
    expect(await refusal(readNewsroomPublicKey(pair.publicKey))).toBe('no_encryption_key');
  });
});

describe('source keys', () => {
  it('generates keys that pass the check (v4 for a v4 newsroom, v6 for v6)', async () => {
    const keys = await generateSourceKeys(passphrase, newsroom);
    const info = await checkSourceKeys(keys);
    expect(info.version).toBe(4);
    const key = await readKey({ armoredKey: keys.publicKey });
    expect(key.getCreationTime()).toEqual(SOURCE_KEY_DATE);
    expect(key.getAlgorithmInfo()).toMatchObject({ algorithm: 'eddsaLegacy', curve: 'ed25519Legacy' });
    const v6keys = await generateSourceKeys(passphrase, v6.publicKey);
    expect((await checkSourceKeys(v6keys)).version).toBe(6);
    const locked = await readPrivateKey({ armoredKey: keys.lockedPrivateKey });
    expect(locked.isDecrypted()).toBe(false);
  });

  it('refuses an unlocked private key, a mismatched pair, swapped halves', async () => {
    const keys = await generateSourceKeys(passphrase, newsroom);
    const other = await generateSourceKeys(passphrase, newsroom);
    const unlocked = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], date: SOURCE_KEY_DATE, format: 'armored' });
    expect(await refusal(checkSourceKeys({ publicKey: unlocked.publicKey, lockedPrivateKey: unlocked.privateKey }))).toBe('unlocked_private_key');
    expect(await refusal(checkSourceKeys({ publicKey: keys.publicKey, lockedPrivateKey: other.lockedPrivateKey }))).toBe('key_mismatch');
    expect(await refusal(checkSourceKeys({ publicKey: keys.lockedPrivateKey, lockedPrivateKey: keys.lockedPrivateKey }))).toBe('secret_key_material');
    expect(await refusal(checkSourceKeys({ publicKey: keys.publicKey, lockedPrivateKey: keys.publicKey }))).toBe('not_a_key');
  });

  it('refuses keys that carry a date or an identity', async () => {
    const dated = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], passphrase, format: 'armored' });
    expect(await refusal(checkSourceKeys({ publicKey: dated.publicKey, lockedPrivateKey: dated.privateKey }))).toBe('bad_source_key');
    const named = await generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Jane', email: 'jane@example.org' }], date: SOURCE_KEY_DATE, passphrase, format: 'armored',
    });
    expect(await refusal(checkSourceKeys({ publicKey: named.publicKey, lockedPrivateKey: named.privateKey }))).toBe('bad_source_key');
    // the key packets have the fixed date, but the signatures were made later (re-signed today)
    const plain = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], date: SOURCE_KEY_DATE, format: 'object' });
    const resigned = await reformatKey({ privateKey: plain.privateKey, userIDs: [{ name: 'source' }], passphrase, date: new Date(), format: 'object' });
    expect(resigned.publicKey.getCreationTime()).toEqual(SOURCE_KEY_DATE);
    expect(await refusal(checkSourceKeys({ publicKey: resigned.publicKey.armor(), lockedPrivateKey: resigned.privateKey.armor() }))).toBe('bad_source_key');
    expect(await refusal(checkSourcePublicKey(resigned.publicKey.armor()))).toBe('bad_source_key');
  });

  it('refuses an extra subkey and oversized input', async () => {
    const two = await generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], date: SOURCE_KEY_DATE, passphrase,
      subkeys: [{}, {}], format: 'armored',
    });
    expect(await refusal(checkSourceKeys({ publicKey: two.publicKey, lockedPrivateKey: two.privateKey }))).toBe('bad_source_key');
    const keys = await generateSourceKeys(passphrase, newsroom);
    const padded = keys.publicKey.replace('-----BEGIN PGP PUBLIC KEY BLOCK-----\n', `-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: ${'x'.repeat(17000)}\n`);
    expect(await refusal(checkSourceKeys({ publicKey: padded, lockedPrivateKey: keys.lockedPrivateKey }))).toBe('too_large');
  });

  it('checkSourcePublicKey gives the public half the same checks and the same codes', async () => {
    const keys = await generateSourceKeys(passphrase, newsroom);
    const info = await checkSourcePublicKey(keys.publicKey);
    expect({ fingerprint: info.fingerprint, encryptionKeyIds: info.encryptionKeyIds, version: info.version }).toEqual(await checkSourceKeys(keys));
    expect(info.key.getFingerprint()).toBe(info.fingerprint);
    expect(info.key.isPrivate()).toBe(false);
    const v6keys = await generateSourceKeys(passphrase, v6.publicKey);
    expect((await checkSourcePublicKey(v6keys.publicKey)).version).toBe(6);

    const dated = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], passphrase, format: 'armored' });
    const named = await generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Jane', email: 'jane@example.org' }], date: SOURCE_KEY_DATE, passphrase, format: 'armored',
    });
    const two = await generateKey({
      type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'source' }], date: SOURCE_KEY_DATE, passphrase, subkeys: [{}, {}], format: 'armored',
    });
    const padded = keys.publicKey.replace('-----BEGIN PGP PUBLIC KEY BLOCK-----\n', `-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: ${'x'.repeat(17000)}\n`);
    const other = await generateSourceKeys(passphrase, newsroom);
    const [first, second] = await Promise.all([readKey({ armoredKey: keys.publicKey }), readKey({ armoredKey: other.publicKey })]);
    const twoKeysOneBlock = armor(enums.armor.publicKey, concat(first.write(), second.write()));
    const twoBlocks = keys.publicKey + '\n' + other.publicKey;
    const cases: [string, { publicKey: string; lockedPrivateKey: string }, string][] = [
      ['dated', { publicKey: dated.publicKey, lockedPrivateKey: dated.privateKey }, 'bad_source_key'],
      ['named', { publicKey: named.publicKey, lockedPrivateKey: named.privateKey }, 'bad_source_key'],
      ['two subkeys', { publicKey: two.publicKey, lockedPrivateKey: two.privateKey }, 'bad_source_key'],
      ['oversized', { publicKey: padded, lockedPrivateKey: keys.lockedPrivateKey }, 'too_large'],
      ['a private key', { publicKey: keys.lockedPrivateKey, lockedPrivateKey: keys.lockedPrivateKey }, 'secret_key_material'],
      ['not a key', { publicKey: 'hello', lockedPrivateKey: keys.lockedPrivateKey }, 'not_a_key'],
      ['two keys in one block', { publicKey: twoKeysOneBlock, lockedPrivateKey: keys.lockedPrivateKey }, 'not_one_key'],
      ['two blocks', { publicKey: twoBlocks, lockedPrivateKey: keys.lockedPrivateKey }, 'not_one_key'],
    ];
    for (const [what, pair, code] of cases) {
      expect([what, await refusal(checkSourcePublicKey(pair.publicKey))]).toEqual([what, code]);
      expect([what, await refusal(checkSourceKeys(pair))]).toEqual([what, code]);
    }
  });

  it('refuses a short passphrase', async () => {
    await expect(generateSourceKeys('short', newsroom)).rejects.toThrow(TypeError);
  });
});

describe('encryptToKeys', () => {
  it('writes uncompressed, unnamed, undated literal data that the newsroom key decrypts', async () => {
    const { decrypt, readMessage, decryptKey } = await import('openpgp');
    const privateKey = await decryptKey({ privateKey: await readPrivateKey({ armoredKey: demoSecret }), passphrase: 'demo-never-use' });
    const plaintext = Uint8Array.from({ length: 3000 }, (_, i) => i % 256);
    const ciphertext = await encryptToKeys(plaintext, [newsroom]);
    const out = await decrypt({ message: await readMessage({ binaryMessage: ciphertext }), decryptionKeys: privateKey, format: 'binary' });
    expect(out.data).toEqual(plaintext);
    expect(out.filename || '').toBe(''); // no name: OpenPGP.js reports null for an empty one
    const packets = (await (await readMessage({ binaryMessage: ciphertext })).decrypt([privateKey])).packets;
    expect(packets.findPacket(enums.packet.compressedData)).toBeUndefined();
    expect((packets.findPacket(enums.packet.literalData) as unknown as { date: Date }).date.getTime()).toBe(0);
  });
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('inspectMessage on hostile input', () => {
  it('answers or throws OpenPgpCheckError, never anything else', async () => {
    const ok = await encryptToKeys(new Uint8Array(700), [newsroom]);
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 3000; round++) {
      let input: Uint8Array;
      if (round % 3 === 0) {
        input = Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      } else {
        input = ok.slice(0, round % 3 === 1 ? ok.length : Math.floor(random() * ok.length));
        for (let k = 0; k < 1 + Math.floor(random() * 4); k++) input[Math.floor(random() * 120) % Math.max(1, input.length)] = Math.floor(random() * 256);
      }
      try {
        await inspectMessage(input);
      } catch (e) {
        if (!(e instanceof OpenPgpCheckError)) throw new Error(`round ${round}: ${String(e)}`);
      }
    }
  });
});

describe('inspectMessageStream', () => {
  /** A PKESK to the demo key, then a SEIPD v1 header for `size` body bytes that the generator streams. */
  async function* bigMessage(size: number, deliver = size, after = new Uint8Array(0)) {
    const real = await encryptToKeys(new Uint8Array(10), [newsroom]);
    yield real.subarray(0, 2 + real[1]!);
    yield Uint8Array.of(0xd2, 0xff, size >>> 24, (size >>> 16) & 255, (size >>> 8) & 255, size & 255, 0x01);
    const chunk = new Uint8Array(1 << 20);
    for (let sent = 1; sent < deliver; sent += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, deliver - sent));
    if (after.length) yield after;
  }

  it('checks a 64 MiB message chunk by chunk', async () => {
    const size = 64 * 2 ** 20;
    expect(await inspectMessageStream(bigMessage(size))).toEqual({ recipientKeyIds: newsroomIds, pkeskVersion: 3, seipdVersion: 1 });
  });

  it('refuses a stream that stops early or goes on after the SEIPD', async () => {
    const size = 3 * 2 ** 20;
    expect(await refusal(inspectMessageStream(bigMessage(size, size - 1)))).toBe('truncated');
    expect(await refusal(inspectMessageStream(bigMessage(size, size, Uint8Array.of(0xca, 0x03, 0x50, 0x47, 0x50))))).toBe('trailing_data');
  });

  it('gives the same answer whatever the chunking', async () => {
    const ok = await encryptToKeys(new Uint8Array(3000), [newsroom]);
    for (const size of [1, 2, 7, 512, 4096]) {
      const pieces = Array.from({ length: Math.ceil(ok.length / size) }, (_, k) => ok.subarray(k * size, k * size + size));
      expect(await inspectMessageStream(pieces)).toEqual(await inspectMessage(ok));
    }
  });

  it('refuses an endless run of packets', async () => {
    const marker = Uint8Array.of(0xca, 0x03, 0x50, 0x47, 0x50);
    expect(await refusal(inspectMessageStream(Array.from({ length: 300 }, () => marker)))).toBe('too_many_packets');
    expect(await refusal(inspectMessageStream([]))).toBe('empty');
  });
});
