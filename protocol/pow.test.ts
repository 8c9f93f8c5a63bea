import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { toBase64Url } from './encoding.ts';
import { PowError } from './errors.ts';
import { checkPowSolution, leadingZeroBits, parsePowToken, POW_DIGESTS_IN_FLIGHT, powDigest, solvePow } from './pow.ts';

const id = toBase64Url(new Uint8Array(16).fill(7));
const mac = toBase64Url(new Uint8Array(32).fill(9));
const token = `v1.${id}.1767225600.12.${mac}`;

describe('parsePowToken', () => {
  it('reads the fields and the signed payload', () => {
    expect(parsePowToken(token)).toEqual({ id, expires: 1767225600, difficulty: 12, payload: `v1.${id}.1767225600.12`, mac });
  });
  it.each([
    ['v2 prefix', token.replace('v1.', 'v2.')],
    ['short id', `v1.${id.slice(1)}.1.1.${mac}`],
    ['leading zero expiry', `v1.${id}.01.1.${mac}`],
    ['negative difficulty', `v1.${id}.1.-1.${mac}`],
    ['difficulty over 64', `v1.${id}.1.65.${mac}`],
    ['padding', `v1.${id}.1.1.${mac}=`],
    ['extra field', `${token}.x`],
    ['white space', ` ${token}`],
    ['non-canonical id bits', `v1.${id.slice(0, 21)}B.1.1.${mac}`],
  ])('refuses %s', (_, bad) => {
    expect(() => parsePowToken(bad)).toThrow(PowError);
    try {
      parsePowToken(bad);
    } catch (e) {
      expect((e as PowError).code).toBe('malformed_token');
    }
  });
});

describe('proof of work', () => {
  it('digests SHA-256(token:nonce) like node:crypto', async () => {
    const expected = createHash('sha256').update(`${token}:42`).digest();
    expect(await powDigest(token, '42')).toEqual(new Uint8Array(expected));
  });
  it('counts leading zero bits', () => {
    expect(leadingZeroBits(Uint8Array.of(0x80))).toBe(0);
    expect(leadingZeroBits(Uint8Array.of(0x01, 0xff))).toBe(7);
    expect(leadingZeroBits(Uint8Array.of(0, 0, 0x10))).toBe(19);
    expect(leadingZeroBits(new Uint8Array(4))).toBe(32);
    expect(leadingZeroBits(new Uint8Array(0))).toBe(0);
  });
  it('solves and checks, and a solution is the first nonce that works', async () => {
    const progress: number[] = [];
    const nonce = await solvePow(token, 10, { onProgress: (n) => progress.push(n) });
    expect(await checkPowSolution(token, nonce, 10)).toBe(true);
    for (let n = 0; n < Number(nonce); n++) expect(await checkPowSolution(token, String(n), 10)).toBe(false);
    expect(progress.every((n) => n % 1024 === 0)).toBe(true);
  });
  it('fails on a nonce for another token, and on non-canonical nonces', async () => {
    const nonce = await solvePow(token, 8);
    const other = token.replace('.12.', '.13.');
    const firstForOther = await solvePow(other, 8);
    if (firstForOther !== nonce) expect(await checkPowSolution(other, nonce, 8)).toBe(false);
    expect(await checkPowSolution(token, '0' + nonce, 8)).toBe(false);
    expect(await checkPowSolution(token, ` ${nonce}`, 8)).toBe(false);
    expect(await checkPowSolution(token, '-1', 0)).toBe(false);
    expect(await checkPowSolution(token, '12345678901234567', 0)).toBe(false);
  });
  it('accepts any canonical nonce at difficulty 0', async () => {
    expect(await solvePow(token, 0)).toBe('0');
    expect(await checkPowSolution(token, '999', 0)).toBe(true);
  });
  it('refuses bad difficulties and stops when aborted', async () => {
    await expect(checkPowSolution(token, '1', 65)).rejects.toThrow(PowError);
    await expect(solvePow(token, 1.5)).rejects.toThrow(PowError);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(solvePow(token, 64, { signal: controller.signal })).rejects.toThrow('stop');
  });
});

describe('solvePow keeps digests in flight', () => {
  afterEach(() => vi.restoreAllMocks());

  /** Counts the real WebCrypto digests running at once (each still computed by WebCrypto). */
  function watchDigests(fail?: (data: Uint8Array) => boolean) {
    const real = crypto.subtle.digest.bind(crypto.subtle);
    const seen = { running: 0, most: 0, calls: 0 };
    vi.spyOn(crypto.subtle, 'digest').mockImplementation(async (algorithm, data) => {
      seen.calls++;
      seen.running++;
      seen.most = Math.max(seen.most, seen.running);
      try {
        if (fail?.(new Uint8Array(data as ArrayBuffer))) throw new Error('digest failed');
        return await real(algorithm, data as BufferSource);
      } finally {
        seen.running--;
      }
    });
    return seen;
  }

  it('runs POW_DIGESTS_IN_FLIGHT digests at once and still returns the smallest solution', async () => {
    const seen = watchDigests();
    const nonce = await solvePow(token, 12);
    expect(seen.most).toBe(POW_DIGESTS_IN_FLIGHT);
    expect(seen.calls).toBeLessThanOrEqual(Number(nonce) + POW_DIGESTS_IN_FLIGHT);
    vi.restoreAllMocks();
    for (let n = 0; n < Number(nonce); n++) expect(await checkPowSolution(token, String(n), 12)).toBe(false);
    expect(await checkPowSolution(token, nonce, 12)).toBe(true);
  });
  it('reports progress in order and stops when aborted during the search', async () => {
    const controller = new AbortController();
    const progress: number[] = [];
    const search = solvePow(token, 64, {
      signal: controller.signal,
      onProgress: (n) => {
        progress.push(n);
        if (n === 3072) controller.abort(new Error('stop'));
      },
    });
    await expect(search).rejects.toThrow('stop');
    expect(progress).toEqual([1024, 2048, 3072]);
  });
  it('rejects with a failed digest, and a failure ahead of the answer is not an unhandled rejection', async () => {
    const suffix = (data: Uint8Array) => new TextDecoder().decode(data).split(':')[1];
    watchDigests((data) => suffix(data) === '5');
    await expect(solvePow(token, 64)).rejects.toThrow('digest failed');
    vi.restoreAllMocks();
    // At difficulty 0 the answer is 0, while the failing digest of nonce 5 is still in flight.
    watchDigests((data) => suffix(data) === '5');
    expect(await solvePow(token, 0)).toBe('0');
    await new Promise((resolve) => setTimeout(resolve, 50));
  });
});
