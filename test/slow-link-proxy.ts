/**
 * @module test/slow-link-proxy — a TCP proxy that plays a slow, flaky Tor circuit between a
 * browser (or the page's uploader in Node) and a server: latency added each way, the rate capped
 * (one link per direction, shared by every connection, as one circuit is), the whole link frozen
 * and thawed, and one connection dropped after a number of bytes.
 *
 * Bytes are delivered in order per connection. A connection's reading is paused while more than
 * HIGH_WATER bytes of it wait in the link, so the sender meets back-pressure as it would on a real
 * slow link (its socket buffers fill, then its writes wait) instead of handing everything to the
 * proxy at once.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export type LinkShape = {
  /** added to every byte, each way (default 0) */
  latencyMs?: number;
  /** each direction's rate (default unlimited) */
  bytesPerSecond?: number;
};

export type SlowLinkProxy = {
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  /** bytes delivered to the server (upstream) and to the client (downstream) so far */
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** connections accepted so far */
  readonly connections: number;
  setShape(shape: LinkShape): void;
  /** Nothing moves either way (connections are still accepted) until `thaw`. */
  freeze(): void;
  thaw(): void;
  /**
   * The next connection to carry `afterBytes` upstream from now is cut both ways (as a relay
   * dying cuts it); resolves when it was.
   */
  dropOneConnection(afterBytes: number): Promise<void>;
  close(): Promise<void>;
};

const PIECE = 16 * 1024;
const HIGH_WATER = 64 * 1024;

/** One direction of the link: when its next byte may leave, after the ones already queued. */
class Direction {
  private freeAt = 0;
  constructor(public shape: LinkShape) {}
  /** The time the `bytes` arrive at the far end. */
  reserve(bytes: number): number {
    const now = Date.now();
    const rate = this.shape.bytesPerSecond;
    const start = Math.max(now, this.freeAt);
    this.freeAt = rate ? start + (bytes * 1000) / rate : start;
    return this.freeAt + (this.shape.latencyMs ?? 0);
  }
}

export async function startSlowLinkProxy(target: { host: string; port: number }, shape: LinkShape = {}): Promise<SlowLinkProxy> {
  const up = new Direction(shape);
  const down = new Direction(shape);
  let frozen = false;
  /** deliveries that came due while frozen, in order */
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();
  let bytesUp = 0;
  let bytesDown = 0;
  let connections = 0;
  let drop: { afterBytes: number; resolve: () => void; counted: Map<Socket, number> } | undefined;

  const deliverAt = (at: number, deliver: () => void) => {
    const run = () => (frozen ? held.push(deliver) : deliver());
    setTimeout(run, Math.max(0, at - Date.now()));
  };

  /** Carries `from`'s bytes to `to` through `direction`. */
  function pipe(from: Socket, to: Socket, direction: Direction, count: (n: number) => void, onBytes?: (n: number) => void) {
    let waiting = 0;
    from.on('data', (data: Buffer) => {
      for (let offset = 0; offset < data.length; offset += PIECE) {
        const piece = data.subarray(offset, offset + PIECE);
        waiting += piece.length;
        onBytes?.(piece.length);
        deliverAt(direction.reserve(piece.length), () => {
          waiting -= piece.length;
          if (!to.destroyed) {
            to.write(piece);
            count(piece.length);
          }
          if (waiting < HIGH_WATER && !frozen && !from.destroyed) from.resume();
        });
      }
      if (waiting >= HIGH_WATER) from.pause();
    });
    from.on('end', () => deliverAt(direction.reserve(0), () => !to.destroyed && to.end()));
  }

  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    if (frozen) client.pause();
    const cut = () => {
      // a reset, as a relay that died leaves the browser's stream
      client.resetAndDestroy();
      upstream.resetAndDestroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // an error cuts both ways; an orderly end travels through the link behind the bytes before it
    client.on('error', cut).on('close', () => sockets.delete(client));
    upstream.on('error', cut).on('close', () => sockets.delete(upstream));
    pipe(client, upstream, up, (n) => (bytesUp += n), (n) => {
      if (!drop) return;
      const seen = (drop.counted.get(client) ?? 0) + n;
      drop.counted.set(client, seen);
      if (seen >= drop.afterBytes) {
        const { resolve } = drop;
        drop = undefined;
        cut();
        resolve();
      }
    });
    pipe(upstream, client, down, (n) => (bytesDown += n));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    get bytesUp() {
      return bytesUp;
    },
    get bytesDown() {
      return bytesDown;
    },
    get connections() {
      return connections;
    },
    setShape(next) {
      up.shape = next;
      down.shape = next;
    },
    freeze() {
      frozen = true;
      for (const socket of sockets) socket.pause();
    },
    thaw() {
      frozen = false;
      for (const deliver of held.splice(0)) deliver();
      for (const socket of sockets) if (!socket.destroyed) socket.resume();
    },
    dropOneConnection(afterBytes) {
      return new Promise((resolve) => (drop = { afterBytes, resolve, counted: new Map() }));
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
