/**
 * @module server/policies/request-log — one line per request: method, route pattern, status.
 * The route *pattern* (`/api/v1/uploads/:uploadId/chunks/:index`), never the path, so no upload id
 * reaches a log; and no address, agent, referrer or time (DESIGN.md promise 2).
 */
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';

export type LogLine = (line: string) => void;

export const requestLog = (log: LogLine): MiddlewareHandler =>
  async function requestLog(c, next) {
    await next();
    // after next() the route index points at the last handler that ran: its pattern, e.g.
    // '/api/v1/uploads/:uploadId', or '/*' for the pages and for paths nothing claimed
    log(`${c.req.method} ${routePath(c) || '*'} ${c.res.status}`);
  };
