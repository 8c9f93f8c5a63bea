/** @module protocol/errors — one class per part, each with a stable `code` for programs and tests. */

export class OpenPgpCheckError extends Error {
  override name = 'OpenPgpCheckError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class PowError extends Error {
  override name = 'PowError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class EnvelopeError extends Error {
  override name = 'EnvelopeError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class CodenameError extends Error {
  override name = 'CodenameError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}
