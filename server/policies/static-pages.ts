/**
 * @module server/policies/static-pages — the source's pages from client/dist (built by esbuild).
 * Without a build, `/` says how to make one rather than failing obscurely.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import type { MiddlewareHandler } from 'hono';

export const CLIENT_DIST = fileURLToPath(new URL('../../client/dist', import.meta.url));

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
    serve ??= serveStatic({ root });
    return serve(c, next);
  };
};
