/**
 * The bound of graceful shutdown, in a real process with real signals: a request that never
 * finishes (a source's circuit died mid-chunk) does not hold the stop hostage. The server process
 * is test/ops/shutdown-harness.ts, wired as server/main.ts should be.
 */
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase } from './pg.ts';
import { watchProgram } from './process.ts';
import { ROOT } from './dockerfile.ts';
import { openDatabase } from '../../server/db/open.ts';

let database: Awaited<ReturnType<typeof createEmptyDatabase>>;
beforeAll(async () => {
  database = await createEmptyDatabase('sealdrop_bound');
  // migrated, as the app's own start would leave it
  await (await openDatabase({ url: database.url })).close();
});
afterAll(async () => {
  await database?.drop();
});

describe('installGracefulShutdown in a real process', () => {
  it('cuts a request stuck past the bound, closes idle keep-alive connections, and exits 0', async () => {
    const server = watchProgram('node', ['--import', 'tsx', join(ROOT, 'test/ops/shutdown-harness.ts')], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url, SHUTDOWN_TIMEOUT_MS: '1500' },
    });
    const port = Number((await server.waitFor(/listening (\d+)/, 'the listening line'))[1]);

    // an idle keep-alive connection, after one finished request
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/chunk', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end('done');
    });
    // a chunk that never finishes
    const stuck = http.request({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: '/chunk',
      agent: false,
      headers: { 'Content-Length': '1000000' },
    });
    const stuckOutcome = new Promise<string>((resolve) => {
      stuck.on('response', () => resolve('answered'));
      stuck.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    await new Promise<void>((resolve) => stuck.write(Buffer.alloc(1000), () => resolve()));
    await new Promise((r) => setTimeout(r, 300));

    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    expect(await stuckOutcome).toMatch(/ECONNRESET|socket hang up/);
    const out = server.output();
    expect(out).toMatch(/shutdown: SIGTERM: no new connections; waiting up to 1500 ms/);
    expect(out).toMatch(/requests still in flight after 1500 ms: cutting their connections/);
    expect(out).toMatch(/shutdown: done, exit 0/);
    agent.destroy();
  });
});
