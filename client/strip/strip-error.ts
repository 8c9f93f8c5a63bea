/** @module client/strip/strip-error — the one error type of the metadata strippers. */

/** Thrown when an image cannot be parsed well enough to be cleaned with confidence. */
export class StripError extends Error {
  override name = 'StripError';
}
