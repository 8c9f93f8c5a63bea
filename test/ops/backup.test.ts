/**
 * scripts/backup.sh and scripts/restore.sh against the real PostgreSQL: fill a fresh database,
 * back it up, wipe it (drop and create), restore, and find every row of every table again.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/open.ts';
import { audit, chunks, editorTokens, instance, replies, sources, spentPow, submissions } from '../../server/db/schema.ts';
import { createEmptyDatabase, snapshotDatabase } from './pg.ts';
import { runProgram } from './process.ts';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let target: Awaited<ReturnType<typeof createEmptyDatabase>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sealdrop-backup-'));
  target = await createEmptyDatabase('sealdrop_backup');
});
afterAll(async () => {
  await target?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const hex = (n: number) => randomBytes(n).toString('hex');
const script = (name: string, args: string[], env: Record<string, string> = {}) =>
  runProgram(join(ROOT, 'scripts', name), args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DATABASE_URL: target.url, ...env },
  });

/** Rows in every table, chunks of several sizes (one of 4 MiB, the largest a client sends). */
async function fill(url: string) {
  const { db, close } = await openDatabase({ url });
  try {
    await db.insert(instance).values({
      id: 1,
      instanceSalt: randomBytes(16).toString('base64url'),
      serverSecret: randomBytes(32),
      createdDay: '2026-01-01',
    });
    for (let s = 0; s < 3; s++) {
      const [source] = await db
        .insert(sources)
        .values({
          lookupHash: hex(32),
          handle: `handle-${s}`,
          publicKey: `-----BEGIN PGP PUBLIC KEY BLOCK-----\n${hex(40)}\n`,
          lockedPrivateKey: `-----BEGIN PGP PRIVATE KEY BLOCK-----\n${hex(60)}\n`,
          createdDay: `2026-01-0${s + 1}`,
        })
        .returning();
      for (let m = 0; m < 2; m++) {
        const sizes = s === 0 && m === 0 ? [4 * 1024 * 1024, 1000] : [4096];
        const [submission] = await db
          .insert(submissions)
          .values({
            sourceId: source!.id,
            status: m === 0 ? 'downloaded' : 'received',
            size: sizes.reduce((a, b) => a + b, 0),
            chunkSize: sizes[0]!,
            chunks: sizes.length,
            sha256: hex(32),
            createdDay: '2026-01-05',
            receivedDay: '2026-01-05',
            downloadedDay: m === 0 ? '2026-01-06' : null,
          })
          .returning();
        for (const [idx, size] of sizes.entries()) {
          await db.insert(chunks).values({ submissionId: submission!.id, idx, data: randomBytes(size) });
        }
      }
      await db.insert(replies).values({ sourceId: source!.id, message: randomBytes(300), size: 300, createdDay: '2026-01-07' });
    }
    // an upload in progress of a new source: no source row yet
    const [pending] = await db
      .insert(submissions)
      .values({
        status: 'uploading',
        size: 8192,
        chunkSize: 4096,
        chunks: 2,
        sha256: hex(32),
        pendingLookupHash: hex(32),
        pendingPublicKey: 'public',
        pendingLockedPrivateKey: 'locked',
        createdDay: '2026-01-08',
      })
      .returning();
    await db.insert(chunks).values({ submissionId: pending!.id, idx: 0, data: new Uint8Array([0, 1, 2, 255, 0]) });
    await db.insert(spentPow).values({ idHash: hex(32), expiresDay: '2026-01-09' });
    await db.insert(editorTokens).values({ name: 'alice', tokenHash: hex(32), createdDay: '2026-01-01' });
    await db.insert(editorTokens).values({ name: 'bob', tokenHash: hex(32), createdDay: '2026-01-01', revokedDay: '2026-01-04' });
    await db.insert(audit).values({ editor: 'alice', action: 'download', target: pending!.id, day: '2026-01-06' });
  } finally {
    await close();
  }
}

describe('backup and restore', () => {
  it('backup -> wipe -> restore gives back every row of every table', async () => {
    await fill(target.url);
    const before = await snapshotDatabase(target.url);
    expect(before['public.chunks']!.length).toBe(8);
    expect(before['public.sources']!.length).toBe(3);
    expect(before['drizzle.__drizzle_migrations']!.length).toBeGreaterThan(0);

    const file = join(dir, 'sealdrop.dump');
    const backup = await script('backup.sh', [file]);
    expect(backup.stderr).toMatch(/backup: wrote/);
    expect(backup.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file).subarray(0, 5).toString()).toBe('PGDMP');

    await target.recreate();
    expect(await snapshotDatabase(target.url)).toEqual({});

    const restore = await script('restore.sh', [file]);
    expect(restore.stderr).toMatch(/restore: restored/);
    expect(restore.code).toBe(0);
    const after = await snapshotDatabase(target.url);
    expect(Object.keys(after)).toEqual(Object.keys(before));
    for (const table of Object.keys(before)) expect(after[table], table).toEqual(before[table]);

    // The restored database opens like any other: the migrator finds its journal and does nothing.
    const reopened = await openDatabase({ url: target.url });
    await reopened.close();
    expect(await snapshotDatabase(target.url)).toEqual(before);

    // A database with tables is replaced only on request.
    const refused = await script('restore.sh', [file]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/has \d+ table\(s\).*--replace/);
    const replaced = await script('restore.sh', ['--replace', file]);
    expect(replaced.code).toBe(0);
    expect(await snapshotDatabase(target.url)).toEqual(before);

    // Never over an existing backup.
    const again = await script('backup.sh', [file]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/exists already/);
  });

  it('a broken backup file changes nothing in the target', async () => {
    const before = await snapshotDatabase(target.url);
    const good = join(dir, 'good.dump');
    expect((await script('backup.sh', [good])).code).toBe(0);
    const bytes = readFileSync(good);
    const broken = join(dir, 'broken.dump');
    // the table of contents intact, the data cut off half-way
    writeFileSync(broken, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const result = await script('restore.sh', ['--replace', broken]);
    expect(result.code).not.toBe(0);
    // it got as far as restoring (the table of contents reads), and was rolled back
    expect(result.stderr).toMatch(/pg_restore failed.*unchanged/);
    expect(await snapshotDatabase(target.url)).toEqual(before);
  });

  it('runs pg_dump, pg_restore and psql through a wrapper command (as with docker compose exec)', async () => {
    const before = await snapshotDatabase(target.url);
    // "docker compose exec -T db pg_dump" is several words: the scripts split PG_DUMP & co.
    const wrapped = { PG_DUMP: 'env LC_ALL=C pg_dump', PG_RESTORE: 'env LC_ALL=C pg_restore', PSQL: 'env LC_ALL=C psql' };
    const file = join(dir, 'wrapped.dump');
    expect((await script('backup.sh', [file], wrapped)).code).toBe(0);
    const copy = await createEmptyDatabase('sealdrop_backup_copy');
    try {
      const restored = await script('restore.sh', [file], { ...wrapped, DATABASE_URL: copy.url });
      expect(restored.stderr).toMatch(/restore: restored/);
      expect(await snapshotDatabase(copy.url)).toEqual(before);
    } finally {
      await copy.drop();
    }
  });

  it('a failing dump leaves no file behind', async () => {
    const file = join(dir, 'nothing.dump');
    const result = await script('backup.sh', [file], { DATABASE_URL: `${target.url}_does_not_exist` });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/no backup written/);
    expect(() => statSync(file)).toThrow();
    expect(
      (await import('node:fs')).readdirSync(dir).filter((f) => f.startsWith('.sealdrop-backup')),
    ).toEqual([]);
  });
});
