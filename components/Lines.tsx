import { Box, Text } from 'ink';

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

/** `height` lines of `lines` from `scroll`, one terminal line each. */
export function Lines({ lines, scroll = 0, height, width }: { lines: readonly Line[]; scroll?: number; height: number; width: number }) {
  const shown = lines.slice(scroll, scroll + height);
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
