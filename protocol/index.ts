/** @module protocol — everything the server, the browser and the CLI share. */
export * from './limits.ts';
export * from './encoding.ts';
export * from './errors.ts';
export * from './codename.ts';
export * from './kdf.ts';
export * from './pow.ts';
export * from './openpgp-checks.ts';
export * from './source-keys.ts';
export * from './replies.ts';
export * from './padme.ts';
export * from './envelope.ts';
export * from './bundle.ts';
export * from './fingerprint.ts';
export * from './site-manifest.ts';
export * from './upload-digests.ts';
export * from './instance.ts';
