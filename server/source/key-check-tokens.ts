/**
 * @module server/source/key-check-tokens — which proof-of-work tokens already bought a source key
 * check in this process.
 *
 * Checking a new source's reply keys is the dearest step of an open. A refused open leaves its
 * token unspent (a refusal stores nothing), so without this ledger one solved token could be sent
 * again and again with bad keys, each time buying a key check. Here each token buys one per
 * process, whatever the outcome; the ledger lives in memory only (nothing about a refusal is
 * stored) and forgets a token when it expires, or its oldest entries when it is full.
 */

/** Live tokens remembered at most (~100 bytes each). */
export const MAX_REMEMBERED_TOKENS = 100_000;

export class KeyCheckTokens {
  readonly #expiry = new Map<string, number>();

  constructor(readonly max = MAX_REMEMBERED_TOKENS) {}

  /** True the first time a token asks; false while it is remembered. */
  claim(idHash: string, expiresMs: number, nowMs: number): boolean {
    if (this.#expiry.has(idHash)) return false;
    if (this.#expiry.size >= this.max) {
      for (const [id, expires] of this.#expiry) if (expires <= nowMs) this.#expiry.delete(id);
    }
    // still full of live tokens: forget the oldest (a Map iterates in insertion order)
    while (this.#expiry.size >= this.max) this.#expiry.delete(this.#expiry.keys().next().value!);
    this.#expiry.set(idHash, expiresMs);
    return true;
  }

  get size(): number {
    return this.#expiry.size;
  }
}
