import { safeText } from '../sanitize.js';

export interface Column<T> {
  header: string;
  get: (row: T) => string;
  /** Columns that may shrink when the line is too wide. */
  flex?: boolean;
  align?: 'left' | 'right';
}

function width(text: string): number {
  return [...text].length;
}

function fit(text: string, w: number, align: 'left' | 'right' = 'left'): string {
  const chars = [...text];
  const cut = chars.length > w ? `${chars.slice(0, Math.max(0, w - 1)).join('')}…` : text;
  const pad = ' '.repeat(Math.max(0, w - width(cut)));
  return align === 'right' ? pad + cut : cut + pad;
}

/** Plain-text table: every cell sanitized, flex columns shrink to `maxWidth`. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], maxWidth = 200): string[] {
  const cells = rows.map((r) => columns.map((c) => safeText(c.get(r), 200)));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((row) => width(row[i]!))));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  const flex = columns.map((c, i) => (c.flex ? i : -1)).filter((i) => i >= 0);
  while (total() > maxWidth && flex.some((i) => widths[i]! > 8)) {
    const widest = flex.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    widths[widest]! -= 1;
  }
  const line = (values: string[]) =>
    values
      .map((v, i) => fit(v, widths[i]!, columns[i]!.align))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)];
}
