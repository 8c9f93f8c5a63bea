import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './db/open.ts';
import { instance } from './db/schema.ts';
import { createTestDatabase } from './db/test-db.ts';
import { loadInstance } from './instance.ts';

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.close();
});

describe('loadInstance', () => {
  it('makes the row once, even when several starts race, and keeps it', async () => {
    const clock = () => new Date('2026-05-06T07:08:09Z');
    const all = await Promise.all(Array.from({ length: 5 }, () => loadInstance(database.db, clock)));
    for (const got of all) expect(got).toEqual(all[0]);
    expect(all[0]!.instanceSalt).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(all[0]!.serverSecret).toHaveLength(32);
    expect(await loadInstance(database.db, () => new Date('2030-01-01T00:00:00Z'))).toEqual(all[0]);
    const rows = await database.db.select().from(instance);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.createdDay).toBe('2026-05-06');
  });
});
