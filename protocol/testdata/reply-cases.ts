/**
 * @module protocol/testdata/reply-cases — the reply vectors (PROTOCOL.md, "Replies"), written by
 * generate.ts, or alone: `npx tsx protocol/testdata/reply-cases.ts` rewrites only the `reply-*`
 * files. Every message is encrypted to a source key and to the demo newsroom key, whose secret half
 * is published: the runner opens them with it. Each case says what it must give; the generator stops
 * when the code disagrees.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { OpenPgpCheckError } from '../errors.ts';
import { checkReplySignature, openReply, replyRecipientNotation, sealReply } from '../replies.ts';
import { encryptToKeys, generateSourceKeys } from '../source-keys.ts';

type Headers = Record<string, string | number>;
type Write = (name: string, headers: Headers, data: Uint8Array | string, encoding: 'utf8' | 'base64') => void;

const DEMO_SECRET = readFileSync(new URL('../../keys.example/newsroom.sec.asc', import.meta.url), 'utf8');
export const DEMO_PASSPHRASE = 'demo-never-use';
const utf8 = (text: string) => new TextEncoder().encode(text);
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const uncompressed = { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed };

/**
 * The cross-source replay: `reply` opened with `key` (a source's, or the newsroom's), its signed
 * literal data (signature, then literal: the signature is over the data alone) encrypted again to
 * `recipients`, as anyone who can read one reply and write the replies table could.
 */
export async function replayReply(reply: Uint8Array, key: openpgp.PrivateKey, recipients: openpgp.PublicKey[], config: openpgp.PartialConfig = uncompressed): Promise<Uint8Array> {
  const { data, signatures } = await openpgp.decrypt({ message: await openpgp.readMessage({ binaryMessage: reply }), decryptionKeys: key, format: 'binary', date: null as unknown as Date });
  const packets = new openpgp.PacketList<openpgp.AnyPacket>();
  for (const s of signatures) packets.push(...(await s.signature).packets);
  packets.push(...(await openpgp.createMessage({ binary: data as Uint8Array, date: new Date(0) })).packets);
  const message = new openpgp.Message(packets as never);
  return (await openpgp.encrypt({ message, encryptionKeys: recipients, format: 'binary', config })) as Uint8Array;
}

export async function writeReplyVectors(vector: Write): Promise<void> {
  const newsroom = await openpgp.decryptKey({ privateKey: await openpgp.readPrivateKey({ armoredKey: DEMO_SECRET }), passphrase: DEMO_PASSPHRASE });
  const newsroomPublic = newsroom.toPublic();
  const source = await openpgp.readKey({ armoredKey: (await generateSourceKeys('r'.repeat(64), newsroomPublic)).publicKey });
  const otherSource = await openpgp.readKey({ armoredKey: (await generateSourceKeys('o'.repeat(64), newsroomPublic)).publicKey });
  const { privateKey: other } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Newsroom' }], format: 'object' });
  const to = [source, newsroomPublic];
  const bound = [replyRecipientNotation(source)];
  const signedBy = async (signer: openpgp.PrivateKey, text: string, notations = bound, config: openpgp.PartialConfig = uncompressed) =>
    (await openpgp.encrypt({ message: await openpgp.createMessage({ binary: utf8(text) }), encryptionKeys: to, signingKeys: signer, signatureNotations: notations, format: 'binary', config })) as Uint8Array;
  const detached = async (signer: openpgp.PrivateKey, bytes: Uint8Array) =>
    (await openpgp.sign({ message: await openpgp.createMessage({ binary: bytes }), signingKeys: signer, detached: true, format: 'binary' })) as Uint8Array;

  // ---- the page's check: decrypt, then the newsroom's signature inside -----------------------------
  const check = async (name: string, message: Uint8Array, want: { text: string } | { problem: string }, extra: Headers = {}) => {
    const opened = await openReply(message, newsroom, newsroomPublic, source.getFingerprint());
    const got = opened.ok ? { text: opened.text } : { problem: opened.problem };
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    const headers = 'text' in want
      ? { expect: 'success', kind: 'reply', to: source.getFingerprint(), text: JSON.stringify(want.text), ...extra }
      : { expect: `reply failure: ${want.problem}`, kind: 'reply', to: source.getFingerprint(), ...extra };
    vector(`reply-${name}`, headers, message, 'base64');
  };
  const short = await sealReply(utf8('Yes'), source, newsroom);
  await check('sealed-short', short.message, { text: 'Yes' }, { size: short.message.length });
  const korean = await sealReply(utf8('감사합니다.\n안전하게 지내세요.\n'), source, newsroom);
  await check('sealed-korean', korean.message, { text: '감사합니다.\n안전하게 지내세요.\n' }, { size: korean.message.length });
  await check('signed-unpadded', await signedBy(newsroom, 'made with gpg\n'), { text: 'made with gpg\n' });
  // A genuine reply to another source, its signed data encrypted again to this one (and the newsroom).
  const toOther = await sealReply(utf8('We got your files. Come to the usual place at 9.'), otherSource, newsroom);
  await check('replayed-from-other-source', await replayReply(toOther.message, newsroom, to), { problem: 'not_for_you' });
  await check('no-recipient-notation', await signedBy(newsroom, 'made with gpg, no --sig-notation\n', []), { problem: 'not_for_you' });
  const notationFor = (key: openpgp.PublicKey, value: string, extra: Partial<openpgp.RawNotation> = {}) => ({ ...replyRecipientNotation(key), value: utf8(value), ...extra });
  await check('recipient-notation-upper-case', await signedBy(newsroom, 'x', [notationFor(source, source.getFingerprint().toUpperCase())]), { problem: 'not_for_you' });
  await check('recipient-notation-two-names', await signedBy(newsroom, 'x', [...bound, replyRecipientNotation(otherSource)]), { problem: 'not_for_you' });
  await check('recipient-notation-not-human-readable', await signedBy(newsroom, 'flag bits are not judged\n', [notationFor(source, source.getFingerprint(), { humanReadable: false })]), { text: 'flag bits are not judged\n' });
  // The bomb: 4 MiB of zeros in 4 KiB. The page refuses the packet before inflating it.
  const bomb = (await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: new Uint8Array(4 * 1024 * 1024) }), encryptionKeys: to, signingKeys: newsroom, signatureNotations: bound,
    format: 'binary', config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
  })) as Uint8Array;
  await check('compressed-bomb', bomb, { problem: 'compressed' });
  await check('compressed-zip', await signedBy(newsroom, 'gpg compresses by default\n', bound, { preferredCompressionAlgorithm: openpgp.enums.compression.zip }), { problem: 'compressed' });
  await check('unsigned', await encryptToKeys(utf8('send us your name'), to), { problem: 'unsigned' });
  await check('other-signer', await signedBy(other, 'call this number'), { problem: 'wrong_signer' });
  const forged = await openpgp.sign({ message: await openpgp.createMessage({ binary: utf8('stay safe') }), signingKeys: newsroom, format: 'object' });
  const literal = forged.packets.findPacket(openpgp.enums.packet.literalData) as unknown as { setBytes(b: Uint8Array, f: openpgp.enums.literal): void };
  literal.setBytes(utf8('meet us tonight'), openpgp.enums.literal.binary);
  await check('literal-swapped', (await openpgp.encrypt({ message: forged, encryptionKeys: to, format: 'binary', config: uncompressed })) as Uint8Array, { problem: 'bad_signature' });
  await check('not-for-this-key', await encryptToKeys(utf8('x'), [source]), { problem: 'unreadable' });

  // ---- the editor API's check: the detached signature over the message's bytes ---------------------
  const signatureCase = async (name: string, message: Uint8Array, signature: Uint8Array | string, want: string) => {
    const bytes = typeof signature === 'string' ? utf8(signature) : signature;
    let got = 'success';
    try {
      await checkReplySignature(message, bytes, newsroomPublic);
    } catch (error) {
      if (!(error instanceof OpenPgpCheckError)) throw error;
      got = `reply-signature failure: ${error.code}`;
    }
    if (got !== want) throw new Error(`reply-signature-${name}: expected ${want}, got ${got}`);
    vector(`reply-signature-${name}`, { expect: want, kind: 'reply-signature', signature: b64(bytes) }, message, 'base64');
  };
  await signatureCase('good', short.message, short.signature, 'success');
  await signatureCase('armored', short.message, openpgp.armor(openpgp.enums.armor.signature, short.signature), 'success');
  await signatureCase('other-signer', short.message, await detached(other, short.message), 'reply-signature failure: wrong_signer');
  await signatureCase('other-message', short.message, korean.signature, 'reply-signature failure: bad_signature');
  const flipped = short.message.slice();
  flipped[flipped.length - 1]! ^= 1;
  await signatureCase('message-altered', flipped, short.signature, 'reply-signature failure: bad_signature');
  const textMode = (await openpgp.sign({ message: await openpgp.createMessage({ text: 'x' }), signingKeys: newsroom, detached: true, format: 'binary' })) as Uint8Array;
  await signatureCase('text-mode', short.message, textMode, 'reply-signature failure: bad_signature_format');
  await signatureCase('two-signatures', short.message, new Uint8Array([...short.signature, ...short.signature]), 'reply-signature failure: bad_signature_format');
  await signatureCase('cut-short', short.message, short.signature.subarray(0, 60), 'reply-signature failure: bad_signature_format');
  await signatureCase('not-a-signature', short.message, short.message.subarray(0, 200), 'reply-signature failure: bad_signature_format');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = new URL('./', import.meta.url);
  for (const f of readdirSync(dir)) if (f.startsWith('reply-') && !f.includes('.')) rmSync(new URL(f, dir));
  await writeReplyVectors((name, headers, data, encoding) => {
    const head = Object.entries({ ...headers, encoding }).map(([k, v]) => `${k}: ${v}`).join('\n');
    const body = encoding === 'utf8' ? (data as string) : Buffer.from(data as Uint8Array).toString('base64').replace(/.{1,76}/g, '$&\n').trimEnd();
    writeFileSync(new URL(name, dir), `${head}\n\n${body}\n`);
  });
}
