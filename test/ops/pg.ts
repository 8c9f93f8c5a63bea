/** @module test/ops/pg — fresh databases on the real PostgreSQL for the operations tests. */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** The server the operations tests use: TEST_DATABASE_URL (as CI sets it), else the local one. */
export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Create an empty database with a unique name; `drop()` removes it. */
export async function createEmptyDatabase(prefix: string) {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  return {
    name,
    url: databaseUrl(name),
    /** drop and create again: an empty database under the same name */
    async recreate() {
      await admin.unsafe(`drop database "${name}" with (force)`);
      await admin.unsafe(`create database "${name}"`);
    },
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

/**
 * Everything a database holds, as text: every row of every table of every schema but the
 * system's (ours and drizzle's migration journal), sorted, so two snapshots compare equal exactly
 * when the contents are the same.
 */
export async function snapshotDatabase(url: string): Promise<Record<string, string[]>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ schema: string; table: string }[]>`
      select table_schema as schema, table_name as table from information_schema.tables
      where table_schema not in ('pg_catalog', 'information_schema') and table_type = 'BASE TABLE'
      order by 1, 2`;
    const out: Record<string, string[]> = {};
    for (const { schema, table } of tables) {
      const rows = await sql.unsafe<{ row: string }[]>(
        `select t::text as row from "${schema}"."${table}" t order by 1`,
      );
      out[`${schema}.${table}`] = rows.map((r) => r.row);
    }
    return out;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
