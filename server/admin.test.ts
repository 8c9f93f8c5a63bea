import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken, listTokens, revokeToken, runAdmin } from './admin.ts';
import { adminSocketPath } from './admin-socket.ts';
import type { Database } from './db/open.ts';
import { audit, editorTokens } from './db/schema.ts';
import { createTestDatabase } from './db/test-db.ts';
import { hashToken, TOKEN_PATTERN } from './editor/token.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

function collect() {
  let text = '';
  return { write: (chunk: string) => void (text += chunk), get text() { return text; } };
}

describe('token functions', () => {
  let database: Database;
  const now = new Date('2026-05-06T07:08:09Z');
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('stores only the SHA-256 of a new token, and refuses a second token of the same name', async () => {
    const token = await addToken(database.db, 'carol', now);
    expect(token).toMatch(TOKEN_PATTERN);
    const rows = await database.db.select().from(editorTokens);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'carol', tokenHash: hashToken(token), createdDay: '2026-05-06', revokedDay: null });
    expect(JSON.stringify(rows)).not.toContain(token.slice(4));
    await expect(addToken(database.db, 'carol', now)).rejects.toThrow(/exists already/);
  });

  it('revokes once, refuses unknown names and bad names', async () => {
    await revokeToken(database.db, 'carol', now);
    expect(await listTokens(database.db)).toEqual([{ name: 'carol', desks: null, createdDay: '2026-05-06', revokedDay: '2026-05-06' }]);
    await expect(revokeToken(database.db, 'carol', now)).rejects.toThrow(/revoked already/);
    await expect(revokeToken(database.db, 'dave', now)).rejects.toThrow(/no token is named dave/);
    await expect(addToken(database.db, '../x', now)).rejects.toThrow(/expected a token name/);
    await expect(addToken(database.db, '', now)).rejects.toThrow(/expected a token name/);
    const actions = (await database.db.select().from(audit)).map((row) => [row.editor, row.action, row.target, row.day]);
    expect(actions).toEqual([
      ['admin', 'token_add', 'carol', '2026-05-06'],
      ['admin', 'token_revoke', 'carol', '2026-05-06'],
    ]);
  });
});

describe('usage errors (no database opened)', () => {
  it.each([
    [[], /missing a command/],
    [['token'], /unknown command "token"/],
    [['tokens', 'add', 'x'], /unknown command/],
    [['token', 'add'], /needs exactly one NAME/],
    [['token', 'list', 'extra'], /takes no argument/],
    [['token', 'add', 'a b'], /expected a token name/],
  ])('%j', async (argv, message) => {
    const stdout = collect();
    const stderr = collect();
    expect(await runAdmin(argv, { stdout, stderr, env: {} })).toBe(2);
    expect(stdout.text).toBe('');
    expect(stderr.text).toMatch(message);
    expect(stderr.text).toMatch(/^sealdrop-admin: error: .*\nsealdrop-admin: hint: /);
  });

  it('names a bad environment variable', async () => {
    const stderr = collect();
    expect(await runAdmin(['token', 'list'], { stdout: collect(), stderr, env: { DATABASE_URL: 'mysql://x' } })).toBe(1);
    expect(stderr.text).toBe('sealdrop-admin: error: DATABASE_URL: expected a postgres:// or postgresql:// URL, or unset for the embedded database\n');
  });
});

describe('--desk: the desks of the instance file the server starts with', () => {
  const EXAMPLE = join(ROOT, 'deploy/instance.example/instance.json');

  it('a desk of INSTANCE_FILE is known; a desk it does not have is refused naming the desks it has, before any database is opened', async () => {
    const stderr = collect();
    const parent = mkdtempSync(join(tmpdir(), 'sealdrop-admin-desk-'));
    try {
      // DATA_DIR does not exist: had the desk passed, the command would have been refused for it instead
      const env = { INSTANCE_FILE: EXAMPLE, DATA_DIR: join(parent, 'data'), EDITOR_PORT: '0' };
      expect(await runAdmin(['token', 'add', 'ana', '--desk', 'nowhere'], { stdout: collect(), stderr, env })).toBe(2);
      expect(stderr.text).toMatch(/^sealdrop-admin: error: no desk is named "nowhere"\nsealdrop-admin: hint: the desks are workers, sanctions, general /);
      const second = collect();
      expect(await runAdmin(['token', 'add', 'ana', '--desk', 'workers'], { stdout: collect(), stderr: second, env })).toBe(1);
      expect(second.text).toMatch(/the data folder .* does not exist/);
      expect(existsSync(join(parent, 'data'))).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('without an instance file the one desk is "newsroom"; a broken instance file is named, field by field', async () => {
    const stderr = collect();
    expect(await runAdmin(['token', 'add', 'ana', '--desk', 'workers-abroad'], { stdout: collect(), stderr, env: {} })).toBe(2);
    expect(stderr.text).toMatch(/no desk is named "workers-abroad"\nsealdrop-admin: hint: the desks are newsroom /);
    const broken = collect();
    expect(await runAdmin(['token', 'add', 'ana', '--desk', 'x'], { stdout: collect(), stderr: broken, env: { INSTANCE_FILE: join(ROOT, 'package.json') } })).toBe(1);
    expect(broken.text).toMatch(/^sealdrop-admin: error: .*name/m);
    expect(broken.text).toMatch(/sealdrop-admin: hint: the desks come from INSTANCE_FILE/);
  });
});

describe('the embedded database: which folder', () => {
  it('! refuses a DATA_DIR that does not exist, and makes nothing (a new database would hold tokens no server reads)', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'sealdrop-admin-nodir-'));
    try {
      const stdout = collect();
      const stderr = collect();
      const code = await runAdmin(['token', 'add', 'frank'], { stdout, stderr, env: { DATA_DIR: join(parent, 'data'), EDITOR_PORT: '0' } });
      expect(code).toBe(1);
      expect(stdout.text).toBe('');
      expect(stderr.text).toBe(
        `sealdrop-admin: error: the data folder ${join(parent, 'data')} does not exist\n` +
          `sealdrop-admin: hint: set DATA_DIR to the server's data folder (its start line ends with "embedded database in …") or run this where you ran npm start; DATA_DIR is ${join(parent, 'data')}\n`,
      );
      expect(readdirSync(parent)).toEqual([]);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('! refuses when a server answers on the editor port but not on this folder\'s admin socket, and opens nothing', async () => {
    const listener = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'sealdrop-admin-busy-'));
    try {
      const stderr = collect();
      const code = await runAdmin(['token', 'add', 'frank'], { stdout: collect(), stderr, env: { DATA_DIR: dataDir, EDITOR_PORT: String(port) } });
      expect(code).toBe(1);
      expect(stderr.text).toBe(
        `sealdrop-admin: error: a server answers on 127.0.0.1:${port}, but not on the admin socket of ${dataDir}: it runs on another data folder or on PostgreSQL\n` +
          'sealdrop-admin: hint: set DATA_DIR (or DATABASE_URL) to what the server uses: its start line names it\n',
      );
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('npm run admin, as a process on an embedded database', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sealdrop-admin-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const admin = (...args: string[]) =>
    run('npx', ['tsx', 'server/admin.ts', ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, EDITOR_PORT: '0' } });

  it('says so when there is no token yet, then adds (token on stdout only), lists, revokes', async () => {
    const empty = await admin('token', 'list');
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toBe('sealdrop-admin: no tokens yet; make one with "npm run --silent admin -- token add NAME --out NAME.token"\n');
    const added = await admin('token', 'add', 'erin');
    expect(added.stdout).toMatch(/^sde_[A-Za-z0-9_-]{43}\n$/);
    expect(added.stderr).toContain('shown only this once');
    expect(added.stderr).not.toContain(added.stdout.trim());
    await admin('token', 'revoke', 'erin');
    const listed = await admin('token', 'list');
    expect(listed.stdout).toMatch(/^NAME {2}CREATED {5}REVOKED\nerin {2}\d{4}-\d{2}-\d{2} {2}\d{4}-\d{2}-\d{2}\n$/);
    const again = admin('token', 'revoke', 'erin');
    await expect(again).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/^sealdrop-admin: error: the token erin was revoked already/) });
  }, 600_000);

  it('--out writes the token to a new file of mode 0600 and nothing to stdout; an existing file is refused before a token is made', async () => {
    const file = join(dataDir, '..', `${dataDir.split('/').pop()}-gina.token`);
    try {
      const made = await admin('token', 'add', 'gina', '--out', file);
      expect(made.stdout).toBe('');
      expect(made.stderr).toBe(`sealdrop-admin: token for gina written to ${file} (mode 0600); it is shown nowhere else\n`);
      expect(readFileSync(file, 'utf8')).toMatch(/^sde_[A-Za-z0-9_-]{43}\n$/);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const twice = admin('token', 'add', 'hal', '--out', file);
      await expect(twice).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/exists already\nsealdrop-admin: hint: a token file is never overwritten/) });
      expect((await admin('token', 'list')).stdout).not.toMatch(/^hal /m);
    } finally {
      rmSync(file, { force: true });
    }
  }, 600_000);

  it('audit prints the trail by day; --since filters; a bad day is a usage error', async () => {
    const trail = await admin('audit');
    expect(trail.stdout.split('\n')[0]).toMatch(/^DAY {9}EDITOR +ACTION +TARGET$/);
    expect(trail.stdout).toMatch(/^\d{4}-\d{2}-\d{2} {2}admin +token_add +erin$/m);
    expect(trail.stdout).toMatch(/^\d{4}-\d{2}-\d{2} {2}admin +token_revoke +erin$/m);
    const future = await admin('audit', '--since', '2999-01-01');
    expect(future.stdout).toBe('');
    expect(future.stderr).toBe('sealdrop-admin: the audit trail is empty since 2999-01-01\n');
    await expect(admin('audit', '--since', 'yesterday')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/expected --since YYYY-MM-DD/) });
  }, 600_000);
});

describe('npm run admin while npm start runs on the same embedded database', () => {
  const home = mkdtempSync(join(tmpdir(), 'sealdrop-admin-live-'));
  const dataDir = join(home, 'data');
  let server: ChildProcess;
  let output = '';
  let editorUrl = '';
  beforeAll(async () => {
    server = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', EDITOR_PORT: '0', LOG_REQUESTS: '0', POW_DIFFICULTY: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    server.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    for (;;) {
      const started = /editor API on (http:\/\/\S+\/)editor\/v1/.exec(output);
      if (started) {
        editorUrl = started[1]!;
        break;
      }
      if (server.exitCode !== null) throw new Error(`the server stopped: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  afterAll(async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    rmSync(home, { recursive: true, force: true });
  });

  // npm's own banner, without --silent, lands on stdout: with --out the token is not beside it
  const npmAdmin = (...args: string[]) =>
    run('npm', ['run', 'admin', '--', ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, EDITOR_PORT: '0' } });

  it('token add, list, revoke and audit go through the server\'s admin socket (mode 0600 in a 0700 folder), and the token works at once', async () => {
    const socket = adminSocketPath(dataDir);
    expect(statSync(socket).isSocket()).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'admin')).mode & 0o777).toBe(0o700);

    const file = join(home, 'ivy.token');
    const made = await npmAdmin('token', 'add', 'ivy', '--out', file);
    expect(made.stdout).toContain('> tsx server/admin.ts token add ivy'); // the banner
    expect(made.stdout).not.toMatch(/sde_/);
    const token = readFileSync(file, 'utf8').trim();
    const headers = { authorization: `Bearer ${token}` };
    expect((await fetch(`${editorUrl}editor/v1/submissions`, { headers })).status).toBe(200);

    const listed = await npmAdmin('token', 'list');
    expect(listed.stdout).toMatch(/^ivy +\d{4}-\d{2}-\d{2} {2}-$/m);
    await npmAdmin('token', 'revoke', 'ivy');
    expect((await fetch(`${editorUrl}editor/v1/submissions`, { headers })).status).toBe(401);
    expect((await fetch(`${editorUrl}editor/v1/submissions`, { headers: { authorization: `Bearer sde_${'x'.repeat(43)}` } })).status).toBe(401);

    const trail = (await npmAdmin('audit')).stdout;
    expect(trail).toMatch(/ ivy +list +received$/m);
    expect(trail).toMatch(/ ivy +auth_revoked +-$/m);
    expect(trail).toMatch(/ - +auth_failed +-$/m);
    expect(trail).toMatch(/ admin +token_revoke +ivy$/m);
    // and the server, not a second PGlite, did it: the data folder's lock is still the server's
    expect(readFileSync(join(dataDir, 'sealdrop.lock'), 'utf8').trim()).toBe(String(server.pid));
  }, 600_000);

  it('the socket goes with the server: after it stops, the commands open the folder themselves', async () => {
    server.kill('SIGTERM');
    await once(server, 'exit');
    expect(existsSync(adminSocketPath(dataDir))).toBe(false);
    const listed = await npmAdmin('token', 'list');
    expect(listed.stdout).toMatch(/^ivy +\d{4}-\d{2}-\d{2} {2}\d{4}-\d{2}-\d{2}$/m);
  }, 600_000);
});
