/**
 * @module `npm run admin -- token add|list|revoke` — editor tokens, run on the server host.
 *
 * A new token is printed once on stdout and only its SHA-256 is stored. Results go to stdout;
 * errors to stderr as `sealdrop-admin: error: …` / `sealdrop-admin: hint: …`, like `sealdrop`.
 */
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { asc, eq } from 'drizzle-orm';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase, type Db } from './db/open.ts';
import { audit, editorTokens } from './db/schema.ts';
import { generateToken, hashToken } from './editor/token.ts';

export const ADMIN_USAGE = `Usage:
    npm run admin -- token add NAME
    npm run admin -- token list
    npm run admin -- token revoke NAME

Commands:
    token add NAME      Make an editor token for NAME (letters, digits, . _ -) and print it
                        once. Give it to the editor over a safe channel; only its hash is kept.
    token list          Show every token's name, the day it was made, and the day it was revoked.
    token revoke NAME   Refuse NAME's token from now on.

The database is the server's own (DATABASE_URL, or the embedded one in DATA_DIR). The embedded
database serves one process at a time: stop the server before running these commands on it (they
refuse while something answers on EDITOR_HOST:EDITOR_PORT).

Example:
    $ npm run --silent admin -- token add alice
    sde_…
(--silent keeps npm's own banner off stdout, so that the token is the only thing there.)
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

const todayOf = (now: Date) => now.toISOString().slice(0, 10);

/** Makes a token for `name`; returns it (the only time it exists outside the editor's hands). */
export async function addToken(db: Db, name: string, now: Date = new Date()): Promise<string> {
  checkName(name);
  const [existing] = await db.select({ id: editorTokens.id }).from(editorTokens).where(eq(editorTokens.name, name));
  if (existing) {
    throw new AdminError(`a token named ${name} exists already`, {
      hint: `revoke it with "token revoke ${name}" and pick a new name, e.g. ${name}-2`,
    });
  }
  const token = generateToken();
  await db.insert(editorTokens).values({ name, tokenHash: hashToken(token), createdDay: todayOf(now) });
  await db.insert(audit).values({ editor: 'admin', action: 'token_add', target: name, day: todayOf(now) });
  return token;
}

export interface TokenListing {
  name: string;
  createdDay: string;
  revokedDay: string | null;
}

export async function listTokens(db: Db): Promise<TokenListing[]> {
  return db
    .select({ name: editorTokens.name, createdDay: editorTokens.createdDay, revokedDay: editorTokens.revokedDay })
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
  const lines = [`${'NAME'.padEnd(width)}  CREATED     REVOKED`];
  for (const row of rows) lines.push(`${row.name.padEnd(width)}  ${row.createdDay}  ${row.revokedDay ?? '-'}`);
  return `${lines.join('\n')}\n`;
}

export interface AdminIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
}

/** Runs one admin invocation; returns the exit code and never throws. */
export async function runAdmin(argv: string[], io: AdminIo): Promise<number> {
  try {
    const [group, command, ...rest] = argv;
    if (group === '-h' || group === '--help' || group === 'help') {
      io.stdout.write(ADMIN_USAGE);
      return 0;
    }
    if (group !== 'token' || (command !== 'add' && command !== 'list' && command !== 'revoke')) {
      throw new AdminError(group === undefined ? 'missing a command' : `unknown command ${JSON.stringify([group, command].filter(Boolean).join(' '))}`, {
        hint: 'the commands are "token add NAME", "token list" and "token revoke NAME"',
        exitCode: 2,
      });
    }
    const wanted = command === 'list' ? 0 : 1;
    if (rest.length !== wanted) {
      throw new AdminError(wanted === 0 ? `token list takes no argument, got ${rest.length}` : `token ${command} needs exactly one NAME`, {
        hint: 'run "npm run admin -- --help"',
        exitCode: 2,
      });
    }
    if (rest[0] !== undefined) checkName(rest[0]);
    const config = loadConfig(io.env);
    if (!config.databaseUrl && config.editorPort !== 0 && (await isListening(config.editorHost, config.editorPort))) {
      // Two PGlite processes on one folder do not see each other's writes and can damage it.
      throw new AdminError(`the server seems to be running on the embedded database in ${config.dataDir} (something answers on ${config.editorHost}:${config.editorPort})`, {
        hint: 'stop the server, run this command, then start the server again (with PostgreSQL, DATABASE_URL, no stop is needed)',
      });
    }
    const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
    try {
      if (command === 'add') {
        io.stdout.write(`${await addToken(database.db, rest[0]!)}\n`);
        io.stderr.write(`sealdrop-admin: token for ${rest[0]} made; it is shown only this once\n`);
      } else if (command === 'list') {
        io.stdout.write(formatListing(await listTokens(database.db)));
      } else {
        await revokeToken(database.db, rest[0]!);
        io.stderr.write(`sealdrop-admin: token ${rest[0]} revoked\n`);
      }
    } finally {
      await database.close();
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
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`sealdrop-admin: error: ${message}\n`);
    return 1;
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
