/**
 * @module cli/commands/list — `sealdrop list [--server URL] [--socks5 HOST:PORT] [--all] [--since DAY]
 * [--max-size SIZE] [--source HANDLE]...`: the submissions waiting on the server (with --all, also
 * those already pulled), one line each, without downloading any of them.
 */
import { parseCommandArgs, stringOption } from '../args.ts';
import type { CliIo } from '../io.ts';
import { asCliError, endpointFrom } from '../net/endpoint.ts';
import { formatTable } from '../table.ts';
import { formatBytes } from '../progress.ts';
import { FILTER_OPTIONS, filterFrom, listMatching } from '../triage.ts';

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'list',
    args,
    { server: { type: 'string' }, socks5: { type: 'string' }, ...FILTER_OPTIONS },
    { min: 0, max: 0, name: 'argument' },
  );
  const { filter } = filterFrom('list', parsed);
  const endpoint = endpointFrom('list', io, stringOption(parsed, 'server'), stringOption(parsed, 'socks5'));
  let listed;
  try {
    listed = await listMatching(endpoint, filter);
  } catch (error) {
    throw asCliError(error);
  }
  if (listed.submissions.length === 0) {
    io.stderr.write(`sealdrop: no ${filter.all ? '' : 'new '}submissions match\n`);
    return;
  }
  io.stdout.write(
    formatTable(
      ['ID', 'HANDLE', 'DAY', 'SIZE', 'STATUS'],
      listed.submissions.map((s) => [s.id, s.handle, s.day, formatBytes(s.size), s.status]),
    ),
  );
}
