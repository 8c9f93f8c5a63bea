/**
 * @module cli/commands/spam — `sealdrop spam [--server URL] [--socks5 HOST:PORT] [--undo] HANDLE...`:
 * mark sources spam without downloading anything. The server drops each one's submissions not yet
 * pulled and its uploads in progress, and refuses its new uploads; what was pulled and the replies
 * stay (docs/OPERATIONS.md, "The editor's routine"). `--undo` lifts the mark; what was dropped
 * does not come back.
 */
import { booleanOption, parseCommandArgs, stringOption } from '../args.ts';
import { isValidHandle } from '../bundle.ts';
import { CliError, usageError } from '../errors.ts';
import type { CliIo } from '../io.ts';
import { asCliError, endpointFrom } from '../net/endpoint.ts';
import { editorJson, EditorRequestError } from '../net/http.ts';

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'spam',
    args,
    { server: { type: 'string' }, socks5: { type: 'string' }, undo: { type: 'boolean' } },
    { min: 1, max: 100, name: 'a source handle' },
  );
  const handles = parsed.positionals;
  for (const handle of handles) {
    if (!isValidHandle(handle)) {
      throw usageError(`spam: ${JSON.stringify(handle)} is not a source handle`, 'handles look like quiet-otter, as "sealdrop list" shows them');
    }
  }
  const undo = booleanOption(parsed, 'undo');
  const endpoint = endpointFrom('spam', io, stringOption(parsed, 'server'), stringOption(parsed, 'socks5'));
  const unknown: string[] = [];
  for (const handle of handles) {
    let answer: { dropped?: unknown };
    try {
      answer = await editorJson(endpoint, { method: undo ? 'DELETE' : 'POST', path: `/editor/v1/sources/${handle}/spam` });
    } catch (error) {
      if (error instanceof EditorRequestError && error.status === 404) {
        io.stderr.write(`sealdrop: error: no source ${handle} on the server\n`);
        unknown.push(handle);
        continue;
      }
      throw asCliError(error);
    }
    if (undo) {
      io.stdout.write(`${handle} is no longer marked spam\n`);
    } else {
      const dropped = Number.isSafeInteger(answer.dropped) ? Number(answer.dropped) : 0;
      io.stdout.write(`${handle} marked spam: ${dropped} unpulled submission${dropped === 1 ? '' : 's'} dropped, new uploads refused\n`);
    }
  }
  if (unknown.length > 0) {
    throw new CliError(`${unknown.length} of ${handles.length} sources were not found`, {
      hint: 'a source with nothing left on the server is deleted by retention; "sealdrop list --all" shows the handles there',
    });
  }
}
