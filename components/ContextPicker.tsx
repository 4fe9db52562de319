import { Box } from 'ink';
import type { ContextChoice } from '../src/config-file.js';
import { safeText } from '../src/sanitize.js';
import { Lines, seg, type Line } from './Lines.js';
import type { Theme } from './theme.js';

/** The config file's contexts, one a line: name, source, where it reads, read-only; the current one starred. */
export function pickerLines(contexts: readonly ContextChoice[], index: number, current: string | null, theme: Theme): Line[] {
  const cell = (text: string, width: number) => safeText(text, 40).padEnd(width);
  const w = (pick: (c: ContextChoice) => string) => Math.min(40, Math.max(...contexts.map((c) => safeText(pick(c), 40).length)));
  const [wn, ws, ww] = [w((c) => c.name), w((c) => c.source), w((c) => c.where)];
  const out: Line[] = [[seg('Switch context', { bold: true, color: theme.accent }), seg('   Enter switch · Esc cancel', { dim: true })]];
  contexts.forEach((c, i) => {
    const at = i === index;
    out.push([
      seg(`${at ? '>' : ' '}${c.name === current ? '*' : ' '} `, { bold: at }),
      seg(cell(c.name, wn), { bold: true, inverse: at || !theme.color, color: theme.color ? (c.colour ?? theme.accent) : undefined }),
      seg(`  ${cell(c.source, ws)}  ${cell(c.where, ww)}  `, { bold: at }),
      c.readOnly ? seg('read-only', { bold: true, color: theme.warn }) : seg('read-write'),
    ]);
  });
  return out;
}

export function ContextPicker({ lines, index, height, width }: { lines: readonly Line[]; index: number; height: number; width: number }) {
  // The cursor line (title first) stays in view.
  const scroll = Math.max(0, Math.min(index + 1 - (height - 2), lines.length - height));
  return (
    <Box flexDirection="column" height={height}>
      <Lines lines={lines} scroll={scroll} height={height} width={width} />
    </Box>
  );
}
