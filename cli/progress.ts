/** @module cli/progress — a one-line progress bar on stderr, drawn only on a terminal. */

import { printable } from './errors.ts';
import type { CliWritable } from './io.ts';

/** Bundles smaller than this finish too fast for a bar to help. */
export const PROGRESS_MIN_BYTES = 16 * 1024 * 1024;
const REDRAW_MS = 200;

export class ProgressBar {
  private readonly out: CliWritable;
  private readonly total: number;
  private readonly enabled: boolean;
  private readonly started = Date.now();
  private lastDraw = 0;
  private done = 0;
  private label = '';
  private drawn = false;

  constructor(out: CliWritable, totalBytes: number) {
    this.out = out;
    this.total = totalBytes;
    this.enabled = out.isTTY === true && totalBytes >= PROGRESS_MIN_BYTES;
  }

  setLabel(label: string): void {
    this.label = printable(label);
    this.draw(true);
  }

  advance(bytes: number): void {
    this.done += bytes;
    this.draw(false);
  }

  /** Removes the bar so that the next message starts on a clean line. */
  clear(): void {
    if (this.enabled && this.drawn) {
      this.out.write('\r\u001b[2K');
      this.drawn = false;
    }
  }

  private draw(force: boolean): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const fraction = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const width = 24;
    const filled = Math.round(fraction * width);
    const seconds = Math.max(0.001, (now - this.started) / 1000);
    const rate = this.done / seconds / 1024 ** 2;
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const line = `sealdrop: ${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(this.done)} / ${formatBytes(this.total)} ${rate.toFixed(1)} MiB/s ${this.label}`;
    const columns = this.out.columns || 80; // 0 on a terminal that reports no size
    this.out.write(`\r\u001b[2K${line.slice(0, Math.max(20, columns - 1))}`);
    this.drawn = true;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
