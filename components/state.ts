import { AGE_PRESETS, nextIdle, stepAge, type Filter } from './filters.js';
import { lookup, type Command, type Scope } from './keymap.js';
import { DEFAULT_SORT, SORT_KEYS, type Sort } from './rows.js';
import { ACTIONS, type Action, type MarkResult } from '../src/core/mark.js';
import type { Execution } from '../src/core/execution.js';

export type Focus = 'reason' | 'count' | 'no' | 'yes';

export interface DialogState {
  kind: 'dialog';
  action: Action;
  ids: readonly string[];
  cascade: boolean;
  /** What will be written: the default until `edited`, shown as a placeholder then. */
  reason: string;
  /** False while the reason is the untouched default: the first typed character replaces it. */
  edited: boolean;
  /** Caret position in the reason, in code points. */
  caret: number;
  /** How far back ↑ went in the session's reasons; -1 = not recalling. */
  recall: number;
  /** The reason as it was before ↑, for ↓ to come back to. */
  draft?: { reason: string; edited: boolean };
  typed: string;
  focus: Focus;
  scroll: number;
  writing: boolean;
  /** Marked ids outside the current filter (listed first, with a warning). */
  outside: readonly string[];
  /** A word in place (a wrong count, a missing reason). */
  note: string | null;
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

/** The context picker: `index` is the cursor in View.contexts. */
export interface ContextsState {
  kind: 'contexts';
  index: number;
}

/** `help` shows the keys, or with `error` the last database error in full. */
export type Overlay = null | { kind: 'help'; scroll: number; error?: boolean; history?: boolean } | { kind: 'search' } | DialogState | ResultsState | ContextsState;

export interface Message {
  text: string;
  tone: 'info' | 'warn' | 'error';
}

export interface DetailState {
  id: string;
  scroll: number;
  /** The child execution Tab selected (index in the detail's child list), or null. */
  child: number | null;
  /** The parents opened before this child: Esc goes back to them. */
  back: readonly { id: string; scroll: number; child: number | null }[];
}

export interface UiState {
  cursorId: string | null;
  /** Where the cursor was, for when its row is dropped (a filter change). */
  cursorIndex: number;
  marks: ReadonlySet<string>;
  filter: Filter;
  paused: boolean;
  detail: DetailState | null;
  overlay: Overlay;
  message: Message | null;
  /** Bumped to ask for a refresh now. */
  refreshToken: number;
  /** Bumped to ask for a full reload (reconcile) with that refresh. */
  reconcileToken: number;
  /** Exit status once quitting: 130 after Ctrl-C, as a shell expects. */
  quitting: boolean;
  exitCode: number;
  /** Reasons written this session, oldest first (↑ in the reason recalls them). */
  reasons: readonly string[];
  sort: Sort;
  /** The last id asked to be copied, with a counter so that copying it twice copies twice. */
  copy: { id: string; n: number } | null;
  /** The context the picker chose, with a counter (the App opens it, then remounts). */
  switchTo: { name: string; n: number } | null;
}

/** What the reducer needs to know about the screen when a key arrives. */
export interface View {
  /** Ids of the rows shown, in order. */
  ids: readonly string[];
  /** Ids shown that are gone (finished or no longer matching). */
  goneIds: ReadonlySet<string>;
  cursorIdx: number;
  pageSize: number;
  /** Child executions of the detail view, in its order. */
  detailChildren?: readonly string[];
  /** Lines of the scrollable body of the detail, help or outcome view. */
  bodyLines: number;
  readOnly: boolean;
  /** Why, when not --read-only: `context prod is read-only`. */
  readOnlyWhy?: string;
  /** What the source can write (a status table may have no cancelled value). */
  actions: readonly Action[];
  connected: boolean;
  /** Executions the open dialog will change, once the dry run is in; null before. */
  changeCount: number | null;
  defaultReason: (action: Action) => string;
  /** From --reason: the dialog opens with it typed in. */
  presetReason?: string | null;
  /** Why the filter expression being typed does not parse, or null. */
  filterError?: string | null;
  /** The filter text `ids` were computed for, and how to compute them for another (null: it does not parse). */
  filterText?: string;
  idsFor?: (text: string) => readonly string[] | null;
  /** Names of the config file's contexts, in file order (the picker), and the one in effect. */
  contexts?: readonly string[];
  context?: string | null;
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
    exitCode: 0,
    reasons: [],
    copy: null,
    switchTo: null,
    sort: DEFAULT_SORT,
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
      const d = s.overlay?.kind === 'dialog' ? s.overlay : null;
      const done = d ? d.ids : [];
      const marks = new Set([...s.marks].filter((id) => !done.includes(id)));
      const reason = d?.edited ? d.reason.trim() : '';
      return {
        ...s,
        marks,
        reasons: reason && s.reasons.at(-1) !== reason ? [...s.reasons, reason].slice(-50) : s.reasons,
        overlay: { kind: 'results', action: a.action, results: a.results, error: a.error, executions: a.executions, scroll: 0 },
        refreshToken: s.refreshToken + 1,
      };
    }
    case 'key':
      return onKey({ ...s, message: null }, a.name, a.view);
  }
}

function onKey(s: UiState, name: string, given: View): UiState {
  // Keys typed fast arrive before the render that follows a filter change: the rows are those of the filter in state.
  let view = given;
  if (given.idsFor && given.filterText !== undefined && given.filterText !== s.filter.text) {
    const ids = given.idsFor(s.filter.text);
    if (ids) view = { ...given, ids, filterText: s.filter.text };
  }
  // Several keys can arrive in one event: the cursor is read from state, not from the last render.
  const at = s.cursorId === null ? -1 : view.ids.indexOf(s.cursorId);
  const v = at >= 0 ? { ...view, cursorIdx: at } : view;
  const scope = scopeOf(s);
  const printable = name === 'space' ? ' ' : [...name].length === 1 ? name : null;
  if (s.overlay?.kind === 'search' && printable !== null) return editSearch(s, s.filter.text + printable);
  if (s.overlay?.kind === 'search' && name === 'backspace') return editSearch(s, s.filter.text.slice(0, -1));
  if (s.overlay?.kind === 'search' && name === 'ctrl+u') return editSearch(s, '');
  if (s.overlay?.kind === 'search' && name === 'ctrl+w') return editSearch(s, s.filter.text.replace(/\S*\s*$/, ''));
  if (s.overlay?.kind === 'dialog' && !s.overlay.writing && s.overlay.focus === 'reason') {
    const edited = editReason(s.overlay, printable, name, s.reasons);
    if (edited) return { ...s, overlay: { ...edited, note: null } };
  }
  if (s.overlay?.kind === 'dialog' && !s.overlay.writing && s.overlay.focus === 'count') {
    const edited = editCount(s.overlay, printable, name);
    if (edited) return { ...s, overlay: { ...edited, note: null } };
  }
  const command = lookup(scope, name);
  if (!command) return s;
  return run(s, command, name, v);
}

function editSearch(s: UiState, text: string): UiState {
  return { ...s, filter: { ...s.filter, text: text.slice(0, 200) } };
}

const MAX_REASON = 1000;

/** Line editing in the reason, readline style; null when the key is not an edit. */
function editReason(d: DialogState, printable: string | null, name: string, reasons: readonly string[]): DialogState | null {
  const chars = [...d.reason];
  const set = (text: string[], caret: number): DialogState => ({ ...d, reason: text.join(''), caret: clamp(caret, 0, text.length), edited: true, recall: -1, draft: undefined });
  // The untouched default is a placeholder: typing or erasing starts from empty, moving the caret keeps it as text.
  const base = d.edited ? chars : [];
  const at = d.edited ? clamp(d.caret, 0, chars.length) : 0;
  if (printable !== null) {
    if (base.length >= MAX_REASON) return d;
    return set([...base.slice(0, at), printable, ...base.slice(at)], at + 1);
  }
  switch (name) {
    case 'backspace':
      return d.edited ? set([...chars.slice(0, Math.max(0, at - 1)), ...chars.slice(at)], at - 1) : set([], 0);
    case 'ctrl+u':
      return set(base.slice(at), 0);
    case 'ctrl+w': {
      let i = at;
      while (i > 0 && base[i - 1] === ' ') i--;
      while (i > 0 && base[i - 1] !== ' ') i--;
      return set([...base.slice(0, i), ...base.slice(at)], i);
    }
    case 'left':
      return set(chars, (d.edited ? d.caret : chars.length) - 1);
    case 'right':
      return set(chars, (d.edited ? d.caret : chars.length) + 1);
    case 'home':
    case 'ctrl+a':
      return set(chars, 0);
    case 'end':
    case 'ctrl+e':
      return set(chars, chars.length);
    case 'up':
    case 'down': {
      const recall = clamp(d.recall + (name === 'up' ? 1 : -1), -1, reasons.length - 1);
      if (recall === d.recall) return d;
      const draft = d.draft ?? { reason: d.reason, edited: d.edited };
      if (recall === -1) return { ...d, recall, ...draft, caret: [...draft.reason].length };
      const text = reasons[reasons.length - 1 - recall]!;
      return { ...d, recall, reason: text, caret: [...text].length, edited: true, draft };
    }
    default:
      return null;
  }
}

function editCount(d: DialogState, printable: string | null, name: string): DialogState | null {
  if (name === 'backspace') return { ...d, typed: d.typed.slice(0, -1) };
  if (name === 'ctrl+u' || name === 'ctrl+w') return { ...d, typed: '' };
  if (printable === null) return null;
  return /^[0-9]$/.test(printable) ? { ...d, typed: (d.typed + printable).slice(0, 9) } : d;
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
  return needsCount(d, v.changeCount) ? ['reason', 'count', 'no', 'yes'] : ['reason', 'no', 'yes'];
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
    if (o?.kind === 'contexts') return { ...s, overlay: { ...o, index: clamp(scroll(o.index), 0, (v.contexts?.length ?? 1) - 1) } };
    if (o && o.kind !== 'search') return { ...s, overlay: { ...o, scroll: scrollTo(scroll(o.scroll), v) } } as UiState;
    if (s.detail) return { ...s, detail: { ...s.detail, scroll: scrollTo(scroll(s.detail.scroll), v) } };
    return moveCursor(s, v, scroll(v.cursorIdx));
  }

  switch (command) {
    case 'quit':
      return { ...s, quitting: true, exitCode: name === 'ctrl+c' ? 130 : 0 };
    case 'help':
      return { ...s, overlay: { kind: 'help', scroll: 0 } };
    case 'sortPrev':
    case 'sortNext': {
      const i = SORT_KEYS.indexOf(s.sort.key) + (command === 'sortNext' ? 1 : SORT_KEYS.length - 1);
      const key = SORT_KEYS[i % SORT_KEYS.length]!;
      // Numbers read largest first, text A to Z.
      return { ...s, sort: { key, desc: key === 'age' || key === 'ratio' || key === 'idle' || key === 'ch' } };
    }
    case 'sortInvert':
      return { ...s, sort: { ...s.sort, desc: !s.sort.desc } };
    case 'copyId': {
      const id = s.detail?.id ?? v.ids[v.cursorIdx];
      if (!id) return s;
      return { ...s, copy: { id, n: (s.copy?.n ?? 0) + 1 }, message: { text: `copied ${id}`, tone: 'info' } };
    }
    case 'contexts': {
      const names = v.contexts ?? [];
      if (names.length === 0) return { ...s, message: { text: 'no contexts: the config file has no contexts: list (README, "Contexts")', tone: 'info' } };
      return { ...s, overlay: { kind: 'contexts', index: Math.max(0, names.indexOf(v.context ?? '')) } };
    }
    case 'lastError':
      return { ...s, overlay: { kind: 'help', scroll: 0, error: true } };
    case 'history':
      return { ...s, overlay: { kind: 'help', scroll: 0, history: true } };
    case 'close':
      if (o?.kind === 'search') return { ...s, overlay: null, filter: { ...s.filter, text: '' } };
      if (o?.kind === 'dialog' && o.writing) return s;
      if (o?.kind === 'dialog' && name === 'n' && (o.focus === 'reason' || o.focus === 'count')) return s;
      if (o?.kind === 'dialog') return { ...s, overlay: null, message: { text: `${ACTIONS[o.action].verb}: closed, nothing written`, tone: 'info' } };
      return { ...s, overlay: null };
    case 'back': {
      const prev = s.detail?.back.at(-1);
      if (s.detail && prev) return { ...s, detail: { ...prev, back: s.detail.back.slice(0, -1) } };
      return { ...s, detail: null };
    }
    case 'open': {
      const id = v.ids[v.cursorIdx];
      return id ? { ...s, detail: { id, scroll: 0, child: null, back: [] } } : s;
    }
    case 'nextChild':
    case 'prevChild': {
      const n = v.detailChildren?.length ?? 0;
      if (!s.detail || n === 0) return s;
      const cur = s.detail.child;
      const child = command === 'nextChild' ? (cur === null ? 0 : (cur + 1) % n) : cur === null ? n - 1 : (cur + n - 1) % n;
      return { ...s, detail: { ...s.detail, child } };
    }
    case 'openChild': {
      const d = s.detail;
      const id = d && d.child !== null ? v.detailChildren?.[d.child] : undefined;
      if (!d || !id) return { ...s, message: { text: 'Tab selects a child execution, Enter opens it', tone: 'info' } };
      return { ...s, detail: { id, scroll: 0, child: null, back: [...d.back, { id: d.id, scroll: d.scroll, child: d.child }] } };
    }
    case 'mark': {
      const id = v.ids[v.cursorIdx];
      if (!id) return s;
      if (v.goneIds.has(id) && !s.marks.has(id)) return moveCursor({ ...s, message: { text: 'that execution is gone: nothing to mark', tone: 'info' } }, v, v.cursorIdx + 1);
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
      return { ...s, filter: { ...s.filter, olderThanSeconds: AGE_PRESETS[Number(name)]! } };
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
      if (o?.kind === 'search') return v.filterError ? { ...s, message: { text: `filter: ${v.filterError}`, tone: 'warn' } } : { ...s, overlay: null };
      if (o?.kind === 'dialog') return confirmDialog(s, o, v);
      if (o?.kind === 'contexts') return chooseContext(s, v.contexts?.[o.index], v);
      return s;
    case 'cascade':
      if (o?.kind !== 'dialog' || o.writing || o.focus === 'reason' || o.focus === 'count') return s;
      return { ...s, overlay: { ...o, cascade: !o.cascade, typed: '', note: null } };
    case 'focusNext':
    case 'focusPrev': {
      if (o?.kind !== 'dialog' || o.writing) return s;
      const order = focusOrder(o, v);
      const i = order.indexOf(o.focus);
      const next = order[(i + (command === 'focusNext' ? 1 : order.length - 1)) % order.length]!;
      return { ...s, overlay: { ...o, focus: next, note: null } };
    }
    default:
      return s;
  }
}

function chooseContext(s: UiState, name: string | undefined, v: View): UiState {
  if (name === undefined) return { ...s, overlay: null };
  if (name === v.context) return { ...s, overlay: null, message: { text: `already in context ${name}`, tone: 'info' } };
  return { ...s, overlay: null, switchTo: { name, n: (s.switchTo?.n ?? 0) + 1 }, message: { text: `switching to context ${name}…`, tone: 'info' } };
}

function openDialog(s: UiState, action: Action, v: View, given?: readonly string[]): UiState {
  const verb = ACTIONS[action].verb;
  if (v.readOnly) return { ...s, message: { text: `read-only mode: cannot ${verb} (${v.readOnlyWhy ?? 'started with --read-only'})`, tone: 'warn' } };
  if (!v.actions.includes(action)) return { ...s, message: { text: `this source cannot ${verb}: its config has no ${ACTIONS[action].state} status value`, tone: 'warn' } };
  if (!v.connected) return { ...s, message: { text: `disconnected: cannot ${verb} until the database is back`, tone: 'error' } };
  let ids: readonly string[];
  let outside: string[] = [];
  if (given) ids = given;
  else if (s.detail) ids = [s.detail.id];
  else if (s.marks.size > 0) {
    const shown = v.ids.filter((id) => s.marks.has(id) && !v.goneIds.has(id));
    const inView = new Set(v.ids);
    // Marks the filter hides are acted on too: they come first, and the dialog warns about them.
    outside = [...s.marks].filter((id) => !inView.has(id));
    ids = [...outside, ...shown];
  } else {
    const id = v.ids[v.cursorIdx];
    ids = id && !v.goneIds.has(id) ? [id] : [];
  }
  if (ids.length === 0) return { ...s, message: { text: `nothing to ${verb}`, tone: 'info' } };
  const preset = v.presetReason?.trim() ? v.presetReason : null;
  const reason = preset ?? v.defaultReason(action);
  return {
    ...s,
    overlay: {
      kind: 'dialog',
      action,
      ids,
      cascade: true,
      reason,
      edited: preset !== null,
      caret: [...reason].length,
      recall: -1,
      typed: '',
      focus: 'reason',
      scroll: 0,
      writing: false,
      outside,
      note: null,
    },
  };
}

/** The count must be typed: more than CONFIRM_COUNT_OVER will change. */
export function needsCount(d: DialogState, changeCount: number | null): boolean {
  return (changeCount ?? d.ids.length) > CONFIRM_COUNT_OVER;
}

function confirmDialog(s: UiState, d: DialogState, v: View): UiState {
  if (d.writing) return s;
  const dialog = (patch: Partial<DialogState>): UiState => ({ ...s, overlay: { ...d, ...patch } });
  if (d.focus === 'no') return { ...s, overlay: null, message: { text: `${ACTIONS[d.action].verb}: closed, nothing written`, tone: 'info' } };
  if (d.focus === 'reason') {
    if (!d.reason.trim()) return dialog({ note: 'a reason is required' });
    return dialog({ focus: needsCount(d, v.changeCount) ? 'count' : 'yes' });
  }
  // From here: the count (a correct one is the confirmation) or Yes.
  if (!v.connected) return { ...s, message: { text: 'disconnected: nothing written; try again when the database is back', tone: 'error' } };
  if (v.changeCount === null) return dialog({ note: 'still reading what will change…' });
  if (v.changeCount === 0) return dialog({ note: 'nothing to change: all already finished' });
  if (!d.reason.trim()) return dialog({ focus: 'reason', note: 'a reason is required' });
  if (needsCount(d, v.changeCount) && d.typed !== String(v.changeCount)) {
    const note = d.typed ? `${d.typed} is not ${v.changeCount}` : 'the count is missing';
    return dialog({ focus: 'count', note });
  }
  return dialog({ writing: true, note: null });
}
