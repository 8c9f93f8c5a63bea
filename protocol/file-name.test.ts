import { describe, expect, it } from 'vitest';
import { utf8Encode } from './encoding.ts';
import { fileNameKey, safeFileName } from './file-name.ts';
import { MAX_FILE_NAME_BYTES } from './limits.ts';

const safe = (name: string) => safeFileName(name, new Set());

describe('safeFileName', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\leak.docx', 'leak.docx'],
    ['a:b*c?d"e<f>g|h.txt', 'a_b_c_d_e_f_g_h.txt'],
    ['tab\there\u0000nul\u007f.txt', 'tab_here_nul_.txt'],
    ['evil\u202Egpj.exe', 'evil_gpj.exe'],
    ['...hidden', 'hidden'],
    ['  spaced  .txt  ', 'spaced.txt'],
    ['trailing dots...', 'trailing dots'],
    ['CON', '_CON'],
    ['con.txt', '_con.txt'],
    ['Lpt9.tar.gz', '_Lpt9.tar.gz'],
    ['COM10.txt', 'COM10.txt'],
    ['COM¹.txt', '_COM¹.txt'],
    ['lpt³', '_lpt³'],
    ['CONIN$', '_CONIN$'],
    ['conout$.log', '_conout$.log'],
    ['console.txt', 'console.txt'],
    ['', 'file'],
    ['...', 'file'],
    ['dir/', 'file'],
    ['half\ud800.txt', 'half_.txt'],
    ['e\u0301te\u0301.txt', 'été.txt'], // NFC
    ['보고서.hwp', '보고서.hwp'],
  ])('%j → %j', (input, expected) => {
    expect(safe(input)).toBe(expected);
    expect(safe(expected)).toBe(expected); // idempotent
  });

  it('cuts long names on a code point boundary and keeps the extension', () => {
    const name = safe('가'.repeat(200) + '.pdf');
    expect(utf8Encode(name).length).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(name).toBe('가'.repeat(32) + '.pdf'); // 32 × 3 + 4 = 100 bytes
    const emoji = safe('😀'.repeat(60));
    expect(emoji).toBe('😀'.repeat(25));
    expect(safe(emoji)).toBe(emoji);
    const longExt = safe('x.' + 'y'.repeat(150));
    expect(utf8Encode(longExt).length).toBe(MAX_FILE_NAME_BYTES);
    expect(safe(longExt)).toBe(longExt);
  });

  it('de-duplicates ignoring case, within the byte limit', () => {
    const taken = new Set<string>();
    expect(['a.txt', 'A.TXT', 'a.txt', 'a (2).txt'].map((n) => safeFileName(n, taken))).toEqual([
      'a.txt', 'A (2).TXT', 'a (3).txt', 'a (2) (2).txt',
    ]);
    expect(taken.has(fileNameKey('A (2).TXT'))).toBe(true);
    const long = 'z'.repeat(300) + '.txt';
    const t2 = new Set<string>();
    const first = safeFileName(long, t2);
    const second = safeFileName(long, t2);
    expect(second).toBe('z'.repeat(MAX_FILE_NAME_BYTES - 8) + ' (2).txt');
    expect(utf8Encode(first).length).toBe(MAX_FILE_NAME_BYTES);
    expect(utf8Encode(second).length).toBe(MAX_FILE_NAME_BYTES);
  });

  it('is idempotent on random hostile names', () => {
    const alphabet = ['a', '.', ' ', '/', '\\', ':', '가', '😀', '\u202e', '\u0000', 'C', 'O', 'N', '\ud800', 'e\u0301'];
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const len = Math.floor(Math.random() * 80);
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
      const once = safe(s);
      expect(safe(once)).toBe(once);
      expect(once).not.toMatch(/[/\\:\u0000\u202e]|^[. ]|[. ]$/);
      expect(utf8Encode(once).length).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    }
  });
});
