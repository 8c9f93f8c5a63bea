/**
 * @module cli/net/test-socks5-proxy (tests only) — a tiny SOCKS5 server (RFC 1928) on real sockets
 * that records what it was asked and never resolves names.
 */
import net from 'node:net';

/** What the test proxy saw of one CONNECT request. */
export interface SeenRequest {
  greeting: Buffer;
  atyp: number;
  host: string;
  port: number;
}

export interface TestProxy {
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * A tiny SOCKS5 server (RFC 1928) on real sockets. `route` decides, from the requested host and
 * port, where to really connect (or which error code to answer); it never resolves names.
 */
export async function startProxy(options: {
  route?: (host: string, port: number) => { port: number } | { reply: number };
  methods?: number;
  afterReply?: Buffer;
}): Promise<TestProxy> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let buffered = Buffer.alloc(0);
    let stage: 'greeting' | 'request' | 'piped' = 'greeting';
    let greeting = Buffer.alloc(0);
    client.on('data', function onData(data: Buffer) {
      buffered = Buffer.concat([buffered, data]);
      if (stage === 'greeting') {
        if (buffered.length < 2 || buffered.length < 2 + (buffered[1] ?? 0)) return;
        greeting = buffered.subarray(0, 2 + (buffered[1] ?? 0));
        buffered = buffered.subarray(greeting.length);
        client.write(Buffer.from([0x05, options.methods ?? 0x00]));
        if ((options.methods ?? 0) !== 0) return void client.end();
        stage = 'request';
      }
      if (stage === 'request') {
        if (buffered.length < 5) return;
        const atyp = buffered[3] ?? 0;
        const addressLength = atyp === 1 ? 4 : atyp === 4 ? 16 : 1 + (buffered[4] ?? 0);
        if (buffered.length < 4 + addressLength + 2) return;
        const address = buffered.subarray(4, 4 + addressLength);
        const host =
          atyp === 3
            ? address.subarray(1).toString('ascii')
            : atyp === 1
              ? [...address].join('.')
              : address.toString('hex');
        const port = buffered.readUInt16BE(4 + addressLength);
        seen.push({ greeting, atyp, host, port });
        stage = 'piped';
        client.off('data', onData);
        const route = options.route?.(host, port) ?? { reply: 0x04 };
        if ('reply' in route) {
          client.end(Buffer.from([0x05, route.reply, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
          return;
        }
        const upstream = net.connect({ host: '127.0.0.1', port: route.port }, () => {
          client.write(Buffer.concat([Buffer.from([0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0x1f, 0x90]), options.afterReply ?? Buffer.alloc(0)]));
          client.pipe(upstream);
          upstream.pipe(client);
        });
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        upstream.on('error', () => client.destroy());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

