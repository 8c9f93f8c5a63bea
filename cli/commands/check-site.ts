/**
 * @module cli/commands/check-site — `sealdrop check-site -m MANIFEST [--socks5 HOST:PORT] URL`:
 * fetch every file a running tip line serves and compare it with the site manifest the newsroom
 * published (client/site-manifest.txt of the build, protocol/site-manifest.ts).
 *
 * Reported, one line each on stdout: a file whose bytes differ (MISMATCH), one the site does not
 * serve (MISSING), a file the served pages, scripts or styles name that the manifest does not list
 * (UNEXPECTED), a response without the manifest's Content-Security-Policy or with another header
 * that lets a browser treat the file otherwise (HEADER), and a page whose `integrity` attributes
 * do not pin the manifest's files (SRI). Any of them makes the command fail.
 *
 * Besides each file at its own path, what sources open is checked: `/` must serve index.html, and
 * `/?lang=ko` (`/return.html?lang=ko`, …) the page the build wrote in that language
 * (`index.ko.html`, `return.ko.html`, …; PROTOCOL.md, "Site manifest").
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isSitePath, parseSiteManifest, SiteManifestError, type SiteManifest } from '../../protocol/index.ts';
import { parseCommandArgs, requireOption, stringOption } from '../args.ts';
import { CliError, printable, usageError } from '../errors.ts';
import { fileError, resolvePath } from '../files.ts';
import type { CliIo } from '../io.ts';
import { asCliError } from '../net/endpoint.ts';
import { fetchSiteFile, parseSiteUrl, type SiteEndpoint, type SiteFile } from '../net/site.ts';
import { parseSocks5Address } from '../net/socks5.ts';
import { formatTable } from '../table.ts';

type Finding = { result: 'ok' | 'MISMATCH' | 'MISSING' | 'UNEXPECTED' | 'HEADER' | 'SRI'; path: string; detail: string };

/** Bigger than any file a build makes (the crypto worker is about 430 KB). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** More references than this from what a site serves is a hostile site, not a build. */
const MAX_UNEXPECTED = 64;

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'check-site',
    args,
    { manifest: { type: 'string', short: 'm' }, socks5: { type: 'string' } },
    { min: 1, max: 1, name: 'the URL of the source site (http://<address>.onion)' },
  );
  const manifestPath = resolvePath(io.cwd, requireOption('check-site', parsed, 'manifest', 'give the manifest the newsroom published: -m site-manifest.txt'));
  const manifest = await readManifest(manifestPath);
  const endpoint = siteEndpoint(parsed.positionals[0]!, stringOption(parsed, 'socks5'));

  io.stderr.write(
    `sealdrop: checking ${printable(endpoint.server.origin)} against the manifest of version ${manifest.version}, commit ${manifest.commit} (${manifest.files.length} files)\n`,
  );
  const findings: Finding[] = [];
  const served = new Map<string, SiteFile>();
  const named = new Map<string, string>(); // path named by served content → who named it first
  try {
    for (const { path, sha256 } of manifest.files) {
      const file = await fetchSiteFile(endpoint, `/${path}`, MAX_FILE_BYTES);
      if (file.status !== 200) {
        findings.push({ result: 'MISSING', path, detail: `the site answered ${file.status}` });
        continue;
      }
      served.set(path, file);
      const got = sha256Hex(file.body);
      findings.push(got === sha256 ? { result: 'ok', path, detail: '' } : { result: 'MISMATCH', path, detail: `sha256 ${got}, the manifest says ${sha256}` });
      findings.push(...headerFindings(path, file, manifest));
      for (const ref of referencesIn(path, file)) if (!named.has(ref)) named.set(ref, path);
    }
    // The root serves the submit page, and ?lang= the pages in that language.
    for (const [url, listed] of sourceUrls(manifest)) {
      const file = await fetchSiteFile(endpoint, url, MAX_FILE_BYTES);
      if (file.status !== 200) findings.push({ result: 'MISSING', path: url, detail: `the site answered ${file.status}` });
      else if (sha256Hex(file.body) !== listed.sha256) findings.push({ result: 'MISMATCH', path: url, detail: `sha256 ${sha256Hex(file.body)}, ${listed.path} in the manifest is ${listed.sha256}` });
      else findings.push(...headerFindings(url, file, manifest).filter((f) => f.result !== 'ok'));
    }

    const listed = new Set(manifest.files.map((f) => f.path));
    const extra = [...named].filter(([path]) => !listed.has(path));
    for (const [path, by] of extra.slice(0, MAX_UNEXPECTED)) {
      const file = await fetchSiteFile(endpoint, `/${path}`, MAX_FILE_BYTES);
      findings.push({ result: 'UNEXPECTED', path, detail: `named by ${by}; the site answered ${file.status}${file.status === 200 ? `, sha256 ${sha256Hex(file.body)}` : ''}` });
    }
    if (extra.length > MAX_UNEXPECTED) findings.push({ result: 'UNEXPECTED', path: '…', detail: `${extra.length - MAX_UNEXPECTED} more names not in the manifest` });
  } catch (error) {
    throw asCliError(error);
  }
  for (const [path, file] of served) if (path.endsWith('.html')) findings.push(...sriFindings(path, file, served, manifest));

  io.stdout.write(formatTable(['RESULT', 'PATH', 'DETAIL'], findings.map((f) => [f.result, f.path, f.detail])));
  const problems = findings.filter((f) => f.result !== 'ok');
  if (problems.length > 0) {
    const counts = ['MISMATCH', 'MISSING', 'UNEXPECTED', 'HEADER', 'SRI']
      .map((r) => [r, problems.filter((p) => p.result === r).length] as const)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${n} ${r.toLowerCase()}`);
    throw new CliError(`${printable(endpoint.server.origin)} does not serve what the manifest lists: ${counts.join(', ')}`, {
      hint: 'do not send a tip through it; if you run it, rebuild and redeploy from the published commit, then check again',
    });
  }
  io.stderr.write(`sealdrop: every file matches the manifest, with its CSP and integrity attributes\n`);
}

/**
 * The addresses sources open that are no file's own path, each with the file it must serve: `/`
 * → index.html; for each `P.xx.html` the manifest lists (xx two lower-case letters, P.html listed
 * too), `/P.html?lang=xx`, or `/?lang=xx` for the index.
 */
function sourceUrls(manifest: SiteManifest): [string, SiteManifest['files'][number]][] {
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  const out: [string, SiteManifest['files'][number]][] = [];
  const index = byPath.get('index.html');
  if (index) out.push(['/', index]);
  for (const file of manifest.files) {
    const m = /^([A-Za-z0-9_-]+)\.([a-z]{2})\.html$/.exec(file.path);
    if (!m || !byPath.has(`${m[1]}.html`)) continue;
    out.push([`${m[1] === 'index' ? '/' : `/${m[1]}.html`}?lang=${m[2]}`, file]);
  }
  return out;
}

async function readManifest(path: string): Promise<SiteManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw fileError(error, path, 'manifest');
  }
  try {
    return parseSiteManifest(text);
  } catch (error) {
    if (!(error instanceof SiteManifestError)) throw error;
    throw new CliError(`${path} is not a site manifest: ${error.message} (${error.code})`, {
      hint: 'give client/site-manifest.txt as "npm run build" wrote it and the newsroom published it',
    });
  }
}

function siteEndpoint(url: string, socks5: string | undefined): SiteEndpoint {
  let proxy;
  if (socks5 !== undefined) {
    try {
      proxy = parseSocks5Address(socks5);
    } catch (error) {
      throw usageError(`check-site: ${(error as Error).message}`, "Tor's SOCKS port is usually 127.0.0.1:9050 (9150 for Tor Browser)");
    }
  }
  try {
    return { server: parseSiteUrl(url, proxy), ...(proxy ? { socks5: proxy } : {}) };
  } catch (error) {
    throw asCliError(error);
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The headers that decide how a browser treats the file. */
function headerFindings(path: string, file: SiteFile, manifest: SiteManifest): Finding[] {
  const out: Finding[] = [];
  const csp = file.headers['content-security-policy'];
  if (csp !== manifest.csp) out.push({ result: 'HEADER', path, detail: csp === undefined ? 'no Content-Security-Policy' : `Content-Security-Policy is "${csp}", the manifest says "${manifest.csp}"` });
  if (file.headers['x-content-type-options'] !== 'nosniff') out.push({ result: 'HEADER', path, detail: 'no X-Content-Type-Options: nosniff' });
  if (file.headers['set-cookie'] !== undefined) out.push({ result: 'HEADER', path, detail: 'sets a cookie' });
  const type = (file.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const wanted = path.startsWith('/') || path.endsWith('.html') ? ['text/html'] : path.endsWith('.js') ? ['text/javascript', 'application/javascript'] : path.endsWith('.css') ? ['text/css'] : undefined;
  if (wanted && !wanted.includes(type)) out.push({ result: 'HEADER', path, detail: `Content-Type is "${type}", expected ${wanted.join(' or ')}` });
  return out;
}

/**
 * Same-site paths that served text names: src and href in pages, url() in styles; in scripts, the
 * sources of import statements (relative to the script), absolute "/…" paths, and the worker
 * module paths of the loader's table and of `__sealdropImport` (relative to /assets/, the loader's
 * base: client/lib/verified-modules.ts). A name that leaves the site root is dropped.
 */
function referencesIn(path: string, file: SiteFile): string[] {
  if (!/\.(html|js|css)$/.test(path)) return [];
  const text = new TextDecoder().decode(file.body);
  const self = new URL(`/${path}`, 'http://site.invalid');
  const assets = new URL('/assets/', 'http://site.invalid');
  const patterns: [RegExp, URL][] = path.endsWith('.html')
    ? [[/\b(?:src|href)="([^"#?]+)/g, self]]
    : path.endsWith('.css')
      ? [[/url\(\s*["']?([^"')#?]+)/g, self]]
      : [
          [/\b(?:from|import)\s*"(\.{1,2}\/[^"]+)"/g, self],
          [/"(\/[\w./-]+\.(?:js|css|html|json|woff2?))"/g, self],
          [/"((?:chunks\/)[\w.-]+\.js|[\w.-]+\.worker\.js)"/g, assets],
        ];
  const found: string[] = [];
  for (const [pattern, base] of patterns) {
    for (const [, ref] of text.matchAll(pattern)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(ref!) || ref!.startsWith('//')) continue; // data:, another origin: the HTML's hash covers them
      const target = decodeURIComponent(new URL(ref!, base).pathname).slice(1);
      if (target !== '' && isSitePath(target)) found.push(target);
    }
  }
  return found;
}

/** Every script and stylesheet a page loads must be pinned by `integrity` to the manifest's bytes. */
function sriFindings(path: string, page: SiteFile, served: Map<string, SiteFile>, manifest: SiteManifest): Finding[] {
  const out: Finding[] = [];
  const html = new TextDecoder().decode(page.body);
  for (const [tag] of html.matchAll(/<(?:script|link)\b[^>]*>/gi)) {
    const ref = /\s(?:src|href)="([^"]+)"/i.exec(tag)?.[1];
    const isScript = /^<script/i.test(tag);
    if (!ref || (!isScript && !/\srel="(?:stylesheet|modulepreload|preload)"/i.test(tag))) continue;
    const target = new URL(ref, `http://site.invalid/${path}`).pathname.slice(1);
    const integrity = /\sintegrity="([^"]+)"/i.exec(tag)?.[1];
    if (!integrity) {
      out.push({ result: 'SRI', path, detail: `${tag.slice(0, 120)} has no integrity attribute` });
      continue;
    }
    const listed = manifest.files.find((f) => f.path === target);
    const file = served.get(target);
    if (!listed || !file || sha256Hex(file.body) !== listed.sha256) {
      out.push({ result: 'SRI', path, detail: `pins ${target}, which the site does not serve as the manifest lists it` });
      continue;
    }
    const wanted = `sha384-${createHash('sha384').update(file.body).digest('base64')}`;
    if (!integrity.split(/\s+/).includes(wanted)) out.push({ result: 'SRI', path, detail: `integrity of ${target} is "${integrity}", its file is ${wanted}` });
  }
  return out;
}
