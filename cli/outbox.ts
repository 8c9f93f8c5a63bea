/**
 * @module cli/outbox — a reply, from its text to the outbox `sealdrop push` sends: signed with the
 * newsroom key, padded, encrypted to the source and to the newsroom, the ciphertext signed (the
 * detached signature the editor API checks), every check the server and the source's page make
 * made here first; then kept in the inbox's conversation. Shared by `sealdrop reply` and the read
 * view (`sealdrop read`).
 */

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrivateKey, PublicKey } from 'openpgp';
import { checkReplySignature, encryptionKeyIds, inspectMessage, MAX_REPLY_BYTES, openReply, sealReply } from '../protocol/index.ts';
import { CliError } from './errors.ts';
import { fileError, writeNewFile } from './files.ts';
import { addReply, newReplyId, today } from './inbox.ts';
import type { SourcePublicKey } from './source-key.ts';

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
