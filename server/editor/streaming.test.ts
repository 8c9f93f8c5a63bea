/**
 * The bundle export reads ciphertext from the database only as fast as the client takes it: a
 * client that stops reading (a slow Tor circuit) must not make the server load the whole bundle
 * into memory. Real listener, real sockets; chunk reads counted at the database handle.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken } from '../admin.ts';
import { writeChunk } from '../db/chunks.ts';
import type { Database, Db } from '../db/open.ts';
import { sources, submissions } from '../db/schema.ts';
import { createTestDatabase } from '../db/test-db.ts';
import { createEditorApp } from './app.ts';
import { readDemoNewsroomKey } from './test-fixtures.ts';

const CHUNK = 1024 * 1024;
const CHUNKS = 64;
const DAY = '2026-06-01';

let database: Database;
let server: http.Server;
let port: number;
let token: string;
let chunkReads = 0;
const digest = createHash('sha256');
const logged: string[] = [];
let submissionId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const [source] = await database.db
    .insert(sources)
    .values({ lookupHash: 'a'.repeat(64), handle: 'slow-tortoise', publicKey: 'unused', lockedPrivateKey: 'unused', createdDay: DAY })
    .returning({ id: sources.id });
  const [submission] = await database.db
    .insert(submissions)
    .values({ sourceId: source!.id, status: 'received', size: CHUNK * CHUNKS, chunkSize: CHUNK, chunks: CHUNKS, sha256: '0'.repeat(64), createdDay: DAY, receivedDay: DAY })
    .returning({ id: submissions.id });
  submissionId = submission!.id;
  for (let idx = 0; idx < CHUNKS; idx++) {
    const bytes = randomBytes(CHUNK);
    digest.update(bytes);
    await writeChunk(database.db, submission!.id, idx, bytes);
  }
  token = await addToken(database.db, 'reader');
  // Every chunk read goes through db.execute (server/db/chunks.ts); count those calls.
  const counted = new Proxy(database.db, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'execute' && typeof value === 'function') {
        return (...args: unknown[]) => {
          chunkReads++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as Db;
  const app = createEditorApp({ db: counted, newsroomKey: await readDemoNewsroomKey(), clock: () => new Date(`${DAY}T12:00:00Z`), config: { logRequests: false }, log: (line) => void logged.push(line) });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
  if (!server.listening) await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await database?.close();
});

describe('bundle streaming', () => {
  it('reads chunks only as the client consumes them, and delivers every byte', async () => {
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/editor/v1/bundle', headers: { authorization: `Bearer ${token}` } }, resolve).on('error', reject);
    });
    expect(response.statusCode).toBe(200);
    const declared = Number(response.headers['content-length']);
    expect(declared).toBeGreaterThan(CHUNK * CHUNKS);

    // Take about one chunk's worth, then stop reading, as a stalled circuit would.
    let received = 0;
    const parts: Buffer[] = [];
    await new Promise<void>((resolve) => {
      const onData = (part: Buffer) => {
        parts.push(part);
        received += part.length;
        if (received >= CHUNK) {
          response.pause();
          response.off('data', onData);
          resolve();
        }
      };
      response.on('data', onData);
    });
    // Give an eager server ample time to run ahead (it would read all 64 MiB in well under this).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const readWhileStalled = chunkReads;
    // socket and stream buffers hold a few MiB at most; an eager server would have read all 64
    expect(readWhileStalled).toBeLessThan(CHUNKS / 2);

    for await (const part of response) {
      parts.push(part as Buffer);
      received += (part as Buffer).length;
    }
    expect(received).toBe(declared);
    expect(chunkReads).toBe(CHUNKS);
    // the ciphertext inside the tar is byte for byte what was stored
    const tar = Buffer.concat(parts);
    const jsonSize = parseInt(tar.subarray(124, 136).toString('latin1').replace(/\0.*$/, ''), 8);
    let offset = 512 + Math.ceil(jsonSize / 512) * 512;
    const keySize = parseInt(tar.subarray(offset + 124, offset + 136).toString('latin1').replace(/\0.*$/, ''), 8);
    offset += 512 + Math.ceil(keySize / 512) * 512 + 512;
    expect(createHash('sha256').update(tar.subarray(offset, offset + CHUNK * CHUNKS)).digest('hex')).toBe(digest.digest('hex'));
  });

  it('cuts the connection, never pads or shortens silently, when a stored chunk is missing', async () => {
    await database.db.execute(sql`delete from chunks where submission_id = ${submissionId} and idx = 10`);
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/editor/v1/bundle', headers: { authorization: `Bearer ${token}` } }, resolve).on('error', reject);
    });
    const declared = Number(response.headers['content-length']);
    let received = 0;
    const outcome = await (async () => {
      try {
        for await (const part of response) received += (part as Buffer).length;
        return 'complete';
      } catch {
        return 'aborted';
      }
    })();
    expect(outcome).toBe('aborted');
    expect(received).toBeLessThan(declared);
    expect(logged).toContain('editor: bundle stream failed: CiphertextReadError');
    expect(logged.join('\n')).not.toContain(submissionId);
  });
});
