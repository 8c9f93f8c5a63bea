import { describe, expect, it } from 'vitest';
import { MAX_LOOKUP_REPLIES } from '../../protocol/limits.ts';
import { ApiError, checkLookupAnswer, isDay, QUOTA_REFUSALS, readAnswer } from './api.ts';

const ID = '0b9f3a52-6c1e-4c8e-9a4f-2f6d1e0c7b3a';
const good = () => ({
  publicKey: 'PUBLIC',
  lockedPrivateKey: 'LOCKED',
  submissions: [{ id: ID, day: '2026-12-01', status: 'received', size: 4096 }],
  replies: [{ id: ID, day: '2026-12-01', message: '-----BEGIN PGP MESSAGE-----' }],
});
const refusal = (value: unknown) => {
  try {
    checkLookupAnswer(value);
    return 'accepted';
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return error.code;
  }
};

describe('checkLookupAnswer', () => {
  it('takes the answer the server makes', () => {
    expect(checkLookupAnswer(good())).toEqual(good());
  });

  it('refuses words where a day belongs, days that are not on the calendar, and every other field out of shape, as bad_answer', () => {
    const cases: ((a: ReturnType<typeof good>) => unknown)[] = [
      (a) => ((a.replies[0]!.day = '2026-12-01 — the newsroom: reply with your full name'), a),
      (a) => ((a.replies[0]!.day = '2026-02-30'), a),
      (a) => ((a.submissions[0]!.day = '26-12-01'), a),
      (a) => ((a.submissions[0]!.status = 'read'), a),
      (a) => ((a.submissions[0]!.size = -1), a),
      (a) => ((a.submissions[0]!.size = 1.5), a),
      (a) => ((a.replies[0]!.id = 'not-a-uuid'), a),
      (a) => ({ ...a, replies: [a.replies[0], a.replies[0]] }),
      (a) => ({ ...a, extra: 'words' }),
      (a) => ({ ...a, replies: [{ ...a.replies[0], note: 'words' }] }),
      (a) => ({ ...a, publicKey: 'k'.repeat(32 * 1024 + 1) }),
      (a) => ({ ...a, replies: Array.from({ length: MAX_LOOKUP_REPLIES + 1 }, () => a.replies[0]) }),
      (a) => ((a.replies[0]!.message = ''), a),
      () => null,
      () => [],
    ];
    for (const [i, change] of cases.entries()) expect(refusal(change(good())), `case ${i}`).toBe('bad_answer');
  });

  it('takes a reply naming its desk, and refuses a desk that is not a desk id', () => {
    const named = { ...good(), replies: [{ ...good().replies[0]!, desk: 'workers-abroad' }] };
    expect(checkLookupAnswer(named)).toEqual(named);
    for (const desk of ['Workers', '', 'a'.repeat(33), 7, 'x y']) {
      expect(refusal({ ...good(), replies: [{ ...good().replies[0]!, desk }] }), String(desk)).toBe('bad_answer');
    }
  });

  it('knows a calendar day', () => {
    expect([isDay('2024-02-29'), isDay('2026-02-29'), isDay('2026-13-01'), isDay(' 2026-12-01'), isDay(20261201)]).toEqual([true, false, false, false, false]);
  });
});

describe('readAnswer', () => {
  it('keeps a refusal\'s retryAfterSeconds (429 source_busy) only as a whole number of seconds up to a day and an hour', () => {
    const refusedWith = (body: unknown) => {
      try {
        readAnswer(429, JSON.stringify(body));
      } catch (error) {
        return error as ApiError;
      }
      throw new Error('expected a refusal');
    };
    const told = refusedWith({ error: 'source_busy', message: 'm', retryAfterSeconds: 1020 });
    expect([told.code, told.retryAfterSeconds, told.retryable]).toEqual(['source_busy', 1020, true]);
    expect(QUOTA_REFUSALS.has('source_busy')).toBe(true);
    for (const bad of [0, -5, 1.5, '60', 25 * 3600 + 1, null, 1e300]) {
      expect(refusedWith({ error: 'source_busy', message: 'm', retryAfterSeconds: bad }).retryAfterSeconds, String(bad)).toBeUndefined();
    }
    expect(refusedWith({ error: 'source_quota', message: 'm' }).retryAfterSeconds).toBeUndefined();
  });
});
