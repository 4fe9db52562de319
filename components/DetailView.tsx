import { Box, Text } from 'ink';
import { safeText } from '../src/sanitize.js';
import type { Detail } from './hooks/useDetail.js';
import { Lines, type Line } from './Lines.js';
import type { Theme } from './theme.js';
import { G } from './glyphs.js';

/** One execution in full; the body scrolls. */
export function DetailView({
  detail,
  lines,
  scroll,
  height,
  width,
  theme,
}: {
  detail: Detail;
  lines: readonly Line[];
  scroll: number;
  height: number;
  width: number;
  theme: Theme;
}) {
  const e = detail.data?.execution;
  const title = e ? `Execution ${e.execution_id}  ${safeText(e.path ?? '?', 60)}` : `Execution ${detail.id ?? ''}`;
  let body;
  if (detail.data === undefined) body = <Text>{detail.error ? `cannot load: ${detail.error}` : `loading${G().ellipsis}`}</Text>;
  else if (detail.data === null) body = <Text>{`execution ${detail.id ?? ''} has no events (not found)`}</Text>;
  else body = <Lines lines={lines} scroll={scroll} height={height - 1} width={width} />;
  return (
    <Box flexDirection="column" height={height}>
      <Text bold wrap="truncate-end" color={theme.accent}>
        {title}
        {detail.error && detail.data ? <Text color={theme.danger}>{`  (stale: ${detail.error})`}</Text> : null}
      </Text>
      {body}
    </Box>
  );
}
