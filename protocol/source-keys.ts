/**
 * @module protocol/source-keys — the source's reply key pair and the one way every part encrypts,
 * so the browser, the CLI and the tests produce the same packets.
 */
import { config as defaults, createMessage, encrypt, encryptKey, enums, generateKey, type Key, type PrivateKey, type RawNotation } from 'openpgp';
import { SOURCE_KEY_DATE, SOURCE_KEY_USER_ID } from './limits.ts';

export type SourceKeys = { publicKey: string; lockedPrivateKey: string };

/**
 * Same family as the newsroom key: v4 curve25519Legacy (readable by GnuPG 2.2), or a v6
 * curve25519 key when the newsroom key is v6. Fixed date and user id: no time, no identity.
 */
export async function generateSourceKeys(keyPassphrase: string, newsroomKey: Key): Promise<SourceKeys> {
  const { publicKey, lockedPrivateKey } = await generateSourceKeyPair(keyPassphrase, newsroomKey);
  return { publicKey, lockedPrivateKey };
}

/**
 * `generateSourceKeys`, and the same key unlocked (`signingKey`), so the page that made it signs
 * its first tip without unlocking it again (PROTOCOL.md, "Signed tips"). The key is made unlocked
 * and then locked, as OpenPGP.js's generateKey does with a passphrase.
 */
export async function generateSourceKeyPair(keyPassphrase: string, newsroomKey: Key): Promise<SourceKeys & { signingKey: PrivateKey }> {
  if (typeof keyPassphrase !== 'string' || keyPassphrase.length < 32) {
    throw new TypeError(`expected a key passphrase of at least 32 characters, got ${typeof keyPassphrase === 'string' ? keyPassphrase.length : typeof keyPassphrase}`);
  }
  const v6 = newsroomKey.keyPacket.version === 6;
  // aeadProtect here only advertises SEIPDv2 support in a v6 key's features.
  const config = { v6Keys: v6, aeadProtect: v6 };
  const { privateKey, publicKey } = await generateKey({
    ...(v6 ? { type: 'curve25519' as const } : { type: 'ecc' as const, curve: 'curve25519Legacy' as const }),
    userIDs: [{ ...SOURCE_KEY_USER_ID }],
    date: SOURCE_KEY_DATE,
    format: 'object',
    config,
  });
  const locked = await encryptKey({ privateKey, passphrase: keyPassphrase, config });
  return { publicKey: publicKey.armor(), lockedPrivateKey: locked.armor(), signingKey: privateKey };
}

/**
 * A tip: `envelope` encrypted to `publicKeys` as `encryptToKeys` does, signed inside by the
 * source key it names (`sourceKey`, unlocked) when there is one (PROTOCOL.md, "Signed tips"). The
 * signature is dated SOURCE_KEY_DATE, the key's own fixed date, not now: it tells the newsroom
 * nothing of when the tip was written. Nothing of it is outside the encryption.
 */
export async function encryptTip(envelope: Uint8Array, publicKeys: Key[], sourceKey?: PrivateKey): Promise<Uint8Array> {
  if (!sourceKey) return encryptToKeys(envelope, publicKeys);
  if (!(envelope instanceof Uint8Array)) throw new TypeError(`expected Uint8Array, got ${typeof envelope}`);
  if (publicKeys.length === 0) throw new TypeError('expected at least one recipient key, got none');
  const { sessionKey, config } = recipientPackets(publicKeys);
  const literal = await createMessage({ binary: envelope, format: 'binary', date: new Date(0) });
  // Message.sign, not encrypt's signingKeys: encrypt's one `date` would also date the newsroom
  // key's check (a key made after SOURCE_KEY_DATE would not be valid then). Message.sign takes
  // the whole configuration, not a part of it.
  // (Its .d.ts lacks the recipientKeys argument the code takes second.)
  const sign = literal.sign as unknown as (this: typeof literal, ...args: unknown[]) => Promise<typeof literal>;
  const signed = await sign.call(literal, [sourceKey], [], undefined, [], SOURCE_KEY_DATE, [], [], [], { ...defaults, ...config });
  const out = await encrypt({ message: signed, encryptionKeys: publicKeys, sessionKey, format: 'binary', config });
  return out as Uint8Array;
}

/**
 * Binary OpenPGP message to every key in `publicKeys`: no compression (its length would leak
 * through the padding), SEIPDv1 for v4 keys (GnuPG 2.2), the literal packet dated 0 and unnamed.
 * With `signingKey` (unlocked), signed inside as `gpg --sign --encrypt` signs (replies), with
 * `notations` in the signature's hashed area.
 */
export async function encryptToKeys(bytes: Uint8Array, publicKeys: Key[], signingKey?: PrivateKey, notations: RawNotation[] = []): Promise<Uint8Array> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`expected Uint8Array, got ${typeof bytes}`);
  if (publicKeys.length === 0) throw new TypeError('expected at least one recipient key, got none');
  const { sessionKey, config } = recipientPackets(publicKeys);
  const message = await createMessage({ binary: bytes, format: 'binary', date: new Date(0) });
  const out = await encrypt({
    message,
    encryptionKeys: publicKeys,
    ...(signingKey ? { signingKeys: signingKey, signatureNotations: notations } : {}),
    sessionKey,
    format: 'binary',
    config,
  });
  return out as Uint8Array;
}

/**
 * The session key and packet choices for a message to `publicKeys`, shared by `encryptToKeys` and
 * the streamed `encryptStreamToKeys`. The packet versions are chosen here, not from the keys'
 * feature flags: a v4 key that advertises SEIPDv2 would otherwise get a message GnuPG 2.2 cannot
 * read. All v6: PKESK v6 + SEIPDv2 (OCB). Never compressed.
 */
export function recipientPackets(publicKeys: Key[]) {
  const v6 = publicKeys.every((k) => k.keyPacket.version === 6);
  return {
    v6,
    sessionKey: {
      data: crypto.getRandomValues(new Uint8Array(32)),
      algorithm: 'aes256' as const,
      ...(v6 ? { aeadAlgorithm: 'ocb' as const } : {}),
    },
    config: { aeadProtect: v6, preferredCompressionAlgorithm: enums.compression.uncompressed },
  };
}

/**
 * The most an Argon2 S2K on a served locked key may cost before the page tries to unlock it:
 * OpenPGP.js's own defaults (3 passes, 4 lanes, 2^16 KiB = 64 MiB). Source keys use the iterated
 * S2K (bounded by its one-byte count); a server that serves a key locked with t=4, m=2^19 KiB made
 * Node spend 50 s and 682 MiB on it. `unlockConfig` caps the memory inside OpenPGP.js too.
 */
export const MAX_ARGON2 = { passes: 3, parallelism: 4, memoryExponent: 16 } as const;
export const unlockConfig = { maxArgon2MemoryExponent: MAX_ARGON2.memoryExponent } as const;

/** True when every secret-key packet of `key` is unlocked by an S2K no dearer than MAX_ARGON2. */
export function affordableToUnlock(key: PrivateKey): boolean {
  const packets = [key.keyPacket, ...key.subkeys.map((s) => s.keyPacket)] as unknown as { s2k?: { type?: string; t?: number; p?: number; encodedM?: number } | null }[];
  return packets.every(({ s2k }) => {
    if (!s2k || s2k.type !== 'argon2') return true;
    return (s2k.t ?? Infinity) <= MAX_ARGON2.passes && (s2k.p ?? Infinity) <= MAX_ARGON2.parallelism && (s2k.encodedM ?? Infinity) <= MAX_ARGON2.memoryExponent;
  });
}
