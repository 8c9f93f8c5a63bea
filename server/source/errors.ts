/** @module server/source/errors — refusals with a stable code, as the contract's error bodies. */
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** A refusal the client is told about: `{ error: code, message }` with a 4xx status. */
export class RefusalError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    /** when trying again may succeed (a Retry-After header, and `retryAfterSeconds` in the body): 429 source_busy */
    readonly retryAfterSeconds?: number,
  ) {
    super(status, { message });
  }
}

export const refuse = (status: ContentfulStatusCode, code: string, message: string, retryAfterSeconds?: number): never => {
  throw new RefusalError(status, code, message, retryAfterSeconds);
};
