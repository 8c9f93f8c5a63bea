/** @module server/db/test-db — a fresh, migrated database for one test file. */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, redactUrl, type Database } from './open.ts';

export class TestDatabaseError extends Error {
  override name = 'TestDatabaseError';
}

/**
 * With TEST_DATABASE_URL: a new uniquely named database on that server, migrated; close() drops it.
 * Without: PGlite in memory. On CI (CI=true) PostgreSQL is required: a missing or unreachable
 * TEST_DATABASE_URL throws instead of quietly testing PGlite only.
 */
export async function createTestDatabase(): Promise<Database> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    if (process.env.CI === 'true') {
      throw new TestDatabaseError('CI=true but TEST_DATABASE_URL is not set: CI must test on PostgreSQL');
    }
    return openDatabase({ dataDir: 'memory://' });
  }
  const name = `sealdrop_test_${randomBytes(8).toString('hex')}`;
  const maintenance = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await maintenance.unsafe(`create database "${name}"`);
  } catch (error) {
    await maintenance.end({ timeout: 1 }).catch(() => {});
    throw new TestDatabaseError(
      `TEST_DATABASE_URL (${redactUrl(url)}) is set but unusable: ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
  const testUrl = new URL(url);
  testUrl.pathname = `/${name}`;
  let database: Database;
  try {
    database = await openDatabase({ url: testUrl.toString() });
  } catch (error) {
    await maintenance.unsafe(`drop database if exists "${name}" with (force)`).catch(() => {});
    await maintenance.end({ timeout: 1 });
    throw error;
  }
  return {
    db: database.db,
    kind: database.kind,
    async close() {
      try {
        await database.close();
      } finally {
        await maintenance.unsafe(`drop database if exists "${name}" with (force)`);
        await maintenance.end({ timeout: 5 });
      }
    },
  };
}
