/**
 * Attack 9f, the page's side: a hostile (or broken) server's retryAfterSeconds, and the wait the
 * page tells (client/lib/tip-form.ts busyWait, not exported: its source is taken from the file and
 * compiled here as it is). Held: readAnswer keeps only whole seconds 1..25 h; the page rounds up,
 * so it never tells a time sooner than the server's. Asserted too: when the server told no usable
 * time (absent, 0, negative, a fraction, text, past 25 h), the page does not invent one: today it
 * says "about 15 min" ("a quarter hour when it told none"), a number the server never said.
 */
import { readFileSync } from 'node:fs';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ApiError, readAnswer } from '../../../client/lib/api.ts';

type Said = [string, Record<string, string | number>];
function loadBusyWait(): (seconds: number | undefined) => Said {
  const source = readFileSync(new URL('../../../client/lib/tip-form.ts', import.meta.url), 'utf8');
  const match = /function busyWait\([\s\S]*?\n}\n/.exec(source);
  if (!match) throw new Error('busyWait not found in tip-form.ts');
  const js = transformSync(match[0], { loader: 'ts' }).code;
  return new Function(`${js}; return busyWait;`)() as (seconds: number | undefined) => Said;
}
const busyWait = loadBusyWait();

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
      const waitSeconds = key === 'error_source_busy' ? Number(values.minutes) * 60 : Number(values.hours) * 3600;
      expect(waitSeconds, `${seconds} s told as ${key} ${JSON.stringify(values)}`).toBeGreaterThanOrEqual(seconds);
    }
    // how far up: 91 minutes is told as 2 h, 121 minutes as 3 h
    expect([busyWait(91 * 60), busyWait(121 * 60)]).toEqual([['error_source_busy_hours', { hours: 2 }], ['error_source_busy_hours', { hours: 3 }]]);
  });

  it('does not invent a time when the server told none that it can use', () => {
    const invented: string[] = [];
    for (const bad of [undefined, 0, -60, 1.5, '900', null, 25 * 3600 + 1, 1e300, Number.MAX_SAFE_INTEGER]) {
      const told = refusal({ error: 'source_busy', message: 'm', ...(bad === undefined ? {} : { retryAfterSeconds: bad }) }).retryAfterSeconds;
      expect(told, String(bad)).toBeUndefined();
      const [key, values] = busyWait(told);
      if (values.minutes !== undefined || values.hours !== undefined) invented.push(`${String(bad)} -> ${key} ${JSON.stringify(values)}`);
    }
    console.log(`client: no usable time told as ${JSON.stringify(invented)}`);
    expect(invented).toEqual([]);
  });
});
