import { Box, Text, useApp, useInput } from 'ink';
import { useCallback, useEffect, useEffectEvent, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'react';
import { currentActor, newBatch, type Actor } from '../src/audit.js';
import { safeText } from '../src/sanitize.js';
import type { BatchRecord } from '../src/noetl/history.js';
import type { ExecutionSource } from '../src/source.js';
import { layoutColumns } from './columns.js';
import { FIELD } from '../src/format/columns.js';
import { clockTime, errorLine } from './connection.js';
import { ConfirmDialog, dialogPage } from './ConfirmDialog.js';
import { ContextPicker, pickerLines } from './ContextPicker.js';
import type { ContextChoice } from '../src/config-file.js';
import { DetailView } from './DetailView.js';
import { detailLines } from './detailLines.js';
import type { Filter } from './filters.js';
import { Footer } from './Footer.js';
import { Header } from './Header.js';
import { errorBody, helpBody, historyBody, HelpView } from './HelpView.js';
import { useDetail } from './hooks/useDetail.js';
import { useLiveList } from './hooks/useLiveList.js';
import { useMarkPreview } from './hooks/useMarkPreview.js';
import { useNow } from './hooks/useNow.js';
import { useTerminalSize } from './hooks/useTerminalSize.js';
import { keyNames } from './keymap.js';
import { ResultsView } from './ResultsView.js';
import { matchRows, sortRows, treeRows, type Row } from './rows.js';
import { narrows, parseFilter, type ParsedFilter } from '../src/core/filter-language.js';
import { initialState, reduce, scopeOf, type View } from './state.js';
import { StatusLine } from './StatusLine.js';
import { Table, windowTop } from './Table.js';
import { themeFor } from './theme.js';
import { G } from './glyphs.js';
import { isChange, type MarkResult, ACTIONS, type Action } from '../src/core/mark.js';
import type { Execution } from '../src/core/execution.js';

export interface AppProps {
  source: ExecutionSource;
  readOnly: boolean;
  filter: Filter;
  refreshSeconds: number;
  color: boolean;
  actor?: Actor;
  /** How long after a write to check that the engine honoured it (tests shorten it). */
  verifyAfterMs?: number;
  /** The config file's context in effect, shown in the header. */
  context?: { name: string; colour: string | null; readOnly?: boolean } | null;
  /** The config file's contexts (the `x` picker); none without a config file's contexts. */
  contexts?: readonly ContextChoice[];
  /** Open the context the picker chose (the filter carries over); resolves with an error line when it cannot. */
  onSwitchContext?: (name: string, filter: Filter) => Promise<string | null>;
  /** Shown in the status line at start (after a context switch). */
  notice?: string | null;
  /** From --reason: the dialog opens with it. */
  reason?: string | null;
  /** Called with the exit status when the operator quits (130 after Ctrl-C). */
  onQuit?: (code: number) => void;
  /** Puts text on the clipboard; by default OSC 52 to the terminal (tests pass their own). */
  clipboard?: (text: string) => void;
}

/** OSC 52: the terminal (and tmux, and an SSH client's terminal) sets its clipboard. */
export function osc52(text: string): string {
  return `\u001B]52;c;${Buffer.from(text).toString('base64')}\u0007`;
}
const writeClipboard = (text: string) => {
  process.stdout.write(osc52(text));
};

/** Lines around the body: header 2, status 1, footer 1, and one spare so the frame stays shorter than the terminal. */
const CHROME_LINES = 5;
/** How long after a write the console checks that the engine honoured it. */
export const VERIFY_AFTER_MS = 15_000;

const NO_CONTEXTS: readonly ContextChoice[] = [];

export function App({
  source,
  readOnly,
  filter,
  refreshSeconds,
  color,
  actor: givenActor,
  verifyAfterMs = VERIFY_AFTER_MS,
  context,
  contexts = NO_CONTEXTS,
  onSwitchContext,
  notice = null,
  reason: presetReason = null,
  onQuit,
  clipboard = writeClipboard,
}: AppProps) {
  const { exit } = useApp();
  const size = useTerminalSize();
  const theme = themeFor(color);
  const actor = useMemo(() => givenActor ?? currentActor(), [givenActor]);
  const [s, dispatch] = useReducer(reduce, filter, (f) => ({ ...initialState(f), message: notice ? { text: notice, tone: 'info' as const } : null }));
  const scope = scopeOf(s);
  const dialog = s.overlay?.kind === 'dialog' ? s.overlay : null;
  const refreshMs = refreshSeconds * 1000;

  const keep = useRef<ReadonlySet<string>>(new Set());
  const live = useLiveList({
    source,
    filter: s.filter,
    refreshMs,
    paused: s.paused,
    frozen: dialog !== null,
    refreshToken: s.refreshToken,
    reconcileToken: s.reconcileToken,
    keepIds: useCallback(() => keep.current, []),
  });
  const now = useNow(live.connection.state === 'down');
  // A hot standby reads like a primary and refuses every write: the header says so.
  const [replica, setReplica] = useState(false);
  const connected = live.connection.state === 'up';
  const halfMinute = Math.floor((live.refreshedAt ?? 0) / 30_000);
  useEffect(() => {
    let alive = true;
    source.db.isReplica?.().then(
      (r) => alive && setReplica(r),
      () => undefined,
    );
    return () => {
      alive = false;
    };
    // Again after a reconnect, and every half minute: a standby can be promoted under a live console.
  }, [source.db, connected, halfMinute]);

  // Rows shown, and where the cursor is (by id; by position when its row left).
  // The expression as typed; while it does not parse, the last one that did stays in force.
  const parsed = useMemo(() => {
    try {
      return { filter: parseFilter(s.filter.text), error: null };
    } catch (error) {
      return { filter: null, error: (error as Error).message };
    }
  }, [s.filter.text]);
  const goodFilter = useRef<ParsedFilter>(parseFilter(''));
  if (parsed.filter) goodFilter.current = parsed.filter;
  const inForce = goodFilter.current;
  // A word typed on keeps a subset of what the filter kept a keystroke ago: only those are read again.
  const lastMatch = useRef<{ rows: readonly Row[]; filter: ParsedFilter; kept: readonly Row[] } | null>(null);
  const visible = useCallback(
    (f: ParsedFilter) => {
      const last = lastMatch.current;
      const kept = matchRows(last && last.rows === live.rows && narrows(last.filter, f) ? last.kept : live.rows, f);
      lastMatch.current = { rows: live.rows, filter: f, kept };
      const rows = sortRows(kept, s.sort);
      return s.filter.includeChildren ? treeRows(rows) : rows;
    },
    [live.rows, s.sort, s.filter.includeChildren],
  );
  const shown = useMemo(() => visible(inForce), [visible, inForce]);
  const { ids, goneIds } = useMemo(() => {
    const ids: string[] = new Array<string>(shown.length);
    const goneIds = new Set<string>();
    for (let i = 0; i < shown.length; i++) {
      const r = shown[i]!;
      ids[i] = r.e.execution_id;
      if (r.gone) goneIds.add(r.e.execution_id);
    }
    return { ids, goneIds };
  }, [shown]);
  const found = useMemo(() => (s.cursorId === null ? -1 : ids.indexOf(s.cursorId)), [ids, s.cursorId]);
  const cursorIdx = Math.max(0, Math.min(found >= 0 ? found : s.cursorIndex, ids.length - 1));
  const cursorId = ids[cursorIdx] ?? null;
  keep.current = new Set(cursorId ? [...s.marks, cursorId] : s.marks);
  const marksRef = useRef(s.marks);
  marksRef.current = s.marks;
  useEffect(() => {
    if (cursorId !== null && cursorId !== s.cursorId) dispatch({ type: 'cursor', id: cursorId, index: cursorIdx });
  }, [cursorId, cursorIdx, s.cursorId]);
  useEffect(() => {
    if (live.refreshedAt === null) return;
    if (marksRef.current.size > 0) dispatch({ type: 'pruneMarks', keep: new Set(live.rows.map((r) => r.e.execution_id)) });
    dispatch({ type: 'refreshed' });
  }, [live.rows, live.refreshedAt]);

  const detail = useDetail(source, s.detail?.id ?? null, { refreshMs, paused: s.paused, frozen: dialog !== null, refreshToken: s.refreshToken });
  const preview = useMarkPreview(source, dialog, actor);

  // Layout: the body is what is left between header/status and footer.
  const width = Math.max(20, size.columns);
  const bodyHeight = Math.max(3, size.rows - CHROME_LINES);
  const { shortTail, fullWidth } = live.idWidths;
  // Full ids when the terminal has room for them and still for path and diagnosis.
  // The RATIO field's own rule (src/format/columns.ts), as `list` applies it.
  const withRatio = useMemo(() => FIELD.ratio.shownFor!(live.rows.map((r) => r.e)), [live.rows]);
  const { columns, idTail } = useMemo(() => {
    const wide = layoutColumns(width, fullWidth, withRatio);
    const w = (k: string) => wide.find((c) => c.key === k)?.width ?? 0;
    if (fullWidth > 0 && w('step') > 0 && w('path') >= 20 && w('diag') >= 22) return { columns: wide, idTail: fullWidth };
    return { columns: layoutColumns(width, shortTail + 1, withRatio), idTail: shortTail };
  }, [width, fullWidth, shortTail, withRatio]);
  const tableHeight = bodyHeight - 1;
  const topRef = useRef(0);
  const top = windowTop(topRef.current, cursorIdx, tableHeight, ids.length);
  topRef.current = top;

  const selectedChild = s.detail?.child ?? null;
  const dLines = useMemo(() => (detail.data ? detailLines(detail.data, theme, selectedChild) : []), [detail.data, theme, selectedChild]);
  const detailChildren = useMemo(() => detail.data?.children.map((c) => c.execution_id) ?? [], [detail.data]);
  // Read-only or a source without an action: its keys are not offered at all.
  const actions = useMemo(() => (readOnly ? [] : source.actions), [readOnly, source.actions]);
  const [lastError, setLastError] = useState<{ text: string; at: number } | null>(null);
  const downError = live.connection.state === 'down' ? live.connection.error : null;
  useEffect(() => {
    if (downError) setLastError({ text: downError, at: Date.now() });
  }, [downError]);
  const errorOverlay = s.overlay?.kind === 'help' && s.overlay.error === true;
  const historyOverlay = s.overlay?.kind === 'help' && s.overlay.history === true;
  const [batches, setBatches] = useState<BatchRecord[] | null | Error>(null);
  useEffect(() => {
    if (!historyOverlay) return;
    let alive = true;
    setBatches(null);
    const read = source.history
      ? source.history({ sinceSeconds: 7 * 86400, user: null, reason: null, executionId: null, batchId: null, limit: 200 })
      : Promise.reject(new Error(`source ${source.name} keeps no batch history (a status table keeps it next to each row's reason)`));
    read.then(
      (b) => alive && setBatches(b),
      (error: unknown) => alive && setBatches(new Error(errorLine(error, source.db.label))),
    );
    return () => {
      alive = false;
    };
  }, [historyOverlay, source]);
  const help = useMemo(
    () => (errorOverlay ? errorBody(lastError, width - 1, theme) : historyOverlay ? historyBody(batches, theme) : helpBody(theme, actions)),
    [errorOverlay, historyOverlay, batches, lastError, width, theme, actions],
  );
  const executions = useMemo(() => {
    const m = new Map<string, Execution>();
    if (preview.status === 'ready') for (const i of preview.items) if (i.execution) m.set(i.execution.execution_id, i.execution);
    return m;
  }, [preview]);

  const contextNames = useMemo(() => contexts.map((c) => c.name), [contexts]);
  const picker = useMemo(() => (s.overlay?.kind === 'contexts' ? pickerLines(contexts, s.overlay.index, context?.name ?? null, theme) : []), [s.overlay, contexts, context, theme]);

  let bodyLines = 0;
  let pageSize = tableHeight;
  if (s.overlay?.kind === 'help') {
    bodyLines = help.length;
    pageSize = bodyHeight;
  } else if (s.overlay?.kind === 'contexts') {
    bodyLines = contexts.length;
    pageSize = bodyHeight - 1;
  } else if (s.overlay?.kind === 'results') {
    bodyLines = s.overlay.results?.length ?? 0;
    pageSize = bodyHeight - 1;
  } else if (dialog) {
    bodyLines = preview.status === 'ready' ? preview.items.length : 0;
    pageSize = dialogPage(dialog, preview, source.hasChildren, bodyHeight);
  } else if (s.detail) {
    bodyLines = dLines.length;
    pageSize = bodyHeight - 2;
  }

  const view: View = {
    ids,
    goneIds,
    cursorIdx,
    pageSize,
    bodyLines,
    readOnly,
    readOnlyWhy: context?.readOnly ? `context ${context.name} is read-only` : undefined,
    contexts: contextNames,
    context: context?.name ?? null,
    actions: source.actions,
    connected: live.connection.state === 'up',
    changeCount: preview.status === 'ready' ? preview.changeCount : null,
    defaultReason: (action: Action) => `stuck: ${ACTIONS[action].done.toLowerCase()} by ${actor.os_user} with noetl-console`,
    presetReason,
    filterError: parsed.error,
    detailChildren,
    filterText: inForce.text === s.filter.text.trim() ? s.filter.text : undefined,
    idsFor: (text: string) => {
      try {
        return visible(parseFilter(text)).map((r) => r.e.execution_id);
      } catch {
        return null;
      }
    },
  };
  // A key sees the view on screen when it is pressed. One handler for the app's
  // life (a new one would make Ink resubscribe after every frame) reads it from a
  // ref set at commit: not an Effect Event, which React allows only in effects.
  const viewRef = useRef(view);
  useLayoutEffect(() => {
    viewRef.current = view;
  });
  useInput(
    useCallback((input, key) => {
      for (const name of keyNames(input, key)) dispatch({ type: 'key', name, view: viewRef.current });
    }, []),
  );

  const verifyTimer = useRef<NodeJS.Timeout | undefined>(undefined);
  useEffect(() => () => clearTimeout(verifyTimer.current), []);

  // The write itself, once the dialog is confirmed.
  const writing = dialog?.writing ?? false;
  // The rows as they are when the write ends, not when it started.
  const writeDone = useEffectEvent((action: Action, results: MarkResult[] | null, error: string | null) => dispatch({ type: 'writeDone', action, results, error, executions }));
  const startWrite = useEffectEvent(() => {
    if (!dialog) return;
    const { action, ids: targets, reason, cascade } = dialog;
    const done = (results: MarkResult[] | null, error: string | null) => writeDone(action, results, error);
    // The write changes what the dialog showed, nothing that appeared since.
    const bound = new Set(executions.keys());
    const { olderThanSeconds, idleSeconds, includeChildren, text } = s.filter;
    const batch = newBatch('console', { ids: targets.slice(0, 100), named: targets.length, cascade, filter: { olderThanSeconds, idleSeconds, includeChildren, text } });
    source.mark({ action, ids: targets, reason: reason.trim(), cascade, dryRun: false, actor, bound, batch }).then(
      (results) => {
        done(results, null);
        // A little later: did the engine honour it? (the same check as `verify BATCH`)
        if (source.verify && results.some((r) => isChange(r.outcome))) {
          verifyTimer.current = setTimeout(() => {
            source.verify!(batch.id).then(
              (checked) => {
                const late = checked.filter((c) => c.status !== 'quiet').length;
                if (late > 0)
                  dispatch({
                    type: 'message',
                    message: { text: `batch ${batch.id}: ${late} execution(s) had engine events after the close (noetl-console verify ${batch.id})`, tone: 'warn' },
                  });
              },
              () => undefined,
            );
          }, verifyAfterMs);
        }
        // A big close leaves the planner's statistics stale (src/noetl/statistics.ts).
        source.analyzeWritten?.(results).then(
          (r) => {
            const left = r ? [...r.not_permitted, ...r.failed.map((f) => f.table)] : [];
            if (left.length > 0) dispatch({ type: 'message', message: { text: `wrote ${r!.rows} rows: run ANALYZE ${left.join(', ')} (doctor --script)`, tone: 'warn' } });
          },
          () => undefined,
        );
      },
      (error: unknown) => done(null, errorLine(error, source.db.label)),
    );
  });
  // Only a new confirmation starts a write.
  useEffect(() => {
    if (writing) startWrite();
  }, [writing]);

  // The picker chose: the parent opens that context and remounts the app on it; a failure stays here.
  const switchContext = useEffectEvent((name: string) => {
    if (!onSwitchContext) {
      dispatch({ type: 'message', message: { text: `context ${name}: switching is not available here`, tone: 'warn' } });
      return;
    }
    onSwitchContext(name, s.filter).then(
      (error) => error && dispatch({ type: 'message', message: { text: `context ${name}: ${error}; still in ${context?.name ?? 'the current source'}`, tone: 'error' } }),
      () => undefined,
    );
  });
  // Only a new choice switches.
  useEffect(() => {
    if (s.switchTo) switchContext(s.switchTo.name);
  }, [s.switchTo]);

  useEffect(() => {
    if (s.copy) clipboard(s.copy.id);
  }, [s.copy, clipboard]);
  useEffect(() => {
    if (!s.quitting) return;
    onQuit?.(s.exitCode);
    exit();
  }, [s.quitting, s.exitCode, exit, onQuit]);
  if (s.quitting) return null;

  let body;
  if (s.overlay?.kind === 'help') body = <HelpView lines={help} scroll={s.overlay.scroll} height={bodyHeight} width={width} />;
  else if (dialog)
    body = (
      <ConfirmDialog
        dialog={dialog}
        preview={preview}
        writes={source.describeWrite(dialog.action)}
        hasChildren={source.hasChildren}
        idTail={idTail}
        height={bodyHeight}
        width={width - 1}
        chrome={CHROME_LINES}
        terminalRows={size.rows}
        theme={theme}
      />
    );
  else if (s.overlay?.kind === 'contexts') body = <ContextPicker lines={picker} index={s.overlay.index} height={bodyHeight} width={width - 1} />;
  else if (s.overlay?.kind === 'results')
    body = <ResultsView results={s.overlay} executions={s.overlay.executions} idTail={idTail} height={bodyHeight} width={width - 1} theme={theme} />;
  else if (s.detail) body = <DetailView detail={detail} lines={dLines} scroll={s.detail.scroll} height={bodyHeight} width={width - 1} theme={theme} />;
  else
    body = (
      <Table
        rows={shown}
        top={top}
        height={tableHeight}
        cursor={cursorIdx}
        marks={s.marks}
        columns={columns}
        sort={s.sort}
        idTail={idTail}
        theme={theme}
        emptyText={live.refreshedAt === null ? '' : 'No stuck executions match the filter.'}
      />
    );

  return (
    <Box flexDirection="column" width={width}>
      <Header
        label={source.db.label}
        target={source.describeTarget}
        readOnly={readOnly}
        replica={replica}
        paused={s.paused}
        refreshSeconds={refreshSeconds}
        filter={s.filter}
        health={live.health}
        shown={ids.length - goneIds.size}
        selected={s.marks.size}
        refreshedAt={live.refreshedAt}
        disconnected={live.connection.state === 'down'}
        sort={s.sort}
        theme={theme}
        context={context}
        missing={missingShards(source)}
      />
      <StatusLine
        connection={live.connection}
        message={s.overlay?.kind === 'search' && parsed.error ? { text: `filter: ${parsed.error}`, tone: 'warn' } : s.message}
        refreshedAt={live.refreshedAt}
        now={now}
        label={source.db.label}
        theme={theme}
        loading={live.loading}
      />
      {body}
      {s.overlay?.kind === 'search' ? (
        <Text wrap="truncate-start">
          <Text bold color={theme.accent}>
            /
          </Text>
          {safeText(s.filter.text, 200)}
          <Text inverse> </Text>
          <Text dimColor>{`   Enter keep ${G().dot} Esc drop`}</Text>
        </Text>
      ) : (
        <Footer scope={scope} actions={actions} theme={theme} />
      )}
    </Box>
  );
}

/** A sharded source's shards that did not answer: `shard 1 down since 12:01:03`. */
function missingShards(source: ExecutionSource): string {
  return (source.unreachable?.() ?? []).map((m) => `${m.shard === 'cluster' ? 'cluster db' : `shard ${m.shard}`} down since ${clockTime(Date.parse(m.since))}`).join(', ');
}
