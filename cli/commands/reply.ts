/**
 * @module cli/commands/reply — `sealdrop reply -i KEY (--to HANDLE [--bundle DIR] | --tip TIP_DIR) [--inbox DIR] [--outbox DIR] FILE|-`:
 * sign a reply with the newsroom key, pad it, encrypt it to the source and to the newsroom, and sign
 * the ciphertext (the detached signature the editor API checks), into the outbox, offline.
 *
 * The reply goes to a key that signed a tip (PROTOCOL.md, "Signed tips"), never to a key the
 * server alone vouches for. `--tip TIP_DIR` (a folder "sealdrop decrypt" wrote) answers the key
 * that signed that tip; `--to HANDLE` answers the handle's pin (cli/key-pins.ts), and refuses a
 * handle under which two keys signed tips, since the handle is only the server's word. A bundle
 * given with --bundle must agree with the pin; without a pin there is no reply.
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
import { readKeyDisputes, readKeyIndex, readKeyPin } from '../key-pins.ts';
import { readSourcePublicKey, type SourcePublicKey } from '../source-key.ts';
import { readTipSignature } from '../tip-signature.ts';

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'reply',
    args,
    {
      identity: { type: 'string', short: 'i', multiple: true },
      bundle: { type: 'string' },
      to: { type: 'string' },
      tip: { type: 'string' },
      inbox: { type: 'string' },
      outbox: { type: 'string' },
    },
    { min: 1, max: 1, name: 'the reply FILE (or - to read it from stdin)' },
  );
  const identities = stringOptions(parsed, 'identity');
  if (identities.length !== 1) {
    throw usageError('reply: give exactly one -i KEY.sec.asc, the current newsroom key', 'the reply is signed with this key, and encrypted to it so the newsroom can read it later');
  }
  const tipOption = stringOption(parsed, 'tip');
  const bundleOption = stringOption(parsed, 'bundle');
  if (tipOption !== undefined && (stringOption(parsed, 'to') !== undefined || bundleOption !== undefined)) {
    throw usageError('reply: --tip names whom to answer by itself; leave out --to and --bundle', 'sealdrop reply -i KEY --tip OUT_DIR/HANDLE/DAY_ID FILE');
  }
  const to = tipOption === undefined
    ? requireOption('reply', parsed, 'to', 'name whom to answer: --tip TIP_DIR (a folder "sealdrop decrypt" wrote), or --to HANDLE (see the decrypt summary)')
    : undefined;
  const outbox = resolvePath(io.cwd, stringOption(parsed, 'outbox') ?? 'outbox');
  const input = parsed.positionals[0]!;
  const inboxDir = resolveInboxDir(stringOption(parsed, 'inbox'), io);

  const source = to === undefined
    ? await signerOfTip(resolvePath(io.cwd, tipOption!), inboxDir)
    : await pinnedSourceKey(to, inboxDir, bundleOption === undefined ? undefined : resolvePath(io.cwd, bundleOption));
  const { handle } = source;
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
          { hint: 'the server may be tampered with; no reply was written. The pin is the key of the first signed tip decrypted under this handle, which proves only that its writer holds it; to answer the writer of one tip, use --tip TIP_DIR' },
        );
      }
    }
  }
  if (!pin) {
    throw new CliError(`no pinned key for ${handle} in ${inboxDir}: sealdrop answers only a key that signed a tip`, {
      hint: `decrypt a tip of ${handle} first ("sealdrop decrypt -i KEY BUNDLE_DIR -o OUT_DIR", same --inbox); unsigned tips (older pages, tips over 64 MiB) pin nothing: the source is pinned by its next signed tip`,
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
async function signerOfTip(tipDir: string, inboxDir: string): Promise<SourcePublicKey> {
  const signature = await readTipSignature(tipDir);
  if (signature.status !== 'signed' || signature.handle === undefined) {
    throw new CliError(`${tipDir} is not a tip signed by its source's key (${signature.status === 'unchecked' ? 'no signature record: not a folder "sealdrop decrypt" wrote, or decrypted before signatures were checked' : signature.status})`, {
      hint: signature.status === 'unsigned'
        ? 'an unsigned tip proves no key; answer its handle with --to HANDLE only if that handle is pinned by a signed tip'
        : 'give a folder that "sealdrop decrypt" wrote, OUT_DIR/HANDLE/DAY_ID',
    });
  }
  const { handle, fingerprint } = signature;
  const pin = await readKeyPin(inboxDir, handle);
  if (pin?.fingerprint === fingerprint) return usablePinnedKey(handle, pin.publicKey, pin.path);
  const dispute = (await readKeyDisputes(inboxDir, handle)).find((d) => d.fingerprint === fingerprint);
  if (dispute) return usablePinnedKey(handle, dispute.publicKey, dispute.tip);
  throw new CliError(`the key ${formatFingerprint(fingerprint)} that signed ${tipDir} is neither pinned nor disputed under ${handle} in ${inboxDir}`, {
    hint: 'decrypt said why when it decrypted that tip (a key under two handles, or a tip in quarantine); use the same --inbox as decrypt',
  });
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
