import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetWal, rewriteTables, SMALL_TABLES, startForgetTimer } from './forget.ts';
import { rowsOf, type Database } from './open.ts';
import { createTestDatabase } from './test-db.ts';

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

const flagRaised = async () =>
  Number(rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from housekeeping where flag = 'chunks_deleted'`))[0]!.n) > 0;

describe('the forget pass', () => {
  it('knows every table of the schema but chunks, each with the index it orders by', async () => {
    const tables = rowsOf<{ name: string }>(
      await database.db.execute(sql`select table_name::text as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`),
    ).map((r) => r.name);
    expect([...SMALL_TABLES.map((t) => t.table), 'chunks'].sort()).toEqual(tables.sort());
    for (const { table, order } of SMALL_TABLES) {
      const [row] = rowsOf<{ n: number }>(
        await database.db.execute(sql`select count(*)::int as n from pg_indexes where tablename = ${table} and indexname = ${order}`),
      );
      expect(row!.n, `${table} ${order}`).toBe(1);
    }
  });

  it('rewrites chunks only after chunks were deleted, and lowers the flag', async () => {
    expect(await flagRaised()).toBe(false);
    expect(await rewriteTables(database.db, { chunks: true })).toEqual({ chunks: false });
    await database.db.execute(sql`
      insert into submissions (id, status, size, chunk_size, chunks, sha256, pending_lookup_hash, created_day)
      values ('00000000-0000-4000-8000-000000000001', 'uploading', 1, 1, 1, ${'a'.repeat(64)}, ${'b'.repeat(64)}, '2026-12-01')`);
    await database.db.execute(sql`insert into chunks (submission_id, idx, data) values ('00000000-0000-4000-8000-000000000001', 0, '\\x00')`);
    expect(await flagRaised()).toBe(false);
    // the cascade from a deleted submission fires the trigger on chunks too
    await database.db.execute(sql`delete from submissions where id = '00000000-0000-4000-8000-000000000001'`);
    expect(await flagRaised()).toBe(true);
    expect(await rewriteTables(database.db, { chunks: false })).toEqual({ chunks: false });
    expect(await flagRaised()).toBe(true);
    expect(await rewriteTables(database.db, { chunks: true })).toEqual({ chunks: true });
    expect(await flagRaised()).toBe(false);
    await forgetWal(database.db);
  });

  it('the timer runs within its first interval, reports a failure once per kind, and stop waits for the run', async () => {
    const lines: string[] = [];
    // a database handle whose statements fail as a missing privilege would
    const denied = {
      execute: async () => {
        throw Object.assign(new Error('permission denied for function pg_switch_wal'), { code: '42501' });
      },
    } as unknown as Database['db'];
    const stop = startForgetTimer({ db: denied, log: (l) => lines.push(l), walIntervalMs: 20, rewriteIntervalMs: 20 });
    await new Promise((r) => setTimeout(r, 200));
    await stop();
    expect(lines).toEqual([
      'forget: rewriting tables failed: permission denied for function pg_switch_wal',
      'forget: removing old WAL failed: permission denied for function pg_switch_wal',
    ]);
  });
});
