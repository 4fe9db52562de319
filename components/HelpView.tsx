import { Box } from 'ink';
import { helpLines } from './keymap.js';
import { Lines, seg, type Line } from './Lines.js';
import type { Theme } from './theme.js';
import { clockTime } from './connection.js';
import type { BatchRecord } from '../src/noetl/history.js';
import { safeText } from '../src/sanitize.js';
import type { Action } from '../src/core/mark.js';

/** Every key, generated from the keymap that dispatches them. */
export function helpBody(theme: Theme, actions?: readonly Action[]): Line[] {
  const out: Line[] = [];
  for (const group of helpLines(actions)) {
    out.push([seg(group.title, { bold: true, color: theme.accent })]);
    for (const row of group.rows) out.push([seg(`  ${row.keys.padEnd(14)}`, { bold: true }), seg(row.help)]);
  }
  out.push([seg('In text fields (filter, reason, count) keys type text; Backspace deletes.', { dim: true })]);
  return out;
}

/** The last database error, whole, cut into lines of `width`. */
export function errorBody(last: { text: string; at: number } | null, width: number, theme: Theme): Line[] {
  if (!last) return [[seg('No database error this session.')], [seg('Esc closes.', { dim: true })]];
  const out: Line[] = [[seg(`Last database error, at ${clockTime(last.at)}:`, { bold: true, color: theme.danger })]];
  const chars = [...last.text];
  const w = Math.max(10, width);
  for (let i = 0; i < chars.length; i += w) out.push([seg(chars.slice(i, i + w).join(''))]);
  out.push([seg('Esc closes.', { dim: true })]);
  return out;
}

/** The batches noetl-console wrote (src/noetl/history.ts), one line each; null while loading. */
export function historyBody(batches: readonly BatchRecord[] | null | Error, theme: Theme): Line[] {
  const head: Line = [seg("Batches written by noetl-console in the last 7 days, every operator's, newest first", { bold: true, color: theme.accent })];
  if (batches === null) return [head, [seg('reading…', { dim: true })]];
  if (batches instanceof Error) return [head, [seg(batches.message, { color: theme.danger })]];
  if (batches.length === 0) return [head, [seg('none')]];
  return [
    head,
    ...batches.map((b): Line => [
      seg(`${b.started_at.slice(0, 19).replace('T', ' ')}  `),
      seg(`${b.batch_id}  `, { bold: true }),
      seg(`${b.action ?? '?'} ${b.executions}  `),
      seg(`${safeText(`${b.os_user ?? '?'}@${b.host ?? '?'}`, 40)}  `, { dim: true }),
      seg(safeText(b.reason ?? '', 200)),
    ]),
    [seg('noetl-console verify BATCH tells what the engine did since; Esc closes.', { dim: true })],
  ];
}

export function HelpView({ lines, scroll, height, width }: { lines: readonly Line[]; scroll: number; height: number; width: number }) {
  return (
    <Box flexDirection="column" height={height}>
      <Lines lines={lines} scroll={scroll} height={height} width={width} />
    </Box>
  );
}
