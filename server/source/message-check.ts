/**
 * @module server/source/message-check — the completion check of an upload, streamed.
 *
 * A submission may be 2 GiB, so it is never held whole: the chunks come from the database in
 * pieces, each piece feeds an incremental SHA-256 on its way to protocol's `inspectMessageStream`
 * (the same packet rules as `inspectMessage`, over chunks, in constant memory). When the check
 * refuses early, the rest is still read so the hash covers everything (a corrupted transfer is
 * reported as a hash mismatch, which tells the source to send again).
 */
import { createHash } from 'node:crypto';
import { OpenPgpCheckError } from '../../protocol/errors.ts';
import { inspectMessageStream, type MessageInfo } from '../../protocol/openpgp-checks.ts';

export interface CheckedCiphertext {
  sha256: string;
  /** the structural result, or the refusal the OpenPGP check gave */
  message: { ok: true; info: MessageInfo } | { ok: false; error: OpenPgpCheckError };
}

/** Hashes every piece of `chunks` (the ciphertext in order) and checks its OpenPGP structure. */
export async function checkCiphertext(chunks: AsyncIterable<Uint8Array>): Promise<CheckedCiphertext> {
  const hash = createHash('sha256');
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
  return { sha256: hash.digest('hex'), message };
}
