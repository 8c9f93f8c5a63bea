/**
 * Sessions of `sealdrop check-site`: the real source app serving the real build passes, through a
 * SOCKS5 proxy as through Tor; a hostile site (a small server of the test, serving an altered copy
 * of the build with the app's own headers unless a case changes them) fails, each difference
 * named on its own line.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, MANIFEST } from '../../client/build.ts';
import { startProxy } from '../../cli/net/test-socks5-proxy.ts';
import { parseSiteManifest } from '../../protocol/site-manifest.ts';
import { SECURITY_HEADERS } from '../../server/policies/security-headers.ts';
import { startSourceServer, type SourceServer } from '../e2e/harness.ts';
import { runCli } from './helpers.ts';

const manifest = parseSiteManifest(readFileSync(MANIFEST, 'utf8'));
const folders: string[] = [];
const servers: Server[] = [];
let app: SourceServer;

beforeAll(async () => {
  app = await startSourceServer();
}, 60_000);
afterAll(async () => {
  await app?.close();
  for (const s of servers) await new Promise((r) => s.close(r));
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

/** A copy of the build, changed by `alter`, served with the app's headers changed by `headers`. */
async function hostileSite(alter: (root: string) => void, headers: (h: Record<string, string>, path: string) => void = () => {}): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'sealdrop-site-'));
  folders.push(root);
  cpSync(DIST, root, { recursive: true });
  alter(root);
  const types: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };
  const server = createServer((req, res) => {
    // as the source app does (server/policies/static-pages.ts): / is the index, ?lang= a language's page
    const url = new URL(req.url!, 'http://site.invalid');
    const base = url.pathname === '/' ? '/index.html' : url.pathname;
    const lang = url.searchParams.get('lang');
    const path = lang && /^[a-z]{2}$/.test(lang) && existsSync(join(root, base.replace(/\.html$/, `.${lang}.html`))) ? base.replace(/\.html$/, `.${lang}.html`) : base;
    let body: Buffer;
    try {
      body = readFileSync(join(root, decodeURIComponent(path)));
    } catch {
      res.writeHead(404).end();
      return;
    }
    const h: Record<string, string> = { ...SECURITY_HEADERS, 'content-type': types[extname(path)] ?? 'application/octet-stream' };
    headers(h, path);
    res.writeHead(200, h).end(body);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** What sources open besides each file's own path: / and each page in another language by ?lang=. */
const LANGUAGE_URLS = manifest.files
  .map((f) => /^(index|return|safety)\.([a-z]{2})\.html$/.exec(f.path))
  .filter((m) => m !== null)
  .map((m) => [`${m[1] === 'index' ? '/' : `/${m[1]}.html`}?lang=${m[2]}`, `${m[1]}.${m[2]}.html`] as const);

const check = (url: string, extra: string[] = []) => runCli(['check-site', '-m', MANIFEST, ...extra, url]);
const line = (stdout: string, result: string, path: string) => stdout.split('\n').find((l) => new RegExp(`^${result} +${path.replace(/[.]/g, '\\.')}(\\s|$)`).test(l));

describe('sealdrop check-site', () => {
  it('passes the source app serving this build, every file and / checked', async () => {
    const r = await check(app.origin);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const { path } of manifest.files) expect(line(r.stdout, 'ok', path), path).toBeDefined();
    expect(r.stdout.split('\n').filter((l) => l && !/^(RESULT|ok) /.test(l))).toEqual([]);
    expect(r.stderr).toMatch(/^sealdrop: every file matches the manifest/m);
    // it asked for each file once, for / once, for each page in each language by ?lang= once, and for nothing else
    expect(LANGUAGE_URLS).toHaveLength(12);
    const asked = app.requests.filter((q) => q.startsWith('GET '));
    expect(asked.sort()).toEqual(['GET /', ...manifest.files.map((f) => `GET /${f.path}`), ...LANGUAGE_URLS.map(([url]) => `GET ${url}`)].sort());
    for (const [url] of LANGUAGE_URLS) expect(r.stdout, url).not.toContain(url);
  });

  it('reaches an onion through SOCKS5, sending the name unresolved', async () => {
    const onion = 'sealdropsourcesiteexamplex7q2v4wj3k5m6n7p8r9s2t3u4v5w6x7y8z2abc.onion';
    const port = Number(new URL(app.origin).port);
    const proxy = await startProxy({ route: (host) => (host === onion ? { port } : { reply: 0xf0 }) });
    try {
      const r = await check(`http://${onion}`, ['--socks5', `127.0.0.1:${proxy.port}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(proxy.seen.length).toBe(manifest.files.length + 1 + LANGUAGE_URLS.length);
      for (const seen of proxy.seen) expect(seen).toMatchObject({ atyp: 0x03, host: onion, port: 80 });
    } finally {
      await proxy.close();
    }
  });

  it('names an altered worker, a missing chunk and a file only the altered script names, and fails', async () => {
    const chunk = manifest.files.find((f) => f.path.startsWith('assets/chunks/strip-'))!.path;
    const url = await hostileSite((root) => {
      writeFileSync(join(root, 'assets/crypto.worker.js'), readFileSync(join(root, 'assets/crypto.worker.js'), 'utf8') + '\n;fetch("/x")');
      unlinkSync(join(root, chunk));
      writeFileSync(join(root, 'assets/submit.js'), readFileSync(join(root, 'assets/submit.js'), 'utf8') + ';import("/assets/evil.js")');
      writeFileSync(join(root, 'assets/evil.js'), 'alert(1)');
    });
    const r = await check(url);
    expect(r.code).toBe(1);
    expect(line(r.stdout, 'MISMATCH', 'assets/crypto.worker.js')).toMatch(/sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
    expect(line(r.stdout, 'MISSING', chunk)).toMatch(/the site answered 404/);
    expect(line(r.stdout, 'MISMATCH', 'assets/submit.js')).toBeDefined();
    expect(line(r.stdout, 'UNEXPECTED', 'assets/evil.js')).toMatch(/named by assets\/submit\.js; the site answered 200, sha256 [0-9a-f]{64}/);
    // index.html pins submit.js by SRI: the page now pins a file the site does not serve as listed
    expect(line(r.stdout, 'SRI', 'index.html')).toMatch(/pins assets\/submit\.js/);
    expect(line(r.stdout, 'ok', 'assets/main.css')).toBeDefined();
    expect(r.stderr).toMatch(/^sealdrop: error: http:\/\/127\.0\.0\.1:\d+ does not serve what the manifest lists: 2 mismatch, 1 missing, 1 unexpected, \d+ sri$/m);
    expect(r.stderr).toMatch(/^sealdrop: hint: do not send a tip through it/m);
  });

  it('names a page whose integrity attribute was changed, though the script is intact', async () => {
    const url = await hostileSite((root) => {
      const html = readFileSync(join(root, 'return.html'), 'utf8');
      writeFileSync(join(root, 'return.html'), html.replace(/(<script[^>]*integrity=")[^"]+"/, '$1sha384-AAAA"'));
    });
    const r = await check(url);
    expect(r.code).toBe(1);
    expect(line(r.stdout, 'MISMATCH', 'return.html')).toBeDefined();
    expect(line(r.stdout, 'SRI', 'return.html')).toMatch(/integrity of assets\/return\.js is "sha384-AAAA", its file is sha384-/);
  });

  it('names a site that answers ?lang= with another page than the one the build wrote in that language', async () => {
    const url = await hostileSite(() => {}, (h, path) => {
      if (path === '/safety.ru.html') h['Content-Security-Policy'] = "default-src 'self'";
    });
    // the Korean page is intact at /index.ko.html, but /?lang=ko is served the English one
    const english = readFileSync(join(DIST, 'index.html'));
    const server = createServer((req, res) => {
      if (req.url === '/?lang=ko') res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' }).end(english);
      else void fetch(`${url}${req.url}`).then(async (r) => res.writeHead(r.status, Object.fromEntries(r.headers)).end(Buffer.from(await r.arrayBuffer())));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const r = await check(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => /^MISMATCH +\/\?lang=ko +/.test(l))).toMatch(/, index\.ko\.html in the manifest is [0-9a-f]{64}$/);
    expect(lines.find((l) => /^HEADER +\/safety\.html\?lang=ru +/.test(l))).toMatch(/Content-Security-Policy is "default-src 'self'"/);
    expect(line(r.stdout, 'ok', 'index.ko.html')).toBeDefined();
    expect(r.stderr).toMatch(/does not serve what the manifest lists: 1 mismatch, \d+ header$/m);
  });

  it('names a weakened CSP, a missing nosniff, a cookie and a wrong content type', async () => {
    const url = await hostileSite(() => {}, (h, path) => {
      if (path === '/index.html') h['Content-Security-Policy'] = "default-src 'self'; script-src 'self' 'unsafe-inline'";
      if (path === '/assets/main.css') delete h['X-Content-Type-Options'];
      if (path === '/safety.html') h['Set-Cookie'] = 'id=1';
      if (path === '/assets/pow.worker.js') h['content-type'] = 'text/plain';
    });
    const r = await check(url);
    expect(r.code).toBe(1);
    expect(line(r.stdout, 'HEADER', 'index.html')).toMatch(/Content-Security-Policy is "default-src 'self'; script-src 'self' 'unsafe-inline'", the manifest says "default-src 'none';/);
    expect(line(r.stdout, 'HEADER', '/')).toMatch(/Content-Security-Policy/);
    expect(line(r.stdout, 'HEADER', 'assets/main.css')).toMatch(/no X-Content-Type-Options: nosniff/);
    expect(line(r.stdout, 'HEADER', 'safety.html')).toMatch(/sets a cookie/);
    expect(line(r.stdout, 'HEADER', 'assets/pow.worker.js')).toMatch(/Content-Type is "text\/plain"/);
    // the bytes themselves are the build's
    for (const { path } of manifest.files) expect(line(r.stdout, 'ok', path), path).toBeDefined();
  });

  it('! refuses a manifest that is not one, and addresses it cannot check honestly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdrop-manifest-'));
    folders.push(dir);
    writeFileSync(join(dir, 'bad.txt'), readFileSync(MANIFEST, 'utf8').replace('# version', '# versoin'));
    const bad = await runCli(['check-site', '-m', join(dir, 'bad.txt'), app.origin]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/is not a site manifest: expected "# version …" on line 2 \(bad_header\)/);

    const noManifest = await runCli(['check-site', app.origin]);
    expect([noManifest.code, noManifest.stderr]).toEqual([2, 'sealdrop: error: check-site: missing --manifest\nsealdrop: hint: give the manifest the newsroom published: -m site-manifest.txt\n']);
    const onion = await check('http://sealdropsourcesiteexamplex7q2v4wj3k5m6n7p8r9s2t3u4v5w6x7y8z2abc.onion');
    expect(onion.stderr).toMatch(/is an onion address and needs Tor\nsealdrop: hint: add --socks5 127\.0\.0\.1:9050/);
    const plain = await check('http://news.example.org');
    expect(plain.stderr).toMatch(/refusing to check news\.example\.org over plain http/);
    const path = await check(`${app.origin}/index.html`);
    expect(path.stderr).toMatch(/give the site's address alone/);
    const down = await check('http://127.0.0.1:9');
    expect(down.stderr).toMatch(/cannot reach the site at http:\/\/127\.0\.0\.1:9/);
  });
});
