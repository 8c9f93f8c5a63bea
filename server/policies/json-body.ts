/**
 * @module server/policies/json-body — JSON request bodies: size-limited, `application/json`,
 * well-formed (400 bad_json), then validated by zod through @hono/zod-validator (400 bad_request
 * naming the fields, never echoing their values).
 */
import { zValidator } from '@hono/zod-validator';
import type { MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { refuse } from '../source/errors.ts';
import { readLimitedBody } from './read-body.ts';

export const MAX_JSON_BYTES = 64 * 1024;

/**
 * Reads and parses the body once (Hono caches it for the validator that follows). `maxBytes` is
 * MAX_JSON_BYTES unless a route carries more (the editor's replies).
 */
export const jsonBody = ({ maxBytes = MAX_JSON_BYTES }: { maxBytes?: number } = {}): MiddlewareHandler =>
  async function jsonBody(c, next) {
    const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') refuse(415, 'bad_content_type', 'Send the body as application/json.');
    const body = await readLimitedBody(c.req.raw, maxBytes, 'too_large', `JSON bodies are limited to ${maxBytes} bytes here.`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch {
      return refuse(400, 'bad_json', 'The request body is not valid JSON.');
    }
    // the validator reads the body again through c.req.json(), which answers from this cache
    // (Hono keeps promises there at run time, whatever its type says)
    (c.req.bodyCache as Record<string, unknown>).json = Promise.resolve(parsed);
    await next();
  };

/** zValidator('json') with the contract's refusal for a body that doesn't match. */
export const validJson = <T extends z.ZodType>(schema: T) =>
  zValidator('json', schema, (result) => {
    if (!result.success) {
      const fields = result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.code}`);
      refuse(400, 'bad_request', `Invalid request: ${[...new Set(fields)].join('; ')}.`);
    }
  });
