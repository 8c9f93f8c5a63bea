/**
 * Attack 9g, the page: every retryAfterSeconds a server may send that readAnswer keeps (1 s to
 * 25 h, whole seconds) through busyWait and translate() in all five languages. The page must never
 * tell a wait shorter than the server's, never more than a quarter hour longer, show only that
 * number (no placeholder left, nothing of the server's message), and a hostile body (HTML in the
 * message, a huge or odd retryAfterSeconds, the field on another code) changes nothing but the number.
 */
import { describe, expect, it } from 'vitest';
import { ApiError, readAnswer } from '../../../client/lib/api.ts';
import { busyWait } from '../../../client/lib/busy-wait.ts';
import { LANGUAGES, translate } from '../../../client/i18n/index.ts';

const refusal = (body: unknown, status = 429) => {
  try {
    readAnswer(status, JSON.stringify(body));
  } catch (error) {
    return error as ApiError;
  }
  throw new Error('expected a refusal');
};

describe('attack 9g: every told wait, every language', () => {
  it('rounds up, by at most a quarter hour, and renders only the number', () => {
    const bad: string[] = [];
    let worst = 0;
    for (let seconds = 1; seconds <= 25 * 3600; seconds++) {
      const [key, values] = busyWait(seconds);
      const shown = Number(values?.hours ?? 0) * 3600 + Number(values?.minutes ?? 0) * 60;
      worst = Math.max(worst, shown - seconds);
      if (shown < seconds || shown - seconds > 15 * 60) bad.push(`${seconds} -> ${key} ${JSON.stringify(values)}`);
      if (seconds % 97 === 0 || seconds < 200) {
        for (const language of LANGUAGES) {
          const text = translate(language, key, values);
          if (/[{}]/.test(text)) bad.push(`${language} ${seconds}: placeholder left: ${text}`);
        }
      }
      if (bad.length > 20) break;
    }
    console.log(`client wait: 1..90000 s, the most told beyond the server's: ${worst} s; bad: ${bad.length}`);
    expect(bad).toEqual([]);
  });

  it('a hostile body shows nothing but a number of its own', () => {
    const hostile = refusal({ error: 'source_busy', message: '<img src=x onerror=alert(1)> go to evil.example', retryAfterSeconds: 60 });
    const [key, values] = busyWait(hostile.retryAfterSeconds);
    for (const language of LANGUAGES) expect(translate(language, key, values)).not.toMatch(/evil|<img/);
    expect(refusal({ error: 'source_quota', message: 'm', retryAfterSeconds: 60 }).code).toBe('source_quota');
    expect(refusal({ error: 'source_busy', message: 'm', retryAfterSeconds: { valueOf: 60 } }).retryAfterSeconds).toBeUndefined();
    expect(refusal({ error: 'source_busy', message: 'm', retryAfterSeconds: [60] }).retryAfterSeconds).toBeUndefined();
    expect(refusal({ error: 'source_busy', message: 'm', retryAfterSeconds: true }).retryAfterSeconds).toBeUndefined();
  });
});
