import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken, listTokens, revokeToken, runAdmin } from './admin.ts';
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
    expect(await listTokens(database.db)).toEqual([{ name: 'carol', createdDay: '2026-05-06', revokedDay: '2026-05-06' }]);
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

describe('the embedded database while the server runs', () => {
  it('refuses when something answers on the editor port, and opens nothing', async () => {
    const listener = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'sealdrop-admin-busy-'));
    try {
      const stderr = collect();
      const code = await runAdmin(['token', 'add', 'frank'], { stdout: collect(), stderr, env: { DATA_DIR: join(dataDir, 'data'), EDITOR_PORT: String(port) } });
      expect(code).toBe(1);
      expect(stderr.text).toMatch(/^sealdrop-admin: error: the server seems to be running on the embedded database in .*\nsealdrop-admin: hint: stop the server/);
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

  it('adds (token on stdout only), lists, revokes', async () => {
    const added = await admin('token', 'add', 'erin');
    expect(added.stdout).toMatch(/^sde_[A-Za-z0-9_-]{43}\n$/);
    expect(added.stderr).toContain('shown only this once');
    expect(added.stderr).not.toContain(added.stdout.trim());
    await admin('token', 'revoke', 'erin');
    const listed = await admin('token', 'list');
    expect(listed.stdout).toMatch(/^NAME {2}CREATED {5}REVOKED\nerin {2}\d{4}-\d{2}-\d{2} {2}\d{4}-\d{2}-\d{2}\n$/);
    const again = admin('token', 'revoke', 'erin');
    await expect(again).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/^sealdrop-admin: error: the token erin was revoked already/) });
  });
});
