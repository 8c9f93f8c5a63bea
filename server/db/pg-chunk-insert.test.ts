import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { bindMessage } from './pg-chunk-insert.ts';

describe('bindMessage', () => {
  it('is the Bind message node-postgres would write, cut around the binary value', () => {
    for (const length of [0, 1, 5, 70_000]) {
      const bytes = Buffer.alloc(length, 7);
      const text = ['1b4e28ba-2fa1-11d2-883f-0016d3cca427', '12', 'é'];
      const [head, tail] = bindMessage(text, length);
      const theirs = serialize.bind({ values: [...text, bytes] });
      expect(Buffer.concat([head, bytes, tail]).equals(theirs)).toBe(true);
    }
  });
});
