/**
 * @module protocol/openpgp-checks — what the server may know about OpenPGP data without any private
 * key: is it an encrypted message, to whom, and are the keys it is given fit for their job.
 * Nothing here decrypts.
 */
import {
  enums,
  PublicKeyEncryptedSessionKeyPacket,
  readKeys,
  readPrivateKey,
  SignaturePacket,
  type Key,
  type PrivateKey,
  type PublicKey,
  type Subkey,
} from 'openpgp';
import { dearmorBlock, dearmorMessage, looksArmored } from './_armor.ts';
import { checkSourcePrivateKeyPackets, checkSourcePublicKeyPackets, type SourceKeyShape } from './_key-shape.ts';
import { readPackets, type Packet } from './_packets.ts';
import { toHex } from './encoding.ts';
import { OpenPgpCheckError } from './errors.ts';
import { SOURCE_KEY_DATE, SOURCE_KEY_USER_ID } from './limits.ts';

const TAG = { pkesk: 1, seipd: 18 } as const;
const TAG_NAMES: Record<number, string> = {
  1: 'PKESK', 2: 'signature', 3: 'SKESK', 4: 'one-pass signature', 5: 'secret key', 6: 'public key',
  7: 'secret subkey', 8: 'compressed data', 9: 'SED (no integrity protection)', 10: 'marker',
  11: 'literal data', 12: 'trust', 13: 'user id', 14: 'public subkey', 17: 'user attribute',
  18: 'SEIPD', 19: 'MDC', 20: 'OCB encrypted data', 21: 'padding',
};
const tagName = (tag: number) => `${TAG_NAMES[tag] ?? 'unknown'} (tag ${tag})`;
const fail = (code: string, message: string): never => {
  throw new OpenPgpCheckError(code, message);
};

export type InspectOptions = {
  /** Accept ASCII armor too (replies). Submissions are binary only. */
  armored?: boolean;
};
export type MessageInfo = {
  recipientKeyIds: string[];
  pkeskVersion: 3 | 6;
  seipdVersion: 1 | 2;
};

/** The PKESK fields read here (OpenPGP.js keeps them off its public type). */
type PkeskFields = { version: number; publicKeyID: { toHex(): string } };

function readPkesk(body: Uint8Array, index: number): PkeskFields {
  const packet = new PublicKeyEncryptedSessionKeyPacket() as unknown as PkeskFields & { read(b: Uint8Array): void };
  try {
    packet.read(body);
  } catch (e) {
    fail('bad_pkesk', `expected a valid PKESK (v3 or v6) as packet ${index}, got: ${(e as Error).message}`);
  }
  return packet;
}

function checkSeipd(packet: Packet): 1 | 2 {
  const { body: head, length } = packet;
  if (head[0] === 1) {
    // version + IV-sized random prefix (≥ 8+2) + MDC packet (22): anything shorter cannot decrypt.
    if (length < 1 + 10 + 22) fail('truncated', `expected a SEIPD v1 body of at least 33 bytes, got ${length}`);
    return 1;
  }
  if (head[0] === 2) {
    // version, cipher, AEAD mode, chunk size, 32-byte salt, then at least one 16-byte tag.
    if (length < 36 + 16) fail('truncated', `expected a SEIPD v2 body of at least 52 bytes, got ${length}`);
    const [cipher, aead, chunk] = [head[1]!, head[2]!, head[3]!];
    if (![7, 8, 9].includes(cipher)) fail('bad_seipd', `expected AES-128/192/256 (7, 8, 9) in SEIPD v2, got algorithm ${cipher}`);
    if (![1, 2, 3].includes(aead)) fail('bad_seipd', `expected AEAD mode EAX/OCB/GCM (1, 2, 3) in SEIPD v2, got ${aead}`);
    if (chunk > 16) fail('bad_seipd', `expected a SEIPD v2 chunk size octet ≤ 16, got ${chunk}`);
    return 2;
  }
  return fail('bad_seipd', `expected SEIPD version 1 or 2, got ${head[0] ?? 'an empty body'}`);
}

/** The grammar check shared by both entry points: PKESK+, one SEIPD, nothing else. */
function checkPackets(packets: Packet[]): MessageInfo {
  if (packets.length === 0) fail('empty', 'expected an OpenPGP message, got 0 bytes');
  const recipientKeyIds: string[] = [];
  let pkeskVersion: 3 | 6 | undefined;
  let i = 0;
  for (; i < packets.length && packets[i]!.tag === TAG.pkesk; i++) {
    const pkesk = readPkesk(packets[i]!.body, i);
    const version = pkesk.version as 3 | 6;
    if (pkeskVersion !== undefined && version !== pkeskVersion) {
      fail('mixed_pkesk', `expected every PKESK to have version ${pkeskVersion}, got version ${version} at packet ${i}`);
    }
    pkeskVersion = version;
    const keyId = pkesk.publicKeyID.toHex();
    if (/^0+$/.test(keyId)) fail('anonymous_recipient', `expected a named recipient key id in PKESK ${i}, got the wildcard`);
    if (!recipientKeyIds.includes(keyId)) recipientKeyIds.push(keyId);
  }
  if (pkeskVersion === undefined) {
    return fail('no_pkesk', `expected a public-key encrypted session key (PKESK) first, got ${tagName(packets[0]!.tag)}`);
  }
  const data = packets[i];
  if (!data) return fail('no_encrypted_data', 'expected a SEIPD packet after the PKESK packets, got the end of the message');
  if (data.tag !== TAG.seipd) fail('bad_packet_sequence', `expected a SEIPD (tag 18) after the PKESK packets, got ${tagName(data.tag)}`);
  const seipdVersion = checkSeipd(data);
  if (i + 1 < packets.length) fail('trailing_data', `expected nothing after the SEIPD packet, got ${tagName(packets[i + 1]!.tag)}`);
  const expected = pkeskVersion === 3 ? 1 : 2;
  if (seipdVersion !== expected) {
    fail('version_mismatch', `expected SEIPD v${expected} after PKESK v${pkeskVersion} (RFC 9580 §5.1), got SEIPD v${seipdVersion}`);
  }
  return { recipientKeyIds, pkeskVersion, seipdVersion };
}

/**
 * Checks that `input` is exactly: one or more PKESK packets, then one SEIPD packet, nothing after.
 * Reads only packet headers and PKESK bodies, never copies or decrypts the SEIPD body. Throws
 * OpenPgpCheckError otherwise. For a large ciphertext held in pieces, use inspectMessageStream.
 */
export async function inspectMessage(input: Uint8Array | string, options: InspectOptions = {}): Promise<MessageInfo> {
  let bytes: Uint8Array;
  if (typeof input === 'string' || (input instanceof Uint8Array && looksArmored(input))) {
    if (!options.armored) fail('armored', 'expected a binary OpenPGP message, got ASCII armor');
    let text = '';
    try {
      text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      fail('bad_armor', 'expected ASCII armor, got bytes that are not UTF-8');
    }
    bytes = dearmorMessage(text);
  } else if (input instanceof Uint8Array) {
    bytes = input;
  } else {
    return fail('not_openpgp', `expected Uint8Array, got ${typeof input}`);
  }
  return checkPackets(await readPackets([bytes]));
}

/**
 * The same check over a binary message given as chunks (an async iterable, e.g. rows from the
 * database or a Node/Firefox ReadableStream): reads every chunk once, in order, holding one chunk
 * at a time. It consumes the whole stream, so framing that ends early or late is caught.
 */
export async function inspectMessageStream(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<MessageInfo> {
  return checkPackets(await readPackets(chunks));
}

const ENCRYPT_FLAGS = enums.keyFlags.encryptCommunication | enums.keyFlags.encryptStorage;
const ENCRYPTION_ALGORITHMS = new Set<number>([
  enums.publicKey.rsaEncryptSign, enums.publicKey.rsaEncrypt, enums.publicKey.elgamal,
  enums.publicKey.ecdh, enums.publicKey.x25519, enums.publicKey.x448,
]);

/**
 * Key ids (16 lower-case hex) of the key's (sub)keys that are valid for encryption at `date`:
 * binding signature verified, not expired, not revoked, flagged for encryption.
 */
export async function encryptionKeyIds(publicKey: Key, date: Date = new Date()): Promise<string[]> {
  const ids: string[] = [];
  try {
    await publicKey.verifyPrimaryKey(date);
  } catch {
    return ids;
  }
  const candidates: (Key | Subkey)[] = [...publicKey.subkeys, publicKey];
  for (const k of candidates) {
    if (!ENCRYPTION_ALGORITHMS.has(k.keyPacket.algorithm)) continue;
    let flags: number | undefined;
    try {
      if (k === publicKey) {
        const primary = await publicKey.getPrimaryUser(date);
        flags = primary.selfCertification.keyFlags?.[0];
      } else {
        flags = (await (k as Subkey).verify(date)).keyFlags?.[0];
      }
    } catch {
      continue; // invalid, expired or revoked at `date`
    }
    if (flags !== undefined && (flags & ENCRYPT_FLAGS) !== 0) ids.push(k.getKeyID().toHex());
  }
  return ids;
}

function hasSecretMaterial(armored: string): boolean {
  return /-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(armored);
}

/** OpenPGP.js reads only the first armored block; a second one must not slip by unread. */
function checkOneBlock(armored: string, what: string): void {
  const blocks = armored.match(/-----BEGIN PGP [A-Z ]+-----/g) ?? [];
  if (blocks.length > 1) fail('not_one_key', `expected one armored block in ${what}, got ${blocks.length}`);
}

export type NewsroomKey = { key: PublicKey; fingerprint: string; encryptionKeyIds: string[] };

/**
 * Reads the newsroom's public key: exactly one key, no secret material, valid (not expired, not
 * revoked) at `now`, with at least one encryption (sub)key.
 */
export async function readNewsroomPublicKey(armored: string, now: Date = new Date()): Promise<NewsroomKey> {
  if (typeof armored !== 'string') fail('not_a_key', `expected an armored public key string, got ${typeof armored}`);
  if (hasSecretMaterial(armored)) fail('secret_key_material', 'expected a public key only, got a PRIVATE KEY block: never give the server a secret key');
  checkOneBlock(armored, 'the newsroom key');
  let keys: Key[];
  try {
    keys = await readKeys({ armoredKeys: armored });
  } catch (e) {
    return fail('not_a_key', `expected an armored OpenPGP public key, got: ${(e as Error).message}`);
  }
  if (keys.length !== 1) fail('not_one_key', `expected exactly one public key, got ${keys.length}`);
  const key = keys[0]!;
  if (key.isPrivate()) fail('secret_key_material', 'expected a public key only, got secret key material');
  try {
    await key.verifyPrimaryKey(now);
  } catch (e) {
    fail('invalid_key', `expected a key valid on ${now.toISOString().slice(0, 10)} (not expired or revoked), got: ${(e as Error).message}`);
  }
  const ids = await encryptionKeyIds(key, now);
  if (ids.length === 0) fail('no_encryption_key', `expected a usable encryption (sub)key on ${now.toISOString().slice(0, 10)}, got none`);
  return { key: key as PublicKey, fingerprint: key.getFingerprint(), encryptionKeyIds: ids };
}

export type SourceKeysInput = { publicKey: string; lockedPrivateKey: string };
/** A source key pair is about 1 KiB armored; the cap bounds the work a hostile one can cause. */
export const MAX_SOURCE_KEY_CHARS = 16 * 1024;
export type SourceKeysInfo = { fingerprint: string; encryptionKeyIds: string[]; version: number };
export type SourcePublicKeyInfo = SourceKeysInfo & { key: PublicKey };
/** What the cheap structural check found: the dearmored bytes it checked, for the parser to read. */
export type SourceKeyPackets = { version: 4 | 6; fingerprint: string; publicBytes: Uint8Array };
export type SourceKeyPairPackets = SourceKeyPackets & { privateBytes: Uint8Array };

/** Size and block count, for either half of a source's key pair. */
function checkSourceKeyText(text: string, what: string): void {
  if (text.length > MAX_SOURCE_KEY_CHARS) fail('too_large', `expected ${what} of at most ${MAX_SOURCE_KEY_CHARS} characters, got ${text.length}`);
  checkOneBlock(text, what);
}

function dearmorKey(text: string, label: 'PUBLIC KEY BLOCK' | 'PRIVATE KEY BLOCK', what: string): Uint8Array {
  try {
    return dearmorBlock(text, label);
  } catch (e) {
    return fail('not_a_key', `expected an armored ${label === 'PUBLIC KEY BLOCK' ? 'public' : 'private'} key in ${what}, got: ${(e as Error).message}`);
  }
}

/**
 * The cheap half of checkSourcePublicKey, on the calling thread and in microseconds: the text
 * (type, size, one block, strict armor), then every packet of the key against the shape the pages
 * make (`protocol/_key-shape.ts`: framing, tags, order, versions, algorithms, curve OIDs, exact
 * lengths, the fixed date and user id). Nothing is parsed by OpenPGP.js and no signature is
 * verified before this passes. Same codes as checkSourcePublicKey.
 */
export function checkSourcePublicKeyShape(publicKey: string): SourceKeyPackets {
  if (typeof publicKey !== 'string') fail('not_a_key', `expected an armored public key string, got ${typeof publicKey}`);
  if (hasSecretMaterial(publicKey)) fail('secret_key_material', 'expected a public key in publicKey, got a PRIVATE KEY block');
  checkSourceKeyText(publicKey, 'publicKey');
  return readPublicShape(publicKey).packets;
}

function readPublicShape(publicKey: string): { shape: SourceKeyShape; packets: SourceKeyPackets } {
  const publicBytes = dearmorKey(publicKey, 'PUBLIC KEY BLOCK', 'publicKey');
  const shape = checkSourcePublicKeyPackets(publicBytes);
  return { shape, packets: { version: shape.version, fingerprint: shape.fingerprint, publicBytes } };
}

/**
 * The cheap half of checkSourceKeys (see checkSourcePublicKeyShape): the public key's shape, then
 * the locked private key's: the same packets, the same public fields, every secret part locked as
 * the pages lock it (S2K usage, cipher, S2K type, hash, count, IV/nonce and sealed lengths).
 */
export function checkSourceKeysShape({ publicKey, lockedPrivateKey }: SourceKeysInput): SourceKeyPairPackets {
  if (typeof publicKey !== 'string' || typeof lockedPrivateKey !== 'string') {
    fail('not_a_key', 'expected armored strings for publicKey and lockedPrivateKey');
  }
  if (hasSecretMaterial(publicKey)) fail('secret_key_material', 'expected a public key in publicKey, got a PRIVATE KEY block');
  checkSourceKeyText(publicKey, 'publicKey');
  checkSourceKeyText(lockedPrivateKey, 'lockedPrivateKey');
  const { shape, packets } = readPublicShape(publicKey);
  const privateBytes = dearmorKey(lockedPrivateKey, 'PRIVATE KEY BLOCK', 'lockedPrivateKey');
  checkSourcePrivateKeyPackets(privateBytes, shape);
  return { ...packets, privateBytes };
}

/**
 * After the shape check, what OpenPGP.js itself sees in the same bytes: one key, the fixed date on
 * the key, its one subkey and every signature, the single generic user id, every self-signature
 * verifying at `now` (the only signature work: two or three Ed25519 verifications), and an
 * encryption subkey. A second opinion on the shape, from the parser that will use the key.
 * Returns the encryption key ids.
 */
async function checkParsedSourceKey(pub: Key, now: Date): Promise<string[]> {
  if (pub.isPrivate()) fail('secret_key_material', 'expected a public key in publicKey, got secret key material');
  if (pub.getCreationTime().getTime() !== SOURCE_KEY_DATE.getTime()) {
    fail('bad_source_key', `expected creation date ${SOURCE_KEY_DATE.toISOString()} on the primary key, got ${pub.getCreationTime().toISOString()}`);
  }
  for (const sub of pub.subkeys) {
    if (sub.getCreationTime().getTime() !== SOURCE_KEY_DATE.getTime()) {
      fail('bad_source_key', `expected creation date ${SOURCE_KEY_DATE.toISOString()} on subkey ${sub.getKeyID().toHex()}, got ${sub.getCreationTime().toISOString()}`);
    }
  }
  if (pub.subkeys.length !== 1) fail('bad_key_structure', `expected exactly one subkey (for encryption), got ${pub.subkeys.length}`);
  // The signatures carry creation times too; a key re-signed later would hand the server (and the
  // editors) the second at which it was made.
  for (const packet of pub.toPacketList()) {
    if (!(packet instanceof SignaturePacket)) continue;
    const created = packet.created;
    if (created?.getTime() !== SOURCE_KEY_DATE.getTime()) {
      fail('bad_source_key', `expected creation date ${SOURCE_KEY_DATE.toISOString()} on every signature, got ${created?.toISOString() ?? 'none'}`);
    }
  }
  const userIds = pub.getUserIDs();
  if (userIds.length !== 1 || userIds[0] !== SOURCE_KEY_USER_ID.name) {
    fail('bad_source_key', `expected the single user id ${JSON.stringify(SOURCE_KEY_USER_ID.name)}, got ${JSON.stringify(userIds)}`);
  }
  // every self-signature verifies, each once: the certification (through verifyPrimaryKey for a v4
  // key; a v6 key is valid by its direct-key signature alone, so its certification is asked for
  // apart) and the subkey binding, whose flags say what the subkey is for
  let binding: SignaturePacket;
  try {
    await pub.verifyPrimaryKey(now);
    if (pub.keyPacket.version === 6) await pub.getPrimaryUser(now);
    binding = await pub.subkeys[0]!.verify(now);
  } catch (e) {
    return fail('bad_signature', `expected every self-signature of the source key to verify, got: ${(e as Error).message}`);
  }
  const subkey = pub.subkeys[0]!;
  const flags = binding.keyFlags?.[0] ?? 0;
  if (!ENCRYPTION_ALGORITHMS.has(subkey.keyPacket.algorithm) || (flags & ENCRYPT_FLAGS) === 0) {
    fail('no_encryption_key', 'expected an encryption subkey in the source key, got none');
  }
  return [subkey.getKeyID().toHex()];
}

async function parseSourcePublicKey(bytes: Uint8Array): Promise<Key> {
  let keys: Key[];
  try {
    keys = await readKeys({ binaryKeys: bytes });
  } catch (e) {
    return fail('not_a_key', `expected an OpenPGP public key in publicKey, got: ${(e as Error).message}`);
  }
  if (keys.length !== 1) fail('not_one_key', `expected exactly one public key in publicKey, got ${keys.length}`);
  return keys[0]!;
}

/**
 * A source's reply keys as the browser uploads them: first the shape (checkSourceKeysShape, no
 * signature, no big numbers), then OpenPGP.js on the very bytes that passed it: the public key
 * has the fixed date and user id and an encryption subkey whose binding verifies; the private key
 * is the same key with every secret packet locked.
 */
export async function checkSourceKeys(keys: SourceKeysInput, now: Date = new Date()): Promise<SourceKeysInfo> {
  const shape = checkSourceKeysShape(keys);
  const pub = await parseSourcePublicKey(shape.publicBytes);
  let priv: PrivateKey;
  try {
    priv = await readPrivateKey({ binaryKey: shape.privateBytes });
  } catch (e) {
    return fail('not_a_key', `expected an OpenPGP private key in lockedPrivateKey, got: ${(e as Error).message}`);
  }
  const ids = await checkParsedSourceKey(pub, now);
  const samePublic = toHex(priv.toPublic().write()) === toHex(pub.write());
  if (!samePublic) fail('key_mismatch', `expected lockedPrivateKey to be the secret half of ${pub.getFingerprint()}, got ${priv.getFingerprint()}`);
  for (const k of priv.getKeys()) {
    const packet = k.keyPacket as { isDecrypted(): boolean | null; isDummy?(): boolean };
    if (packet.isDummy?.()) fail('bad_private_key', `expected secret material for ${k.getKeyID().toHex()}, got a stub`);
    if (packet.isDecrypted() !== false) fail('unlocked_private_key', `expected key ${k.getKeyID().toHex()} locked with a passphrase, got it unlocked`);
  }
  return { fingerprint: pub.getFingerprint(), encryptionKeyIds: ids, version: pub.keyPacket.version };
}

/**
 * The public half of checkSourceKeys, for where only the public key travels (the CLI's bundles):
 * the same checks on `publicKey`, in the same order, with the same codes. Also returns the key.
 */
export async function checkSourcePublicKey(publicKey: string, now: Date = new Date()): Promise<SourcePublicKeyInfo> {
  const shape = checkSourcePublicKeyShape(publicKey);
  const pub = await parseSourcePublicKey(shape.publicBytes);
  const ids = await checkParsedSourceKey(pub, now);
  return { key: pub as PublicKey, fingerprint: pub.getFingerprint(), encryptionKeyIds: ids, version: pub.keyPacket.version };
}
