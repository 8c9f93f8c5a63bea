/**
 * @module cli/outbox — a reply, from its text to the outbox `sealdrop push` sends: signed with the
 * newsroom key, padded, encrypted to the source and to the newsroom, the ciphertext signed (the
 * detached signature the editor API checks), every check the server and the source's page make
 * made here first; then kept in the inbox's conversation. Shared by `sealdrop reply` and the read
 * view (`sealdrop read`), and so is the choice of the key: the one pinned for the source
 * (cli/key-pins.ts), never one the server alone vouches for.
 */

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrivateKey, PublicKey } from 'openpgp';
import { checkReplySignature, checkSourcePublicKey, encryptionKeyIds, inspectMessage, MAX_REPLY_BYTES, openReply, sealReply } from '../protocol/index.ts';
import { formatFingerprint } from '../protocol/fingerprint.ts';
import { isValidHandle, readBundle } from './bundle.ts';
import { CliError } from './errors.ts';
import { fileError, writeNewFile } from './files.ts';
import { addReply, newReplyId, today } from './inbox.ts';
import { readKeyDisputes, readKeyIndex, readKeyPin } from './key-pins.ts';
import { readTipSignature } from './tip-signature.ts';
import { readSourcePublicKey, type SourcePublicKey } from './source-key.ts';

export interface WriteReplyOptions {
  /** the reply's UTF-8 bytes, checked by checkReplyText */
  text: Uint8Array;
  source: SourcePublicKey;
  /** the unlocked newsroom secret key */
  secretKey: PrivateKey;
  /** how the key is named in errors (its file) */
  keyName: string;
  outbox: string;
  /** the inbox to keep the reply in, when it holds a conversation with the source */
  inbox?: string;
}

export interface WrittenReply {
  id: string;
  /** the .pgp file in the outbox (its .sig beside it) */
  path: string;
  ciphertextBytes: number;
  /** whether the inbox kept it */
  recorded: boolean;
}

/** Throws a CliError unless `bytes` is a reply the source's page can show. */
export function checkReplyText(bytes: Uint8Array): void {
  if (bytes.length > MAX_REPLY_BYTES) {
    throw new CliError(`the reply is longer than ${MAX_REPLY_BYTES} bytes`, { hint: 'shorten the reply; files cannot be sent to sources' });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new CliError('the reply is not UTF-8 text', {
      hint: 'save the reply as plain UTF-8 text (not a word processor file)',
      cause: error,
    });
  }
  if (text.trim().length === 0) {
    throw new CliError('the reply is empty', { hint: 'write the reply into the file first' });
  }
  if (text.includes('\0')) {
    // NUL bytes are the padding: the source's page would cut the text at the last one.
    throw new CliError('the reply holds NUL bytes', { hint: 'save the reply as plain UTF-8 text (not a word processor file)' });
  }
}

export async function writeReply({ text, source, secretKey, keyName, outbox, inbox }: WriteReplyOptions): Promise<WrittenReply> {
  checkReplyText(text);
  const newsroomKey = secretKey.toPublic();
  if ((await encryptionKeyIds(newsroomKey)).length === 0) {
    throw new CliError(`${keyName} has no usable encryption key (expired or revoked?)`, {
      hint: 'use the current newsroom key',
    });
  }

  let sealed;
  try {
    sealed = await sealReply(text, source.key as PublicKey, secretKey);
  } catch (error) {
    if (/signing key/i.test((error as Error).message)) {
      throw new CliError(`${keyName} cannot sign: ${(error as Error).message}`, {
        hint: "use the current newsroom key; and check this machine's clock: a key cannot sign before the date it was made",
        cause: error,
      });
    }
    throw error;
  }
  const { message: ciphertext, signature } = sealed;
  if (ciphertext.length > MAX_REPLY_BYTES) {
    throw new CliError(`the encrypted reply is ${ciphertext.length} bytes, more than the ${MAX_REPLY_BYTES} the server accepts`, {
      hint: 'shorten the reply',
    });
  }
  // The checks the server and the source's page make, here, offline: a mistake is caught before
  // anything is carried across.
  const { recipientKeyIds } = await inspectMessage(ciphertext);
  if (!source.encryptionKeyIds.some((id) => recipientKeyIds.includes(id))) {
    throw new Error('the encrypted reply is not addressed to the source key');
  }
  await checkReplySignature(ciphertext, signature, newsroomKey);
  // Opened with the newsroom's own key, so the source it must name is given: the binding is checked too.
  const opened = await openReply(ciphertext, secretKey, newsroomKey, (source.key as PublicKey).getFingerprint());
  if (!opened.ok) {
    throw new CliError(`the signed reply does not open as the source's page would open it (${opened.problem})`, {
      hint: "check this machine's clock: the newsroom key must have been valid at the date it shows",
    });
  }

  const dir = join(outbox, source.handle);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fileError(error, dir, 'outbox folder');
  }
  const id = newReplyId();
  const path = join(dir, `${id}.pgp`);
  // The signature first: push sends a .pgp only with its .sig, so a reply cut short here is
  // never half sent.
  await writeNewFile(`${path}.sig`, signature, 0o600, 'reply signature file');
  await writeNewFile(path, ciphertext, 0o600, 'reply file');
  const recorded = inbox === undefined
    ? false
    : await addReply(inbox, source.handle, { id, day: today(), bytes: text.length, outboxFile: `${source.handle}/${id}.pgp` }, text);
  return { id, path, ciphertextBytes: ciphertext.length, recorded };
}

/**
 * The key to answer `handle` with: its pin, and only its pin. A bundle, if given, must hold the
 * same key for it or none (a bundle without this source is fine: the pin is enough).
 */
export async function pinnedSourceKey(handle: string, inboxDir: string, bundleDir: string | undefined): Promise<SourcePublicKey> {
  if (!isValidHandle(handle)) {
    throw new CliError(`${JSON.stringify(handle)} is not a source handle`, {
      hint: 'handles are lower-case words joined by "-", as in the decrypt summary (e.g. quiet-otter)',
    });
  }
  const pin = await readKeyPin(inboxDir, handle);
  if (bundleDir !== undefined) {
    const bundle = await readBundle(bundleDir);
    if (!pin || bundle.sources.some((s) => s.handle === handle)) {
      const offered = await readSourcePublicKey(bundle, handle);
      if (pin && offered.fingerprint !== pin.fingerprint) {
        throw new CliError(
          `the bundle's key for ${handle} is not the pinned one: the bundle has ${formatFingerprint(offered.fingerprint)}, the source's own tip named ${formatFingerprint(pin.fingerprint)}`,
          { hint: 'the server may be tampered with; no reply was written. The pin is the key of the first signed tip decrypted under this handle, which proves only that its writer holds it; to answer the writer of one tip, use --tip TIP_DIR' },
        );
      }
    }
  }
  if (!pin) {
    throw new CliError(`no pinned key for ${handle} in ${inboxDir}: sealdrop answers only a key that signed a tip`, {
      hint: `decrypt a tip of ${handle} first ("sealdrop decrypt -i KEY BUNDLE_DIR", same --inbox); unsigned tips (older pages, tips over 64 MiB) pin nothing: the source is pinned by its next signed tip`,
    });
  }
  const disputes = await readKeyDisputes(inboxDir, handle);
  if (disputes.length > 0) {
    const first = await readKeyIndex(inboxDir, pin.fingerprint).catch(() => undefined);
    const tips = [
      `${formatFingerprint(pin.fingerprint)} signed ${first?.tip ?? 'the tip that pinned it'}: sealdrop reply --tip ${first?.tip ?? 'TIP_DIR'}`,
      ...disputes.map((d) => `${formatFingerprint(d.fingerprint)} signed ${d.tip}: sealdrop reply --tip ${d.tip}`),
    ];
    throw new CliError(`${handle} is disputed: ${disputes.length + 1} keys signed tips under it, so the handle does not say whom to answer; no reply was written`, {
      hint: `the handle is the server's word, a signature is the writer's; neither key is more genuine for being decrypted first. Answer a tip by the key that signed it — ${tips.join('; ')}`,
    });
  }
  return usablePinnedKey(handle, pin.publicKey, pin.path);
}

async function usablePinnedKey(handle: string, armored: string, path: string): Promise<SourcePublicKey> {
  try {
    return { handle, armored, ...(await checkSourcePublicKey(armored)) };
  } catch (error) {
    throw new CliError(`refusing the pinned key of ${handle} (${path}): ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'the key may have expired; the source\'s page makes keys that do not, so the pin file may have been changed',
      cause: error,
    });
  }
}

/**
 * The key that signed the tip in `tipDir` (its signature.json, written by "sealdrop decrypt"),
 * provided decrypt took it: the handle's pin, or a key recorded as disputing the handle. A tip
 * unsigned, badly signed or quarantined has no key to answer.
 */
export async function signerOfTip(tipDir: string, inboxDir: string): Promise<SourcePublicKey> {
  const signature = await readTipSignature(tipDir);
  if (signature.status !== 'signed' || signature.handle === undefined) {
    throw new CliError(`${tipDir} is not a tip signed by its source's key (${signature.status === 'unchecked' ? 'no signature record: not a folder "sealdrop decrypt" wrote, or decrypted before signatures were checked' : signature.status})`, {
      hint: signature.status === 'unsigned'
        ? 'an unsigned tip proves no key; answer its handle with --to HANDLE only if that handle is pinned by a signed tip'
        : 'give a tip folder "sealdrop decrypt" wrote: INBOX/sources/HANDLE/tips/ID (or OUT_DIR/HANDLE/DAY_ID with -o)',
    });
  }
  const { handle, fingerprint } = signature;
  // One key, one handle: a key indexed under another handle is that source's, and a tip of it
  // filed here is the server's replay; the answer belongs in the other conversation.
  const owner = await readKeyIndex(inboxDir, fingerprint);
  if (owner && owner.handle !== handle) {
    throw new CliError(`the key ${formatFingerprint(fingerprint)} that signed ${tipDir} is ${owner.handle}'s, not ${handle}'s: the server filed one source's tip under a second handle; no reply was written`, {
      hint: `answer that source as ${owner.handle}: sealdrop reply --to ${owner.handle}${owner.tip ? ` (or --tip ${owner.tip})` : ''}`,
    });
  }
  const pin = await readKeyPin(inboxDir, handle);
  if (pin?.fingerprint === fingerprint) return usablePinnedKey(handle, pin.publicKey, pin.path);
  const dispute = (await readKeyDisputes(inboxDir, handle)).find((d) => d.fingerprint === fingerprint);
  if (dispute) return usablePinnedKey(handle, dispute.publicKey, dispute.tip);
  throw new CliError(`the key ${formatFingerprint(fingerprint)} that signed ${tipDir} is neither pinned nor disputed under ${handle} in ${inboxDir}`, {
    hint: 'decrypt said why when it decrypted that tip (a key under two handles, or a tip in quarantine); use the same --inbox as decrypt',
  });
}
