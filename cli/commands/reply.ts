/**
 * @module cli/commands/reply — `sealdrop reply -i KEY (--to HANDLE [--bundle DIR] | --tip TIP_DIR) [--inbox DIR] [--outbox DIR] FILE|-`:
 * sign a reply with the newsroom key, pad it, encrypt it to the source and to the newsroom, and sign
 * the ciphertext (the detached signature the editor API checks), into the outbox, offline, and keep
 * it in the source's conversation in the inbox (cli/outbox.ts).
 *
 * The reply goes to a key that signed a tip (PROTOCOL.md, "Signed tips"), never to a key the
 * server alone vouches for. `--tip TIP_DIR` (a folder "sealdrop decrypt" wrote) answers the key
 * that signed that tip; `--to HANDLE` answers the handle's pin (cli/key-pins.ts), and refuses a
 * handle under which two keys signed tips, since the handle is only the server's word. A bundle
 * given with --bundle must agree with the pin; without a pin there is no reply.
 */

import { open } from 'node:fs/promises';
import { relative } from 'node:path';
import { MAX_REPLY_BYTES } from '../../protocol/index.ts';
import { parseCommandArgs, requireOption, stringOption, stringOptions } from '../args.ts';
import { usageError } from '../errors.ts';
import { fileError, resolvePath } from '../files.ts';
import { loadIdentities } from '../identities.ts';
import { resolveInboxDir } from '../inbox-dir.ts';
import type { CliIo } from '../io.ts';
import { checkReplyText, pinnedSourceKey, signerOfTip, writeReply } from '../outbox.ts';

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'reply',
    args,
    {
      identity: { type: 'string', short: 'i', multiple: true },
      bundle: { type: 'string' },
      to: { type: 'string' },
      tip: { type: 'string' },
      outbox: { type: 'string' },
      inbox: { type: 'string' },
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
    throw usageError('reply: --tip names whom to answer by itself; leave out --to and --bundle', 'sealdrop reply -i KEY --tip INBOX/sources/HANDLE/tips/ID FILE');
  }
  const to = tipOption === undefined
    ? requireOption('reply', parsed, 'to', 'name whom to answer: --tip TIP_DIR (a folder "sealdrop decrypt" wrote), or --to HANDLE (see the decrypt summary)')
    : undefined;
  const outbox = resolvePath(io.cwd, stringOption(parsed, 'outbox') ?? 'outbox');
  const inbox = resolveInboxDir(stringOption(parsed, 'inbox'), io);
  const input = parsed.positionals[0]!;

  const source = to === undefined
    ? await signerOfTip(resolvePath(io.cwd, tipOption!), inbox)
    : await pinnedSourceKey(to, inbox, bundleOption === undefined ? undefined : resolvePath(io.cwd, bundleOption));
  const { handle } = source;
  const text = await readReplyText(input, io);
  // Unlocked only once the reply is known to be sendable: the key signs it (the source's page
  // shows no reply without the newsroom's signature).
  const [identity] = await loadIdentities(identities, io);
  const written = await writeReply({ text, source, secretKey: identity!.key, keyName: identities[0]!, outbox, inbox });
  io.stdout.write(`${relative(io.cwd, written.path) || written.path}\n`);
  io.stderr.write(
    `sealdrop: reply to ${handle} signed and encrypted (${text.length} bytes of text, ${written.ciphertextBytes} padded)` +
      (written.recorded ? ', kept in the inbox' : '') +
      `; carry the outbox to the online machine and run "sealdrop push ${relative(io.cwd, outbox) || '.'}"\n`,
  );
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
  checkReplyText(bytes);
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
