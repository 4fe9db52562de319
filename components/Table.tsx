import { memo } from 'react';
import { Box, Text } from 'ink';
import { cellText, fit, MARKER_WIDTH, type Column } from './columns.js';
import type { Row, Sort } from './rows.js';
import { G } from './glyphs.js';
import type { Theme } from './theme.js';
import { FIELD, type ColumnKey } from '../src/format/columns.js';

interface Props {
  rows: readonly Row[];
  /** Index of the first row to show (see windowTop). */
  top: number;
  height: number;
  cursor: number;
  marks: ReadonlySet<string>;
  columns: readonly Column[];
  /** The column the rows are sorted by: its title carries the direction. */
  sort?: Sort;
  idTail: number;
  theme: Theme;
  emptyText: string;
}

/** The first visible row: moves only as far as needed to keep the cursor in view. */
export function windowTop(prevTop: number, cursor: number, height: number, total: number): number {
  let top = prevTop;
  if (cursor < top) top = cursor;
  if (cursor >= top + height) top = cursor - height + 1;
  return Math.max(0, Math.min(top, Math.max(0, total - height)));
}

/** The colour the field gives a cell (src/format/columns.ts), in this theme. */
function toneColor(theme: Theme, e: Row['e'], key: ColumnKey): string | undefined {
  const tone = FIELD[key].tone?.(e);
  return tone ? theme[tone] : undefined;
}

/** Only the rows in view are rendered, one terminal line each. */
export function Table(p: Props) {
  const t = p.theme;
  const arrow = p.sort?.desc ? G().down : G().up;
  const head = p.columns.map((c) => fit(c.key === p.sort?.key ? `${c.title}${arrow}` : c.title, c.width, c.align)).join(' ');
  const visible = p.rows.slice(p.top, p.top + p.height);
  return (
    <Box flexDirection="column" height={p.height + 1}>
      <Text bold wrap="truncate-end">
        {' '.repeat(MARKER_WIDTH)}
        {head}
      </Text>
      {visible.length === 0 ? <Text dimColor>{p.emptyText}</Text> : null}
      {visible.map((row, i) => (
        <TableRow key={row.e.execution_id} row={row} isCursor={p.top + i === p.cursor} marked={p.marks.has(row.e.execution_id)} columns={p.columns} idTail={p.idTail} theme={t} />
      ))}
    </Box>
  );
}

interface RowProps {
  row: Row;
  isCursor: boolean;
  marked: boolean;
  columns: readonly Column[];
  idTail: number;
  theme: Theme;
}

/** One line; memoized, so that a cursor move renders the two rows it changes, not the whole page. */
const TableRow = memo(function TableRow({ row, isCursor, marked, columns, idTail, theme: t }: RowProps) {
  const marker = `${isCursor ? '>' : ' '}${marked ? '*' : ' '} `;
  const cells = columns.map((c) => {
    let text = c.key === 'diag' && row.gone ? row.gone : cellText(row.e, c.key, idTail);
    if (c.key === 'path' && row.depth) text = `${'  '.repeat(row.depth - 1)}${G().branch} ${text}`;
    return { key: c.key, text: fit(text, c.width, c.align) };
  });
  const rowColor = marked ? t.mark : undefined;
  // Cells in the fields' order; a field with a tone (the diagnosis) colours its own cell.
  const plain = row.gone !== null || marked || isCursor;
  return (
    <Text wrap="truncate-end" inverse={isCursor} dimColor={row.gone !== null} bold={marked} color={rowColor}>
      {marker}
      {cells.map((c, n) => {
        const text = `${n === 0 ? '' : ' '}${c.text}`;
        const color = plain ? undefined : toneColor(t, row.e, c.key);
        return color ? (
          <Text key={c.key} color={color}>
            {text}
          </Text>
        ) : (
          text
        );
      })}
    </Text>
  );
});
