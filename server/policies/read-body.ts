/**
 * @module server/policies/read-body — a request body with a hard size limit, never buffering
 * more than the limit (chunk bodies, whose bytes the chunk gate counts as they come, are read by
 * server/source/chunk-gate.ts).
 */
import { refuse } from '../source/errors.ts';

/** The Content-Length the client declared, or undefined without one; 400 when it is malformed. */
export function declaredLength(request: Request): number | undefined {
  const declared = request.headers.get('Content-Length');
  if (declared === null) return undefined;
  if (!/^\d{1,15}$/.test(declared)) refuse(400, 'bad_request', 'The Content-Length header is malformed.');
  return Number(declared);
}

/**
 * The body, at most `max` bytes, else a 413 refusal with `code`. With a Content-Length (which
 * Node's HTTP parser holds the client to) the body is read in one go through the server's fast
 * path; without one it is streamed and cut off as soon as it passes `max`.
 */
export async function readLimitedBody(request: Request, max: number, code: string, message: string): Promise<Uint8Array> {
  const declared = declaredLength(request);
  if (declared !== undefined) {
    if (declared > max) refuse(413, code, message);
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.length > max) refuse(413, code, message);
    return bytes;
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = request.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel().catch(() => {});
        refuse(413, code, message);
      }
      parts.push(value);
    }
  }
  return parts.length === 1 ? parts[0]! : new Uint8Array(Buffer.concat(parts));
}
