import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { DatabaseOpenError, MIGRATIONS_FOLDER, openDatabase, PGLITE_LOCK_FILE, rowsOf, type Database, type Db } from './open.ts';
import { sweepStaleUploads } from '../source/stale-uploads.ts';
import { createTestDatabase } from './test-db.ts';

/** Every migration in the journal is applied, once. */
const MIGRATION_COUNT = (JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

// The tables and columns of docs/INTERNALS.md "Database", nothing more and nothing less.
const CONTRACT: Record<string, string[]> = {
  instance: ['id', 'instance_salt', 'server_secret', 'created_day'],
  sources: ['id', 'lookup_hash', 'handle', 'public_key', 'locked_private_key', 'created_day', 'spam'],
  submissions: [
    'id', 'source_id', 'status', 'size', 'chunk_size', 'chunks', 'sha256', 'pending_lookup_hash',
    'pending_public_key', 'pending_locked_private_key', 'created_day', 'received_day', 'downloaded_day', 'day_seq', 'desk', 'probe',
  ],
  chunks: ['submission_id', 'idx', 'data'],
  replies: ['id', 'source_id', 'message', 'size', 'created_day', 'day_seq', 'desk'],
  spent_pow: ['id_hash', 'expires_day'],
  pow_load: ['bucket', 'work'],
  upload_progress: ['submission_id', 'chunks', 'tick', 'first_tick', 'flowed'],
  swept_unsent: ['source_id', 'day', 'bytes'],
  editor_tokens: ['id', 'name', 'token_hash', 'created_day', 'revoked_day', 'desks'],
  audit: ['id', 'editor', 'action', 'target', 'day'],
  housekeeping: ['flag'],
};

/** Column names that would betray a privacy promise (DESIGN.md promise 2). */
export function isForbiddenColumnName(name: string): boolean {
  const parts = name.toLowerCase().split(/[^a-z0-9]+/);
  if (parts.some((p) => p === 'ip' || p === 'ua' || p === 'ts' || p === 'at')) return true;
  return /ip_?addr|address|agent|referr?er|timestamp|time|hour|minute|second|host|port/.test(name.toLowerCase());
}

async function columnsOf(database: Database) {
  const result = await database.db.execute(sql`
    select table_name::text as table_name, column_name::text as column_name, data_type::text as data_type
    from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position`);
  return rowsOf<{ table_name: string; column_name: string; data_type: string }>(result);
}

function checkSchema(rows: Array<{ table_name: string; column_name: string; data_type: string }>) {
  const tables: Record<string, string[]> = {};
  for (const r of rows) (tables[r.table_name] ??= []).push(r.column_name);
  for (const columns of Object.values(tables)) columns.sort();
  const expected = Object.fromEntries(Object.entries(CONTRACT).map(([t, c]) => [t, [...c].sort()]));
  expect(tables).toEqual(expected);
  for (const r of rows) {
    expect(isForbiddenColumnName(r.column_name), `${r.table_name}.${r.column_name}`).toBe(false);
    expect(r.data_type, `${r.table_name}.${r.column_name}`).not.toMatch(/time|interval/);
  }
  const dayColumns = rows.filter((r) => r.column_name.endsWith('day'));
  expect(dayColumns.length).toBeGreaterThan(0);
  for (const r of dayColumns) expect(r.data_type, `${r.table_name}.${r.column_name}`).toBe('date');
}

describe('forbidden column names', () => {
  it('catches the names we never want', () => {
    for (const bad of ['ip', 'client_ip', 'ip_address', 'user_agent', 'referrer', 'created_at', 'timestamp', 'seen_time'])
      expect(isForbiddenColumnName(bad), bad).toBe(true);
    for (const ok of ['recipient', 'created_day', 'pending_locked_private_key', 'chunk_size', 'description'])
      expect(isForbiddenColumnName(ok), ok).toBe(false);
  });
});

describe('migrations on createTestDatabase()', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('gives exactly the tables and columns of the contract, with days as dates', async () => {
    checkSchema(await columnsOf(database));
  });

  it('uses PostgreSQL when TEST_DATABASE_URL is set', () => {
    expect(database.kind).toBe(process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite');
  });
});

describe('migrations on PGlite in a data folder', () => {
  it('apply on an empty database, and opening it again applies nothing twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-db-'));
    try {
      let database = await openDatabase({ dataDir: dir });
      try {
        checkSchema(await columnsOf(database));
        await database.db.execute(sql`insert into audit (editor, action, day) values ('e', 'kept', '2026-01-01')`);
      } finally {
        await database.close();
      }
      database = await openDatabase({ dataDir: dir });
      try {
        checkSchema(await columnsOf(database));
        const applied = rowsOf(await database.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`));
        expect(applied).toEqual([{ n: MIGRATION_COUNT }]);
        const kept = rowsOf(await database.db.execute(sql`select action from audit`));
        expect(kept).toEqual([{ action: 'kept' }]);
      } finally {
        await database.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the PGlite folder lock', () => {
  it('refuses a second open while the first is open, allows it after close, takes over a stale lock', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-lock-'));
    try {
      const first = await openDatabase({ dataDir: dir });
      try {
        await expect(openDatabase({ dataDir: dir })).rejects.toThrow(DatabaseOpenError);
        await expect(openDatabase({ dataDir: dir })).rejects.toThrow(/already open in this process/);
      } finally {
        await first.close();
      }
      // a lock left by a process that is gone (pid far above pid_max's default)
      await writeFile(join(dir, PGLITE_LOCK_FILE), '4194999\n');
      const again = await openDatabase({ dataDir: dir });
      await again.close();
      // a live process holding it (our parent, e.g. the test runner)
      await writeFile(join(dir, PGLITE_LOCK_FILE), `${process.ppid}\n`);
      await expect(openDatabase({ dataDir: dir })).rejects.toThrow(new RegExp(`in use by process ${process.ppid}`));
      // our own pid in a lock we do not hold: a restarted container's pid 1 finding its old lock
      await writeFile(join(dir, PGLITE_LOCK_FILE), `${process.pid}\n`);
      const restarted = await openDatabase({ dataDir: dir });
      await restarted.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('migrations on PostgreSQL', () => {
  it('two servers opening the same empty database at once both succeed, migrations applied once', async () => {
    const base = await createTestDatabase();
    // createTestDatabase already migrated; open two more handles concurrently on the same database
    const url = new URL(process.env.TEST_DATABASE_URL!);
    const name = rowsOf<{ name: string }>(await base.db.execute(sql`select current_database()::text as name`))[0]!.name;
    url.pathname = `/${name}`;
    try {
      const [a, b] = await Promise.all([openDatabase({ url: url.toString() }), openDatabase({ url: url.toString() })]);
      try {
        expect(rowsOf(await a.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`))).toEqual([{ n: MIGRATION_COUNT }]);
        checkSchema(await columnsOf(b));
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await base.close();
    }
  });
});

describe('createTestDatabase on CI', () => {
  it('refuses to fall back to PGlite when CI=true and PostgreSQL is not set or not reachable', async () => {
    const saved = { CI: process.env.CI, TEST_DATABASE_URL: process.env.TEST_DATABASE_URL };
    try {
      process.env.CI = 'true';
      delete process.env.TEST_DATABASE_URL;
      await expect(createTestDatabase()).rejects.toThrow(/TEST_DATABASE_URL is not set/);
      // port 1 on loopback: nothing listens there
      process.env.TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:1/postgres';
      await expect(createTestDatabase()).rejects.toThrow(/set but unusable/);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('migration 0003_spam on a database that already holds sources', () => {
  it('adds the flag as false to every source, keeps their submissions, and the trigger refuses only flagged ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-mig-'));
    const client = new PGlite();
    try {
      // the migrations up to 0002, as a database made before 0003 has them
      await cp(MIGRATIONS_FOLDER, dir, { recursive: true });
      const journal = JSON.parse(await readFile(join(dir, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
      const before = journal.entries.findIndex((entry) => entry.tag === '0003_spam');
      expect(before).toBeGreaterThan(0);
      journal.entries = journal.entries.slice(0, before);
      await writeFile(join(dir, 'meta/_journal.json'), JSON.stringify(journal));
      const db = drizzle({ client });
      await migrate(db, { migrationsFolder: dir });
      await db.execute(sql`insert into sources (id, lookup_hash, handle, public_key, locked_private_key, created_day)
        values ('11111111-1111-4111-8111-111111111111', 'h1', 'quiet-otter', 'k', 'l', '2026-01-01'),
               ('22222222-2222-4222-8222-222222222222', 'h2', 'noisy-magpie', 'k', 'l', '2026-01-01')`);
      await db.execute(sql`insert into submissions (source_id, status, size, chunk_size, chunks, sha256, created_day, received_day)
        values ('11111111-1111-4111-8111-111111111111', 'received', 10, 10, 1, 'x', '2026-01-01', '2026-01-01')`);

      await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
      expect(rowsOf(await db.execute(sql`select handle, spam from sources order by handle`))).toEqual([
        { handle: 'noisy-magpie', spam: false },
        { handle: 'quiet-otter', spam: false },
      ]);
      expect(rowsOf(await db.execute(sql`select count(*)::int as n from submissions`))).toEqual([{ n: 1 }]);
      const insertFor = (id: string) =>
        db.execute(sql`insert into submissions (source_id, status, size, chunk_size, chunks, sha256, created_day)
          values (${id}::uuid, 'uploading', 10, 10, 1, 'y', '2026-01-02')`);
      await db.execute(sql`update sources set spam = true where handle = 'noisy-magpie'`);
      await expect(insertFor('22222222-2222-4222-8222-222222222222')).rejects.toMatchObject({ cause: { code: 'SDSPM' } });
      await insertFor('11111111-1111-4111-8111-111111111111');
      // a new source's first upload names no source yet: the trigger does not apply
      await db.execute(sql`insert into submissions (status, size, chunk_size, chunks, sha256, pending_lookup_hash, created_day)
        values ('uploading', 10, 10, 1, 'z', 'h3', '2026-01-02')`);
      expect(rowsOf(await db.execute(sql`select count(*)::int as n from submissions`))).toEqual([{ n: 3 }]);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migration 0005_reply_once on a database that already holds a reply twice', () => {
  it('keeps one copy of each, keeps different replies, and refuses a second copy from then on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-mig-'));
    const client = new PGlite();
    try {
      await cp(MIGRATIONS_FOLDER, dir, { recursive: true });
      const journal = JSON.parse(await readFile(join(dir, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
      const before = journal.entries.findIndex((entry) => entry.tag === '0005_reply_once');
      expect(before).toBeGreaterThan(0);
      journal.entries = journal.entries.slice(0, before);
      await writeFile(join(dir, 'meta/_journal.json'), JSON.stringify(journal));
      const db = drizzle({ client });
      await migrate(db, { migrationsFolder: dir });
      await db.execute(sql`insert into sources (id, lookup_hash, handle, public_key, locked_private_key, created_day)
        values ('11111111-1111-4111-8111-111111111111', 'h1', 'quiet-otter', 'k', 'l', '2026-01-01'),
               ('22222222-2222-4222-8222-222222222222', 'h2', 'noisy-magpie', 'k', 'l', '2026-01-01')`);
      const insertReply = (source: string, hex: string) =>
        db.execute(sql`insert into replies (source_id, message, size, created_day) values (${source}::uuid, decode(${hex}, 'hex'), 3, '2026-01-02')`);
      await insertReply('11111111-1111-4111-8111-111111111111', 'c1c2c3');
      await insertReply('11111111-1111-4111-8111-111111111111', 'c1c2c3');
      await insertReply('11111111-1111-4111-8111-111111111111', 'c1c2c4');
      // the same bytes to another source are another reply
      await insertReply('22222222-2222-4222-8222-222222222222', 'c1c2c3');

      await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
      expect(rowsOf(await db.execute(sql`select s.handle, encode(r.message, 'hex') as message from replies r join sources s on s.id = r.source_id order by 1, 2`))).toEqual([
        { handle: 'noisy-magpie', message: 'c1c2c3' },
        { handle: 'quiet-otter', message: 'c1c2c3' },
        { handle: 'quiet-otter', message: 'c1c2c4' },
      ]);
      await expect(insertReply('11111111-1111-4111-8111-111111111111', 'c1c2c3')).rejects.toMatchObject({ cause: { code: '23505' } });
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migration 0007_day_order on a database that already holds tips and replies', () => {
  it('numbers each day\'s received tips and replies 1..n (by id, the order they had), leaves uploads unnumbered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-mig-'));
    const client = new PGlite();
    try {
      await cp(MIGRATIONS_FOLDER, dir, { recursive: true });
      const journal = JSON.parse(await readFile(join(dir, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
      const before = journal.entries.findIndex((entry) => entry.tag === '0007_day_order');
      expect(before).toBeGreaterThan(0);
      journal.entries = journal.entries.slice(0, before);
      await writeFile(join(dir, 'meta/_journal.json'), JSON.stringify(journal));
      const db = drizzle({ client });
      await migrate(db, { migrationsFolder: dir });
      await db.execute(sql`insert into sources (id, lookup_hash, handle, public_key, locked_private_key, created_day)
        values ('11111111-1111-4111-8111-111111111111', 'h1', 'quiet-otter', 'k', 'l', '2026-01-01')`);
      await db.execute(sql`insert into submissions (id, source_id, status, size, chunk_size, chunks, sha256, created_day, received_day) values
        ('cccccccc-0000-4000-8000-000000000000', '11111111-1111-4111-8111-111111111111', 'received', 10, 10, 1, 'x', '2026-01-01', '2026-01-01'),
        ('aaaaaaaa-0000-4000-8000-000000000000', '11111111-1111-4111-8111-111111111111', 'downloaded', 10, 10, 1, 'x', '2026-01-01', '2026-01-01'),
        ('bbbbbbbb-0000-4000-8000-000000000000', '11111111-1111-4111-8111-111111111111', 'received', 10, 10, 1, 'x', '2026-01-01', '2026-01-02')`);
      await db.execute(sql`insert into submissions (id, status, size, chunk_size, chunks, sha256, pending_lookup_hash, created_day) values
        ('dddddddd-0000-4000-8000-000000000000', 'uploading', 10, 10, 1, 'y', 'h2', '2026-01-02')`);
      await db.execute(sql`insert into replies (id, source_id, message, size, created_day) values
        ('eeeeeeee-0000-4000-8000-000000000000', '11111111-1111-4111-8111-111111111111', decode('00', 'hex'), 1, '2026-01-03'),
        ('dddddddd-0000-4000-8000-000000000000', '11111111-1111-4111-8111-111111111111', decode('01', 'hex'), 1, '2026-01-03')`);

      await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
      expect(rowsOf(await db.execute(sql`select left(id::text, 1) as id, day_seq from submissions order by id`))).toEqual([
        { id: 'a', day_seq: 1 },
        { id: 'b', day_seq: 1 },
        { id: 'c', day_seq: 2 },
        { id: 'd', day_seq: null },
      ]);
      expect(rowsOf(await db.execute(sql`select left(id::text, 1) as id, day_seq from replies order by id`))).toEqual([
        { id: 'd', day_seq: 1 },
        { id: 'e', day_seq: 2 },
      ]);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migration 0009_upload_pace on a database with uploads in progress', () => {
  it('starts each noted upload from its last move with nothing flowed, and keeps the other columns', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-mig-'));
    const client = new PGlite();
    try {
      await cp(MIGRATIONS_FOLDER, dir, { recursive: true });
      const journal = JSON.parse(await readFile(join(dir, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
      const before = journal.entries.findIndex((entry) => entry.tag === '0009_upload_pace');
      expect(before).toBeGreaterThan(0);
      journal.entries = journal.entries.slice(0, before);
      await writeFile(join(dir, 'meta/_journal.json'), JSON.stringify(journal));
      const db = drizzle({ client });
      await migrate(db, { migrationsFolder: dir });
      await db.execute(sql`insert into submissions (id, status, size, chunk_size, chunks, sha256, pending_lookup_hash, created_day)
        values ('33333333-3333-4333-8333-333333333333', 'uploading', 200000, 65536, 4, 'x', 'h1', '2026-01-02')`);
      await db.execute(sql`insert into upload_progress (submission_id, chunks, tick) values ('33333333-3333-4333-8333-333333333333', 2, 29456000)`);

      await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
      expect(rowsOf(await db.execute(sql`select chunks, tick, first_tick, flowed::int as flowed from upload_progress`))).toEqual([
        { chunks: 2, tick: 29456000, first_tick: 29456000, flowed: 0 },
      ]);
      // a row made from now on needs its first tick
      await expect(db.execute(sql`insert into upload_progress (submission_id, chunks, tick) values ('33333333-3333-4333-8333-333333333333', 0, 1)
        on conflict do nothing`)).rejects.toThrow();
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migration 0013_desks on a database with submissions, replies and tokens', () => {
  it('puts every existing row in the desk `newsroom`, leaves tokens seeing every desk, and names desks from then on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-mig-'));
    const client = new PGlite();
    try {
      await cp(MIGRATIONS_FOLDER, dir, { recursive: true });
      const journal = JSON.parse(await readFile(join(dir, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
      const before = journal.entries.findIndex((entry) => entry.tag === '0013_desks');
      expect(before).toBeGreaterThan(0);
      journal.entries = journal.entries.slice(0, before);
      await writeFile(join(dir, 'meta/_journal.json'), JSON.stringify(journal));
      const db = drizzle({ client });
      await migrate(db, { migrationsFolder: dir });
      await db.execute(sql`insert into sources (id, lookup_hash, handle, public_key, locked_private_key, created_day)
        values ('44444444-4444-4444-8444-444444444444', 'h', 'quiet-otter', 'pk', 'lk', '2026-01-02')`);
      await db.execute(sql`insert into submissions (id, source_id, status, size, chunk_size, chunks, sha256, created_day, received_day)
        values ('55555555-5555-4555-8555-555555555555', '44444444-4444-4444-8444-444444444444', 'received', 10, 10, 1, 'x', '2026-01-02', '2026-01-02')`);
      await db.execute(sql`insert into replies (source_id, message, size, created_day) values ('44444444-4444-4444-8444-444444444444', '\\x01', 1, '2026-01-02')`);
      await db.execute(sql`insert into editor_tokens (name, token_hash, created_day) values ('alice', 'hash', '2026-01-02')`);

      await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
      expect(rowsOf(await db.execute(sql`select desk from submissions`))).toEqual([{ desk: 'newsroom' }]);
      expect(rowsOf(await db.execute(sql`select desk from replies`))).toEqual([{ desk: 'newsroom' }]);
      expect(rowsOf(await db.execute(sql`select desks from editor_tokens`))).toEqual([{ desks: null }]);
      // a desk id is checked as server/desks.ts checks it, and a token's desks are never an empty list
      await expect(db.execute(sql`update submissions set desk = 'Not A Desk'`)).rejects.toThrow();
      await expect(db.execute(sql`update editor_tokens set desks = '{}'`)).rejects.toThrow();
      await db.execute(sql`update editor_tokens set desks = '{workers}'`);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('migration 0015_swept_unsent on a database with a returning source\'s upload in progress', () => {
  it('keeps the upload, starts with nothing counted, and from then on the sweep notes what it did not send', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sealdrop-mig-'));
    const client = new PGlite();
    try {
      await cp(MIGRATIONS_FOLDER, dir, { recursive: true });
      const journal = JSON.parse(await readFile(join(dir, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
      const before = journal.entries.findIndex((entry) => entry.tag === '0015_swept_unsent');
      expect(before).toBeGreaterThan(0);
      journal.entries = journal.entries.slice(0, before);
      await writeFile(join(dir, 'meta/_journal.json'), JSON.stringify(journal));
      const db = drizzle({ client });
      await migrate(db, { migrationsFolder: dir });
      const now = new Date('2026-01-02T12:00:00Z');
      const openTick = Math.floor(now.getTime() / 60_000) - 30;
      await db.execute(sql`insert into sources (id, lookup_hash, handle, public_key, locked_private_key, created_day)
        values ('66666666-6666-4666-8666-666666666666', 'h', 'quiet-otter', 'pk', 'lk', '2026-01-02')`);
      await db.execute(sql`insert into submissions (id, source_id, status, size, chunk_size, chunks, sha256, created_day)
        values ('77777777-7777-4777-8777-777777777777', '66666666-6666-4666-8666-666666666666', 'uploading', 1000000, 65536, 16, 'x', '2026-01-02')`);
      await db.execute(sql`insert into upload_progress (submission_id, chunks, tick, first_tick, flowed)
        values ('77777777-7777-4777-8777-777777777777', 0, ${openTick}, ${openTick}, 4000)`);

      await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
      expect(rowsOf(await db.execute(sql`select status from submissions`))).toEqual([{ status: 'uploading' }]);
      expect(rowsOf(await db.execute(sql`select * from swept_unsent`))).toEqual([]);
      // thirty minutes at 4 000 bytes: past its lease and its bytes' time
      expect(await sweepStaleUploads(db as unknown as Db, now, 6, 10)).toBe(1);
      expect(rowsOf(await db.execute(sql`select source_id, day::text as day, bytes::text as bytes from swept_unsent`))).toEqual([
        { source_id: '66666666-6666-4666-8666-666666666666', day: '2026-01-02', bytes: String(1000000 - 4000) },
      ]);
      await expect(db.execute(sql`update swept_unsent set bytes = 0`)).rejects.toThrow();
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
