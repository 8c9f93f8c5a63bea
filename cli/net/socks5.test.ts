import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { editorJson, editorRequest, EditorRequestError, parseServerUrl } from './http.ts';
import { connectSocks5, encodeDestination, parseSocks5Address, Socks5Error } from './socks5.ts';
import { startProxy } from './test-socks5-proxy.ts';

async function startJsonServer(): Promise<{ port: number; requests: http.IncomingHttpHeaders[]; close(): Promise<void> }> {
  const requests: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((request, response) => {
    requests.push(request.headers);
    if (request.url === '/editor/v1/missing') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'not_found', message: 'No such submission.' }));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ path: request.url, host: request.headers.host }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const TOKEN = `sde_${'A'.repeat(43)}`;
const ONION = 'sealdropeditorx7q2v4wj3k5m6n7p8r9s2t3u4v5w6x7y8z2a3b4c5d.onion';

describe('connectSocks5', () => {
  it('sends the onion name to the proxy unresolved and carries HTTP through it', async () => {
    const target = await startJsonServer();
    cleanups.push(target.close);
    const proxy = await startProxy({ route: (host) => (host === ONION ? { port: target.port } : { reply: 0x04 }) });
    cleanups.push(proxy.close);

    const endpoint = { server: parseServerUrl(`http://${ONION}`, { host: '127.0.0.1', port: proxy.port }), socks5: { host: '127.0.0.1', port: proxy.port }, token: TOKEN };
    const answer = await editorJson<{ path: string; host: string }>(endpoint, { method: 'GET', path: '/editor/v1/submissions' });

    expect(answer).toEqual({ path: '/editor/v1/submissions', host: ONION });
    expect(proxy.seen).toHaveLength(1);
    expect(proxy.seen[0]).toMatchObject({ atyp: 0x03, host: ONION, port: 80 });
    expect([...(proxy.seen[0]?.greeting ?? [])]).toEqual([0x05, 0x01, 0x00]);
    expect(target.requests[0]?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(target.requests[0]?.['user-agent']).toBeUndefined();
  });

  it('keeps bytes that arrive in the same packet as the proxy reply', async () => {
    const echo = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => echo.close(() => resolve())));
    const proxy = await startProxy({
      route: () => ({ port: (echo.address() as net.AddressInfo).port }),
      afterReply: Buffer.from('early bytes'),
    });
    cleanups.push(proxy.close);

    const socket = await connectSocks5({ proxy: { host: '127.0.0.1', port: proxy.port }, host: 'example.onion', port: 8081 });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.resume();
    await new Promise((resolve) => socket.on('close', resolve));
    expect(Buffer.concat(chunks).toString()).toBe('early bytes');
    expect(proxy.seen[0]).toMatchObject({ atyp: 0x03, host: 'example.onion', port: 8081 });
  });

  it("reports Tor's onion service errors by name", async () => {
    const proxy = await startProxy({ route: () => ({ reply: 0xf0 }) });
    cleanups.push(proxy.close);
    const attempt = connectSocks5({ proxy: { host: '127.0.0.1', port: proxy.port }, host: ONION, port: 80 });
    await expect(attempt).rejects.toThrow(/onion service descriptor can not be found/);
    await expect(attempt).rejects.toMatchObject({ reply: 0xf0 });
  });

  it('refuses a proxy that demands authentication', async () => {
    const proxy = await startProxy({ methods: 0x02 });
    cleanups.push(proxy.close);
    await expect(connectSocks5({ proxy: { host: '127.0.0.1', port: proxy.port }, host: ONION, port: 80 })).rejects.toThrow(
      /wants authentication/,
    );
  });

  it('says so when no proxy listens', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await expect(connectSocks5({ proxy: { host: '127.0.0.1', port }, host: ONION, port: 80 })).rejects.toThrow(
      /cannot reach the SOCKS5 proxy/,
    );
  });

  it('turns an error answer into EditorRequestError with the server message', async () => {
    const target = await startJsonServer();
    cleanups.push(target.close);
    const proxy = await startProxy({ route: () => ({ port: target.port }) });
    cleanups.push(proxy.close);
    const endpoint = { server: new URL(`http://${ONION}`), socks5: { host: '127.0.0.1', port: proxy.port }, token: TOKEN };
    const attempt = editorRequest(endpoint, { method: 'GET', path: '/editor/v1/missing' });
    await expect(attempt).rejects.toBeInstanceOf(EditorRequestError);
    await expect(attempt).rejects.toMatchObject({ status: 404, code: 'not_found', message: 'the server answered 404: No such submission.' });
  });
});

describe('addresses', () => {
  it('parses HOST:PORT and refuses anything else', () => {
    expect(parseSocks5Address('127.0.0.1:9050')).toEqual({ host: '127.0.0.1', port: 9050 });
    expect(parseSocks5Address('[::1]:9150')).toEqual({ host: '::1', port: 9150 });
    expect(parseSocks5Address('tor:9050')).toEqual({ host: 'tor', port: 9050 });
    for (const bad of ['127.0.0.1', '127.0.0.1:0', '127.0.0.1:65536', ':9050', 'a b:1', '::1:9050', '']) {
      expect(() => parseSocks5Address(bad)).toThrow(Socks5Error);
    }
  });

  it('encodes names as names and only literals as addresses', () => {
    expect([...encodeDestination('abc.onion', 80)]).toEqual([0x03, 9, ...Buffer.from('abc.onion'), 0, 80]);
    expect([...encodeDestination('10.1.2.3', 8081)]).toEqual([0x01, 10, 1, 2, 3, 0x1f, 0x91]);
    expect([...encodeDestination('[::1]', 80)]).toEqual([0x04, ...new Array(15).fill(0), 1, 0, 80]);
    expect(() => encodeDestination('x'.repeat(256), 80)).toThrow(/1–255/);
    expect(() => encodeDestination('bad host', 80)).toThrow(Socks5Error);
  });

  it('refuses to send the token in clear off the machine, and onions without Tor', () => {
    expect(parseServerUrl('http://127.0.0.1:8081/', undefined).href).toBe('http://127.0.0.1:8081/');
    expect(() => parseServerUrl('http://newsroom.example:8081', undefined)).toThrow(/plain http/);
    expect(() => parseServerUrl(`http://${ONION}`, undefined)).toThrow(/needs Tor/);
    expect(() => parseServerUrl(`https://${ONION}`, { host: '127.0.0.1', port: 9050 })).toThrow(/http:\/\/ addresses only/);
    expect(() => parseServerUrl('http://u:p@127.0.0.1:8081', undefined)).toThrow(/credentials/);
    expect(() => parseServerUrl('ftp://127.0.0.1', undefined)).toThrow(/http:\/\//);
    expect(parseServerUrl('https://newsroom.example/editor-api/', undefined).pathname).toBe('/editor-api');
  });
});
