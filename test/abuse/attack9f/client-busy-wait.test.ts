/**
 * Attack 9f, the page's side: a hostile (or broken) server's retryAfterSeconds, and the wait the
 * page tells (client/lib/busy-wait.ts). Held: readAnswer keeps only whole seconds 1..25 h; the page
 * rounds up, so it never tells a time sooner than the server's. Broken, fixed: when the server told
 * no usable time (absent, 0, negative, a fraction, text, past 25 h), the page said "about 15 min",
 * a number the server never said; it now names none. And 91 minutes was told as "about 2 h",
 * 121 as "about 3 h"; now hours and minutes.
 */
import { describe, expect, it } from 'vitest';
import { ApiError, readAnswer } from '../../../client/lib/api.ts';
import { busyWait } from '../../../client/lib/busy-wait.ts';

const refusal = (body: unknown) => {
  try {
    readAnswer(429, JSON.stringify(body));
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected a refusal');
};

describe('attack 9f: the page and a source_busy answer', () => {
  it('never tells a wait shorter than the server\'s (rounded up to the minute or the hour)', () => {
    for (const seconds of [1, 59, 60, 61, 119, 900, 5399, 5400, 5401, 7200, 7201, 86_520, 90_000]) {
      const told = refusal({ error: 'source_busy', message: 'm', retryAfterSeconds: seconds }).retryAfterSeconds;
      expect(told).toBe(seconds);
      const [key, values] = busyWait(told);
      const waitSeconds = Number(values?.hours ?? 0) * 3600 + Number(values?.minutes ?? 0) * 60;
      expect(waitSeconds, `${seconds} s told as ${key} ${JSON.stringify(values)}`).toBeGreaterThanOrEqual(seconds);
    }
    // how far up: to the whole minute (a quarter hour up could land past another dead try's sweep: attack 9h)
    expect([busyWait(91 * 60), busyWait(120 * 60), busyWait(121 * 60 - 30)]).toEqual([
      ['error_source_busy_hours_minutes', { hours: 1, minutes: 31 }],
      ['error_source_busy_hours', { hours: 2 }],
      ['error_source_busy_hours_minutes', { hours: 2, minutes: 1 }],
    ]);
  });

  it('does not invent a time when the server told none that it can use', () => {
    const invented: string[] = [];
    for (const bad of [undefined, 0, -60, 1.5, '900', null, 25 * 3600 + 1, 1e300, Number.MAX_SAFE_INTEGER]) {
      const told = refusal({ error: 'source_busy', message: 'm', ...(bad === undefined ? {} : { retryAfterSeconds: bad }) }).retryAfterSeconds;
      expect(told, String(bad)).toBeUndefined();
      const [key, values] = busyWait(told);
      if (values?.minutes !== undefined || values?.hours !== undefined) invented.push(`${String(bad)} -> ${key} ${JSON.stringify(values)}`);
      expect(key).toBe('error_source_busy_later');
    }
    console.log(`client: no usable time told as ${JSON.stringify(invented)}`);
    expect(invented).toEqual([]);
  });
});
