/**
 * @module server/policies/read-body — a request body with a hard size limit, never buffering
 * more than the limit.
 */
import { refuse } from '../source/errors.ts';

/**
 * The body, at most `max` bytes, else a 413 refusal with `code`. With a Content-Length (which
 * Node's HTTP parser holds the client to) the body is read in one go through the server's fast
 * path; without one it is streamed and cut off as soon as it passes `max`.
 */
export async function readLimitedBody(request: Request, max: number, code: string, message: string): Promise<Uint8Array> {
  const declared = request.headers.get('Content-Length');
  if (declared !== null) {
    if (!/^\d{1,15}$/.test(declared)) refuse(400, 'bad_request', 'The Content-Length header is malformed.');
    if (Number(declared) > max) refuse(413, code, message);
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

/**
 * A body of exactly `out.length` bytes, read into `out` as it arrives (no list of pieces, no
 * concatenation: a chunk is held once). Past that length the read stops and `tooLong` is refused
 * (413); short of it, `tooShort` (400). Used for chunks, where the length is known first.
 */
export async function readExactBody(
  request: Request,
  out: Uint8Array,
  tooLong: { code: string; message: string },
  tooShort: (got: number) => { code: string; message: string },
): Promise<Uint8Array> {
  const length = out.length;
  const declared = request.headers.get('Content-Length');
  if (declared !== null) {
    if (!/^\d{1,15}$/.test(declared)) refuse(400, 'bad_request', 'The Content-Length header is malformed.');
    if (Number(declared) > length) refuse(413, tooLong.code, tooLong.message);
  }
  let filled = 0;
  const reader = request.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (filled + value.length > length) {
        await reader.cancel().catch(() => {});
        refuse(413, tooLong.code, tooLong.message);
      }
      out.set(value, filled);
      filled += value.length;
    }
  }
  if (filled !== length) {
    const { code, message } = tooShort(filled);
    refuse(400, code, message);
  }
  return out;
}
