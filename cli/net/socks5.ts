/**
 * @module a minimal SOCKS5 client (RFC 1928): no authentication, CONNECT only.
 *
 * Domain names are sent to the proxy as they are (ATYP 3), so an `.onion` address is resolved
 * inside Tor and never by the local resolver. Only IP literals are sent as addresses.
 */
import net from 'node:net';

export interface Socks5Proxy {
  host: string;
  port: number;
}

export class Socks5Error extends Error {
  override name = 'Socks5Error';
  /** The proxy's reply code (RFC 1928 §6; 0xF0–0xF7 are Tor's onion service errors), when it sent one. */
  readonly reply: number | undefined;
  constructor(message: string, reply?: number) {
    super(message);
    this.reply = reply;
  }
}

/** RFC 1928 §6 reply codes, and Tor's extended codes (tor's `ExtendedErrors` SocksPort flag). */
const REPLY_MESSAGES: Record<number, string> = {
  0x01: 'general SOCKS server failure',
  0x02: 'connection not allowed by ruleset',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused',
  0x06: 'TTL expired',
  0x07: 'command not supported',
  0x08: 'address type not supported',
  0xf0: 'onion service descriptor can not be found',
  0xf1: 'onion service descriptor is invalid',
  0xf2: 'onion service introduction failed',
  0xf3: 'onion service rendezvous failed',
  0xf4: 'onion service needs client authorization',
  0xf5: 'onion service client authorization is wrong',
  0xf6: 'onion address is invalid',
  0xf7: 'onion service introduction timed out',
};

/** Parses `HOST:PORT` (IPv6 as `[::1]:9050`). Throws `Socks5Error` naming what was expected. */
export function parseSocks5Address(text: string): Socks5Proxy {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Socks5Error(`expected HOST:PORT for the SOCKS5 proxy (such as 127.0.0.1:9050), got '${text}'`);
  }
  return { host, port };
}

/** The CONNECT request's address part: ATYP, address, port (RFC 1928 §4–5). */
export function encodeDestination(host: string, port: number): Buffer {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Socks5Error(`expected a destination port 1–65535, got ${port}`);
  }
  const portBytes = Buffer.from([port >> 8, port & 0xff]);
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (net.isIPv4(bare)) {
    return Buffer.concat([Buffer.from([0x01]), Buffer.from(bare.split('.').map(Number)), portBytes]);
  }
  if (net.isIPv6(bare)) {
    return Buffer.concat([Buffer.from([0x04]), ipv6Bytes(bare), portBytes]);
  }
  const name = Buffer.from(bare, 'ascii');
  if (name.length === 0 || name.length > 255 || !/^[A-Za-z0-9.-]+$/.test(bare)) {
    throw new Socks5Error(`expected a host name of 1–255 letters, digits, dots and hyphens, got '${host}'`);
  }
  return Buffer.concat([Buffer.from([0x03, name.length]), name, portBytes]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const headGroups = parse(head);
  const tailGroups = tail === undefined ? [] : parse(tail);
  const zeros = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<number>(Math.max(0, zeros)).fill(0), ...tailGroups];
  const out = Buffer.alloc(16);
  groups.forEach((group, index) => out.writeUInt16BE(group, index * 2));
  return out;
}

export interface Socks5ConnectOptions {
  proxy: Socks5Proxy;
  host: string;
  port: number;
  /** Gives up (and destroys the socket) when the handshake has not finished by then. */
  timeoutMs?: number;
}

/**
 * Opens a TCP connection to the proxy and asks it to CONNECT to `host:port`. Resolves with the
 * socket, paused, once the proxy has answered success; bytes after the proxy's reply stay in the
 * socket. Call `resume()` once a reader is attached.
 */
export function connectSocks5(options: Socks5ConnectOptions): Promise<net.Socket> {
  const { proxy, host, port, timeoutMs = 120_000 } = options;
  const destination = encodeDestination(host, port);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    let received = Buffer.alloc(0);
    let stage: 'method' | 'connect' | 'done' = 'method';

    const fail = (error: Error): void => {
      if (stage === 'done') return;
      stage = 'done';
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error): void =>
      fail(new Socks5Error(`cannot reach the SOCKS5 proxy at ${proxy.host}:${proxy.port}: ${error.message}`));
    const onClose = (): void => fail(new Socks5Error('the SOCKS5 proxy closed the connection during the handshake'));
    const onTimeout = (): void => fail(new Socks5Error(`the SOCKS5 proxy did not connect to ${host} within ${timeoutMs} ms`));
    const timer = setTimeout(onTimeout, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };

    const onData = (data: Buffer): void => {
      received = Buffer.concat([received, data]);
      if (stage === 'method') {
        if (received.length < 2) return;
        if (received[0] !== 0x05) return fail(new Socks5Error(`expected a SOCKS5 proxy (version 5), got version ${received[0]}`));
        if (received[1] !== 0x00) {
          return fail(new Socks5Error('the SOCKS5 proxy wants authentication; only "no authentication" is supported'));
        }
        received = received.subarray(2);
        stage = 'connect';
        socket.write(Buffer.concat([Buffer.from([0x05, 0x01, 0x00]), destination]));
      }
      if (stage === 'connect') {
        if (received.length < 5) return;
        if (received[0] !== 0x05) return fail(new Socks5Error(`expected a SOCKS5 reply, got version ${received[0]}`));
        const reply = received[1] ?? 0xff;
        if (reply !== 0x00) {
          const what = REPLY_MESSAGES[reply] ?? `unknown reply 0x${reply.toString(16)}`;
          return fail(new Socks5Error(`the SOCKS5 proxy could not connect to ${host}:${port}: ${what}`, reply));
        }
        const atyp = received[3];
        const addressLength = atyp === 0x01 ? 4 : atyp === 0x04 ? 16 : atyp === 0x03 ? 1 + (received[4] ?? 0) : -1;
        if (addressLength < 0) return fail(new Socks5Error(`the SOCKS5 proxy sent an unknown address type ${atyp}`));
        const total = 4 + addressLength + 2;
        if (received.length < total) return;
        const rest = received.subarray(total);
        stage = 'done';
        // Paused, so nothing is read before the caller attaches its own reader (then resume()).
        socket.pause();
        cleanup();
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
      }
    };

    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => socket.write(Buffer.from([0x05, 0x01, 0x00])));
  });
}
