/** The reducer alone (components/state.ts is pure): moving, marking, filters, the dialog's editing and the keys that race a render. */
import { describe, expect, it } from 'vitest';
import { initialState, reduce, type DialogState, type UiState, type View } from '../../components/state.js';

const ALL = ['1', '2', '3', '4'];
const view = (over: Partial<View> = {}): View => ({
  ids: ALL,
  goneIds: new Set(),
  cursorIdx: 0,
  pageSize: 10,
  bodyLines: 0,
  readOnly: false,
  actions: ['cancel', 'fail', 'complete'],
  connected: true,
  changeCount: 2,
  defaultReason: () => 'the default',
  ...over,
});
const keys = (s: UiState, v: View, ...names: string[]) => names.reduce((st, name) => reduce(st, { type: 'key', name, view: v }), s);
const typed = (s: UiState, v: View, text: string) => keys(s, v, ...[...text].map((c) => (c === ' ' ? 'space' : c)));
const dialog = (s: UiState) => s.overlay as DialogState;
const start = () => initialState({ olderThanSeconds: 300, idleSeconds: null, text: '', includeChildren: false });

describe('the reducer', () => {
  it('a marks the rows of the filter just typed, even before the render that shows them', () => {
    // The view is still the unfiltered render; the filter "2" is in state already.
    const v = view({ filterText: '', idsFor: (t) => ALL.filter((id) => id.includes(t)) });
    const s = keys(start(), v, '/', '2', 'enter', 'a');
    expect([...s.marks]).toEqual(['2']);
  });

  it('/ edits the filter with ^w (a word) and ^u (all)', () => {
    const v = view();
    let s = typed(keys(start(), v, '/'), v, 'diag:dead worker:w-1');
    s = keys(s, v, 'ctrl+w');
    expect(s.filter.text).toBe('diag:dead ');
    s = keys(s, v, 'ctrl+u');
    expect(s.filter.text).toBe('');
  });

  it('the reason: placeholder replaced by the first character; readline keys; ↑ ↓ recall', () => {
    const v = view();
    let s = keys(start(), v, 'c');
    expect(dialog(s)).toMatchObject({ focus: 'reason', reason: 'the default', edited: false });
    s = typed(s, v, 'disk full on db-2');
    expect(dialog(s).reason).toBe('disk full on db-2');
    s = keys(s, v, 'ctrl+w');
    expect(dialog(s).reason).toBe('disk full on ');
    s = keys(s, v, 'home', 'right', 'right', 'right', 'right', 'ctrl+u');
    expect(dialog(s)).toMatchObject({ reason: ' full on ', caret: 0 });
    s = keys(s, v, 'end', 'backspace', 'left', 'x');
    expect(dialog(s).reason).toBe(' full oxn');
    s = keys(s, v, 'end', 'ctrl+u', 'enter');
    expect(dialog(s)).toMatchObject({ focus: 'reason', note: 'a reason is required' });
    s = typed(s, v, 'INC-1');
    s = keys(s, v, 'enter');
    expect(dialog(s).focus).toBe('yes');
    s = keys(s, v, 'enter');
    expect(dialog(s).writing).toBe(true);
    s = reduce(s, { type: 'writeDone', action: 'cancel', results: [], error: null, executions: new Map() });
    expect(s.reasons).toEqual(['INC-1']);
    s = keys({ ...s, overlay: null }, v, 'c', 'up');
    expect(dialog(s)).toMatchObject({ reason: 'INC-1', edited: true });
    s = keys(s, v, 'down');
    expect(dialog(s)).toMatchObject({ reason: 'the default', edited: false });
  });

  it('over 10: Enter goes reason → count; the right count writes, a wrong one says so', () => {
    const v = view({ changeCount: 60 });
    let s = keys(start(), v, 'a', 'c', 'enter');
    expect(dialog(s).focus).toBe('count');
    s = keys(s, v, '5', '9', 'enter');
    expect(dialog(s)).toMatchObject({ writing: false, note: '59 is not 60' });
    s = keys(s, v, 'ctrl+u', '6', '0', 'enter');
    expect(dialog(s).writing).toBe(true);
  });

  it('Esc closes the dialog and says nothing was written; ctrl-c quits with 130', () => {
    const v = view();
    let s = keys(start(), v, 'c', 'escape');
    expect(s.overlay).toBeNull();
    expect(s.message?.text).toBe('cancel: closed, nothing written');
    s = keys(s, v, 'c', 'ctrl+c');
    expect(s).toMatchObject({ quitting: true, exitCode: 130 });
  });

  it('moves the cursor by row, page, top and bottom, clamped to the rows shown', () => {
    const v = view({ ids: ['a', 'b', 'c', 'd', 'e'], pageSize: 2 });
    let s = keys(start(), v, 'down');
    expect(s.cursorId).toBe('b');
    s = keys(s, v, 'pagedown');
    expect(s.cursorId).toBe('d');
    s = keys(s, v, 'pagedown', 'down', 'j');
    expect(s.cursorId).toBe('e');
    s = keys(s, v, 'g');
    expect(s).toMatchObject({ cursorId: 'a', cursorIndex: 0 });
    s = keys(s, v, 'up');
    expect(s.cursorId).toBe('a');
    s = keys(s, v, 'G');
    expect(s.cursorId).toBe('e');
    expect(keys(start(), view({ ids: [] }), 'down', 'G').cursorId).toBeNull();
  });

  it('space marks and moves on; a marks every row shown but the gone ones; a gone row is not marked', () => {
    const v = view({ goneIds: new Set(['3']) });
    let s = keys(start(), v, 'space', 'space');
    expect([...s.marks].sort()).toEqual(['1', '2']);
    s = keys(s, v, 'up', 'space');
    expect([...s.marks]).toEqual(['1']);
    s = keys(start(), v, 'down', 'down', 'space');
    expect(s.marks.size).toBe(0);
    expect(s.message?.text).toBe('that execution is gone: nothing to mark');
    s = keys(s, v, 'a');
    expect([...s.marks].sort()).toEqual(['1', '2', '4']);
  });

  it('the age presets, + and -, idle steps and children change the filter in state', () => {
    const v = view();
    let s = keys(start(), v, '3');
    expect(s.filter.olderThanSeconds).toBe(3600);
    s = keys(s, v, '+');
    expect(s.filter.olderThanSeconds).toBe(6 * 3600);
    s = keys(s, v, '-', '-');
    expect(s.filter.olderThanSeconds).toBe(15 * 60);
    s = keys(s, v, 'i');
    expect(s.filter.idleSeconds).toBe(5 * 60);
    s = keys(s, v, 'h');
    expect(s.filter.includeChildren).toBe(true);
  });

  it('p pauses and resumes (resuming asks for a refresh); r refreshes, ctrl-r reloads everything', () => {
    const v = view();
    let s = keys(start(), v, 'p');
    expect(s).toMatchObject({ paused: true, refreshToken: 0 });
    s = keys(s, v, 'p');
    expect(s).toMatchObject({ paused: false, refreshToken: 1 });
    s = keys(s, v, 'r');
    expect(s).toMatchObject({ refreshToken: 2, reconcileToken: 0 });
    s = keys(s, v, 'ctrl+r');
    expect(s).toMatchObject({ refreshToken: 3, reconcileToken: 1 });
  });

  it('no dialog when read-only, disconnected or the source cannot write that action; marks outside the filter come first', () => {
    expect(keys(start(), view({ readOnly: true }), 'c')).toMatchObject({ overlay: null, message: { text: 'read-only mode: cannot cancel (started with --read-only)' } });
    expect(keys(start(), view({ connected: false }), 'f').overlay).toBeNull();
    expect(keys(start(), view({ actions: ['fail'] }), 'c').message?.text).toMatch(/^this source cannot cancel/);
    const marked = keys(start(), view(), 'space');
    const d = dialog(keys(marked, view({ ids: ['2', '3'] }), 'c'));
    expect(d).toMatchObject({ action: 'cancel', ids: ['1'], outside: ['1'] });
  });

  it('q quits with 0; Enter on the list opens the detail and Esc goes back', () => {
    const v = view();
    let s = keys(start(), v, 'down', 'enter');
    expect(s.detail?.id).toBe('2');
    s = keys(s, v, 'escape');
    expect(s.detail).toBeNull();
    expect(keys(start(), v, 'q')).toMatchObject({ quitting: true, exitCode: 0 });
  });
});
