/**
 * @module `npm run admin -- token add|list|revoke`, `audit` — editor tokens and the audit trail,
 * run on the server host.
 *
 * A new token is printed once on stdout (or written to a new 0600 file with `--out`) and only its
 * SHA-256 is stored. Results go to stdout; everything else to stderr as `sealdrop-admin: …`,
 * errors as `sealdrop-admin: error: …` / `sealdrop-admin: hint: …`, like `sealdrop`.
 */
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { asc, eq, gte } from 'drizzle-orm';
import { adminSocketPath, type AdminAnswer, type AdminRequest, sendAdminRequest } from './admin-socket.ts';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase, type Db } from './db/open.ts';
import { audit, editorTokens } from './db/schema.ts';
import { generateToken, hashToken } from './editor/token.ts';
import { DEFAULT_DESK_ID } from './desks.ts';
import { InstanceFileError, loadInstanceFile } from './instance-file.ts';

export const ADMIN_USAGE = `Usage:
    npm run --silent admin -- token add NAME [--desk ID]... [--out FILE]
    npm run --silent admin -- token list
    npm run --silent admin -- token revoke NAME
    npm run --silent admin -- audit [--since DAY]

Commands:
    token add NAME      Make an editor token for NAME (letters, digits, . _ -) and print it
                        once on stdout, or with --out FILE write it to a new FILE of mode 0600.
                        Give it to the editor over a safe channel; only its hash is kept.
                        --desk ID (again for more) scopes it to those desks: it lists, pulls
                        and replies within them only. Without --desk it sees every desk.
    token list          Show every token's name, its desks, the day it was made, and the day
                        it was revoked.
    token revoke NAME   Refuse NAME's token from now on.
    audit               Show the audit trail, day by day (the order within a day is not kept):
                        who listed, pulled, acknowledged, deleted, marked spam or replied, the
                        token changes, and failed logins: auth_failed for a token nobody was
                        given (a guess or a typo), auth_revoked for a revoked token's owner.
                        --since DAY (YYYY-MM-DD) shows that day and later only.

The database is the server's own: DATABASE_URL for PostgreSQL, else the embedded one in DATA_DIR
(default ./data, relative to where you run it: the server's start line names its folder). While
the server runs on the embedded database, these commands go to it through DATA_DIR/admin/socket
(a Unix socket only the server's user can open); when it is stopped, they open DATA_DIR themselves.
A DATA_DIR that does not exist is refused, never made.

Example:
    $ npm run --silent admin -- token add alice --out alice.token
(--silent keeps npm's own banner off stdout; with --out the token is in the file only.)
`;

export class AdminError extends Error {
  override name = 'AdminError';
  readonly hint: string | undefined;
  readonly exitCode: number;
  constructor(message: string, options: { hint?: string; exitCode?: number } = {}) {
    super(message);
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new AdminError(`expected a token name of 1-64 letters, digits, dots, underscores or hyphens, got ${JSON.stringify(name)}`, {
      hint: 'name the editor or desk, such as alice or night-desk',
      exitCode: 2,
    });
  }
}

function checkDesks(desks: string[], known: readonly string[]): void {
  if (desks.length === 0) throw new AdminError('--desk needs a desk id', { exitCode: 2 });
  const unknown = desks.filter((desk) => !known.includes(desk));
  if (unknown.length > 0) {
    throw new AdminError(`no desk is named ${unknown.map((desk) => JSON.stringify(desk)).join(', ')}`, {
      hint: `the desks are ${known.join(', ')} (the instance file's desks; without desks, the one desk is "${DEFAULT_DESK_ID}")`,
      exitCode: 2,
    });
  }
  const twice = desks.find((desk, at) => desks.indexOf(desk) !== at);
  if (twice !== undefined) throw new AdminError(`--desk ${twice} is given twice`, { exitCode: 2 });
}

const todayOf = (now: Date) => now.toISOString().slice(0, 10);

/**
 * Makes a token for `name`, scoped to `desks` (server/desks.ts) when given, else seeing every desk;
 * returns it (the only time it exists outside the editor's hands). `known`: the desks configured,
 * and the only ones it may name.
 */
export async function addToken(
  db: Db,
  name: string,
  now: Date = new Date(),
  desks?: string[],
  known: readonly string[] = [DEFAULT_DESK_ID],
): Promise<string> {
  checkName(name);
  if (desks !== undefined) checkDesks(desks, known);
  const [existing] = await db.select({ id: editorTokens.id }).from(editorTokens).where(eq(editorTokens.name, name));
  if (existing) {
    throw new AdminError(`a token named ${name} exists already`, {
      hint: `revoke it with "token revoke ${name}" and pick a new name, e.g. ${name}-2`,
    });
  }
  const token = generateToken();
  await db.insert(editorTokens).values({ name, tokenHash: hashToken(token), createdDay: todayOf(now), desks: desks ?? null });
  await db.insert(audit).values({ editor: 'admin', action: 'token_add', target: desks ? `${name} (${desks.join(', ')})` : name, day: todayOf(now) });
  return token;
}

export interface TokenListing {
  name: string;
  /** null: every desk */
  desks: string[] | null;
  createdDay: string;
  revokedDay: string | null;
}

export async function listTokens(db: Db): Promise<TokenListing[]> {
  return db
    .select({ name: editorTokens.name, desks: editorTokens.desks, createdDay: editorTokens.createdDay, revokedDay: editorTokens.revokedDay })
    .from(editorTokens)
    .orderBy(asc(editorTokens.createdDay), asc(editorTokens.name));
}

export async function revokeToken(db: Db, name: string, now: Date = new Date()): Promise<void> {
  checkName(name);
  const [row] = await db.select({ revokedDay: editorTokens.revokedDay }).from(editorTokens).where(eq(editorTokens.name, name));
  if (!row) throw new AdminError(`no token is named ${name}`, { hint: 'see the names with "token list"' });
  if (row.revokedDay !== null) throw new AdminError(`the token ${name} was revoked already on ${row.revokedDay}`);
  await db.update(editorTokens).set({ revokedDay: todayOf(now) }).where(eq(editorTokens.name, name));
  await db.insert(audit).values({ editor: 'admin', action: 'token_revoke', target: name, day: todayOf(now) });
}

export function formatListing(rows: TokenListing[]): string {
  if (rows.length === 0) return '';
  const width = Math.max(4, ...rows.map((row) => row.name.length));
  // a DESKS column once a token is scoped to desks (an install without desks lists as before)
  const scoped = rows.some((row) => row.desks !== null);
  const desksOf = (row: TokenListing) => (scoped ? `${(row.desks?.join(',') ?? '(all)').padEnd(deskWidth)}  ` : '');
  const deskWidth = Math.max(5, ...rows.map((row) => (row.desks?.join(',') ?? '(all)').length));
  const lines = [`${'NAME'.padEnd(width)}  ${scoped ? `${'DESKS'.padEnd(deskWidth)}  ` : ''}CREATED     REVOKED`];
  for (const row of rows) lines.push(`${row.name.padEnd(width)}  ${desksOf(row)}${row.createdDay}  ${row.revokedDay ?? '-'}`);
  return `${lines.join('\n')}\n`;
}

export interface AdminIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  /** the desks configured (server/desks.ts ids); default the one desk of an install without desks */
  desks?: readonly string[];
}

export interface AuditRow {
  day: string;
  editor: string;
  action: string;
  target: string | null;
}

const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/**
 * The audit trail from `since` on. Rows carry a day, never a time, and the table keeps no order
 * within a day (its key is random): they are sorted by day, then editor, action and target.
 */
export async function readAudit(db: Db, since?: string): Promise<AuditRow[]> {
  return db
    .select({ day: audit.day, editor: audit.editor, action: audit.action, target: audit.target })
    .from(audit)
    .where(since === undefined ? undefined : gte(audit.day, since))
    .orderBy(asc(audit.day), asc(audit.editor), asc(audit.action), asc(audit.target));
}

export function formatAudit(rows: AuditRow[]): string {
  if (rows.length === 0) return '';
  const width = (pick: (row: AuditRow) => string, title: string) => Math.max(title.length, ...rows.map((row) => pick(row).length));
  const editorWidth = width((row) => row.editor, 'EDITOR');
  const actionWidth = width((row) => row.action, 'ACTION');
  const lines = [`DAY         ${'EDITOR'.padEnd(editorWidth)}  ${'ACTION'.padEnd(actionWidth)}  TARGET`];
  for (const row of rows) lines.push(`${row.day}  ${row.editor.padEnd(editorWidth)}  ${row.action.padEnd(actionWidth)}  ${row.target ?? '-'}`);
  return `${lines.join('\n')}\n`;
}

/** Runs one command on an open database (here, or in the server behind its admin socket). */
export async function executeAdminRequest(db: Db, request: AdminRequest): Promise<AdminAnswer> {
  try {
    switch (request.command) {
      case 'token_add':
        // the desk ids were checked against the configured desks by the admin command that sent them
        return { ok: true, value: await addToken(db, request.name, new Date(), request.desks, request.desks ?? []) };
      case 'token_list':
        return { ok: true, value: await listTokens(db) };
      case 'token_revoke':
        await revokeToken(db, request.name);
        return { ok: true, value: null };
      case 'audit':
        return { ok: true, value: await readAudit(db, request.since) };
    }
  } catch (error) {
    if (error instanceof AdminError) return { ok: false, message: error.message, hint: error.hint, exitCode: error.exitCode };
    throw error;
  }
}

/** The command line as a request, and where a new token goes (`--out FILE`), or a usage error. */
function parseCommandLine(argv: string[], known: readonly string[]): { request: AdminRequest; out?: string } {
  const [group] = argv;
  const rest = argv.slice(group === 'audit' ? 1 : 2);
  const command = group === 'audit' ? undefined : argv[1];
  const usage = (message: string) => new AdminError(message, { hint: 'run "npm run admin -- --help"', exitCode: 2 });
  const option = (name: string): string | undefined => {
    const at = rest.indexOf(name);
    if (at === -1) return undefined;
    const value = rest[at + 1];
    if (value === undefined || value.startsWith('-')) throw usage(`${name} needs a value`);
    rest.splice(at, 2);
    return value;
  };
  if (group === 'audit') {
    const since = option('--since');
    if (rest.length > 0) throw usage(`audit takes only --since DAY, got ${JSON.stringify(rest.join(' '))}`);
    if (since !== undefined && !DAY.test(since)) throw usage(`expected --since YYYY-MM-DD, got ${JSON.stringify(since)}`);
    return { request: since === undefined ? { command: 'audit' } : { command: 'audit', since } };
  }
  if (group !== 'token' || (command !== 'add' && command !== 'list' && command !== 'revoke')) {
    throw new AdminError(group === undefined ? 'missing a command' : `unknown command ${JSON.stringify([group, command].filter(Boolean).join(' '))}`, {
      hint: 'the commands are "token add NAME", "token list", "token revoke NAME" and "audit"',
      exitCode: 2,
    });
  }
  const out = command === 'add' ? option('--out') : undefined;
  const desks: string[] = [];
  for (let desk = command === 'add' ? option('--desk') : undefined; desk !== undefined; desk = option('--desk')) desks.push(desk);
  const unknown = rest.find((arg) => arg.startsWith('-'));
  if (unknown !== undefined) throw usage(`unknown option ${unknown}${command === 'add' ? ' (token add takes --desk ID and --out FILE)' : ''}`);
  const wanted = command === 'list' ? 0 : 1;
  if (rest.length !== wanted) {
    throw usage(wanted === 0 ? `token list takes no argument, got ${rest.length}` : `token ${command} needs exactly one NAME`);
  }
  if (command === 'list') return { request: { command: 'token_list' } };
  checkName(rest[0]!);
  if (command === 'add' && desks.length > 0) {
    checkDesks(desks, known);
    return { request: { command: 'token_add', name: rest[0]!, desks }, ...(out === undefined ? {} : { out }) };
  }
  return { request: { command: command === 'add' ? 'token_add' : 'token_revoke', name: rest[0]! }, ...(out === undefined ? {} : { out }) };
}

/**
 * Where the command runs: PostgreSQL directly; the embedded database through the running
 * server's admin socket, else directly (the server is stopped). A DATA_DIR that does not exist is
 * refused: opening would make a new, empty database, whose tokens the server never sees.
 */
async function runRequest(request: AdminRequest, env: AdminIo['env']): Promise<AdminAnswer> {
  const config = loadConfig(env);
  if (config.databaseUrl) return withDatabase({ url: config.databaseUrl }, request);
  const dataDir = resolve(config.dataDir);
  if (!existsSync(dataDir)) {
    throw new AdminError(`the data folder ${dataDir} does not exist`, {
      hint: `set DATA_DIR to the server's data folder (its start line ends with "embedded database in …") or run this where you ran npm start; ${env.DATA_DIR === undefined || env.DATA_DIR === '' ? 'DATA_DIR is unset, so ./data was meant' : `DATA_DIR is ${env.DATA_DIR}`}`,
    });
  }
  let answer: AdminAnswer | undefined;
  try {
    answer = await sendAdminRequest(adminSocketPath(dataDir), request);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EACCES') {
      throw new AdminError(`no permission to use the server's admin socket ${adminSocketPath(dataDir)}`, {
        hint: 'run this as the user the server runs as (the owner of DATA_DIR)',
      });
    }
    throw error;
  }
  if (answer !== undefined) return answer;
  if (config.editorPort !== 0 && (await isListening(config.editorHost, config.editorPort))) {
    // a server runs, but not on this folder: a token made here would never reach it
    throw new AdminError(`a server answers on ${config.editorHost}:${config.editorPort}, but not on the admin socket of ${dataDir}: it runs on another data folder or on PostgreSQL`, {
      hint: 'set DATA_DIR (or DATABASE_URL) to what the server uses: its start line names it',
    });
  }
  return withDatabase({ dataDir }, request);
}

async function withDatabase(options: { url?: string; dataDir?: string }, request: AdminRequest): Promise<AdminAnswer> {
  const database = await openDatabase(options);
  try {
    return await executeAdminRequest(database.db, request);
  } finally {
    await database.close();
  }
}

const scopeNote = (request: { desks?: string[] }) => (request.desks ? ` (desks ${request.desks.join(', ')})` : '');

/** The desks this install offers: those of its instance file (INSTANCE_FILE), else the one desk `newsroom`. */
async function configuredDesks(env: AdminIo['env']): Promise<string[]> {
  const file = await loadInstanceFile(loadConfig(env).instanceFile);
  return file.deskSpecs?.map((desk) => desk.id) ?? [DEFAULT_DESK_ID];
}

/** Runs one admin invocation; returns the exit code and never throws. */
export async function runAdmin(argv: string[], io: AdminIo): Promise<number> {
  try {
    const [group] = argv;
    if (group === '-h' || group === '--help' || group === 'help') {
      io.stdout.write(ADMIN_USAGE);
      return 0;
    }
    // the desks this install offers (its instance file's; without one, the one desk `newsroom`)
    const { request, out } = parseCommandLine(argv, io.desks ?? (argv.includes('--desk') ? await configuredDesks(io.env) : [DEFAULT_DESK_ID]));
    // refuse an --out file that exists before a token is made for nothing
    if (out !== undefined && existsSync(out)) {
      throw new AdminError(`${out} exists already`, { hint: 'a token file is never overwritten: name a new file, or move the old one away', exitCode: 2 });
    }
    const answer = await runRequest(request, io.env);
    if (!answer.ok) throw new AdminError(answer.message, { hint: answer.hint, exitCode: answer.exitCode });
    switch (request.command) {
      case 'token_add': {
        const token = String(answer.value);
        if (out !== undefined) {
          writeTokenFile(out, token);
          io.stderr.write(`sealdrop-admin: token for ${request.name}${scopeNote(request)} written to ${out} (mode 0600); it is shown nowhere else\n`);
        } else {
          // stdout holds the token and nothing else: everything else goes to stderr
          io.stdout.write(`${token}\n`);
          io.stderr.write(`sealdrop-admin: token for ${request.name}${scopeNote(request)} made; it is shown only this once\n`);
        }
        break;
      }
      case 'token_list': {
        const rows = answer.value as TokenListing[];
        if (rows.length === 0) io.stderr.write('sealdrop-admin: no tokens yet; make one with "npm run --silent admin -- token add NAME --out NAME.token"\n');
        io.stdout.write(formatListing(rows));
        break;
      }
      case 'token_revoke':
        io.stderr.write(`sealdrop-admin: token ${request.name} revoked\n`);
        break;
      case 'audit': {
        const rows = answer.value as AuditRow[];
        if (rows.length === 0) io.stderr.write(`sealdrop-admin: the audit trail is empty${request.since ? ` since ${request.since}` : ''}\n`);
        io.stdout.write(formatAudit(rows));
        break;
      }
    }
    return 0;
  } catch (error) {
    if (error instanceof AdminError) {
      io.stderr.write(`sealdrop-admin: error: ${error.message}\n`);
      if (error.hint) io.stderr.write(`sealdrop-admin: hint: ${error.hint}\n`);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`sealdrop-admin: error: ${error.message}\n`);
      return 1;
    }
    if (error instanceof InstanceFileError) {
      for (const problem of error.problems) io.stderr.write(`sealdrop-admin: error: ${problem}\n`);
      io.stderr.write('sealdrop-admin: hint: the desks come from INSTANCE_FILE, the file the server starts with; fix it as the server\'s start refusal says\n');
      return 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`sealdrop-admin: error: ${message}\n`);
    return 1;
  }
}

/** O_EXCL and 0600, as keys are written: the token file is a secret. */
function writeTokenFile(path: string, token: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    throw new AdminError(`cannot write the token to ${path}: ${(error as Error).message}`, {
      hint: 'the token was made but is lost: revoke it ("token revoke NAME") and make another into a new file',
    });
  }
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
}

/** True when a TCP connection to host:port succeeds within a second. */
function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await runAdmin(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
}
