/**
 * @module cli/commands/push — `sealdrop push [--server URL] [--socks5 HOST:PORT] [--desk ID] OUTBOX`: post every
 * `OUTBOX/<handle>/*.pgp` written by `sealdrop reply` with its detached signature `*.pgp.sig`, and
 * move each accepted pair to `OUTBOX/sent/<handle>/`. A refused reply (unsigned, not addressed to
 * the source, unknown source…) stays where it is and is reported; a refused token or a broken
 * connection stops the push at once.
 */
import { link, lstat, mkdir, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectMessage, MAX_REPLY_BYTES, MAX_REPLY_SIGNATURE_BYTES, OpenPgpCheckError } from '../../protocol/index.ts';
import { parseCommandArgs, stringOption } from '../args.ts';
import { DESK_PATTERN, isValidHandle } from '../bundle.ts';
import { CliError, printable } from '../errors.ts';
import { fileError, resolvePath } from '../files.ts';
import type { CliIo } from '../io.ts';
import { asCliError, endpointFrom } from '../net/endpoint.ts';
import { editorJson, EditorRequestError } from '../net/http.ts';

const SENT = 'sent';
const REPLY_FILE = /^[A-Za-z0-9._-]{1,200}\.pgp$/;
const SIGNATURE_SUFFIX = '.sig';

interface Outgoing {
  handle: string;
  name: string;
  path: string;
}

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'push',
    args,
    { server: { type: 'string' }, socks5: { type: 'string' }, desk: { type: 'string' } },
    { min: 1, max: 1, name: 'the OUTBOX folder' },
  );
  // the desk whose key made these replies (the -i key of "sealdrop reply"); without it the server
  // takes the one of the token's desks the reply is addressed to
  const desk = stringOption(parsed, 'desk');
  if (desk !== undefined && !DESK_PATTERN.test(desk)) {
    throw new CliError(`--desk ${JSON.stringify(desk)} is not a desk id`, {
      hint: 'a desk id is 1-32 lower-case letters, digits and hyphens, as the newsroom\'s instance file names it (e.g. workers-abroad)',
      exitCode: 2,
    });
  }
  const endpoint = endpointFrom('push', io, stringOption(parsed, 'server'), stringOption(parsed, 'socks5'));
  const outbox = resolvePath(io.cwd, parsed.positionals[0]!);
  const outgoing = await findReplies(outbox, io);
  if (outgoing.length === 0) {
    io.stderr.write(`sealdrop: no replies to send in ${outbox}\n`);
    return;
  }

  let sent = 0;
  const refused: string[] = [];
  for (const reply of outgoing) {
    const label = `${reply.handle}/${reply.name}`;
    const body = await readReply(reply.path, MAX_REPLY_BYTES, 'reply');
    // Only ciphertext leaves this machine: a file that is not an encrypted OpenPGP message (say,
    // `gpg --sign` where `--encrypt` was meant) would carry the reply's text to the server.
    try {
      await inspectMessage(body, { armored: true });
    } catch (error) {
      if (!(error instanceof OpenPgpCheckError)) throw error;
      io.stderr.write(`sealdrop: error: ${label} was not sent: it is not an encrypted OpenPGP message (${printable(error.message)})\n`);
      io.stderr.write('sealdrop: hint: encrypt replies with "sealdrop reply" (or gpg --compress-algo none --sig-notation to@sealdrop.org=SOURCE_FINGERPRINT --sign --encrypt to the source and newsroom keys; see README)\n');
      refused.push(label);
      continue;
    }
    const signature = await readSignature(`${reply.path}${SIGNATURE_SUFFIX}`);
    if (!signature) {
      io.stderr.write(`sealdrop: error: ${label} was not sent: it has no ${reply.name}${SIGNATURE_SUFFIX} beside it\n`);
      io.stderr.write(`sealdrop: hint: the server takes only replies signed by the newsroom key: make it with "sealdrop reply", or sign the file with "gpg --detach-sign ${reply.name}" on the offline machine\n`);
      refused.push(label);
      continue;
    }
    let id: string;
    try {
      ({ id } = await editorJson<{ id: string }>(endpoint, {
        method: 'POST',
        path: `/editor/v1/sources/${encodeURIComponent(reply.handle)}/replies`,
        body: new TextEncoder().encode(JSON.stringify({
          message: Buffer.from(body).toString('base64'),
          signature: Buffer.from(signature).toString('base64'),
          ...(desk === undefined ? {} : { desk }),
        })),
        contentType: 'application/json',
      }));
    } catch (error) {
      // The server judged this one reply: report it, keep the file, go on with the others.
      if (error instanceof EditorRequestError && (error.status === 404 || error.status === 413 || error.status === 422)) {
        io.stderr.write(`sealdrop: error: ${label} was refused: ${printable(error.message)}\n`);
        refused.push(label);
        continue;
      }
      if (sent > 0) io.stderr.write(`sealdrop: ${sent} of ${outgoing.length} replies were sent before the error below\n`);
      throw asCliError(error);
    }
    await moveToSent(outbox, reply);
    sent++;
    io.stdout.write(`sent ${label} (reply ${printable(String(id))})\n`);
  }
  if (refused.length > 0) {
    throw new CliError(`${refused.length} of ${outgoing.length} replies were refused and stay in the outbox`, {
      hint: 'a reply must be made with "sealdrop reply" (or gpg --compress-algo none --sig-notation to@sealdrop.org=SOURCE_FINGERPRINT --sign --encrypt, then gpg --detach-sign; see README) for that source\'s key from a current bundle, with the current newsroom key; a deleted source cannot be answered',
    });
  }
}

/** `OUTBOX/<handle>/*.pgp`, sorted, skipping `sent/`; anything else but their `.sig` files is named on stderr. */
async function findReplies(outbox: string, io: CliIo): Promise<Outgoing[]> {
  let top;
  try {
    top = await readdir(outbox, { withFileTypes: true });
  } catch (error) {
    throw fileError(error, outbox, 'outbox folder');
  }
  const found: Outgoing[] = [];
  for (const entry of top.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name === SENT) continue;
    if (!entry.isDirectory() || !isValidHandle(entry.name)) {
      io.stderr.write(`sealdrop: ignoring ${printable(JSON.stringify(entry.name))} in the outbox (not a source's folder)\n`);
      continue;
    }
    const folder = join(outbox, entry.name);
    const files = (await readdir(folder, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    const replyNames = new Set(files.filter((f) => f.isFile() && REPLY_FILE.test(f.name)).map((f) => f.name));
    for (const file of files) {
      if (replyNames.has(file.name)) {
        found.push({ handle: entry.name, name: file.name, path: join(folder, file.name) });
      } else if (file.isFile() && file.name.endsWith(SIGNATURE_SUFFIX) && replyNames.has(file.name.slice(0, -SIGNATURE_SUFFIX.length))) {
        // its reply's signature: sent with it
      } else {
        io.stderr.write(`sealdrop: ignoring ${printable(JSON.stringify(`${entry.name}/${file.name}`))} (not a .pgp reply file)\n`);
      }
    }
  }
  return found;
}

async function readReply(path: string, max: number, what: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fileError(error, path, `${what} file`);
  }
  try {
    const { size } = await handle.stat();
    if (size > max) {
      throw new CliError(`the ${what} ${path} is ${size} bytes, more than the ${max} the server accepts`, {
        hint: 'shorten the reply and make it again with "sealdrop reply"',
      });
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The reply's `.sig` file, or undefined when there is none. */
async function readSignature(path: string): Promise<Uint8Array | undefined> {
  try {
    if (!(await lstat(path)).isFile()) return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError(error, path, 'reply signature file');
  }
  return readReply(path, MAX_REPLY_SIGNATURE_BYTES, 'reply signature');
}

/** Moves the reply and its signature into `OUTBOX/sent/<handle>/` without ever replacing a file there (link, then unlink). */
async function moveToSent(outbox: string, reply: Outgoing): Promise<void> {
  const folder = join(outbox, SENT, reply.handle);
  const target = join(folder, reply.name);
  try {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const stats = await lstat(folder);
    if (!stats.isDirectory()) throw new CliError(`${folder} is not a folder`);
    await link(reply.path, target);
    await unlink(reply.path);
    await link(`${reply.path}${SIGNATURE_SUFFIX}`, `${target}${SIGNATURE_SUFFIX}`);
    await unlink(`${reply.path}${SIGNATURE_SUFFIX}`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${reply.handle}/${reply.name} was sent but could not be moved to ${folder}: ${(error as Error).message}`, {
      hint: 'move it by hand before the next push, or it will be sent twice',
      cause: error,
    });
  }
}
