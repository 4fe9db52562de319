import { Box } from 'ink';
import { helpLines } from './keymap.js';
import { Lines, seg, type Line } from './Lines.js';
import type { Theme } from './theme.js';

/** Every key, generated from the keymap that dispatches them. */
export function helpBody(theme: Theme): Line[] {
  const out: Line[] = [];
  for (const group of helpLines()) {
    out.push([seg(group.title, { bold: true, color: theme.accent })]);
    for (const row of group.rows) out.push([seg(`  ${row.keys.padEnd(14)}`, { bold: true }), seg(row.help)]);
  }
  out.push([seg('In text fields (filter, reason, count) keys type text; Backspace deletes.', { dim: true })]);
  return out;
}

export function HelpView({ lines, scroll, height, width }: { lines: readonly Line[]; scroll: number; height: number; width: number }) {
  return (
    <Box flexDirection="column" height={height}>
      <Lines lines={lines} scroll={scroll} height={height} width={width} />
    </Box>
  );
}
