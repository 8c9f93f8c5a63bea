/**
 * @module cli/commands/reply — `sealdrop reply -i KEY --to HANDLE [--bundle DIR] [--inbox DIR] [--outbox DIR] FILE|-`:
 * sign a reply with the newsroom key, pad it, encrypt it to the source and to the newsroom, and sign
 * the ciphertext (the detached signature the editor API checks), into the outbox, offline.
 *
 * The source key is the one pinned for HANDLE in the inbox (cli/key-pins.ts), which `sealdrop
 * decrypt` pins only when the source's own tip names it: never a key the server alone vouches
 * for. A bundle given with --bundle must agree with the pin; without a pin there is no reply.
 */

import { mkdir, open } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { PublicKey } from 'openpgp';
import { checkReplySignature, checkSourcePublicKey, encryptionKeyIds, inspectMessage, MAX_REPLY_BYTES, openReply, sealReply } from '../../protocol/index.ts';
import { formatFingerprint } from '../../protocol/fingerprint.ts';
import { parseCommandArgs, requireOption, stringOption, stringOptions } from '../args.ts';
import { isValidHandle, readBundle } from '../bundle.ts';
import { CliError, usageError } from '../errors.ts';
import { fileError, resolvePath, writeNewFile } from '../files.ts';
import { loadIdentities } from '../identities.ts';
import { resolveInboxDir } from '../inbox-dir.ts';
import type { CliIo } from '../io.ts';
import { readKeyPin } from '../key-pins.ts';
import { readSourcePublicKey, type SourcePublicKey } from '../source-key.ts';

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'reply',
    args,
    {
      identity: { type: 'string', short: 'i', multiple: true },
      bundle: { type: 'string' },
      to: { type: 'string' },
      inbox: { type: 'string' },
      outbox: { type: 'string' },
    },
    { min: 1, max: 1, name: 'the reply FILE (or - to read it from stdin)' },
  );
  const identities = stringOptions(parsed, 'identity');
  if (identities.length !== 1) {
    throw usageError('reply: give exactly one -i KEY.sec.asc, the current newsroom key', 'the reply is signed with this key, and encrypted to it so the newsroom can read it later');
  }
  const handle = requireOption('reply', parsed, 'to', 'name the source to answer: --to HANDLE (see the decrypt summary)');
  const bundleOption = stringOption(parsed, 'bundle');
  const outbox = resolvePath(io.cwd, stringOption(parsed, 'outbox') ?? 'outbox');
  const input = parsed.positionals[0]!;

  const source = await pinnedSourceKey(handle, resolveInboxDir(stringOption(parsed, 'inbox'), io), bundleOption === undefined ? undefined : resolvePath(io.cwd, bundleOption));
  const text = await readReplyText(input, io);
  // Unlocked only once the reply is known to be sendable: the key signs it (the source's page
  // shows no reply without the newsroom's signature).
  const [identity] = await loadIdentities(identities, io);
  const secretKey = identity!.key;
  const newsroomKey = secretKey.toPublic();
  if ((await encryptionKeyIds(newsroomKey)).length === 0) {
    throw new CliError(`${identities[0]} has no usable encryption key (expired or revoked?)`, {
      hint: 'use the current newsroom key',
    });
  }

  let sealed;
  try {
    sealed = await sealReply(text, source.key as PublicKey, secretKey);
  } catch (error) {
    if (/signing key/i.test((error as Error).message)) {
      throw new CliError(`${identities[0]} cannot sign: ${(error as Error).message}`, {
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

  const dir = join(outbox, handle);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fileError(error, dir, 'outbox folder');
  }
  const path = join(dir, `${randomBytes(16).toString('hex')}.pgp`);
  // The signature first: push sends a .pgp only with its .sig, so a reply cut short here is
  // never half sent.
  await writeNewFile(`${path}.sig`, signature, 0o600, 'reply signature file');
  await writeNewFile(path, ciphertext, 0o600, 'reply file');
  io.stdout.write(`${relative(io.cwd, path) || path}\n`);
  io.stderr.write(
    `sealdrop: reply to ${handle} signed and encrypted (${text.length} bytes of text, ${ciphertext.length} padded); carry the outbox to the online machine and run "sealdrop push ${relative(io.cwd, outbox) || '.'}"\n`,
  );
}

/**
 * The key to answer `handle` with: its pin, and only its pin. A bundle, if given, must hold the
 * same key for it or none (a bundle without this source is fine: the pin is enough).
 */
async function pinnedSourceKey(handle: string, inboxDir: string, bundleDir: string | undefined): Promise<SourcePublicKey> {
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
          { hint: 'the server may be tampered with; no reply was written. Leave out --bundle to answer the pinned key, after finding out why the server sent another' },
        );
      }
    }
  }
  if (!pin) {
    throw new CliError(`no pinned key for ${handle} in ${inboxDir}: sealdrop answers only a key the source's own tip names`, {
      hint: `decrypt a tip of ${handle} first ("sealdrop decrypt -i KEY BUNDLE_DIR -o OUT_DIR", same --inbox); a source whose tips all came from an older page is pinned by its next tip`,
    });
  }
  try {
    return { handle, armored: pin.publicKey, ...(await checkSourcePublicKey(pin.publicKey)) };
  } catch (error) {
    throw new CliError(`refusing the pinned key of ${handle} (${pin.path}): ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'the key may have expired; the source\'s page makes keys that do not, so the pin file may have been changed',
      cause: error,
    });
  }
}

/** The reply as UTF-8 bytes: checked for size, valid UTF-8 and content. */
async function readReplyText(input: string, io: CliIo): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (input === '-') {
    if (io.stdin.isTTY) io.stderr.write('sealdrop: type the reply, then Ctrl-D on a line of its own\n');
    bytes = await readLimited(io.stdin, MAX_REPLY_BYTES + 1);
  } else {
    const path = resolvePath(io.cwd, input);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw fileError(error, path, 'reply file');
    }
    try {
      bytes = await readLimited(handle.createReadStream(), MAX_REPLY_BYTES + 1);
    } finally {
      await handle.close();
    }
  }
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
  return bytes;
}

async function readLimited(stream: NodeJS.ReadableStream, limit: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    chunks.push(bytes);
    total += bytes.length;
    if (total >= limit) break;
  }
  const out = new Uint8Array(Math.min(total, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, out.length - offset);
    out.set(part, offset);
    offset += part.length;
    if (offset >= out.length) break;
  }
  return out;
}
