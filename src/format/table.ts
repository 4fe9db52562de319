import { cellWidth, fitCell } from './columns.js';
import { safeText } from '../sanitize.js';

export interface Column<T> {
  header: string;
  get: (row: T) => string;
  /** Columns that may shrink when the line is too wide. */
  flex?: boolean;
  align?: 'left' | 'right';
  /** Colour a fitted cell (a terminal only). */
  paint?: (row: T, text: string) => string;
}

/** Plain-text table: every cell sanitized, widths in terminal cells, flex columns shrink to `maxWidth`. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], maxWidth = 200): string[] {
  const cells = rows.map((r) => columns.map((c) => safeText(c.get(r), 200)));
  const widths = columns.map((c, i) => Math.max(cellWidth(c.header), ...cells.map((row) => cellWidth(row[i]!))));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  const flex = columns.map((c, i) => (c.flex ? i : -1)).filter((i) => i >= 0);
  while (total() > maxWidth && flex.some((i) => widths[i]! > 8)) {
    const widest = flex.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    widths[widest]! -= 1;
  }
  const line = (values: string[], row?: T) =>
    values
      .map((v, i) => {
        const text = fitCell(v, widths[i]!, columns[i]!.align);
        const paint = columns[i]!.paint;
        return row !== undefined && paint ? paint(row, text) : text;
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map((values, r) => line(values, rows[r]))];
}
