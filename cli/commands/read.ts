/**
 * @module cli/commands/read — `sealdrop read [--inbox DIR] [--port N]`: the inbox as
 * conversations in this machine's browser, through a loopback-only server (cli/read-server.ts)
 * under a random per-run address, printed on stdout. Runs until Ctrl-C.
 */

import { parseCommandArgs, stringOption } from '../args.ts';
import { printable, usageError } from '../errors.ts';
import { pathExists } from '../files.ts';
import { resolveInboxDir } from '../inbox-dir.ts';
import type { CliIo } from '../io.ts';
import { startReadServer } from '../read-server.ts';

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs('read', args, { inbox: { type: 'string' }, port: { type: 'string' } }, { min: 0, max: 0, name: 'nothing' });
  const inbox = resolveInboxDir(stringOption(parsed, 'inbox'), io);
  const portText = stringOption(parsed, 'port') ?? '0';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw usageError(`read: --port ${JSON.stringify(portText)} is not a port number`, 'give a number from 1024 to 65535, or leave --port out for a free one');
  }
  if (!(await pathExists(inbox))) {
    io.stderr.write(`sealdrop: note: the inbox ${printable(inbox)} is empty; "sealdrop decrypt -i KEY.sec.asc BUNDLE_DIR" fills it\n`);
  }
  const server = await startReadServer({ inbox, port: Number(portText) });
  io.stdout.write(`${server.url}\n`);
  io.stderr.write('sealdrop: open that address in this machine\'s browser; it works only here and only while this runs (Ctrl-C ends it)\n');
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
