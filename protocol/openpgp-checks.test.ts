import { readFileSync } from 'node:fs';
import {
  armor, createMessage, encrypt, enums, generateKey, PublicKeyPacket, readKey, readPrivateKey, reformatKey, sign, SignaturePacket,
  type PrivateKey, type PublicKey,
} from 'openpgp';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OpenPgpCheckError } from './errors.ts';
import { SOURCE_KEY_DATE } from './limits.ts';
import {
  checkSourceKeys, checkSourceKeysShape, checkSourcePublicKey, encryptionKeyIds, inspectMessage, inspectMessageStream, readNewsroomPublicKey,
} from './openpgp-checks.ts';
import { encryptToKeys, generateSourceKeys } from './source-keys.ts';
import {
  armorPrivate, armorPublic, dsaKey, openpgpKey, packetsOf, rsaKey, TAGS, v6RsaKey, writePackets, type KeyPair, type Packet,
} from './testdata/hostile-keys.ts';

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
    expect(await refusal(checkSourceKeys({ publicKey: two.publicKey, lockedPrivateKey: two.privateKey }))).toBe('bad_key_structure');
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
      ['two subkeys', { publicKey: two.publicKey, lockedPrivateKey: two.privateKey }, 'bad_key_structure'],
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

describe('source keys: shape before signatures', () => {
  // Instruments, not mocks: the real methods run, and every call is counted. A key refused by its
  // shape must reach neither OpenPGP.js's key parser nor its signature verification.
  const spies = () => ({ parsed: vi.spyOn(PublicKeyPacket.prototype, 'read'), verified: vi.spyOn(SignaturePacket.prototype, 'verify') });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  let v4: KeyPair;
  let v6pair: KeyPair;
  const hostile: [string, KeyPair, string][] = [];
  const edit = async (pair: KeyPair, change: (pub: Packet[], priv: Packet[]) => void): Promise<KeyPair> => {
    const { pub, priv } = await packetsOf(pair);
    change(pub, priv);
    return { publicKey: armorPublic(pub), lockedPrivateKey: armorPrivate(priv) };
  };
  beforeAll(async () => {
    v4 = await generateSourceKeys(passphrase, newsroom);
    v6pair = await generateSourceKeys(passphrase, v6.publicKey);
    const withPublic = (publicKey: string): KeyPair => ({ publicKey, lockedPrivateKey: v4.lockedPrivateKey });
    const subkeys = Array.from({ length: 25 }, () => ({}));
    const v4Subkey = (await packetsOf(v4)).pub[3]!;
    hostile.push(
      ['DSA with 16,384-bit parameters and a hundred self-signatures (the issue)', withPublic(dsaKey().publicKey), 'bad_key_algorithm'],
      ['RSA-16384', withPublic(rsaKey(16384)), 'bad_key_algorithm'],
      ['ECDSA P-256', await openpgpKey({ type: 'ecc', curve: 'nistP256' }), 'bad_key_algorithm'],
      ['ECDSA P-521', await openpgpKey({ type: 'ecc', curve: 'nistP521' }), 'bad_key_algorithm'],
      ['v4 Ed25519 (algorithm 27) + X25519', await openpgpKey({ type: 'curve25519' }), 'bad_key_algorithm'],
      ['twenty-five subkeys', await openpgpKey({ type: 'ecc', curve: 'curve25519Legacy', subkeys }), 'bad_key_structure'],
      ['forty certifications', await edit(v4, (pub) => pub.splice(2, 0, ...Array.from({ length: 39 }, () => pub[2]!))), 'bad_key_structure'],
      ['a second user id', await edit(v4, (pub) => pub.splice(3, 0, pub[1]!, pub[2]!)), 'bad_key_structure'],
      ['a user attribute', await edit(v4, (pub) => pub.splice(3, 0, { tag: TAGS.userAttribute, body: new Uint8Array(40) })), 'bad_key_structure'],
      ['v5 primary key', await edit(v4, (pub) => { pub[0]!.body[0] = 5; }), 'bad_key_algorithm'],
      ['v6 Ed448 + X448', await openpgpKey({ type: 'curve448', config: { v6Keys: true } }), 'bad_key_algorithm'],
      ['v6 RSA-4096', withPublic(v6RsaKey(4096)), 'bad_key_algorithm'],
      ['v6 with twenty-five subkeys', await openpgpKey({ type: 'curve25519', subkeys: subkeys.map(() => ({ type: 'curve25519' as const })), config: { v6Keys: true } }), 'bad_key_structure'],
      ['v6 with forty direct-key signatures', await edit(v6pair, (pub) => pub.splice(1, 0, ...Array.from({ length: 39 }, () => pub[1]!))), 'bad_key_structure'],
      ['v6 primary with the v4 subkey', await edit(v6pair, (pub) => void pub.splice(4, 1, v4Subkey)), 'bad_key_algorithm'],
    );
  });

  it("the issue's DSA key gets past OpenPGP.js's parser: only the shape check stands before its signatures", async () => {
    const { publicKey, signatures } = dsaKey();
    const key = await readKey({ armoredKey: publicKey });
    expect(key.getAlgorithmInfo()).toEqual({ algorithm: 'dsa', bits: 16384 });
    expect(key.getUserIDs()).toEqual(['source']);
    expect(key.getCreationTime()).toEqual(SOURCE_KEY_DATE);
    expect(key.users[0]!.selfCertifications.length).toBe(signatures);
    expect(signatures).toBeGreaterThan(100);
    expect(key.users[0]!.selfCertifications.every((sig) => sig.created?.getTime() === SOURCE_KEY_DATE.getTime())).toBe(true);
  });

  it('refuses hostile and odd keys with a stable code, without parsing or verifying anything', async () => {
    for (const [what, pair, code] of hostile) {
      const { parsed, verified } = spies();
      expect([what, await refusal(checkSourceKeys(pair))]).toEqual([what, code]);
      expect([what, await refusal(checkSourcePublicKey(pair.publicKey))]).toEqual([what, code]);
      expect([what, parsed.mock.calls.length, verified.mock.calls.length]).toEqual([what, 0, 0]);
      vi.restoreAllMocks();
    }
  });

  it('answers every one-byte change with OpenPgpCheckError or success, verifying signatures only when the shape holds', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const codes = new Map<string, number>();
    for (const pair of [v4, v6pair]) {
      const { pub, priv } = await packetsOf(pair);
      for (const [half, bytes] of [['public', writePackets(pub)], ['private', writePackets(priv)]] as const) {
        for (let at = 0; at < bytes.length; at++) {
          const changed = bytes.slice();
          changed[at] = changed[at]! ^ (1 + Math.floor(random() * 255));
          const keys = half === 'public'
            ? { publicKey: armor(enums.armor.publicKey, changed), lockedPrivateKey: pair.lockedPrivateKey }
            : { publicKey: pair.publicKey, lockedPrivateKey: armor(enums.armor.privateKey, changed) };
          // the pair, and for a changed public key its public half alone (the CLI's check)
          const checks: [string, () => Promise<unknown>][] = [[half, () => checkSourceKeys(keys)]];
          if (half === 'public') checks.push(['public alone', () => checkSourcePublicKey(keys.publicKey)]);
          for (const [what, check] of checks) {
            const { verified } = spies();
            let code = 'success';
            try {
              await check();
            } catch (e) {
              if (!(e instanceof OpenPgpCheckError)) throw new Error(`${what} byte ${at}: ${String(e)}`);
              code = e.code;
            }
            // only a signature that fails to verify is refused after verification began
            if (code !== 'bad_signature' && code !== 'success') expect([what, at, code, verified.mock.calls.length]).toEqual([what, at, code, 0]);
            // a changed public key never passes; a changed private key passes only where its bytes are sealed (salt, IV, ciphertext)
            if (half === 'public') expect([what, at, code]).not.toEqual([what, at, 'success']);
            codes.set(`${what} ${code}`, (codes.get(`${what} ${code}`) ?? 0) + 1);
            vi.restoreAllMocks();
          }
        }
      }
    }
    // every kind of outcome was reached: the instruments above were put to the test
    expect([...codes.keys()]).toEqual(expect.arrayContaining([
      'public bad_key_packets', 'public bad_key_algorithm', 'public bad_key_structure', 'public bad_source_key', 'public key_mismatch',
      'public alone bad_signature', 'private bad_key_packets', 'private key_mismatch', 'private bad_private_key', 'private success',
    ]));
  });

  it('accepts the pairs generateSourceKeys makes, with every length their MPIs and sealed seed can have', async () => {
    // real pairs (each costs two 16 MiB S2K derivations, so a few)
    for (const newsroomKey of [newsroom, v6.publicKey]) {
      const pairs = await Promise.all(Array.from({ length: 12 }, () => generateSourceKeys(passphrase, newsroomKey)));
      for (const pair of pairs) expect(checkSourceKeysShape(pair).version).toBe(newsroomKey.keyPacket.version);
    }
    // OpenPGP.js writes r, s and the Ed25519 seed as MPIs without leading zero bytes: 1 in 256
    // pairs has a 31-byte one. Every length from 1 to 32 bytes passes the shape, 33 does not.
    const { pub, priv } = await packetsOf(v4);
    const mpi = (bytes: number) => Uint8Array.from([(bytes * 8) >> 8, (bytes * 8) & 255, ...Array(bytes).fill(0xa5)]);
    const withR = (bytes: number) => {
      const cert = pub[2]!.body;
      const rBits = (cert[143]! << 8) | cert[144]!;
      const sAt = 145 + Math.ceil(rBits / 8);
      const changed = pub.map((p, i) => (i === 2 ? { tag: p.tag, body: Uint8Array.from([...cert.subarray(0, 143), ...mpi(bytes), ...cert.subarray(sAt)]) } : p));
      const privChanged = priv.map((p, i) => (i === 2 ? changed[2]! : p));
      return { publicKey: armorPublic(changed), lockedPrivateKey: armorPrivate(privChanged) };
    };
    for (const bytes of [1, 2, 16, 30, 31, 32]) expect(checkSourceKeysShape(withR(bytes)).version).toBe(4);
    expect(() => checkSourceKeysShape(withR(33))).toThrow(/1 to 256 bits/);
    const withSeal = (bytes: number) => {
      const head = pub[0]!.body.length + 4 + 8 + 1 + 16;
      const secret = priv[0]!.body;
      const changed = priv.map((p, i) => (i === 0 ? { tag: p.tag, body: Uint8Array.from([...secret.subarray(0, head), ...Array(bytes).fill(0x5a)]) } : p));
      return { publicKey: v4.publicKey, lockedPrivateKey: armorPrivate(changed) };
    };
    for (const bytes of [23, 40, 53, 54]) expect(checkSourceKeysShape(withSeal(bytes)).version).toBe(4);
    for (const bytes of [22, 55]) expect(() => checkSourceKeysShape(withSeal(bytes))).toThrow(/23 to 54 bytes of encrypted secret key/);
  });

  it('lets the real shapes through to OpenPGP.js and their signatures (the instruments count)', async () => {
    for (const pair of [v4, v6pair]) {
      const { parsed, verified } = spies();
      await checkSourceKeys(pair);
      expect(parsed.mock.calls.length).toBeGreaterThan(0);
      expect(verified.mock.calls.length).toBeGreaterThan(0);
      vi.restoreAllMocks();
    }
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
