import { Box, Text } from 'ink';
import type { Line as SpanLine } from '../src/format/spans.js';
import { G } from './glyphs.js';
import type { Theme } from './theme.js';

/** A piece of a line with its style; lines are arrays of these. */
export interface Seg {
  text: string;
  color?: string | undefined;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}
export type Line = Seg[];

export const seg = (text: string, style: Omit<Seg, 'text'> = {}): Seg => ({ text, ...style });

/** A line of the shared formats (src/format/spans.ts) in this theme's colours. */
export function toSegs(line: SpanLine, theme: Theme): Line {
  return line.map(({ tone, ...style }) => ({ ...style, color: tone ? theme[tone] : undefined }));
}

/** How many lines fit in `height` when the last one may be the scroll indicator. */
export function linesPage(total: number, height: number): number {
  return total > height ? Math.max(1, height - 1) : height;
}

/** "↑ 3 above  ↓ 40 more" when there is more than the view shows, else null. */
export function moreText(total: number, scroll: number, height: number): string | null {
  const page = linesPage(total, height);
  if (total <= height) return null;
  const below = Math.max(0, total - scroll - page);
  return [scroll > 0 ? `${G().up} ${scroll} above` : '', below > 0 ? `${G().down} ${below} more` : ''].filter(Boolean).join('  ') + '  (PgUp PgDn)';
}

/**
 * `height` lines of `lines` from `scroll`, one terminal line each; when they
 * do not all fit, the last line says how many more there are.
 */
export function Lines({ lines, scroll = 0, height, width }: { lines: readonly Line[]; scroll?: number; height: number; width: number }) {
  const page = linesPage(lines.length, height);
  const more = moreText(lines.length, scroll, height);
  const shown: Line[] = lines.slice(scroll, scroll + page);
  if (more) shown.push([seg(more, { dim: true })]);
  return (
    <Box flexDirection="column" height={height} width={width}>
      {shown.map((line, i) => (
        <Text key={i} wrap="truncate-end">
          {line.length === 0
            ? ' '
            : line.map((s, j) => (
                <Text key={j} color={s.color} bold={s.bold} dimColor={s.dim} inverse={s.inverse}>
                  {s.text}
                </Text>
              ))}
        </Text>
      ))}
    </Box>
  );
}
