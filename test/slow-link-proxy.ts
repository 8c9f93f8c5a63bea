/**
 * @module test/slow-link-proxy — a TCP proxy that plays a slow, flaky Tor circuit between a
 * browser (or the page's uploader in Node) and a server: latency added each way, the rate capped
 * (one link per direction, shared by every connection, as one circuit is), the whole link frozen
 * and thawed, and one connection dropped after a number of bytes.
 *
 * Bytes are delivered in order per connection. A connection's reading is paused while more than
 * HIGH_WATER bytes of it wait for the capped rate (the queue at the bottleneck), so the sender
 * meets back-pressure as it would on a real slow link (its socket buffers fill, then its writes
 * wait) instead of handing everything to the proxy at once; bytes past the bottleneck and in
 * their latency do not count (the link keeps its rate whatever the latency).
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export type LinkShape = {
  /** added to every byte, each way (default 0) */
  latencyMs?: number;
  /** each direction's rate (default unlimited) */
  bytesPerSecond?: number;
  /**
   * A new connection's first bytes wait one round trip (2 × latencyMs), as a new Tor stream waits
   * for its RELAY_BEGIN to be answered before the browser may send (default false).
   */
  openingRoundTrip?: boolean;
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
  /** Freezes once `bytesUp` bytes in all went upstream (a circuit that dies at a known point of an upload). */
  freezeAfter(bytesUp: number): Promise<void>;
  thaw(): void;
  /**
   * Once `afterBytes` more bytes went upstream (over all connections), the connection carrying
   * the next one is cut both ways, as a relay dying cuts it; resolves when it was.
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
  /** When the `bytes` are past the capped rate, and when they arrive at the far end. */
  reserve(bytes: number): { passed: number; arrives: number } {
    const now = Date.now();
    const rate = this.shape.bytesPerSecond;
    const start = Math.max(now, this.freeAt);
    this.freeAt = rate ? start + (bytes * 1000) / rate : start;
    return { passed: this.freeAt, arrives: this.freeAt + (this.shape.latencyMs ?? 0) };
  }
}

export async function startSlowLinkProxy(target: { host: string; port: number }, shape: LinkShape = {}): Promise<SlowLinkProxy> {
  const up = new Direction(shape);
  const down = new Direction(shape);
  let frozen = false;
  const sockets = new Set<Socket>();
  /** each direction of each connection, so a thaw can restart them */
  const pumps = new Set<() => void>();
  let bytesUp = 0;
  let bytesDown = 0;
  let connections = 0;
  let drop: { afterBytes: number; resolve: () => void; seen: number } | undefined;
  let freezeAt: { bytesUp: number; resolve: () => void } | undefined;

  /**
   * Carries `from`'s bytes to `to` through `direction`, strictly in order: one queue per
   * direction of a connection and one timer for its head (timers of different lengths due in the
   * same millisecond may fire in any order).
   */
  function pipe(from: Socket, to: Socket, direction: Direction, count: (n: number) => void, onBytes?: (n: number) => void) {
    /** bytes still queued before the capped rate */
    let waiting = 0;
    const queue: { passed: number; arrives: number; piece: Buffer | 'end'; bytes: number; counted: boolean }[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pump = () => {
      clearTimeout(timer);
      timer = undefined;
      if (frozen) return;
      const now = Date.now();
      for (const entry of queue) {
        if (entry.counted || entry.passed > now) continue;
        entry.counted = true;
        waiting -= entry.bytes;
      }
      while (!frozen && queue.length > 0 && queue[0]!.arrives <= now) {
        const { piece } = queue.shift()!;
        if (to.destroyed) continue;
        if (piece === 'end') to.end();
        else {
          to.write(piece);
          count(piece.length);
        }
      }
      if (frozen) return;
      if (waiting < HIGH_WATER && !from.destroyed) from.resume();
      const next = queue.find((e) => !e.counted)?.passed ?? queue[0]?.arrives;
      if (next !== undefined) timer = setTimeout(pump, Math.max(0, Math.min(next, queue[0]!.arrives) - now));
    };
    pumps.add(pump);
    const push = (piece: Buffer | 'end') => {
      const bytes = piece === 'end' ? 0 : piece.length;
      waiting += bytes;
      queue.push({ ...direction.reserve(bytes), piece, bytes, counted: false });
      if (!timer) pump();
    };
    from.on('data', (data: Buffer) => {
      for (let offset = 0; offset < data.length; offset += PIECE) {
        const piece = data.subarray(offset, offset + PIECE);
        onBytes?.(piece.length);
        if (from.destroyed) return;
        push(piece);
      }
      if (waiting >= HIGH_WATER) from.pause();
    });
    from.on('end', () => push('end'));
    from.on('close', () => {
      if (queue.length === 0) pumps.delete(pump);
    });
  }

  function freeze() {
    frozen = true;
    for (const socket of sockets) socket.pause();
  }

  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const opening = up.shape.openingRoundTrip ? 2 * (up.shape.latencyMs ?? 0) : 0;
    if (frozen || opening > 0) client.pause();
    if (opening > 0) setTimeout(() => !frozen && !client.destroyed && client.resume(), opening);
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
    pipe(client, upstream, up, (n) => {
      bytesUp += n;
      if (freezeAt && bytesUp >= freezeAt.bytesUp) {
        const { resolve } = freezeAt;
        freezeAt = undefined;
        freeze();
        resolve();
      }
    }, (n) => {
      if (!drop) return;
      drop.seen += n;
      if (drop.seen > drop.afterBytes) {
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
    freeze,
    freezeAfter(bytes) {
      return new Promise((resolve) => (freezeAt = { bytesUp: bytes, resolve }));
    },
    thaw() {
      frozen = false;
      for (const pump of pumps) pump();
    },
    dropOneConnection(afterBytes) {
      return new Promise((resolve) => (drop = { afterBytes, resolve, seen: 0 }));
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
