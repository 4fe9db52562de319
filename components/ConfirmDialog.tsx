import { Box, Text } from 'ink';
import type { Preview } from './hooks/useMarkPreview.js';
import { shortId } from './columns.js';
import { G } from './glyphs.js';
import { Lines, linesPage } from './Lines.js';
import { outcomeLines } from './outcomes.js';
import { needsCount, type DialogState } from './state.js';
import type { Theme } from './theme.js';
import { ACTIONS, capitalize } from '../src/core/mark.js';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export interface DialogLayout {
  /** Too short even for the essentials: the dialog says how many rows it needs. */
  tooSmall: boolean;
  needRows: number;
  bordered: boolean;
  /** The note on a line of its own; else after the focused field. */
  noteLine: boolean;
  listHeight: number;
  summary: boolean;
  cascade: boolean;
}

/**
 * What fits in `height` rows. The essentials always come first: the title
 * (the counts), the warning about marks outside the filter, the reason, the
 * count, a note and the buttons; then the summary, the cascade switch, the
 * list (with a scroll indicator) and a border as room allows.
 */
export function dialogLayout(d: DialogState, changeCount: number | null, hasChildren: boolean, height: number): DialogLayout {
  const essentials = 1 + (d.outside.length > 0 ? 1 : 0) + 1 + (needsCount(d, changeCount) ? 1 : 0) + 1;
  const note = d.note ? 1 : 0;
  const cascadeLines = hasChildren ? 1 : 0;
  const full = essentials + note + 1 + cascadeLines + 2; // note, summary, cascade, border
  if (height >= full + 1) return { tooSmall: false, needRows: essentials, bordered: true, noteLine: true, listHeight: height - full, summary: true, cascade: hasChildren };
  if (height < essentials) return { tooSmall: true, needRows: essentials, bordered: false, noteLine: false, listHeight: 0, summary: false, cascade: false };
  let spare = height - essentials;
  const noteLine = note > 0 && spare >= 1;
  if (noteLine) spare--;
  return { tooSmall: false, needRows: essentials, bordered: false, noteLine, listHeight: 0, summary: spare >= 1, cascade: hasChildren && spare >= 2 };
}

/** Lines one page of the dialog's list scrolls by. */
export function dialogPage(d: DialogState, preview: Preview, hasChildren: boolean, height: number): number {
  const ready = preview.status === 'ready' ? preview : null;
  const l = dialogLayout(d, ready?.changeCount ?? null, hasChildren, height);
  return Math.max(1, linesPage(ready?.items.length ?? 0, l.listHeight));
}

/** "Cancel 30 + 30 running children = 60": what was selected, what cascades, the total. */
export function dialogTitle(d: DialogState, preview: Preview): string {
  const verb = capitalize(ACTIONS[d.action].verb);
  if (preview.status !== 'ready') return `${verb} ${plural(d.ids.length, 'execution')}`;
  const changing = preview.items.filter((i) => i.result.outcome.startsWith('would'));
  const children = changing.filter((i) => i.result.cascaded).length;
  const selected = changing.length - children;
  if (children === 0) return `${verb} ${plural(selected, 'execution')}`;
  return `${verb} ${selected} + ${plural(children, 'running child', 'running children')} = ${preview.changeCount}`;
}

/**
 * What a cancel or fail will change, read from the database (a dry run),
 * with the reason (focused, the default as a placeholder), the typed count
 * for big batches, the cascade switch, and No / Yes.
 */
export function ConfirmDialog({
  dialog: d,
  preview,
  writes,
  hasChildren = true,
  idTail,
  height,
  width,
  chrome = 5,
  terminalRows,
  theme: t,
}: {
  dialog: DialogState;
  /** Whether the source has child executions to cascade to (a status table has none). */
  hasChildren?: boolean;
  /** What the action writes, from the source. */
  writes: string;
  preview: Preview;
  idTail: number;
  height: number;
  width: number;
  /** Terminal rows around the dialog (header, status, footer), and the terminal's, to say what size it needs. */
  chrome?: number;
  terminalRows?: number;
  theme: Theme;
}) {
  const verb = capitalize(ACTIONS[d.action].verb);
  const ready = preview.status === 'ready' ? preview : null;
  const changeCount = ready?.changeCount ?? null;
  const layout = dialogLayout(d, changeCount, hasChildren, height);
  const inner = layout.bordered ? width - 4 : width;
  if (layout.tooSmall) {
    return (
      <Box flexDirection="column" height={height} width={width}>
        <Text wrap="wrap" color={t.danger}>{`${verb}: the dialog needs ${layout.needRows + chrome} rows (now ${terminalRows ?? height + chrome}); Esc closes`}</Text>
      </Box>
    );
  }

  const descendants = ready ? ready.items.filter((i) => i.result.cascaded) : [];
  const runningDescendants = descendants.filter((i) => i.result.outcome.startsWith('would')).length;
  const skipped = ready ? ready.items.length - ready.changeCount : 0;
  let summary: string;
  if (preview.status === 'loading') summary = `reading what will change${G().ellipsis}`;
  else if (preview.status === 'error') summary = `cannot read what will change: ${preview.message}`;
  else
    summary = `${preview.changeCount} will change: ${d.ids.length} selected${d.cascade ? ` + ${plural(runningDescendants, 'running descendant')}` : ''}${skipped ? ` ${G().dot} ${skipped} skipped` : ''}`;

  const focused = (f: DialogState['focus']) => d.focus === f;
  const button = (f: 'no' | 'yes', label: string) => (
    <Text inverse={focused(f)} bold={focused(f)} color={f === 'yes' ? t.danger : undefined}>
      {focused(f) ? `> ${label} <` : `  ${label}  `}
    </Text>
  );
  const inlineNote =
    d.note && !layout.noteLine ? (
      <Text bold color={t.warn}>
        {` ${d.note}`}
      </Text>
    ) : null;
  // The label stays; the text scrolls so that the caret is always in view.
  const reasonLabel = `${focused('reason') ? '>' : ' '} Reason: `;
  const room = Math.max(4, inner - reasonLabel.length - 1);
  const reasonChars = [...d.reason];
  const caret = Math.min(d.caret, reasonChars.length);
  const start = d.edited && focused('reason') ? Math.max(0, caret - room + 1) : 0;
  const shownChars = reasonChars.slice(start, start + room);
  const at = caret - start;
  const reasonField = (
    <Text wrap="truncate-end">
      <Text bold={focused('reason')}>{reasonLabel}</Text>
      {!d.edited ? (
        <>
          {focused('reason') ? <Text inverse> </Text> : null}
          <Text dimColor>{shownChars.slice(0, room - 1).join('')}</Text>
        </>
      ) : focused('reason') ? (
        <>
          <Text underline>{shownChars.slice(0, at).join('')}</Text>
          <Text inverse>{shownChars[at] ?? ' '}</Text>
          <Text underline>{shownChars.slice(at + 1).join('')}</Text>
        </>
      ) : (
        <Text>{shownChars.join('')}</Text>
      )}
      {focused('reason') ? inlineNote : null}
    </Text>
  );
  const countField = (
    <Text wrap="truncate-end">
      <Text bold={focused('count')}>{`${focused('count') ? '>' : ' '} Type ${changeCount ?? G().ellipsis} to confirm: `}</Text>
      <Text underline={focused('count')}>{d.typed}</Text>
      {focused('count') ? <Text inverse> </Text> : null}
      {focused('count') ? inlineNote : null}
    </Text>
  );
  const outsideText = `${G().warn} ${d.outside.length} marked outside the filter: ${d.outside.map((id) => shortId(id, idTail)).join(' ')} (acted on too)`;

  return (
    <Box flexDirection="column" borderStyle={layout.bordered ? G().border : undefined} borderColor={t.danger} height={height} width={width} paddingX={layout.bordered ? 1 : 0}>
      <Text bold wrap="truncate-end">
        {dialogTitle(d, preview)}
        <Text dimColor>{`  ${writes}${d.writing ? `  — writing${G().ellipsis}` : ''}`}</Text>
      </Text>
      {d.outside.length > 0 ? (
        <Text wrap="truncate-end" bold color={t.warn} inverse={!t.color}>
          {outsideText}
        </Text>
      ) : null}
      {layout.listHeight > 0 ? <Lines lines={ready ? outcomeLines(ready.items, t, idTail, inner) : []} scroll={d.scroll} height={layout.listHeight} width={inner} /> : null}
      {layout.summary ? (
        <Text wrap="truncate-end" color={preview.status === 'error' ? t.danger : undefined}>
          {summary}
        </Text>
      ) : null}
      {layout.cascade ? (
        <Text wrap="truncate-end">
          {`  [${d.cascade ? 'x' : ' '}] cascade to running descendants `}
          <Text dimColor>(t)</Text>
        </Text>
      ) : null}
      {reasonField}
      {needsCount(d, changeCount) ? countField : null}
      {d.note && layout.noteLine ? (
        <Text wrap="truncate-end" bold color={t.warn}>
          {`  ${d.note}`}
        </Text>
      ) : null}
      <Text wrap="truncate-end">
        {button('no', 'No')}
        {'  '}
        {button('yes', `Yes, ${verb.toLowerCase()}${changeCount === null ? '' : ` ${changeCount}`}`)}
        {focused('yes') || focused('no') ? inlineNote : null}
      </Text>
    </Box>
  );
}
