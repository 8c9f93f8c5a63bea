/**
 * @module protocol/upload-digests — what a streaming page sends with its chunks (PROTOCOL.md,
 * "Upload protocol" step 4): each chunk's own SHA-256, and with the last chunk the SHA-256 of all
 * the chunks' digests (32 bytes each, in index order). WebCrypto's digest, native even where the
 * JIT is off (Tor Browser "Safer"), where a SHA-256 of the whole ciphertext in JavaScript took
 * minutes for 10 MB; the server hashes the same way with node:crypto as the chunks arrive and
 * when it reads them back.
 */

/** The SHA-256 of one chunk's bytes. */
export async function chunkSha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/** The SHA-256 over the chunks' SHA-256 digests, concatenated in index order. */
export async function digestsSha256(digests: readonly Uint8Array[]): Promise<Uint8Array> {
  const all = new Uint8Array(32 * digests.length);
  digests.forEach((digest, i) => {
    if (digest.length !== 32) throw new RangeError(`expected 32-byte SHA-256 digests, got ${digest.length} bytes at chunk ${i}`);
    all.set(digest, 32 * i);
  });
  return chunkSha256(all);
}
