import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlowLinkProxy } from './slow-link-proxy.ts';

/** An echo server: every byte back, and how many it saw. */
let echo: Server;
let target: { host: string; port: number };
beforeAll(async () => {
  echo = createServer((socket) => socket.on('error', () => {}).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  target = { host: '127.0.0.1', port: (echo.address() as AddressInfo).port };
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

async function roundTrip(port: number, bytes: Buffer): Promise<{ echoed: Buffer; ms: number }> {
  const { connect } = await import('node:net');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', (data) => {
      parts.push(data);
      got += data.length;
      if (got >= bytes.length) {
        socket.end();
        resolve({ echoed: Buffer.concat(parts), ms: Date.now() - started });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${got} bytes`)));
  });
}

describe('the slow link proxy', () => {
  it('delivers every byte in order, no sooner than the latency each way and the rate allow', async () => {
    const proxy = await startSlowLinkProxy(target, { latencyMs: 200, bytesPerSecond: 200_000 });
    try {
      const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
      const { echoed, ms } = await roundTrip(proxy.port, bytes);
      expect(echoed.equals(bytes)).toBe(true);
      // 200 ms each way, 0.5 s for the bytes (the two directions overlap)
      expect(ms).toBeGreaterThanOrEqual(400 + 500);
      expect(proxy.bytesUp).toBe(bytes.length);
    } finally {
      await proxy.close();
    }
  });

  it('holds everything while frozen and delivers it after the thaw', async () => {
    const proxy = await startSlowLinkProxy(target);
    try {
      proxy.freeze();
      const trip = roundTrip(proxy.port, Buffer.from('held'));
      let done = false;
      void trip.then(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(done).toBe(false);
      expect(proxy.bytesUp).toBe(0);
      proxy.thaw();
      expect((await trip).echoed.toString()).toBe('held');
    } finally {
      await proxy.close();
    }
  });

  it('cuts one connection after the bytes asked for, and only that one', async () => {
    const proxy = await startSlowLinkProxy(target);
    try {
      const dropped = proxy.dropOneConnection(1000);
      await expect(roundTrip(proxy.port, Buffer.alloc(5000))).rejects.toThrow();
      await dropped;
      expect((await roundTrip(proxy.port, Buffer.alloc(5000))).echoed.length).toBe(5000);
    } finally {
      await proxy.close();
    }
  });
});
