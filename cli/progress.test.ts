import { describe, expect, it } from 'vitest';
import { formatBytes, PROGRESS_MIN_BYTES, ProgressBar } from './progress.ts';

function sink(isTTY: boolean) {
  const written: string[] = [];
  return { written, out: { isTTY, columns: 100, write: (s: string | Uint8Array) => (written.push(String(s)), true) } };
}

describe('ProgressBar', () => {
  it('draws on a terminal for a large bundle, and clears its line', () => {
    const { written, out } = sink(true);
    const bar = new ProgressBar(out, PROGRESS_MIN_BYTES * 2);
    bar.setLabel('1/2 quiet-otter');
    bar.advance(PROGRESS_MIN_BYTES);
    bar.setLabel('2/2 quiet-otter');
    bar.clear();
    expect(written[0]).toMatch(/^\r\u001b\[2Ksealdrop: \[-{24}\]   0% 0 B \/ 32\.0 MiB .* 1\/2 quiet-otter$/);
    expect(written.at(-2)).toMatch(/\[#{12}-{12}\]  50% 16\.0 MiB \/ 32\.0 MiB/);
    expect(written.at(-1)).toBe('\r\u001b[2K');
  });

  it('stays silent when stderr is not a terminal, or the bundle is small', () => {
    for (const [tty, size] of [[false, PROGRESS_MIN_BYTES * 4], [true, PROGRESS_MIN_BYTES - 1]] as const) {
      const { written, out } = sink(tty);
      const bar = new ProgressBar(out, size);
      bar.setLabel('x');
      bar.advance(size);
      bar.clear();
      expect(written).toEqual([]);
    }
  });

  it('formats sizes', () => {
    expect([formatBytes(512), formatBytes(2048), formatBytes(3 * 1024 ** 2), formatBytes(1.5 * 1024 ** 3)]).toEqual(['512 B', '2.0 KiB', '3.0 MiB', '1.50 GiB']);
  });
});
