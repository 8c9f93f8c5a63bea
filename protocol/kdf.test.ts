import { createHash, hkdfSync, scryptSync } from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8Encode } from './encoding.ts';
import { deriveSourceSecrets, deriveSourceSecretsAsync, hashLookupId } from './kdf.ts';
import { SCRYPT_PARAMS } from './limits.ts';

describe('primitives, known answers', () => {
  // RFC 5869 appendix A, test cases 1 and 3 (case 3: empty salt and info, as sealdrop uses).
  it('HKDF-SHA256 matches RFC 5869', () => {
    const ikm = new Uint8Array(22).fill(0x0b);
    expect(toHex(hkdf(sha256, ikm, fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42))).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
    expect(toHex(hkdf(sha256, ikm, undefined, undefined, 42))).toBe(
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
  });
  // RFC 7914 §12, the first two vectors.
  it('scrypt matches RFC 7914', () => {
    expect(toHex(scrypt('', '', { N: 16, r: 1, p: 1, dkLen: 64 }))).toBe(
      '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
    );
    expect(toHex(scrypt('password', 'NaCl', { N: 1024, r: 8, p: 16, dkLen: 64 }))).toBe(
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
    );
  });
});

describe('deriveSourceSecrets', () => {
  const codename = 'abandon ability able about above absent absorb abstract';
  const salt = 'c2VhbGRyb3AtdGVzdA';

  it('is scrypt then HKDF as PROTOCOL.md says (cross-checked with node:crypto)', () => {
    const master = scryptSync(codename, `sealdrop/v1/${salt}`, 32, { N: SCRYPT_PARAMS.N, r: 8, p: 1 });
    const expand = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32)).toString('hex');
    const secrets = deriveSourceSecrets(codename, salt);
    expect(secrets).toEqual({ lookupId: expand('sealdrop/v1/lookup'), keyPassphrase: expand('sealdrop/v1/reply-key') });
    expect(hashLookupId(secrets.lookupId)).toBe(createHash('sha256').update(fromHex(secrets.lookupId)).digest('hex'));
  });

  it('normalises the codename first and agrees with the async form', async () => {
    const a = deriveSourceSecrets(codename, salt);
    expect(deriveSourceSecrets(`  ABANDON  ability\table about above absent absorb   abstract\n`, salt)).toEqual(a);
    const progress: number[] = [];
    expect(await deriveSourceSecretsAsync(codename, salt, { onProgress: (p) => progress.push(p) })).toEqual(a);
    expect(progress.at(-1)).toBe(1);
  });

  it('separates instances, codenames and the two secrets', () => {
    const a = deriveSourceSecrets(codename, salt);
    expect(deriveSourceSecrets(codename, salt + 'x').lookupId).not.toBe(a.lookupId);
    expect(deriveSourceSecrets(codename.replace('abstract', 'absurd'), salt).lookupId).not.toBe(a.lookupId);
    expect(a.lookupId).not.toBe(a.keyPassphrase);
    expect(a.lookupId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses an empty codename or salt, and a malformed lookup id', () => {
    expect(() => deriveSourceSecrets('   ', salt)).toThrow(TypeError);
    expect(() => deriveSourceSecrets(codename, '')).toThrow(TypeError);
    expect(() => hashLookupId('ab')).toThrow(TypeError);
    expect(() => hashLookupId('A'.repeat(64))).toThrow(TypeError);
  });
});

it('utf8 of the salt prefix is what the spec names', () => {
  expect(utf8Encode('sealdrop/v1/')).toEqual(new TextEncoder().encode('sealdrop/v1/'));
});
