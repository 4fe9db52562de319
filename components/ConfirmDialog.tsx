import { Box, Text } from 'ink';
import type { Preview } from './hooks/useMarkPreview.js';
import { Lines } from './Lines.js';
import { outcomeLines } from './outcomes.js';
import { CONFIRM_COUNT_OVER, type DialogState } from './state.js';
import type { Theme } from './theme.js';
import { ACTIONS, capitalize } from '../src/noetl/vocabulary.js';

/**
 * What a cancel or fail will change, read from the database (a dry run),
 * with the reason, the cascade switch, the typed count for big batches,
 * and No / Yes with the focus starting on No.
 */
export function ConfirmDialog({ dialog: d, preview, writes, hasChildren = true, idTail, height, width, theme: t }: {
  dialog: DialogState;
  /** Whether the source has child executions to cascade to (a status table has none). */
  hasChildren?: boolean;
  /** What the action writes, from the source. */
  writes: string;
  preview: Preview;
  idTail: number;
  height: number;
  width: number;
  theme: Theme;
}) {
  const verb = capitalize(ACTIONS[d.action].verb);
  const ready = preview.status === 'ready' ? preview : null;
  const changeCount = ready?.changeCount ?? null;
  const needCount = (changeCount ?? d.ids.length) > CONFIRM_COUNT_OVER;
  const listHeight = Math.max(1, height - (needCount ? 8 : 7));
  const descendants = ready ? ready.items.filter((i) => i.result.cascaded) : [];
  const runningDescendants = descendants.filter((i) => i.result.outcome.startsWith('would')).length;
  const skipped = ready ? ready.items.length - ready.changeCount : 0;

  let summary: string;
  if (preview.status === 'loading') summary = 'reading what will change…';
  else if (preview.status === 'error') summary = `cannot read what will change: ${preview.message}`;
  else {
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    summary = `${preview.changeCount} will change: ${d.ids.length} selected${d.cascade ? ` + ${plural(runningDescendants, 'running descendant')}` : ''}${skipped ? ` · ${skipped} skipped` : ''}`;
  }

  const focused = (f: DialogState['focus']) => d.focus === f;
  const button = (f: 'no' | 'yes', label: string) => (
    <Text inverse={focused(f)} bold={focused(f)} color={f === 'yes' ? t.danger : undefined}>
      {focused(f) ? `> ${label} <` : `  ${label}  `}
    </Text>
  );
  const field = (f: 'reason' | 'count', label: string, value: string) => (
    <Text wrap="truncate-start">
      <Text bold={focused(f)}>{`${focused(f) ? '>' : ' '} ${label}: `}</Text>
      <Text underline={focused(f)}>{value}</Text>
      {focused(f) ? <Text inverse> </Text> : null}
    </Text>
  );

  return (
    <Box flexDirection="column" borderStyle="round" borderColor={t.danger} height={height} width={width} paddingX={1}>
      <Text bold wrap="truncate-end">
        {`${verb} ${d.ids.length} execution${d.ids.length === 1 ? '' : 's'}`}
        <Text dimColor>{`  ${writes}${d.writing ? '  — writing…' : ''}`}</Text>
      </Text>
      <Lines lines={ready ? outcomeLines(ready.items, t, idTail, width - 4) : []} scroll={d.scroll} height={listHeight} width={width - 4} />
      <Text wrap="truncate-end" color={preview.status === 'error' ? t.danger : undefined}>
        {summary}
      </Text>
      {hasChildren ? (
        <Text wrap="truncate-end">
          {`  [${d.cascade ? 'x' : ' '}] cascade to running descendants `}
          <Text dimColor>(t)</Text>
        </Text>
      ) : null}
      {field('reason', 'Reason', d.reason)}
      {needCount ? field('count', `Type ${changeCount ?? '…'} to confirm`, d.typed) : null}
      <Text>
        {button('no', 'No')}
        {'  '}
        {button('yes', `Yes, ${verb.toLowerCase()}${changeCount === null ? '' : ` ${changeCount}`}`)}
      </Text>
    </Box>
  );
}
