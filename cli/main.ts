/** @module cli/main — the `sealdrop` dispatcher: one usage text, one way to report errors. */

import { fileURLToPath } from 'node:url';
import { CliError, EXIT_USAGE, printable } from './errors.ts';
import type { CliIo } from './io.ts';

export const VERSION = '0.1.0';

export const USAGE = `Usage:
    sealdrop keygen [--v6] -o NAME
    sealdrop list [--server URL] [--socks5 HOST:PORT] [FILTERS]
    sealdrop pull [--server URL] [--socks5 HOST:PORT] [FILTERS] -o BUNDLE_DIR [ID ...]
    sealdrop delete [--server URL] [--socks5 HOST:PORT] ID ...
    sealdrop spam [--server URL] [--socks5 HOST:PORT] [--undo] HANDLE ...
    sealdrop decrypt -i KEY.sec.asc [-i OLD_KEY.sec.asc ...] [--inbox DIR] [-o OUT_DIR] BUNDLE_DIR|BUNDLE_DIR/submissions/ID.pgp
    sealdrop read [-i KEY.sec.asc] [--inbox DIR] [--outbox DIR] [--port PORT]
    sealdrop reply -i KEY.sec.asc (--tip TIP_DIR | --to HANDLE [--bundle BUNDLE_DIR]) [--inbox DIR] [--outbox DIR] FILE|-
    sealdrop push [--server URL] [--socks5 HOST:PORT] [--desk ID] OUTBOX_DIR
    sealdrop check-site -m MANIFEST [--socks5 HOST:PORT] URL

Commands:
    keygen     Make a newsroom key pair: NAME.pub.asc for the server, NAME.sec.asc
               (locked with a passphrase of at least 12 characters, mode 0600) to keep
               on the offline machine. Prints the fingerprint in groups of four, as
               the source's page and "gpg --fingerprint" show it.
    list       Online. Show the new submissions on the server (ID, HANDLE, DAY,
               padded SIZE, STATUS) without downloading them.
    pull       Online. Download the new submissions from the editor API into
               BUNDLE_DIR and mark them downloaded on the server. With FILTERS,
               only those the list matches; with IDs, exactly those, even if
               pulled before (a lost bundle can be pulled again).
    delete     Online. Delete submissions on the server, pulled or not.
    spam       Online. Mark sources spam: their submissions not yet pulled and
               their uploads in progress are dropped, new uploads refused.
               --undo lifts the mark (nothing dropped comes back).
    decrypt    Offline. Decrypt a pulled bundle into the inbox: one conversation per
               source across bundles, in arrival order; a submission already there is
               skipped; risky files (programs, macros, PDF scripts, archives, SVG) are
               marked. With -o, plain folders in OUT_DIR instead. Pins each source's key
               in the inbox when its tip is signed by the bundle's key for its handle;
               the KEY column shows which key signed each tip. Nothing is kept from a
               submission that fails its check.
    read       Offline. Show the inbox in this machine's browser: prints an address
               on 127.0.0.1 that works only while read runs (Ctrl-C ends it). Sources,
               conversations, files as downloads; everything shown as plain text.
               With -i, a reply box writes replies into the outbox as reply does.
    reply      Offline. Sign a reply (UTF-8 text from FILE, or - for stdin) with the
               newsroom key, pad it, and encrypt it to the source HANDLE and to the
               newsroom key, into the outbox (REPLY.pgp and its signature REPLY.pgp.sig),
               and keep it in the source's conversation in the inbox.
               --tip: to the key that signed that decrypted tip; --to: to the key pinned
               for HANDLE (refused when two keys signed under it); --bundle must agree.
    push       Online. Upload every signed reply in OUTBOX_DIR; sent ones move to OUTBOX_DIR/sent.
               --desk: the desk whose key signed them (with desks; else the server
               takes the one of the token's desks each reply is encrypted to).
    check-site Online. Fetch every file the source site at URL serves and compare it,
               with its CSP and integrity attributes, with the site manifest the
               newsroom published (client/site-manifest.txt of the build).

Filters (list and pull; they combine):
    --all                      Also submissions already pulled.
    --since DAY                Received on DAY (YYYY-MM-DD, UTC) or later.
    --max-size SIZE            At most SIZE bytes (k, M, G: 1024-based), e.g. 10M.
    --source HANDLE            From this source only (repeatable). pull also
                               brings the source's key, even with no submission.

Options:
    -o, --output PATH          Where to write (key name prefix, bundle or output folder).
    -i, --identity FILE        Newsroom secret key. Repeat it to also try older keys.
    -m, --manifest FILE        The site manifest to check against.
    --v6                       Make an RFC 9580 (v6) key instead of the v4 curve25519 one.
                               Only sealdrop can use it: GnuPG 2.2 (Debian 12) and sqop
                               cannot import a v6 key or decrypt to it, so the "no lock-in"
                               gpg routine does not work with it. Leave it out unless you know.
    --port PORT                The read view's port on 127.0.0.1 (default: a free one).
    --bundle DIR               A bundle folder written by "sealdrop pull".
    --to HANDLE                The source to answer (see the decrypt summary).
    --inbox DIR                The offline inbox: conversations and pinned source keys
                               (default: $SEALDROP_INBOX, else ~/sealdrop-inbox).
    --outbox DIR               Where replies are written (default: ./outbox).
    --server URL               The editor API address (default: $SEALDROP_SERVER).
    --socks5 HOST:PORT         Reach the server through Tor (e.g. 127.0.0.1:9050).
    -h, --help                 Show this text.
    --version                  Show the version.

Environment:
    SEALDROP_PASSPHRASE        The secret key passphrase; asked on the terminal if unset.
    SEALDROP_TOKEN             The editor API token for the online commands (never
                               a flag: it would end up in the shell history).
    SEALDROP_SERVER            The editor API address when --server is not given.
    SEALDROP_INBOX             The offline inbox when --inbox is not given.

Results go to stdout; everything else, including errors, goes to stderr.
The secret key never has to touch a machine that is online.

Examples:
    $ sealdrop keygen -o newsroom
    0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567
    $ export SEALDROP_TOKEN=sde_... SEALDROP_SERVER=http://127.0.0.1:8081
    $ sealdrop list
    $ sealdrop spam noisy-magpie
    $ sealdrop pull --max-size 1M -o bundle
    $ sealdrop decrypt -i newsroom.sec.asc bundle
    $ sealdrop read -i newsroom.sec.asc
    http://127.0.0.1:41234/3q2-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx/
    $ sealdrop reply -i newsroom.sec.asc --to quiet-otter reply.txt
    $ sealdrop push outbox
    $ sealdrop pull --source quiet-otter --all -o again
    $ sealdrop check-site -m site-manifest.txt --socks5 127.0.0.1:9050 http://<address>.onion
`;

/** What every `cli/commands/<name>.ts` exports. */
export interface CommandModule {
  run(args: string[], io: CliIo): Promise<void>;
}

// The command modules are loaded on demand (a typo in one command never breaks the others) and by
// URL, so that a copy without the online half (pull, push) still type-checks and runs the rest.
const COMMAND_NAMES = ['keygen', 'list', 'pull', 'delete', 'spam', 'decrypt', 'read', 'reply', 'push', 'check-site'] as const;

type CommandName = (typeof COMMAND_NAMES)[number];

function isCommandName(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

function commandModuleUrl(name: CommandName): URL {
  return new URL(`./commands/${name}.ts`, import.meta.url);
}

/**
 * Loads a command's module, or returns null when this copy has none. The default imports
 * `cli/commands/<name>.ts` by URL (through tsx); cli/fast-start.js passes the loader of its cached
 * bundle, where each present command module is bundled and an absent one is null.
 */
export type CommandLoader = (name: string) => Promise<unknown> | null;

/** Runs one `sealdrop` invocation and returns the process exit code. Never throws. */
export async function main(argv: string[], io: CliIo, load?: CommandLoader): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      io.stderr.write(USAGE);
      return EXIT_USAGE;
    }
    if (first === '-h' || first === '--help' || first === 'help') {
      io.stdout.write(USAGE);
      return 0;
    }
    if (first === '--version') {
      io.stdout.write(`sealdrop ${VERSION}\n`);
      return 0;
    }
    if (!isCommandName(first)) {
      throw new CliError(`unknown command ${JSON.stringify(first)}`, {
        hint: first.startsWith('-')
          ? 'the command comes first: sealdrop COMMAND [options]; run "sealdrop --help"'
          : 'the commands are keygen, list, pull, delete, spam, decrypt, read, reply, push and check-site; run "sealdrop --help"',
        exitCode: EXIT_USAGE,
      });
    }
    if (rest.includes('-h') || rest.includes('--help')) {
      io.stdout.write(USAGE);
      return 0;
    }
    const command = await loadCommand(first, load);
    await command.run(rest, io);
    return 0;
  } catch (error) {
    return reportError(error, io);
  }
}

function missingCommand(name: CommandName, cause?: unknown): CliError {
  return new CliError(`the ${name} command is not available in this copy of sealdrop`, {
    hint: `cli/commands/${name}.ts is missing; reinstall sealdrop from a complete release`,
    cause,
  });
}

async function loadCommand(name: CommandName, load: CommandLoader | undefined): Promise<CommandModule> {
  let loaded: unknown;
  if (load !== undefined) {
    const pending = load(name);
    if (pending === null) throw missingCommand(name);
    loaded = await pending;
  } else {
    try {
      loaded = await import(commandModuleUrl(name).href);
    } catch (error) {
      if (isMissingModule(error, name)) throw missingCommand(name, error);
      throw error;
    }
  }
  const run = (loaded as Partial<CommandModule>).run;
  if (typeof run !== 'function') {
    throw new Error(`cli/commands/${name}.ts does not export run(args, io)`);
  }
  return { run };
}

/** True only when the command's own module is absent, not when something it imports is. */
function isMissingModule(error: unknown, name: CommandName): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  const modulePath = fileURLToPath(commandModuleUrl(name));
  const text = error.message;
  const mentionsModule = text.includes(modulePath) || text.includes(`/commands/${name}.ts'`) || text.includes(`./commands/${name}.ts`);
  return mentionsModule && (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /cannot find|failed to load|does the file exist/i.test(text));
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CliError) {
    io.stderr.write(`sealdrop: error: ${printable(error.message)}\n`);
    if (error.hint !== undefined) io.stderr.write(`sealdrop: hint: ${printable(error.hint)}\n`);
    return error.exitCode;
  }
  // Not a CliError: a bug. Say so plainly and show the stack; the user cannot fix it by retrying.
  // Its message may still quote outside text: escaped line by line, the stack's lines kept.
  const detail = (error instanceof Error ? (error.stack ?? error.message) : String(error)).split('\n').map(printable).join('\n');
  io.stderr.write(`sealdrop: error: internal error: ${detail}\n`);
  io.stderr.write('sealdrop: hint: this is a bug in sealdrop; please report it (without any secret material)\n');
  return 70;
}
