import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { installGracefulShutdown, type GracefulShutdown } from './shutdown.ts';

// Real @hono/node-server listeners; a route that reads its whole body like a chunk upload does.
function startServer(events: string[]) {
  const app = new Hono();
  app.put('/chunk', async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    events.push(`stored ${body.length}`);
    return c.json({ received: body.length });
  });
  app.get('/health', (c) => c.json({ ok: true }));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  return server as http.Server;
}

async function portOf(server: http.Server): Promise<number> {
  if (!server.listening) await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** A PUT whose body is sent in two halves; resolves the response once the second half is sent. */
function slowPut(port: number, agent: http.Agent) {
  const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/chunk', agent, headers: { 'content-length': '2000' } });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  response.catch(() => {});
  req.write(Buffer.alloc(1000, 1));
  return { req, response, finish: () => req.end(Buffer.alloc(1000, 2)) };
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

let installed: GracefulShutdown | undefined;
afterEach(() => installed?.uninstall());

describe('installGracefulShutdown', () => {
  it('lets the upload in flight finish, refuses new connections, then stops timers, closes the db and exits 0', async () => {
    const events: string[] = [];
    const server = startServer(events);
    const port = await portOf(server);
    const agent = new http.Agent({ keepAlive: true });
    const exits: number[] = [];
    installed = installGracefulShutdown({
      servers: [server],
      db: { close: async () => void events.push('db closed') },
      stops: [() => void events.push('timer stopped')],
      log: (line) => events.push(line),
      timeoutMs: 60_000,
      exit: (code) => exits.push(code),
      signals: [],
    });

    const upload = slowPut(port, agent);
    // the request has reached the handler before the signal
    await new Promise((r) => setTimeout(r, 50));
    const done = installed.shutdown('SIGTERM');
    await expect(get(port, '/health')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(events).not.toContain('db closed');

    upload.finish();
    const answer = await upload.response;
    expect(answer).toEqual({ status: 200, body: '{"received":2000}' });
    expect(await done).toBe(0);
    expect(exits).toEqual([0]);
    const order = events.filter((e) => !e.startsWith('shutdown:'));
    expect(order).toEqual(['timer stopped', 'stored 2000', 'db closed']);
    expect(server.listening).toBe(false);
    agent.destroy();
  });

  it('cuts a request that does not finish within the bound, and still exits', async () => {
    const events: string[] = [];
    const server = startServer(events);
    const port = await portOf(server);
    const exits: number[] = [];
    installed = installGracefulShutdown({
      servers: [server],
      db: { close: async () => void events.push('db closed') },
      log: (line) => events.push(line),
      timeoutMs: 200,
      exit: (code) => exits.push(code),
      signals: [],
    });
    const stuck = slowPut(port, new http.Agent({ keepAlive: true }));
    await new Promise((r) => setTimeout(r, 50));
    expect(await installed.shutdown('SIGTERM')).toBe(0);
    await expect(stuck.response).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(events).not.toContain('stored 2000');
    expect(events).toContain('db closed');
    expect(events.some((e) => e.includes('cutting their connections'))).toBe(true);
    expect(exits).toEqual([0]);
  });

  it('closes idle keep-alive connections at once instead of waiting for them', async () => {
    const events: string[] = [];
    const server = startServer(events);
    const port = await portOf(server);
    const agent = new http.Agent({ keepAlive: true });
    const first = slowPut(port, agent);
    first.finish();
    expect((await first.response).status).toBe(200);
    // the keep-alive socket is now idle; a bound far above the test timeout shows it is not waited on
    installed = installGracefulShutdown({ servers: [server], timeoutMs: 3_600_000, exit: () => {}, signals: [] });
    expect(await installed.shutdown('SIGTERM')).toBe(0);
    agent.destroy();
  });

  it('exits 1 when the database fails to close, and at once on a second signal', async () => {
    const server = startServer([]);
    await portOf(server);
    const exits: number[] = [];
    let release!: () => void;
    const slowClose = new Promise<void>((r) => (release = r));
    installed = installGracefulShutdown({
      servers: [server],
      db: {
        close: async () => {
          await slowClose;
          throw new Error('pool broken');
        },
      },
      timeoutMs: 1000,
      exit: (code) => exits.push(code),
      signals: ['SIGUSR2'],
    });
    process.emit('SIGUSR2', 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 50));
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(exits).toEqual([1]);
    release();
    expect(await installed.shutdown('again')).toBe(1);
    expect(exits).toEqual([1, 1]);
  });

  it('refuses a negative bound', () => {
    expect(() => installGracefulShutdown({ servers: [], timeoutMs: -1 })).toThrow(/non-negative integer, got -1/);
  });
});
