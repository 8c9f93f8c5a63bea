/**
 * @module protocol/replies — a reply's three forms (PROTOCOL.md, "Replies"): made offline (signed by
 * the newsroom key, padded, encrypted to the source and the newsroom, plus a detached signature over
 * the ciphertext), checked by the editor API (the detached signature only: it cannot decrypt), and
 * opened on the source's page (the inner signature against the newsroom key it encrypts to, and the
 * source it names inside that signature).
 */
import {
  config as defaultConfig, createMessage, enums, readMessage, readSignature, sign, unarmor, verify,
  type PartialConfig, type PrivateKey, type PublicKey, type RawNotation,
} from 'openpgp';
import { readPackets } from './_packets.ts';
import { OpenPgpCheckError } from './errors.ts';
import { MAX_ARMORED_REPLY_CHARS, MAX_REPLY_BYTES, MAX_REPLY_SIGNATURE_BYTES } from './limits.ts';
import { paddedLength } from './padme.ts';
import { encryptToKeys } from './source-keys.ts';

/** What `sealReply` makes: the message to store, and the signature the editor API checks it with. */
export type SealedReply = { message: Uint8Array; signature: Uint8Array };

/** Why a page refuses to show a reply; `unreadable` when it does not even decrypt. */
export type ReplyProblem = 'unreadable' | 'compressed' | 'unsigned' | 'wrong_signer' | 'bad_signature' | 'not_for_you';
/**
 * An opened reply: its text, when the newsroom signed it (`signedAt`, ms since 1970, from the
 * signature's hashed creation time: the day the page shows, never the server's), and `signatureId`
 * (the newsroom signature packet's bytes, hex), the same for every copy of one signed reply.
 */
export type OpenedReply = { ok: true; text: string; signedAt: number; signatureId: string } | { ok: false; problem: ReplyProblem };

/** Signature and one-pass signature packets a reply may hold (one newsroom signature, perhaps an editor's): more are refused unverified, as `unreadable`. */
export const MAX_REPLY_SIGNATURES = 4;


/**
 * The notation (RFC 4880 §5.2.3.16, user namespace) in the hashed area of the newsroom's inner
 * signature that names the source a reply is for: its value is the source key's primary
 * fingerprint as lower-case hex (40 digits for v4, 64 for v6), in ASCII. Without it the signed
 * text could be re-encrypted to any other source and still verify (PROTOCOL.md, "Replies").
 */
export const REPLY_RECIPIENT_NOTATION = 'to@sealdrop.org';

/** The notation binding a reply to `sourceKey`: non-critical (gpg's `--sig-notation NAME=VALUE` makes it so), human-readable. */
export function replyRecipientNotation(sourceKey: PublicKey | PrivateKey): RawNotation {
  return { name: REPLY_RECIPIENT_NOTATION, value: new TextEncoder().encode(sourceKey.getFingerprint()), humanReadable: true, critical: false };
}

const TAG_SIGNATURE = 2;
/** Tries before giving up on one target size (a length header may grow by a few bytes across a step). */
const TRIES_PER_TARGET = 6;

/**
 * Finds the padding for which `measure(pad)` (the encrypted length with `pad` zero bytes) is a
 * PADMÉ size, and returns that pad with its result. `measure` is the deterministic length of the
 * framing plus noise that only ever shortens it: a fresh signature's MPIs lose a byte with each
 * leading zero byte (about 1 in 128 tries). So a result above the target proves the pad too large
 * (every pad at least that large is), while one below may be that noise: the pad never grows past
 * a pad already proven too large, and the same pad is simply tried again. Without that ceiling one
 * short signature between two header steps made the search oscillate (4097, 4095, 4097) until it
 * gave up on the target and padded to the next size up (2 replies in 600).
 */
export async function findPadding<T extends { length: number }>(measure: (pad: number) => Promise<T>): Promise<T> {
  let target: number | undefined;
  let pad = 0;
  let ceiling = Infinity; // the largest pad not proven too large for `target`
  for (let attempt = 0; attempt < 3 * TRIES_PER_TARGET; attempt++) {
    const result = await measure(pad);
    target ??= paddedLength(result.length);
    if (result.length === target) return result;
    if (result.length > target) ceiling = Math.min(ceiling, pad - 1);
    pad = Math.max(0, Math.min(ceiling, pad + target - result.length));
    // A length header that grows across a step can make a target unreachable (every pad lands
    // above or below it): the next PADMÉ size always is.
    if (attempt % TRIES_PER_TARGET === TRIES_PER_TARGET - 1 || ceiling < 0) {
      target = paddedLength(target + 1);
      ceiling = Infinity;
    }
  }
  throw new Error('could not pad the reply to a PADMÉ size');
}

/**
 * Signs `text` (UTF-8 without U+0000) with the newsroom key, naming the source key in the
 * signature (REPLY_RECIPIENT_NOTATION), pads it with zero bytes so the
 * binary message is exactly `paddedLength` of its unpadded size, encrypts it to the source key and
 * the newsroom key (`encryptToKeys`: no compression, SEIPDv1 for v4 keys), and signs that
 * ciphertext with a detached signature. `newsroomKey` must be unlocked.
 */
export async function sealReply(text: Uint8Array, sourceKey: PublicKey, newsroomKey: PrivateKey): Promise<SealedReply> {
  if (!(text instanceof Uint8Array)) throw new TypeError(`expected Uint8Array, got ${typeof text}`);
  if (text.includes(0)) throw new TypeError('expected reply text without NUL bytes (they are the padding), got one');
  if (!newsroomKey.isDecrypted()) throw new TypeError('expected an unlocked newsroom key, got a locked one');
  const message = await findPadding(async (pad) => {
    const plaintext = new Uint8Array(text.length + pad);
    plaintext.set(text);
    return encryptToKeys(plaintext, [sourceKey, newsroomKey.toPublic()], newsroomKey, [replyRecipientNotation(sourceKey)]);
  });
  const signature = (await sign({
    message: await createMessage({ binary: message }),
    signingKeys: newsroomKey,
    detached: true,
    format: 'binary',
  })) as Uint8Array;
  return { message, signature };
}

/**
 * The editor API's check: `signature` (binary or armored, at most MAX_REPLY_SIGNATURE_BYTES) is one
 * detached signature of type 0x00 (binary document) over exactly `message`'s bytes, by the
 * newsroom key. Shape first, then the issuer, then one verification. Throws OpenPgpCheckError
 * `bad_signature_format`, `wrong_signer` or `bad_signature`.
 */
export async function checkReplySignature(message: Uint8Array, signature: Uint8Array, newsroomKey: PublicKey): Promise<void> {
  const binary = await signatureBytes(signature);
  let packets;
  try {
    packets = await readPackets([binary]);
  } catch (error) {
    if (!(error instanceof OpenPgpCheckError)) throw error;
    throw new OpenPgpCheckError('bad_signature_format', `the signature's packet framing is broken: ${error.message}`);
  }
  const [packet] = packets;
  if (packets.length !== 1 || packet!.tag !== TAG_SIGNATURE || packet!.partial) {
    throw new OpenPgpCheckError('bad_signature_format', `expected one signature packet, got ${packets.map((p) => `tag ${p.tag}`).join(', ') || 'none'}`);
  }
  const [version, type] = packet!.body;
  if (version !== 4 && version !== 6) throw new OpenPgpCheckError('bad_signature_format', `expected a v4 or v6 signature, got v${version}`);
  if (type !== enums.signature.binary) {
    throw new OpenPgpCheckError('bad_signature_format', `expected a binary-document signature (type 0x00), got type 0x${(type ?? 0).toString(16).padStart(2, '0')}`);
  }
  let parsed;
  try {
    parsed = await readSignature({ binarySignature: binary });
  } catch (error) {
    throw new OpenPgpCheckError('bad_signature_format', `the signature does not parse: ${(error as Error).message}`);
  }
  const issuers = parsed.getSigningKeyIDs().map((id) => id.toHex());
  const newsroomIds = newsroomKey.getKeyIDs().map((id) => id.toHex());
  if (!issuers.some((id) => newsroomIds.includes(id))) {
    throw new OpenPgpCheckError('wrong_signer', `expected a signature by the newsroom key, got one by ${issuers.join(', ') || 'an unnamed key'}`);
  }
  const result = await verify({
    message: await createMessage({ binary: message }),
    signature: parsed,
    verificationKeys: newsroomKey,
    format: 'binary',
    // No clock is trusted with this: the offline machine's may run ahead. The key must still have
    // been valid when the signature says it was made.
    date: null as unknown as Date,
  });
  try {
    await result.signatures[0]!.verified;
  } catch (error) {
    throw new OpenPgpCheckError('bad_signature', `the signature does not verify: ${(error as Error).message}`);
  }
}

const ARMORED_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';

async function signatureBytes(signature: Uint8Array): Promise<Uint8Array> {
  if (signature.length === 0) throw new OpenPgpCheckError('bad_signature_format', 'expected a signature, got nothing');
  if (signature.length > MAX_REPLY_SIGNATURE_BYTES) {
    throw new OpenPgpCheckError('bad_signature_format', `expected a signature of at most ${MAX_REPLY_SIGNATURE_BYTES} bytes, got ${signature.length}`);
  }
  const head = new TextDecoder('latin1').decode(signature.subarray(0, 64)).trimStart();
  if (!head.startsWith('-----BEGIN PGP')) return signature;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(signature).trim();
  } catch {
    throw new OpenPgpCheckError('bad_signature_format', 'expected armored text in UTF-8');
  }
  if (!text.startsWith(ARMORED_SIGNATURE) || text.indexOf('-----BEGIN PGP', 1) !== -1) {
    throw new OpenPgpCheckError('bad_signature_format', 'expected exactly one PGP SIGNATURE block, nothing around it');
  }
  try {
    const { type, data } = await unarmor(text);
    if (type !== enums.armor.signature) throw new Error(`armor type ${type}`);
    return data as Uint8Array;
  } catch (error) {
    throw new OpenPgpCheckError('bad_signature_format', `the armored signature does not parse: ${(error as Error).message}`);
  }
}

/**
 * Why a compressed packet is refused before it is inflated: OpenPGP.js inflates one as it parses it
 * (a 65 KB reply made 64 MiB), and its `maxDecompressedMessageSize` is checked only on what the
 * inflater has already produced. This class takes tag 8's place in the parser
 * (`additionalAllowedPackets` overrides the built-in classes) and throws on reading, so the
 * compressed bytes are never handed to an inflater.
 */
function refuseCompression(): { config: PartialConfig; seen: () => boolean } {
  let seen = false;
  class RefusedCompressedDataPacket {
    static get tag() {
      return enums.packet.compressedData;
    }
    read(): never {
      seen = true;
      throw new Error('compressed data packets are refused in replies');
    }
    write(): never {
      throw new Error('compressed data packets are refused in replies');
    }
  }
  return { config: { additionalAllowedPackets: [RefusedCompressedDataPacket as never] }, seen: () => seen };
}

/**
 * The page's check: decrypts `message` (binary or armored) with `decryptionKey` (the source's
 * unlocked key on the page) and shows it only when it holds no compressed packet, a signature in it
 * is the newsroom key's and verifies, and every newsroom signature names `sourceFingerprint` (by
 * default the decryption key's own) in its hashed REPLY_RECIPIENT_NOTATION. The text is the literal
 * data without its trailing zero bytes (the padding), decoded as UTF-8. The newsroom, opening its
 * own copy, passes the source key's fingerprint.
 */
export async function openReply(
  message: Uint8Array | string,
  decryptionKey: PrivateKey,
  newsroomKey: PublicKey,
  sourceFingerprint: string = decryptionKey.getFingerprint(),
): Promise<OpenedReply> {
  // Size first: nothing larger than the server may store is parsed, let alone verified.
  if (typeof message === 'string' ? message.length > MAX_ARMORED_REPLY_CHARS : message.length > MAX_REPLY_BYTES) {
    return { ok: false, problem: 'unreadable' };
  }
  let data: Uint8Array;
  let signatures: Awaited<ReturnType<Awaited<ReturnType<typeof readMessage>>['verify']>>;
  const compression = refuseCompression();
  const config = { ...defaultConfig, ...compression.config };
  try {
    const parsed = typeof message === 'string'
      ? await readMessage({ armoredMessage: message, config })
      : await readMessage({ binaryMessage: message, config });
    if (typeof message === 'string' && parsed.write().length > MAX_REPLY_BYTES) return { ok: false, problem: 'unreadable' };
    const decrypted = await parsed.decrypt([decryptionKey], undefined, undefined, undefined, config);
    const signaturePackets = decrypted.packets.filter((p) => {
      const tag = (p.constructor as { tag?: number }).tag;
      return tag === enums.packet.signature || tag === enums.packet.onePassSignature;
    });
    // Counted before any is verified: each verification costs a hash of the whole text. (OpenPGP.js
    // lists a one-pass signature and keeps its trailing signature packet aside, so each counts once.)
    if (signaturePackets.length > MAX_REPLY_SIGNATURES) return { ok: false, problem: 'unreadable' };
    const literal = decrypted.getLiteralData();
    if (!(literal instanceof Uint8Array)) return { ok: false, problem: 'unreadable' };
    data = literal;
    // The source's clock is no judge of when the newsroom wrote; the key's validity at the
    // signature's own date is still checked.
    signatures = await decrypted.verify([newsroomKey], null as unknown as Date, config);
    if (signatures.length > MAX_REPLY_SIGNATURES) {
      for (const s of signatures) s.verified.catch(() => undefined);
      return { ok: false, problem: 'unreadable' };
    }
  } catch {
    return { ok: false, problem: compression.seen() ? 'compressed' : 'unreadable' };
  }
  if (signatures.length === 0) return { ok: false, problem: 'unsigned' };
  const newsroomIds = new Set(newsroomKey.getKeyIDs().map((id) => id.toHex()));
  const byNewsroom = signatures.filter((s) => newsroomIds.has(s.keyID.toHex()));
  // Signatures by other keys (an editor's own, say) are let be; they prove nothing either way.
  for (const s of signatures) if (!byNewsroom.includes(s)) s.verified.catch(() => undefined);
  if (byNewsroom.length === 0) return { ok: false, problem: 'wrong_signer' };
  try {
    for (const s of byNewsroom) await s.verified;
  } catch {
    return { ok: false, problem: 'bad_signature' };
  }
  for (const s of byNewsroom) {
    if (!namesRecipient((await s.signature).packets, sourceFingerprint.toLowerCase())) return { ok: false, problem: 'not_for_you' };
  }
  const first = (await byNewsroom[0]!.signature).packets[0]!;
  const signedAt = first.created?.getTime();
  if (signedAt === undefined || !Number.isFinite(signedAt)) return { ok: false, problem: 'bad_signature' };
  const signatureId = Array.from(first.write(), (b) => b.toString(16).padStart(2, '0')).join('');
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return { ok: true, text: new TextDecoder('utf-8', { fatal: false }).decode(data.subarray(0, end)), signedAt, signatureId };
}

/**
 * True when the signature's hashed area holds REPLY_RECIPIENT_NOTATION and every such notation is
 * exactly `fingerprint`. OpenPGP.js reads notations from the hashed area only (unhashed ones, which
 * anyone could add, are kept aside in `unhashedSubpackets`).
 */
function namesRecipient(packets: Iterable<{ rawNotations: RawNotation[] }>, fingerprint: string): boolean {
  const want = new TextEncoder().encode(fingerprint);
  let named = false;
  for (const packet of packets) {
    for (const { name, value } of packet.rawNotations) {
      if (name !== REPLY_RECIPIENT_NOTATION) continue;
      if (value.length !== want.length || !value.every((b, i) => b === want[i])) return false;
      named = true;
    }
  }
  return named;
}
