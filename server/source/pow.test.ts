import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { POW_CLOCK_SKEW_SECONDS, POW_TTL_SECONDS } from '../../protocol/limits.ts';
import { issuePow, verifyPow } from './pow.ts';

const secret = randomBytes(32);
const now = new Date('2026-12-01T08:00:00Z');
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);

/** A token as a process whose clock reads `issuedAt` would make it (difficulty 0: any nonce works). */
const tokenIssuedAt = (issuedAt: Date) => issuePow(secret, 0, issuedAt).token;

async function refusal(token: string, at = now): Promise<{ status: number; code: string; message?: string } | 'accepted'> {
  try {
    await verifyPow(secret, 0, at, token, '0');
    return 'accepted';
  } catch (error) {
    const e = error as { status?: number; code?: string };
    if (e.code === undefined) throw error;
    return { status: e.status!, code: e.code };
  }
}

describe('verifyPow: the expiry is bounded', () => {
  it('accepts a token this process issued, up to its expiry', async () => {
    const token = tokenIssuedAt(now);
    expect(await refusal(token)).toBe('accepted');
    expect(await refusal(token, later(POW_TTL_SECONDS - 1))).toBe('accepted');
    expect(await refusal(token, later(POW_TTL_SECONDS))).toMatchObject({ code: 'pow_expired' });
  });

  it('accepts a token from a process whose clock runs ahead by up to the allowed skew', async () => {
    expect(await refusal(tokenIssuedAt(later(POW_CLOCK_SKEW_SECONDS)))).toBe('accepted');
  });

  it('refuses a token whose expiry lies further ahead than POW_TTL_SECONDS plus the skew', async () => {
    expect(await refusal(tokenIssuedAt(later(POW_CLOCK_SKEW_SECONDS + 1)))).toEqual({ status: 400, code: 'bad_pow' });
    expect(await refusal(tokenIssuedAt(later(365 * 86400)))).toEqual({ status: 400, code: 'bad_pow' });
  });

  it('checks the signature before the expiry: a forged far-future token is refused as not ours', async () => {
    const forged = issuePow(randomBytes(32), 0, later(365 * 86400)).token;
    await expect(verifyPow(secret, 0, now, forged, '0')).rejects.toThrow('not issued by this server');
  });
});
