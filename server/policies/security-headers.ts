/**
 * @module server/policies/security-headers — the headers every response carries, and the ones none
 * may carry (ETag, Last-Modified, Set-Cookie, Server), as SecureDrop sets them for sources.
 */
import type { MiddlewareHandler } from 'hono';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  // blob: for the workers' modules, which the page (or the worker) made from files whose SHA-256 it
  // checked against the build's (client/lib/verified-modules.ts): only a script already running
  // here, that is one that passed SRI, can make a blob: URL of this origin.
  "script-src 'self' blob:",
  "style-src 'self'",
  "img-src 'self' data:", // data: only for the empty favicon that stops a /favicon.ico request
  "connect-src 'self'",
  // Workers start only from those checked blob: URLs, never from a file of the server.
  'worker-src blob:',
  "font-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // everything the pages load is same-origin, and workers come from blob: URLs the page made
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Permissions-Policy':
    'accelerometer=(), autoplay=(), camera=(), clipboard-read=(), display-capture=(), encrypted-media=(), ' +
    'fullscreen=(), geolocation=(), gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), ' +
    'payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), serial=(), ' +
    'usb=(), web-share=(), xr-spatial-tracking=(), interest-cohort=()',
  'X-Permitted-Cross-Domain-Policies': 'none',
  'X-DNS-Prefetch-Control': 'off',
};

// Validators would let a later visit be linked to an earlier one (and we never want caching);
// cookies are banned on source routes (DESIGN.md promise 3); Server says what we run.
const BANNED = ['ETag', 'Last-Modified', 'Set-Cookie', 'Server', 'X-Powered-By'];

export interface SecurityHeadersOptions {
  /** the onion service URL; sent as Onion-Location on HTML pages only */
  onionLocation?: string | undefined;
}

export const securityHeaders = (options: SecurityHeadersOptions = {}): MiddlewareHandler =>
  async function securityHeaders(c, next) {
    await next();
    const headers = c.res.headers;
    for (const name of BANNED) headers.delete(name);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
    if (options.onionLocation && /^text\/html\b/i.test(headers.get('Content-Type') ?? '')) {
      // the path, and the page's language when it is a plain language code (the no-JS pages are
      // chosen by ?lang=, static-pages.ts): nothing else of the request is written into the header
      const target = new URL(c.req.path, options.onionLocation);
      const lang = c.req.query('lang');
      if (lang !== undefined && /^[a-z]{2}$/.test(lang)) target.search = `?lang=${lang}`;
      headers.set('Onion-Location', target.toString());
    } else {
      headers.delete('Onion-Location');
    }
  };
