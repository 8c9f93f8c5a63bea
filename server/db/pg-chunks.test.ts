/**
 * Chunk bytes on node-postgres (server/db/pg-chunks.ts): the Bind message written around the
 * chunk's own pieces, and slices read back by binary COPY, on the test database (PostgreSQL with
 * TEST_DATABASE_URL; on PGlite the round trip takes the base64 path).
 */
import { randomBytes } from 'node:crypto';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_SLICE_BYTES, readChunk, writeChunk } from './chunks.ts';
import type { Database } from './open.ts';
import { bindMessage, parseCopyIntAndBytes } from './pg-chunks.ts';
import { sources, submissions } from './schema.ts';
import { createTestDatabase } from './test-db.ts';

describe('bindMessage', () => {
  it('is the Bind message node-postgres would write, cut around the binary value', () => {
    for (const length of [0, 1, 5, 70_000]) {
      const bytes = Buffer.alloc(length, 7);
      const text = ['1b4e28ba-2fa1-11d2-883f-0016d3cca427', '12', 'é'];
      const [head, tail] = bindMessage(text, length);
      const theirs = serialize.bind({ values: [...text, bytes] });
      expect(Buffer.concat([head, bytes, tail]).equals(theirs)).toBe(true);
    }
  });
});

describe('parseCopyIntAndBytes', () => {
  const header = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
  const row = (int: number, bytes: Buffer) => {
    const head = Buffer.alloc(14);
    head.writeInt16BE(2, 0);
    head.writeInt32BE(4, 2);
    head.writeInt32BE(int, 6);
    head.writeInt32BE(bytes.length, 10);
    return Buffer.concat([head, bytes]);
  };
  const trailer = Buffer.from([0xff, 0xff]);

  it('reads the rows, and none from an empty answer', () => {
    expect(parseCopyIntAndBytes(Buffer.concat([header, trailer]))).toEqual([]);
    const [parsed] = parseCopyIntAndBytes(Buffer.concat([header, row(9, Buffer.from('abc')), trailer]));
    expect(parsed!.int).toBe(9);
    expect(parsed!.bytes.toString()).toBe('abc');
  });

  it('refuses what is not binary COPY of (int4, bytea), or is cut short', () => {
    const whole = Buffer.concat([header, row(9, Buffer.from('abc')), trailer]);
    expect(() => parseCopyIntAndBytes(whole.subarray(0, whole.length - 3))).toThrow(/binary COPY/);
    expect(() => parseCopyIntAndBytes(Buffer.concat([Buffer.from('x'), whole]))).toThrow(/signature/);
    expect(() => parseCopyIntAndBytes(Buffer.concat([whole, Buffer.from('x')]))).toThrow(/after the trailer/);
  });
});

describe('chunk bytes through the database', () => {
  let database: Database;
  let submissionId: string;
  const DAY = '2026-06-01';

  beforeAll(async () => {
    database = await createTestDatabase();
    const [source] = await database.db
      .insert(sources)
      .values({ lookupHash: 'b'.repeat(64), handle: 'quick-otter', publicKey: 'unused', lockedPrivateKey: 'unused', createdDay: DAY })
      .returning({ id: sources.id });
    const [submission] = await database.db
      .insert(submissions)
      .values({ sourceId: source!.id, status: 'uploading', size: 10, chunkSize: 5, chunks: 2, sha256: '0'.repeat(64), createdDay: DAY })
      .returning({ id: submissions.id });
    submissionId = submission!.id;
  });
  afterAll(async () => {
    await database?.close();
  });

  it('stores a chunk given as pieces and reads the same bytes back over several slices', async () => {
    const bytes = randomBytes(2 * READ_SLICE_BYTES + 12_345);
    const pieces = [bytes.subarray(0, 1), bytes.subarray(1, 65_537), bytes.subarray(65_537, 65_537), bytes.subarray(65_537)];
    expect(await writeChunk(database.db, submissionId, 0, pieces)).toBe('stored');
    expect(Buffer.from((await readChunk(database.db, submissionId, 0))!).equals(bytes)).toBe(true);
    // the same bytes again, in other pieces: idempotent; other bytes: refused
    expect(await writeChunk(database.db, submissionId, 0, [bytes])).toBe('same');
    const other = Buffer.from(bytes);
    other[READ_SLICE_BYTES + 7]! ^= 1;
    expect(await writeChunk(database.db, submissionId, 0, [other.subarray(0, 10), other.subarray(10)])).toBe('different');
    expect(await readChunk(database.db, submissionId, 1)).toBeUndefined();
  });

  it('reads a one-byte chunk', async () => {
    expect(await writeChunk(database.db, submissionId, 1, [Buffer.from([42])])).toBe('stored');
    expect([...(await readChunk(database.db, submissionId, 1))!]).toEqual([42]);
  });
});
