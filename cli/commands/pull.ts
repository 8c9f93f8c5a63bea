/**
 * @module cli/commands/pull — `sealdrop pull [--server URL] [--socks5 HOST:PORT] [filters] -o DIR [ID...]`:
 * fetch a ciphertext bundle from the editor API into a new folder, check it, then acknowledge it.
 * Without filters or ids the bundle holds every new submission; with filters (cli/triage.ts) it
 * holds those the list matches; with ids exactly those, pulled before or not. `--source HANDLE`
 * also brings that source's key when none of its submissions match, so a lost key can be had again.
 *
 * The server is trusted with ciphertext, not with this machine's file system: the tar stream may
 * hold only the files its own bundle.json names (strict shapes, checked by cli/bundle.ts), each
 * once, each created with O_EXCL inside DIR. Every submission's SHA-256 is checked as it streams
 * in. Nothing is acknowledged unless the whole bundle arrived intact and is on disk (fsync), and
 * bundle.json is written last, so a pull cut short never looks like a bundle to `decrypt`.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, open, readdir, rm, rmdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { parseCommandArgs, requireOption, stringOption } from '../args.ts';
import { checkBundleJson, type BundleSubmission } from '../bundle.ts';
import { CliError, printable, usageError } from '../errors.ts';
import { fileError, resolvePath } from '../files.ts';
import type { CliIo } from '../io.ts';
import { asCliError, endpointFrom } from '../net/endpoint.ts';
import { editorJson, editorRequest, type EditorEndpoint } from '../net/http.ts';
import { readUstar, UstarReadError } from '../net/ustar-reader.ts';
import { formatBytes, ProgressBar } from '../progress.ts';
import { formatTable } from '../table.ts';
import { FILTER_OPTIONS, filterFrom, idsFrom, listMatching } from '../triage.ts';
import { MAX_SOURCE_KEY_CHARS } from '../../protocol/openpgp-checks.ts';

const MAX_BUNDLE_JSON_BYTES = 16 * 1024 * 1024;
/** The editor API's cap on one chosen bundle (server/editor/app.ts). */
const MAX_BUNDLE_SUBMISSIONS = 1000;

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'pull',
    args,
    { server: { type: 'string' }, socks5: { type: 'string' }, output: { type: 'string', short: 'o' }, ...FILTER_OPTIONS },
    { min: 0, max: MAX_BUNDLE_SUBMISSIONS, name: 'argument' },
  );
  const { filter, given } = filterFrom('pull', parsed);
  const ids = idsFrom('pull', parsed.positionals);
  if (given && ids.length > 0) {
    throw usageError('pull: give submission ids or filters, not both', 'ids name exactly what to pull; --all, --since, --max-size and --source choose from the list');
  }
  const output = requireOption('pull', parsed, 'output', 'give a new folder for the bundle: -o DIR');
  const endpoint = endpointFrom('pull', io, stringOption(parsed, 'server'), stringOption(parsed, 'socks5'));
  const dir = resolvePath(io.cwd, output);
  const madeFolder = await prepareEmptyFolder(dir);

  let selection: BundleSelection | undefined;
  if (ids.length > 0) selection = { submissions: ids, sources: [] };
  else if (given) {
    let listed;
    try {
      listed = await listMatching(endpoint, filter, MAX_BUNDLE_SUBMISSIONS);
    } catch (error) {
      if (madeFolder) await rmdir(dir).catch(() => {});
      throw asCliError(error);
    }
    if (listed.more) {
      io.stderr.write(`sealdrop: more than ${MAX_BUNDLE_SUBMISSIONS} submissions match; this bundle holds the oldest ${MAX_BUNDLE_SUBMISSIONS}\n`);
      io.stderr.write(`sealdrop: hint: pull again for the rest${filter.all ? ', with --since after the last day of this one' : ''}\n`);
    }
    selection = { submissions: listed.submissions.map((s) => s.id), sources: filter.sources };
    if (selection.submissions.length === 0 && selection.sources.length === 0) {
      if (madeFolder) await rmdir(dir).catch(() => {});
      io.stdout.write(`no ${filter.all ? '' : 'new '}submissions match (nothing written)\n`);
      return;
    }
  }

  const written = new Writer(dir);
  let manifestJson: Uint8Array;
  let submissions: BundleSubmission[];
  let sourceCount: number;
  try {
    ({ manifestJson, submissions, sourceCount } = await receiveBundle(endpoint, written, io, selection));
    await written.file('bundle.json', manifestJson);
  } catch (error) {
    await written.undo();
    if (madeFolder) await rmdir(dir).catch(() => {});
    throw asCliError(error);
  }

  const acknowledged = await acknowledge(endpoint, submissions, io);
  printSummary(io, dir, submissions, sourceCount, acknowledged);
}

/** Makes DIR, or accepts it when it is an empty folder. True when it was made here. */
async function prepareEmptyFolder(dir: string): Promise<boolean> {
  let stats;
  try {
    stats = await lstat(dir);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw fileError(error, dir, 'bundle folder');
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (mkdirError) {
      throw fileError(mkdirError, dir, 'bundle folder');
    }
    return true;
  }
  if (!stats.isDirectory()) {
    throw new CliError(`${dir} exists and is not a folder`, { hint: 'give a new folder name: -o DIR' });
  }
  if ((await readdir(dir)).length > 0) {
    throw new CliError(`the bundle folder ${dir} is not empty`, {
      hint: 'pull into a new folder, so that no earlier bundle is mixed with this one',
    });
  }
  return false;
}

/** Files and folders created inside DIR, removed again if the pull fails. */
class Writer {
  private readonly created: string[] = [];
  constructor(private readonly dir: string) {}

  private pathOf(name: string): string {
    const path = resolve(this.dir, ...name.split('/'));
    if (!path.startsWith(this.dir + sep)) throw new CliError(`the bundle names a path outside the folder: ${JSON.stringify(name)}`);
    return path;
  }

  async folder(name: string): Promise<void> {
    const path = this.pathOf(name);
    try {
      await mkdir(path, { mode: 0o700 });
    } catch (error) {
      throw fileError(error, path, 'bundle folder');
    }
    this.created.push(path);
  }

  /** Creates `name` (O_EXCL, 0600), writes every piece, fsyncs, and returns the pieces' SHA-256. */
  async file(name: string, body: AsyncIterable<Uint8Array> | Uint8Array): Promise<{ sha256: string; size: number }> {
    const path = this.pathOf(name);
    let handle;
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (error) {
      throw fileError(error, path, 'bundle file');
    }
    this.created.push(path);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const piece of body instanceof Uint8Array ? [body] : body) {
        hash.update(piece);
        size += piece.byteLength;
        await handle.write(piece);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { sha256: hash.digest('hex'), size };
  }

  async undo(): Promise<void> {
    for (const path of this.created.reverse()) {
      await rm(path, { force: true }).catch(() => rmdir(path).catch(() => {}));
    }
  }
}

/** What `POST /editor/v1/bundle` is asked for (protocol/PROTOCOL.md "Editor API"). */
interface BundleSelection {
  submissions: string[];
  sources: string[];
}

async function receiveBundle(
  endpoint: EditorEndpoint,
  writer: Writer,
  io: CliIo,
  selection: BundleSelection | undefined,
): Promise<{ manifestJson: Uint8Array; submissions: BundleSubmission[]; sourceCount: number }> {
  const response = await editorRequest(
    endpoint,
    selection
      ? { method: 'POST', path: '/editor/v1/bundle', body: new TextEncoder().encode(JSON.stringify(selection)), contentType: 'application/json' }
      : { method: 'GET', path: '/editor/v1/bundle' },
  );
  const type = response.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-tar')) {
    response.destroy();
    throw new CliError(`expected a tar bundle from the server, got '${type}'`, { hint: 'is --server the editor listener?' });
  }
  // A bar on the terminal for large bundles (a slow circuit can take minutes); nothing otherwise.
  const progress = new ProgressBar(io.stderr, Number(response.headers['content-length'] ?? 0));
  progress.setLabel('pulling');
  const counted = (async function* () {
    for await (const piece of response as AsyncIterable<Uint8Array>) {
      progress.advance(piece.byteLength);
      yield piece;
    }
  })();

  let manifestJson: Uint8Array | undefined;
  let submissions: BundleSubmission[] = [];
  let sourceCount = 0;
  const expected = new Map<string, { kind: 'source' } | { kind: 'submission'; entry: BundleSubmission }>();
  const seen = new Set<string>();

  try {
    await readUstar(counted, async (entry, body) => {
      if (manifestJson === undefined) {
        if (entry.name !== 'bundle.json') throw damaged(`expected bundle.json first, got ${describe(entry.name)}`);
        if (entry.size > MAX_BUNDLE_JSON_BYTES) throw damaged(`bundle.json is ${entry.size} bytes, more than ${MAX_BUNDLE_JSON_BYTES}`);
        manifestJson = await collect(body);
        let json: unknown;
        try {
          json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(manifestJson));
        } catch (error) {
          throw damaged('bundle.json is not valid UTF-8 JSON', error);
        }
        const checked = checkBundleJson(json);
        submissions = checked.submissions;
        sourceCount = checked.sources.length;
        if (selection) checkSelected(selection, checked);
        const handles = new Set(checked.sources.map((source) => source.handle));
        for (const source of checked.sources) expected.set(source.path, { kind: 'source' });
        for (const submission of submissions) {
          if (!handles.has(submission.handle)) throw damaged(`submission ${submission.id} names a source without a key in the bundle`);
          expected.set(submission.path, { kind: 'submission', entry: submission });
        }
        if (checked.sources.length > 0) await writer.folder('sources');
        if (submissions.length > 0) await writer.folder('submissions');
        return;
      }
      const role = expected.get(entry.name);
      if (!role || seen.has(entry.name)) throw damaged(`unexpected entry ${describe(entry.name)} in the bundle`);
      seen.add(entry.name);
      if (role.kind === 'source') {
        if (entry.size > MAX_SOURCE_KEY_CHARS) throw damaged(`${entry.name} is ${entry.size} bytes, too large for a public key`);
        const key = await collect(body);
        if (!new TextDecoder('latin1').decode(key.subarray(0, 64)).startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
          throw damaged(`${entry.name} is not an armored public key`);
        }
        await writer.file(entry.name, key);
        return;
      }
      if (entry.size !== role.entry.size) {
        throw damaged(`${entry.name} is ${entry.size} bytes but bundle.json says ${role.entry.size}`);
      }
      const { sha256 } = await writer.file(entry.name, body);
      if (sha256 !== role.entry.sha256) {
        throw new CliError(`submission ${role.entry.id} does not match its SHA-256 in bundle.json`, {
          hint: 'the ciphertext was damaged on the server or on the way; nothing was marked downloaded, so pull again',
        });
      }
    });
  } catch (error) {
    progress.clear();
    response.destroy();
    if (error instanceof UstarReadError) throw damaged(error.message, error);
    if ((error as { code?: unknown }).code === 'ECONNRESET' || (error as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE' || (error as Error).message === 'aborted') {
      throw new CliError('the connection broke off during the download', {
        hint: 'nothing was marked downloaded; pull again into a new folder',
        cause: error,
      });
    }
    throw error;
  }
  progress.clear();
  if (manifestJson === undefined) throw damaged('the bundle is empty: it has no bundle.json');
  const missing = [...expected.keys()].filter((name) => !seen.has(name));
  if (missing.length > 0) throw damaged(`the bundle lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`);
  return { manifestJson, submissions, sourceCount };
}

/** A chosen bundle holds exactly what was asked for, and the keys of those sources, nothing else. */
function checkSelected(selection: BundleSelection, checked: { submissions: BundleSubmission[]; sources: { handle: string }[] }): void {
  const sent = checked.submissions.map((s) => s.id).sort();
  if (sent.join() !== [...selection.submissions].sort().join()) throw damaged('the bundle does not hold exactly the submissions asked for');
  const handles = new Set([...checked.submissions.map((s) => s.handle), ...selection.sources]);
  if (checked.sources.length !== handles.size || !checked.sources.every((s) => handles.has(s.handle))) {
    throw damaged('the bundle does not hold exactly the source keys asked for');
  }
}

async function acknowledge(endpoint: EditorEndpoint, submissions: BundleSubmission[], io: CliIo): Promise<number> {
  let done = 0;
  for (const submission of submissions) {
    try {
      await editorJson(endpoint, { method: 'POST', path: `/editor/v1/submissions/${submission.id}/ack` });
      done++;
    } catch (error) {
      io.stderr.write(`sealdrop: ${done} of ${submissions.length} submissions were marked downloaded before the error below\n`);
      const cli = asCliError(error);
      throw cli instanceof CliError
        ? new CliError(`could not mark submission ${submission.id} downloaded: ${cli.message}`, {
            hint: 'the bundle on disk is complete; the rest stay "received" and come again with the next pull',
            cause: error,
          })
        : cli;
    }
  }
  return done;
}

function printSummary(io: CliIo, dir: string, submissions: BundleSubmission[], sourceCount: number, acknowledged: number): void {
  const where = relative(io.cwd, dir) || '.';
  if (submissions.length === 0 && sourceCount > 0) {
    io.stdout.write(`no submissions; the key${sourceCount === 1 ? '' : 's'} of ${sourceCount} source${sourceCount === 1 ? '' : 's'} in ${where}\n`);
    return;
  }
  if (submissions.length === 0) {
    io.stdout.write(`no new submissions (empty bundle in ${where})\n`);
    return;
  }
  // with desks, each submission's desk (an install without desks has one, `newsroom`: no column)
  const desks = submissions.some((s) => s.desk !== undefined && s.desk !== 'newsroom');
  const table = formatTable(
    ['HANDLE', 'DAY', 'SUBMISSION', 'SIZE', ...(desks ? ['DESK'] : [])],
    submissions.map((s) => [s.handle, s.day, s.id.slice(0, 8), formatBytes(s.size), ...(desks ? [s.desk ?? 'newsroom'] : [])]),
  );
  const sources = new Set(submissions.map((s) => s.handle)).size;
  io.stdout.write(
    `${table}${submissions.length} submission${submissions.length === 1 ? '' : 's'} from ${sources} source${sources === 1 ? '' : 's'} in ${where}; ${acknowledged} marked downloaded on the server\n`,
  );
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

function describe(name: string): string {
  return printable(JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name));
}

function damaged(message: string, cause?: unknown): CliError {
  return new CliError(message, {
    hint: 'nothing was kept and nothing was marked downloaded; if it happens again, tell the server operator',
    cause,
  });
}
