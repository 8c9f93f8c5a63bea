/**
 * @module protocol/bundle — `bundle.json`, the manifest at the head of the editor API's bundle
 * (`GET /editor/v1/bundle`), written by the server and checked by `sealdrop pull` / `decrypt`.
 * docs/INTERNALS.md "HTTP — editor listener" has the whole bundle layout.
 */

export const BUNDLE_VERSION = 1;

export interface BundleSubmission {
  id: string;
  handle: string;
  /** the day it was received, YYYY-MM-DD */
  day: string;
  /** ciphertext bytes */
  size: number;
  /** SHA-256 of the ciphertext, 64 lower-case hex digits */
  sha256: string;
  /** `submissions/<id>.pgp` */
  path: string;
  /** the desk it was sent to, whose key it is encrypted to (servers before desks leave it out: the one desk) */
  desk?: string;
}

export interface BundleSource {
  handle: string;
  /** `sources/<handle>.asc` */
  path: string;
}

export interface BundleManifest {
  version: typeof BUNDLE_VERSION;
  submissions: BundleSubmission[];
  sources: BundleSource[];
}
