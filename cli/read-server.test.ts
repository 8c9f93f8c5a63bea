/**
 * The read view's door (cli/read-server.ts): only 127.0.0.1:PORT as Host, only the run's token,
 * only JSON POSTs from its own origin, files only as downloads, and a 404 that says nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentDisposition, startReadServer, type ReadServer } from './read-server.ts';

let dir: string;
let view: ReadServer;
const replies: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealdrop-read-'));
  view = await startReadServer({ inbox: dir, port: 0, reply: async (handle, text) => {
    replies.push(`${handle}: ${new TextDecoder().decode(text)}`);
    return { id: '0'.repeat(32), outboxFile: `${handle}/x.pgp` };
  } });
});
afterAll(async () => {
  await view.close();
  await rm(dir, { recursive: true, force: true });
});

/** A raw request, so the Host and Origin headers are exactly what a test says. */
function send(path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: view.port, path, method, headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const token = () => new URL(view.url).pathname.split('/')[1]!;
const host = () => ({ host: `127.0.0.1:${view.port}` });

describe('the read view server', () => {
  it('serves the page with its headers to the right host and token', async () => {
    const r = await send(`/${token()}/`, host());
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toContain("default-src 'none'; script-src 'self'");
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(view.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/$/);
  });

  it('! refuses another Host (DNS rebinding), a wrong or missing token', async () => {
    expect((await send(`/${token()}/`, { host: `evil.example:${view.port}` })).status).toBe(421);
    expect((await send(`/${token()}/`, { host: `localhost:${view.port}` })).status).toBe(421);
    expect((await send(`/${token()}/`, {})).status).toBe(400); // node refuses an HTTP/1.1 request without Host
    const wrong = token().slice(0, -1) + (token().endsWith('A') ? 'B' : 'A');
    expect((await send(`/${wrong}/api/sources`, host())).status).toBe(404);
    expect((await send('/api/sources', host())).status).toBe(404);
  });

  it('! a reply must be JSON from the view\'s own origin, for a source of the inbox', async () => {
    const path = `/${token()}/api/sources/quiet-otter/replies`;
    const json = { ...host(), 'content-type': 'application/json' };
    expect((await send(path, { ...json, origin: 'http://evil.example' }, 'POST', '{"text":"x"}')).status).toBe(403);
    expect((await send(path, { ...host(), 'content-type': 'text/plain' }, 'POST', '{"text":"x"}')).status).toBe(415);
    expect((await send(path, json, 'POST', '{"text":1}')).status).toBe(400);
    expect((await send(path, json, 'POST', 'not json')).status).toBe(400);
    expect((await send(path, json, 'POST', '{"text":"x"}')).status).toBe(404); // no such source in the inbox
    expect((await send(`/${token()}/api/sources/..%2Fkeys/replies`, json, 'POST', '{"text":"x"}')).status).toBe(404);
    expect(replies).toEqual([]);
  });

  it('the page\'s script puts senders\' text (messages, answers, names) into the page as text only', async () => {
    const script = (await send(`/${token()}/read.js`, host())).body;
    expect(script).toContain('function answersList(tip)');
    // no way for a string to become markup or code
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*['"]on/);
    // every answer label and value goes through textContent (el's `text`) after visible()
    expect(script).toMatch(/el\('dt', \{ text: visible\(answer\.label\)/);
    expect(script).toMatch(/el\('pre', \{ className: 'answer', text: visible\(value\)/);
  });

  it('names a download in ASCII and in RFC 5987 UTF-8, with no control character in the header', () => {
    expect(contentDisposition('보고서 "final".pdf')).toBe(`attachment; filename="___ _final_.pdf"; filename*=UTF-8''%EB%B3%B4%EA%B3%A0%EC%84%9C%20%22final%22.pdf`);
    expect(contentDisposition('a\u0085b\u202e.txt')).toMatch(/^attachment; filename="a_b_\.txt"; filename\*=UTF-8''a%C2%85b%E2%80%AE\.txt$/);
  });
});
