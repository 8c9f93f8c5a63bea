/**
 * @module server/source/message-check — the completion check of an upload, streamed.
 *
 * A submission may be 2 GiB, so it is never held whole: the chunks come from the database in
 * pieces, each piece feeds an incremental SHA-256 on its way to protocol's `inspectMessageStream`
 * (the same packet rules as `inspectMessage`, over chunks, in constant memory). When the check
 * refuses early, the rest is still read so the hash covers everything (a corrupted transfer is
 * reported as a hash mismatch, which tells the source to send again). Given the chunk size, it also
 * hashes each chunk on its own and gives the SHA-256 of those digests (PROTOCOL.md, "Upload
 * protocol": what a streaming page sends with its last chunk).
 */
import { createHash } from 'node:crypto';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
import { inspectMessageStream, type MessageInfo } from '../../protocol/openpgp-checks.ts';

export interface CheckedCiphertext {
  sha256: string;
  /** with `chunkSize`: hex SHA-256 over the chunks' SHA-256 digests (32 bytes each, in order) */
  digests?: string;
  /** the structural result, or the refusal the OpenPGP check gave */
  message: { ok: true; info: MessageInfo } | { ok: false; error: OpenPgpCheckError };
}

/** Hashes every piece of `chunks` (the ciphertext in order) and checks its OpenPGP structure. */
export async function checkCiphertext(chunks: AsyncIterable<Uint8Array>, options: { chunkSize?: number } = {}): Promise<CheckedCiphertext> {
  const whole = createHash('sha256');
  const perChunk = options.chunkSize ? chunkDigests(options.chunkSize) : undefined;
  const hash = { update: (piece: Uint8Array) => (whole.update(piece), perChunk?.update(piece)) };
  const source = chunks[Symbol.asyncIterator]();
  // our own iterator, so that the check giving up early does not close `source`
  const hashed: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        const next = await source.next();
        if (!next.done) hash.update(next.value);
        return next;
      },
    }),
  };
  let message: CheckedCiphertext['message'];
  try {
    message = { ok: true, info: await inspectMessageStream(hashed) };
  } catch (error) {
    if (!(error instanceof OpenPgpCheckError)) throw error;
    message = { ok: false, error };
  }
  for (let next = await source.next(); !next.done; next = await source.next()) hash.update(next.value);
  return { sha256: whole.digest('hex'), ...(perChunk ? { digests: perChunk.digest() } : {}), message };
}

/** SHA-256 of each `chunkSize` bytes (the last fewer), fed in pieces of any size; then the SHA-256 of those digests. */
function chunkDigests(chunkSize: number) {
  const digests = createHash('sha256');
  let chunk = createHash('sha256');
  let inChunk = 0;
  return {
    update(piece: Uint8Array) {
      for (let at = 0; at < piece.length; ) {
        const n = Math.min(piece.length - at, chunkSize - inChunk);
        chunk.update(at === 0 && n === piece.length ? piece : piece.subarray(at, at + n));
        at += n;
        inChunk += n;
        if (inChunk === chunkSize) {
          digests.update(chunk.digest());
          chunk = createHash('sha256');
          inChunk = 0;
        }
      }
    },
    digest(): string {
      if (inChunk > 0) digests.update(chunk.digest());
      return digests.digest('hex');
    },
  };
}
