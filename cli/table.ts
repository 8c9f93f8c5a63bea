/**
 * @module cli/table — plain-text tables for stdout: aligned columns, two spaces apart. Every cell is
 * made `printable` (cells hold handles, reasons and names from bundles), so no cell can break a row.
 */
import { printable } from './errors.ts';

export function formatTable(header: string[], rows: string[][]): string {
  rows = rows.map((r) => r.map(printable));
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c)))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function width(text: string): number {
  return Array.from(text).length;
}
