/**
 * @module server/policies/static-pages — the source's pages from client/dist (built by esbuild).
 * Without a build, `/` says how to make one rather than failing obscurely.
 *
 * The build writes every page in every language (`index.ko.html` beside `index.html`); `?lang=ko`
 * picks among them, so a browser without JavaScript gets the page in the chosen language. Only a
 * page the build wrote can be chosen (two lower-case letters naming a file that is there); any
 * other `lang` gets the English page, as the page's script would show it. Nothing of the request is
 * written into a page.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Context, MiddlewareHandler } from 'hono';

export const CLIENT_DIST = fileURLToPath(new URL('../../client/dist', import.meta.url));

/** The request paths of the pages that exist in several languages, and their base names. */
const PAGES: Readonly<Record<string, string>> = { '/': 'index', '/index.html': 'index', '/return.html': 'return', '/safety.html': 'safety' };
const LANG = /^[a-z]{2}$/;

export const staticPages = (root: string = CLIENT_DIST): MiddlewareHandler => {
  let serve: MiddlewareHandler | undefined;
  return async function staticPages(c, next) {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    if (!existsSync(join(root, 'index.html'))) {
      if (c.req.path === '/' || c.req.path === '/index.html') {
        return c.text('Sealdrop: the pages are not built. Run `npm run build`, then start again.\n', 503);
      }
      return next();
    }
    serve ??= serveStatic({ root, rewriteRequestPath: (path, ctx) => pageInLanguage(root, path, ctx) });
    return serve(c, next);
  };
};

/** `/return.html` with `?lang=ko` → `/return.ko.html` when the build wrote it; else the path as it came. */
function pageInLanguage(root: string, path: string, c: Context): string {
  const page = Object.hasOwn(PAGES, path) ? PAGES[path] : undefined;
  const lang = c.req.query('lang');
  if (!page || lang === undefined || !LANG.test(lang)) return path;
  const file = `/${page}.${lang}.html`;
  return existsSync(join(root, file)) ? file : path;
}
