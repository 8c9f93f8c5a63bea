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

/** A terminal's worth, and a bound on memory under a flood: past it, narrow the filters. */
const MAX_LISTED = 10_000;

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
    listed = await listMatching(endpoint, filter, MAX_LISTED);
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
  if (listed.more) {
    io.stderr.write(`sealdrop: more than ${MAX_LISTED} submissions match; these are the oldest ${MAX_LISTED}\n`);
    io.stderr.write('sealdrop: hint: narrow the list with --since, --source or --max-size\n');
  }
}
