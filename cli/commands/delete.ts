/**
 * @module cli/commands/delete — `sealdrop delete [--server URL] [--socks5 HOST:PORT] ID...`: delete
 * submissions on the server, pulled or not, without downloading them. An unknown id is reported and
 * the others still go; a refused token or a broken connection stops at once.
 */
import { parseCommandArgs, stringOption } from '../args.ts';
import { CliError, printable } from '../errors.ts';
import type { CliIo } from '../io.ts';
import { asCliError, endpointFrom } from '../net/endpoint.ts';
import { editorJson, EditorRequestError } from '../net/http.ts';
import { idsFrom } from '../triage.ts';

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs('delete', args, { server: { type: 'string' }, socks5: { type: 'string' } }, { min: 1, max: 1000, name: 'a submission id' });
  const ids = idsFrom('delete', parsed.positionals);
  const endpoint = endpointFrom('delete', io, stringOption(parsed, 'server'), stringOption(parsed, 'socks5'));
  let deleted = 0;
  const unknown: string[] = [];
  for (const id of ids) {
    try {
      await editorJson(endpoint, { method: 'DELETE', path: `/editor/v1/submissions/${id}` });
    } catch (error) {
      if (error instanceof EditorRequestError && error.status === 404) {
        io.stderr.write(`sealdrop: error: no submission ${id} on the server\n`);
        unknown.push(id);
        continue;
      }
      if (deleted > 0) io.stderr.write(`sealdrop: ${deleted} of ${ids.length} submissions were deleted before the error below\n`);
      throw asCliError(error);
    }
    deleted++;
    io.stdout.write(`deleted ${printable(id)}\n`);
  }
  if (unknown.length > 0) {
    throw new CliError(`${unknown.length} of ${ids.length} submissions were not found`, {
      hint: 'they may have been deleted already (by an editor or by retention); "sealdrop list --all" shows what is there',
    });
  }
}
