/**
 * @module server/policies/errors — every error as `{ error, message }` JSON. Refusals carry their
 * code; other HTTP exceptions get a code from their status; anything unexpected is a bare 500,
 * its details kept out of the answer (and out of the log, beyond the error's class).
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isDatabaseUnavailable, isSpamSourceRefusal } from '../db/errors.ts';
import { RefusalError } from '../source/errors.ts';
import type { LogLine } from './request-log.ts';

const CODES: Partial<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'too_many_requests',
};

export const errorBody = (c: Context, status: ContentfulStatusCode, error: string, message: string) =>
  c.json({ error, message }, status);

export const handleErrors = (log: LogLine): ErrorHandler =>
  function handleErrors(error, c) {
    if (error instanceof RefusalError) {
      // busy, completing, database_unavailable, key_check_timeout: the page waits, then tries again
      if (error.status === 503) c.header('Retry-After', '2');
      if (error.retryAfterSeconds !== undefined) {
        // 429 source_busy: the minutes until the sweep frees what stands in the way (server/source/busy-uploads.ts)
        c.header('Retry-After', String(error.retryAfterSeconds));
        return c.json({ error: error.code, message: error.message, retryAfterSeconds: error.retryAfterSeconds }, error.status);
      }
      return errorBody(c, error.status, error.code, error.message);
    }
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      if (status < 500) return errorBody(c, status, CODES[status] ?? 'bad_request', error.message || 'Request refused.');
    }
    if (isSpamSourceRefusal(error)) {
      // the database refused to add an upload for a source an editor marked spam; nothing changed
      return errorBody(c, 403, 'source_refused', 'This newsroom no longer accepts uploads from this codename.');
    }
    if (isDatabaseUnavailable(error)) {
      // the statement either committed before the connection went (and a retry finds it done) or
      // changed nothing: the client tries again (the page does, with back-off)
      log(`database unavailable: ${error instanceof Error ? error.name : typeof error}`);
      c.header('Retry-After', '2');
      return errorBody(c, 503, 'database_unavailable', 'The database is not answering right now; try again in a moment.');
    }
    // no message, no stack: a driver error's text can hold query parameters
    log(`internal error: ${error instanceof Error ? error.name : typeof error}`);
    return errorBody(c, 500, 'internal', 'Internal server error.');
  };

export const handleNotFound: NotFoundHandler = (c) => errorBody(c, 404, 'not_found', 'Not found.');
