/**
 * @module server/admin-socket — `npm run admin` while `npm start` runs on the embedded database.
 *
 * PGlite serves one process: the admin command cannot open the data folder the server holds. So the
 * server answers admin commands itself, on a Unix socket at `DATA_DIR/admin/socket`, in a folder of
 * mode 0700 owned by the server's user. Nothing else authenticates a command: whoever can open that
 * socket can also read the database files beside it, so the socket gives nobody anything new. It is
 * never a TCP port (no other user, container or onion service can reach it), and it speaks only the
 * four admin commands (token add, list, revoke; audit), one small JSON request each.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join, resolve } from 'node:path';
import type { Db } from './db/open.ts';
import { isDeskId } from './desks.ts';

export const ADMIN_SOCKET_FOLDER = 'admin';
export const ADMIN_SOCKET_NAME = 'socket';
/** Linux's limit on a socket path (sun_path is 108 bytes with its terminating zero). */
const MAX_SOCKET_PATH = 107;
const MAX_REQUEST_BYTES = 4096;

export function adminSocketPath(dataDir: string): string {
  return join(resolve(dataDir), ADMIN_SOCKET_FOLDER, ADMIN_SOCKET_NAME);
}

/** One admin command as it crosses the socket. */
export type AdminRequest =
  | { command: 'token_add'; name: string; desks?: string[] }
  | { command: 'token_list' }
  | { command: 'token_revoke'; name: string }
  | { command: 'audit'; since?: string };

/** What a command answers: a value, or an AdminError's fields. */
export type AdminAnswer =
  | { ok: true; value: unknown }
  | { ok: false; message: string; hint?: string; exitCode: number };

export type AdminExecutor = (db: Db, request: AdminRequest) => Promise<AdminAnswer>;

export interface AdminSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * Listens on the admin socket of `dataDir`. Called after the database is open, so the data folder's
 * lock (server/db/open.ts) is ours: a socket file found there is a dead server's, and is replaced.
 * Returns undefined, with the reason, when the path is too long for a Unix socket.
 */
export async function listenAdminSocket(options: {
  dataDir: string;
  db: Db;
  execute: AdminExecutor;
}): Promise<AdminSocket | { unavailable: string }> {
  const path = adminSocketPath(options.dataDir);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    return { unavailable: `its path ${path} is longer than a Unix socket allows (${MAX_SOCKET_PATH} bytes)` };
  }
  const folder = join(resolve(options.dataDir), ADMIN_SOCKET_FOLDER);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  chmodSync(folder, 0o700); // a folder made earlier with looser bits is closed too
  rmSync(path, { force: true });

  const server = http.createServer((request, response) => {
    const reply = (status: number, body: AdminAnswer) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'POST' || request.url !== '/admin/v1') {
      reply(404, { ok: false, message: 'no such admin route', exitCode: 1 });
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    request.on('data', (part: Buffer) => {
      size += part.length;
      if (size > MAX_REQUEST_BYTES) request.destroy();
      else parts.push(part);
    });
    request.on('end', () => {
      let parsed: AdminRequest;
      try {
        parsed = parseAdminRequest(JSON.parse(Buffer.concat(parts).toString('utf8')));
      } catch {
        reply(400, { ok: false, message: 'the admin request is not one the server knows', hint: 'use the npm run admin of this same checkout', exitCode: 2 });
        return;
      }
      options.execute(options.db, parsed).then(
        (answer) => reply(200, answer),
        (error: unknown) => reply(500, { ok: false, message: `the server could not run it: ${error instanceof Error ? error.name : typeof error}`, exitCode: 1 }),
      );
    });
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolvePromise());
  });
  chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(path, { force: true });
          resolvePromise();
        });
      }),
  };
}

function parseAdminRequest(json: unknown): AdminRequest {
  if (typeof json !== 'object' || json === null) throw new Error('not an object');
  const { command, name, since, desks } = json as Record<string, unknown>;
  if (command === 'token_list') return { command };
  if (command === 'token_add' && typeof name === 'string' && name.length <= 64 && desks !== undefined) {
    if (!Array.isArray(desks) || desks.length === 0 || desks.length > 64 || !desks.every(isDeskId)) throw new Error('bad desks');
    return { command, name, desks };
  }
  if ((command === 'token_add' || command === 'token_revoke') && typeof name === 'string' && name.length <= 64) return { command, name };
  if (command === 'audit' && (since === undefined || (typeof since === 'string' && since.length === 10))) {
    return since === undefined ? { command } : { command, since };
  }
  throw new Error('unknown request');
}

/**
 * Sends one request to the admin socket at `path`. Resolves undefined when nothing listens there
 * (no socket file, or a dead server's), so the caller opens the database itself.
 */
export function sendAdminRequest(path: string, request: AdminRequest): Promise<AdminAnswer | undefined> {
  return new Promise((resolvePromise, reject) => {
    const body = JSON.stringify(request);
    const outgoing = http.request(
      { socketPath: path, method: 'POST', path: '/admin/v1', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('end', () => {
          try {
            resolvePromise(JSON.parse(Buffer.concat(parts).toString('utf8')) as AdminAnswer);
          } catch (error) {
            reject(error);
          }
        });
        response.on('error', reject);
      },
    );
    outgoing.setTimeout(30_000, () => outgoing.destroy(new Error('the server did not answer on its admin socket within 30 s')));
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'ENOTDIR') resolvePromise(undefined);
      else reject(error);
    });
    outgoing.end(body);
  });
}
