/**
 * @module cli/net/site — GET requests to a source site (the public onion), for `check-site`:
 * directly or through SOCKS5, no token, no cookie, every status answered.
 *
 * The same rule as for the editor API: plain http only to an onion address (through Tor, which
 * authenticates the service) or to this machine. Over plain http anywhere else, whoever sits on
 * the path could answer for the site, and the check would vouch for them.
 */
import { EditorRequestError, readBody, sendRequest } from './http.ts';
import type { Socks5Proxy } from './socks5.ts';

export interface SiteEndpoint {
  /** The site's origin, without a trailing slash. */
  server: URL;
  socks5?: Socks5Proxy;
}

export interface SiteFile {
  status: number;
  /** Header names in lower case; repeated headers joined with ", " (set-cookie too). */
  headers: Record<string, string | undefined>;
  /** Empty unless the status is 200. */
  body: Uint8Array;
}

function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** Checks the site's URL. Throws `EditorRequestError` with a hint for the likely mistake. */
export function parseSiteUrl(text: string, socks5: Socks5Proxy | undefined): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new EditorRequestError(`'${text}' is not a URL`, { hint: 'give the source address, such as http://<address>.onion' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EditorRequestError(`expected an http:// or https:// URL, got ${url.protocol}`);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new EditorRequestError('give the site\'s address alone, without a path, a query or credentials', { hint: 'such as http://<address>.onion' });
  }
  const onion = url.hostname.endsWith('.onion');
  if (socks5 && url.protocol !== 'http:') {
    throw new EditorRequestError('--socks5 works with http:// addresses only', { hint: 'onion services need no https: give the address as http://<address>.onion' });
  }
  if (onion && !socks5) {
    throw new EditorRequestError(`${url.hostname} is an onion address and needs Tor`, { hint: "add --socks5 127.0.0.1:9050 (Tor's SOCKS port; 9150 for Tor Browser)" });
  }
  if (url.protocol === 'http:' && !onion && !isLoopback(url.hostname)) {
    throw new EditorRequestError(`refusing to check ${url.hostname} over plain http: anyone on the way could answer for it`, {
      hint: 'check the onion address through Tor (--socks5 127.0.0.1:9050), or use https://',
    });
  }
  url.pathname = '';
  return url;
}

/** GET `path` (starting with '/'); the body is read only for a 200, up to `maxBytes`. */
export async function fetchSiteFile(endpoint: SiteEndpoint, path: string, maxBytes: number): Promise<SiteFile> {
  const response = await sendRequest(endpoint, { method: 'GET', path, headers: { accept: '*/*' }, what: 'the site' });
  const status = response.statusCode ?? 0;
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  if (status !== 200) {
    response.resume();
    return { status, headers, body: new Uint8Array(0) };
  }
  return { status, headers, body: await readBody(response, maxBytes) };
}
