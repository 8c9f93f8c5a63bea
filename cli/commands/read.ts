/**
 * @module cli/commands/read — `sealdrop read [-i KEY.sec.asc] [--inbox DIR] [--outbox DIR] [--port N]`:
 * the inbox as conversations in this machine's browser, through a loopback-only server
 * (cli/read-server.ts) under a random per-run address, printed on stdout. With -i, its reply box
 * writes signed, encrypted replies into the outbox for `sealdrop push`, as `sealdrop reply` does
 * (cli/outbox.ts), to the key pinned for the source (cli/key-pins.ts) and to no other; the key's
 * passphrase is asked here, on this terminal (or SEALDROP_PASSPHRASE), once. Runs until Ctrl-C.
 */

import { relative } from 'node:path';
import { parseCommandArgs, stringOption, stringOptions } from '../args.ts';
import { CliError, printable, usageError } from '../errors.ts';
import { pathExists, resolvePath } from '../files.ts';
import { loadIdentities } from '../identities.ts';
import { resolveInboxDir } from '../inbox-dir.ts';
import type { CliIo } from '../io.ts';
import { pinnedSourceKey, writeReply } from '../outbox.ts';
import { startReadServer } from '../read-server.ts';

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'read',
    args,
    { identity: { type: 'string', short: 'i', multiple: true }, inbox: { type: 'string' }, outbox: { type: 'string' }, port: { type: 'string' } },
    { min: 0, max: 0, name: 'nothing' },
  );
  const inbox = resolveInboxDir(stringOption(parsed, 'inbox'), io);
  const portText = stringOption(parsed, 'port') ?? '0';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw usageError(`read: --port ${JSON.stringify(portText)} is not a port number`, 'give a number from 1024 to 65535, or leave --port out for a free one');
  }
  const keyPaths = stringOptions(parsed, 'identity');
  if (keyPaths.length > 1) {
    throw usageError('read: give at most one -i KEY.sec.asc, the current newsroom key', 'replies are signed with this key; without -i the view only reads');
  }
  const outbox = resolvePath(io.cwd, stringOption(parsed, 'outbox') ?? 'outbox');
  if (!(await pathExists(inbox))) {
    io.stderr.write(`sealdrop: note: the inbox ${printable(inbox)} is empty; "sealdrop decrypt -i KEY.sec.asc BUNDLE_DIR" fills it\n`);
  }
  let reply;
  if (keyPaths.length === 1) {
    const [identity] = await loadIdentities(keyPaths, io);
    reply = async (handle: string, text: Uint8Array) => {
      const source = await pinnedSourceKey(handle, inbox, undefined);
      const written = await writeReply({ text, source, secretKey: identity!.key, keyName: keyPaths[0]!, outbox, inbox });
      io.stderr.write(`sealdrop: reply to ${handle} written to ${printable(relative(io.cwd, written.path) || written.path)}\n`);
      return { id: written.id, outboxFile: relative(outbox, written.path) };
    };
  }
  let server;
  try {
    server = await startReadServer({ inbox, port: Number(portText), ...(reply ? { reply } : {}) });
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new CliError(`read: cannot listen on 127.0.0.1:${portText} (${code === 'EADDRINUSE' ? 'the port is in use' : 'no permission'})`, {
        hint: 'leave --port out for a free port, or give one above 1024 that nothing else uses',
        cause: error,
      });
    }
    throw error;
  }
  io.stdout.write(`${server.url}\n`);
  io.stderr.write('sealdrop: open that address in this machine\'s browser; it works only here and only while this runs (Ctrl-C ends it)\n');
  if (reply) io.stderr.write(`sealdrop: replies go to ${printable(outbox)}; carry it to the online machine and run "sealdrop push"\n`);
  else io.stderr.write('sealdrop: reading only: start with -i KEY.sec.asc to reply from the view\n');
  await waitForSignal();
  await server.close();
  io.stderr.write('sealdrop: read view closed\n');
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
