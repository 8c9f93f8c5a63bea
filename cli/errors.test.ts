import { describe, expect, it } from 'vitest';
import { printable, terminalSafe } from './errors.ts';
import { formatTable } from './table.ts';

/** Anything a terminal could act on: the characters printable promises to remove. */
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

const every = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i));

describe('printable', () => {
  it.each([
    ['C0 (NUL to US, with tab, newline, carriage return, ESC)', every(0x00, 0x1f)],
    ['DEL', ['\u007f']],
    ['C1 (U+0080 to U+009F: CSI, OSC, ST among them)', every(0x80, 0x9f)],
    ['bidi embeddings and overrides U+202A to U+202E', every(0x202a, 0x202e)],
    ['bidi isolates U+2066 to U+2069', every(0x2066, 0x2069)],
    ['the other bidi marks (ALM, LRM, RLM)', ['\u061c', '\u200e', '\u200f']],
    ['the line and paragraph separators', ['\u2028', '\u2029']],
  ])('escapes %s, each as a visible \\uXXXX', (_what, chars) => {
    for (const c of chars) {
      const out = printable(`a${c}b`);
      expect(out).toBe(`a\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}b`);
      expect(out).not.toMatch(RAW_CONTROL);
    }
  });

  it('turns a hostile name carrying CSI, OSC 52 and an override into plain text', () => {
    const name = 'report\u009b2J\u009d52;c;ZWNobyBwd25lZA==\u009c\u202egpj.exe\u001b]0;title\u0007';
    expect(printable(name)).toBe('report\\u009b2J\\u009d52;c;ZWNobyBwd25lZA==\\u009c\\u202egpj.exe\\u001b]0;title\\u0007');
  });

  it('leaves every other character alone: text in the five languages, emoji, quotes, backslashes', () => {
    const text = '제보 举报 сообщение សារ tip — "quoted" \\u0041 🙂 \u00a0\u00e9';
    expect(printable(text)).toBe(text);
  });

  it('is idempotent', () => {
    const once = printable('x\u009b\n\u202ey');
    expect(printable(once)).toBe(once);
  });
});

describe('terminalSafe (what the real io applies to every write)', () => {
  it('keeps the CLI\'s own newlines and the progress bar\'s line clearing, escapes the rest', () => {
    expect(terminalSafe('one\ntwo\n')).toBe('one\ntwo\n');
    expect(terminalSafe('\r\u001b[2Ksealdrop: [###] 50%')).toBe('\r\u001b[2Ksealdrop: [###] 50%');
    expect(terminalSafe('name\u009b31m\u001b[1mbold\u0007\n')).toBe('name\\u009b31m\\u001b[1mbold\\u0007\n');
    expect(terminalSafe('lone\rreturn')).toBe('lone\\u000dreturn');
  });
});

describe('formatTable', () => {
  it('escapes every cell, so a cell cannot break its row or the terminal', () => {
    const table = formatTable(['A', 'B'], [['x\ny', 'ok\u009b2J']]);
    expect(table).toBe('A         B\nx\\u000ay  ok\\u009b2J\n');
  });
});
