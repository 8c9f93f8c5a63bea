import { describe, expect, it } from 'vitest';
import { KeyCheckTokens } from './key-check-tokens.ts';

describe('KeyCheckTokens', () => {
  it('lets a token claim once while it is remembered', () => {
    const tokens = new KeyCheckTokens();
    expect(tokens.claim('a', 2000, 1000)).toBe(true);
    expect(tokens.claim('a', 2000, 1000)).toBe(false);
    expect(tokens.claim('b', 2000, 1000)).toBe(true);
  });

  it('forgets expired tokens first when full, then the oldest live ones, and never grows past its bound', () => {
    const tokens = new KeyCheckTokens(3);
    tokens.claim('expired', 1500, 1000);
    tokens.claim('old', 9000, 1000);
    tokens.claim('newer', 9000, 1000);
    // full: the expired one goes
    expect(tokens.claim('fourth', 9000, 2000)).toBe(true);
    expect(tokens.size).toBe(3);
    expect(tokens.claim('old', 9000, 2000)).toBe(false);
    // full of live tokens: the oldest is forgotten
    expect(tokens.claim('fifth', 9000, 2000)).toBe(true);
    expect(tokens.size).toBe(3);
    expect(tokens.claim('newer', 9000, 2000)).toBe(false);
    expect(tokens.claim('old', 9000, 2000)).toBe(true);
  });
});
