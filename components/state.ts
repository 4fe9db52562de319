import { ACTIONS, type Action } from '../src/noetl/vocabulary.js';
import type { MarkResult } from '../src/noetl/mark.js';
import type { Execution } from '../src/noetl/model.js';
import { AGE_PRESETS, nextIdle, stepAge, type Filter } from './filters.js';
import { lookup, type Command, type Scope } from './keymap.js';

export type Focus = 'reason' | 'count' | 'no' | 'yes';

export interface DialogState {
  kind: 'dialog';
  action: Action;
  ids: readonly string[];
  cascade: boolean;
  reason: string;
  typed: string;
  focus: Focus;
  scroll: number;
  writing: boolean;
}

export interface ResultsState {
  kind: 'results';
  action: Action;
  results: readonly MarkResult[] | null;
  error: string | null;
  /** Path and age of each, as read for the dialog. */
  executions: ReadonlyMap<string, Execution>;
  scroll: number;
}

export type Overlay = null | { kind: 'help'; scroll: number } | { kind: 'search' } | DialogState | ResultsState;

export interface Message {
  text: string;
  tone: 'info' | 'warn' | 'error';
}

export interface UiState {
  cursorId: string | null;
  /** Where the cursor was, for when its row is dropped (a filter change). */
  cursorIndex: number;
  marks: ReadonlySet<string>;
  filter: Filter;
  paused: boolean;
  detail: { id: string; scroll: number } | null;
  overlay: Overlay;
  message: Message | null;
  /** Bumped to ask for a refresh now. */
  refreshToken: number;
  /** Bumped to ask for a full reload (reconcile) with that refresh. */
  reconcileToken: number;
  quitting: boolean;
}

/** What the reducer needs to know about the screen when a key arrives. */
export interface View {
  /** Ids of the rows shown, in order. */
  ids: readonly string[];
  /** Ids shown that are gone (finished or no longer matching). */
  goneIds: ReadonlySet<string>;
  cursorIdx: number;
  pageSize: number;
  /** Lines of the scrollable body of the detail, help or outcome view. */
  bodyLines: number;
  readOnly: boolean;
  /** What the source can write (a status table may have no cancelled value). */
  actions: readonly Action[];
  connected: boolean;
  /** Executions the open dialog will change, once the dry run is in; null before. */
  changeCount: number | null;
  defaultReason: (action: Action) => string;
}

export type UiAction =
  | { type: 'key'; name: string; view: View }
  | { type: 'writeDone'; action: Action; results: readonly MarkResult[] | null; error: string | null; executions: ReadonlyMap<string, Execution> }
  | { type: 'cursor'; id: string; index: number }
  | { type: 'refreshed' }
  | { type: 'pruneMarks'; keep: ReadonlySet<string> }
  | { type: 'message'; message: Message | null };

export function initialState(filter: Filter): UiState {
  return {
    cursorId: null,
    cursorIndex: 0,
    marks: new Set(),
    filter,
    paused: false,
    detail: null,
    overlay: null,
    message: null,
    refreshToken: 0,
    reconcileToken: 0,
    quitting: false,
  };
}

export const CONFIRM_COUNT_OVER = 10;
const RELOADING = 'reloading everything from the database…';
const REFRESHING = 'refreshing…';

export function scopeOf(s: UiState): Scope {
  if (s.overlay) return s.overlay.kind;
  return s.detail ? 'detail' : 'list';
}

export function reduce(s: UiState, a: UiAction): UiState {
  switch (a.type) {
    case 'message':
      return { ...s, message: a.message };
    case 'cursor':
      return { ...s, cursorId: a.id, cursorIndex: a.index };
    case 'refreshed':
      return s.message?.text === REFRESHING || s.message?.text === RELOADING ? { ...s, message: null } : s;
    case 'pruneMarks': {
      if ([...s.marks].every((id) => a.keep.has(id))) return s;
      return { ...s, marks: new Set([...s.marks].filter((id) => a.keep.has(id))) };
    }
    case 'writeDone': {
      const done = s.overlay?.kind === 'dialog' ? s.overlay.ids : [];
      const marks = new Set([...s.marks].filter((id) => !done.includes(id)));
      return {
        ...s,
        marks,
        overlay: { kind: 'results', action: a.action, results: a.results, error: a.error, executions: a.executions, scroll: 0 },
        refreshToken: s.refreshToken + 1,
      };
    }
    case 'key':
      return onKey({ ...s, message: null }, a.name, a.view);
  }
}

function onKey(s: UiState, name: string, view: View): UiState {
  // Several keys can arrive in one event: the cursor is read from state, not from the last render.
  const at = s.cursorId === null ? -1 : view.ids.indexOf(s.cursorId);
  const v = at >= 0 ? { ...view, cursorIdx: at } : view;
  const scope = scopeOf(s);
  const printable = name === 'space' ? ' ' : [...name].length === 1 ? name : null;
  if (s.overlay?.kind === 'search' && printable !== null) return editSearch(s, s.filter.text + printable);
  if (s.overlay?.kind === 'search' && name === 'backspace') return editSearch(s, s.filter.text.slice(0, -1));
  if (s.overlay?.kind === 'dialog' && (s.overlay.focus === 'reason' || s.overlay.focus === 'count')) {
    const edited = editDialogField(s.overlay, printable, name);
    if (edited) return { ...s, overlay: edited };
  }
  const command = lookup(scope, name);
  if (!command) return s;
  return run(s, command, name, v);
}

function editSearch(s: UiState, text: string): UiState {
  return { ...s, filter: { ...s.filter, text: text.slice(0, 200) } };
}

function editDialogField(d: DialogState, printable: string | null, name: string): DialogState | null {
  const field = d.focus === 'reason' ? 'reason' : 'typed';
  if (name === 'backspace') return { ...d, [field]: d[field].slice(0, -1) };
  if (printable === null) return null;
  if (field === 'typed') return /^[0-9]$/.test(printable) ? { ...d, typed: (d.typed + printable).slice(0, 9) } : d;
  return { ...d, reason: (d.reason + printable).slice(0, 1000) };
}

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

function moveCursor(s: UiState, v: View, to: number): UiState {
  if (v.ids.length === 0) return s;
  const i = clamp(to, 0, v.ids.length - 1);
  return { ...s, cursorId: v.ids[i]!, cursorIndex: i };
}

function scrollTo(to: number, v: View): number {
  return clamp(to, 0, Math.max(0, v.bodyLines - v.pageSize));
}

function focusOrder(d: DialogState, v: View): Focus[] {
  const count = v.changeCount ?? d.ids.length;
  return count > CONFIRM_COUNT_OVER ? ['reason', 'count', 'no', 'yes'] : ['reason', 'no', 'yes'];
}

function run(s: UiState, command: Command, name: string, v: View): UiState {
  const o = s.overlay;
  // Scrolling commands mean different things per screen.
  const scrollCommands: Partial<Record<Command, (cur: number) => number>> = {
    up: (c) => c - 1,
    down: (c) => c + 1,
    pageUp: (c) => c - v.pageSize,
    pageDown: (c) => c + v.pageSize,
    top: () => 0,
    bottom: () => Number.MAX_SAFE_INTEGER,
  };
  const scroll = scrollCommands[command];
  if (scroll) {
    if (o && o.kind !== 'search') return { ...s, overlay: { ...o, scroll: scrollTo(scroll(o.scroll), v) } } as UiState;
    if (s.detail) return { ...s, detail: { ...s.detail, scroll: scrollTo(scroll(s.detail.scroll), v) } };
    return moveCursor(s, v, scroll(v.cursorIdx));
  }

  switch (command) {
    case 'quit':
      return { ...s, quitting: true };
    case 'help':
      return { ...s, overlay: { kind: 'help', scroll: 0 } };
    case 'close':
      if (o?.kind === 'search') return { ...s, overlay: null, filter: { ...s.filter, text: '' } };
      if (o?.kind === 'dialog' && o.writing) return s;
      if (o?.kind === 'dialog' && name === 'n' && (o.focus === 'reason' || o.focus === 'count')) return s;
      return { ...s, overlay: null };
    case 'back':
      return { ...s, detail: null };
    case 'open': {
      const id = v.ids[v.cursorIdx];
      return id ? { ...s, detail: { id, scroll: 0 } } : s;
    }
    case 'mark': {
      const id = v.ids[v.cursorIdx];
      if (!id) return s;
      const marks = new Set(s.marks);
      if (marks.has(id)) marks.delete(id);
      else marks.add(id);
      return moveCursor({ ...s, marks }, v, v.cursorIdx + 1);
    }
    case 'markAll':
      return { ...s, marks: new Set([...s.marks, ...v.ids.filter((id) => !v.goneIds.has(id))]) };
    case 'clearMarks':
      return { ...s, marks: new Set() };
    case 'cancel':
    case 'fail':
    case 'complete':
      return openDialog(s, command, v);
    case 'review': {
      // What the write left because the dialog had not shown it, in a dialog of its own.
      const unseen = o?.kind === 'results' ? (o.results ?? []).filter((r) => r.outcome === 'not_shown').map((r) => r.execution_id) : [];
      return o?.kind === 'results' && unseen.length > 0 ? openDialog({ ...s, overlay: null }, o.action, v, unseen) : s;
    }
    case 'pause':
      return { ...s, paused: !s.paused, refreshToken: s.paused ? s.refreshToken + 1 : s.refreshToken };
    case 'refresh':
      return { ...s, refreshToken: s.refreshToken + 1, message: { text: REFRESHING, tone: 'info' } };
    case 'reconcile':
      return { ...s, refreshToken: s.refreshToken + 1, reconcileToken: s.reconcileToken + 1, message: { text: RELOADING, tone: 'info' } };
    case 'agePreset':
      return { ...s, filter: { ...s.filter, olderThanSeconds: AGE_PRESETS[Number(name) - 1]! } };
    case 'ageUp':
      return { ...s, filter: { ...s.filter, olderThanSeconds: stepAge(s.filter.olderThanSeconds, 1) } };
    case 'ageDown':
      return { ...s, filter: { ...s.filter, olderThanSeconds: stepAge(s.filter.olderThanSeconds, -1) } };
    case 'idle':
      return { ...s, filter: { ...s.filter, idleSeconds: nextIdle(s.filter.idleSeconds) } };
    case 'children':
      return { ...s, filter: { ...s.filter, includeChildren: !s.filter.includeChildren } };
    case 'search':
      return { ...s, overlay: { kind: 'search' } };
    case 'clearSearch':
      return s.filter.text ? { ...s, filter: { ...s.filter, text: '' } } : s;
    case 'confirm':
      if (o?.kind === 'search') return { ...s, overlay: null };
      if (o?.kind === 'dialog') return confirmDialog(s, o, v);
      return s;
    case 'cascade':
      if (o?.kind !== 'dialog' || o.writing || o.focus === 'reason' || o.focus === 'count') return s;
      return { ...s, overlay: { ...o, cascade: !o.cascade, typed: '' } };
    case 'focusNext':
    case 'focusPrev': {
      if (o?.kind !== 'dialog' || o.writing) return s;
      const order = focusOrder(o, v);
      const i = order.indexOf(o.focus);
      const next = order[(i + (command === 'focusNext' ? 1 : order.length - 1)) % order.length]!;
      return { ...s, overlay: { ...o, focus: next } };
    }
    default:
      return s;
  }
}

function openDialog(s: UiState, action: Action, v: View, given?: readonly string[]): UiState {
  const verb = ACTIONS[action].verb;
  if (v.readOnly) return { ...s, message: { text: `read-only mode: cannot ${verb} (started with --read-only)`, tone: 'warn' } };
  if (!v.actions.includes(action)) return { ...s, message: { text: `this source cannot ${verb}: its config has no ${ACTIONS[action].state} status value`, tone: 'warn' } };
  if (!v.connected) return { ...s, message: { text: `disconnected: cannot ${verb} until the database is back`, tone: 'error' } };
  let ids: readonly string[];
  if (given) ids = given;
  else if (s.detail) ids = [s.detail.id];
  else if (s.marks.size > 0) {
    const shown = v.ids.filter((id) => s.marks.has(id));
    ids = [...shown, ...[...s.marks].filter((id) => !shown.includes(id))];
  } else ids = v.ids[v.cursorIdx] ? [v.ids[v.cursorIdx]!] : [];
  if (ids.length === 0) return { ...s, message: { text: `nothing to ${verb}`, tone: 'info' } };
  return {
    ...s,
    overlay: { kind: 'dialog', action, ids, cascade: true, reason: v.defaultReason(action), typed: '', focus: 'no', scroll: 0, writing: false },
  };
}

function confirmDialog(s: UiState, d: DialogState, v: View): UiState {
  if (d.writing) return s;
  const order = focusOrder(d, v);
  if (d.focus === 'no') return { ...s, overlay: null };
  if (d.focus !== 'yes') return { ...s, overlay: { ...d, focus: order[order.indexOf(d.focus) + 1]! } };
  if (!v.connected) return { ...s, message: { text: 'disconnected: nothing written; try again when the database is back', tone: 'error' } };
  if (v.changeCount === null) return { ...s, message: { text: 'still reading what will change…', tone: 'info' } };
  if (v.changeCount === 0) return { ...s, message: { text: 'nothing to change: all already finished', tone: 'warn' } };
  if (!d.reason.trim()) return { ...s, overlay: { ...d, focus: 'reason' }, message: { text: 'a reason is required', tone: 'warn' } };
  if (v.changeCount > CONFIRM_COUNT_OVER && d.typed !== String(v.changeCount)) {
    return { ...s, overlay: { ...d, focus: 'count' }, message: { text: `type ${v.changeCount} to confirm`, tone: 'warn' } };
  }
  return { ...s, overlay: { ...d, writing: true } };
}
