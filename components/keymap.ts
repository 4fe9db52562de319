import type { Key } from 'ink';
import type { Action } from '../src/core/mark.js';

/**
 * The one table of key bindings: App dispatches keys through it, and the
 * footer and the `?` help are generated from it.
 */
export type Scope = 'global' | 'list' | 'detail' | 'dialog' | 'search' | 'results' | 'help' | 'contexts';

export type Command =
  | 'quit'
  | 'up'
  | 'down'
  | 'pageUp'
  | 'pageDown'
  | 'top'
  | 'bottom'
  | 'open'
  | 'back'
  | 'mark'
  | 'markAll'
  | 'clearMarks'
  | 'cancel'
  | 'fail'
  | 'complete'
  | 'pause'
  | 'refresh'
  | 'reconcile'
  | 'agePreset'
  | 'ageUp'
  | 'ageDown'
  | 'idle'
  | 'search'
  | 'clearSearch'
  | 'children'
  | 'help'
  | 'cascade'
  | 'focusNext'
  | 'focusPrev'
  | 'confirm'
  | 'close'
  | 'review'
  | 'edit'
  | 'lastError'
  | 'history'
  | 'copyId'
  | 'sortPrev'
  | 'sortNext'
  | 'sortInvert'
  | 'nextChild'
  | 'prevChild'
  | 'openChild'
  | 'contexts';

export interface Binding {
  command: Command;
  /** Key names as produced by keyName(). */
  keys: readonly string[];
  scopes: readonly Scope[];
  help: string;
  /** How the keys read in help, when not just listed. */
  shown?: string;
  /** Short label for the footer; only bindings with one appear there. */
  footer?: string;
  /** It writes this action: hidden from footer and help when the action is not possible (read-only, a source without it). */
  writes?: Action;
}

export const KEYMAP: readonly Binding[] = [
  { command: 'quit', keys: ['ctrl+c'], scopes: ['global'], help: 'quit at once, from anywhere' },
  { command: 'quit', keys: ['q'], scopes: ['list'], help: 'quit', footer: 'quit' },
  { command: 'up', keys: ['up', 'k'], scopes: ['list', 'detail', 'results', 'help', 'dialog', 'contexts'], help: 'move up / scroll', shown: '↑ k' },
  { command: 'down', keys: ['down', 'j'], scopes: ['list', 'detail', 'results', 'help', 'dialog', 'contexts'], help: 'move down / scroll', shown: '↓ j' },
  { command: 'pageUp', keys: ['pageup', 'ctrl+b'], scopes: ['list', 'detail', 'results', 'help', 'dialog'], help: 'page up', shown: 'PgUp ^b' },
  { command: 'pageDown', keys: ['pagedown', 'ctrl+f'], scopes: ['list', 'detail', 'results', 'help', 'dialog'], help: 'page down', shown: 'PgDn ^f' },
  { command: 'top', keys: ['home', 'g'], scopes: ['list', 'detail'], help: 'first row / top' },
  { command: 'bottom', keys: ['end', 'G'], scopes: ['list', 'detail'], help: 'last row / bottom' },
  { command: 'open', keys: ['enter'], scopes: ['list'], help: 'details of the execution under the cursor', footer: 'open' },
  { command: 'mark', keys: ['space'], scopes: ['list'], help: 'mark / unmark the row', footer: 'mark' },
  { command: 'markAll', keys: ['a'], scopes: ['list'], help: 'mark every row shown' },
  { command: 'clearMarks', keys: ['A'], scopes: ['list'], help: 'clear all marks' },
  { command: 'cancel', keys: ['c'], scopes: ['list', 'detail'], help: 'cancel the marked rows (or the cursor row)', footer: 'cancel', writes: 'cancel' },
  { command: 'fail', keys: ['f'], scopes: ['list', 'detail'], help: 'mark failed the marked rows (or the cursor row)', footer: 'fail', writes: 'fail' },
  { command: 'complete', keys: ['d'], scopes: ['list', 'detail'], help: 'mark completed (done) the marked rows (or the cursor row)', writes: 'complete' },
  { command: 'agePreset', keys: ['0', '1', '2', '3', '4', '5'], scopes: ['list'], help: 'age: any / at least 5m / 15m / 1h / 6h / 24h', shown: '0-5', footer: 'age' },
  { command: 'ageUp', keys: ['+', '='], scopes: ['list'], help: 'next longer age preset' },
  { command: 'ageDown', keys: ['-'], scopes: ['list'], help: 'next shorter age preset' },
  { command: 'idle', keys: ['i'], scopes: ['list'], help: 'cycle idle threshold: any, 5m, 15m, 1h' },
  { command: 'search', keys: ['/'], scopes: ['list'], help: 'filter: words in path or id, diag:"worker dead", worker: step: age>2h idle>30m', footer: 'filter' },
  { command: 'clearSearch', keys: ['escape'], scopes: ['list'], help: 'clear the filter' },
  { command: 'sortPrev', keys: ['<'], scopes: ['list'], help: 'sort by the column to the left' },
  { command: 'sortNext', keys: ['>'], scopes: ['list'], help: 'sort by the column to the right' },
  { command: 'sortInvert', keys: ['I'], scopes: ['list'], help: 'invert the sort order' },
  { command: 'children', keys: ['h'], scopes: ['list'], help: 'tree view: child executions indented under their parent, on / off' },
  { command: 'pause', keys: ['p'], scopes: ['list', 'detail'], help: 'pause / resume live refresh' },
  { command: 'refresh', keys: ['r'], scopes: ['list', 'detail'], help: 'refresh now' },
  { command: 'reconcile', keys: ['ctrl+r'], scopes: ['list', 'detail'], help: 'reload everything from the database (full reconcile)' },
  { command: 'copyId', keys: ['y'], scopes: ['list', 'detail'], help: 'copy the full id of the cursor row (OSC 52: works over SSH and tmux)' },
  { command: 'lastError', keys: ['e'], scopes: ['list', 'detail'], help: 'the last database error in full' },
  { command: 'history', keys: ['H'], scopes: ['list', 'detail'], help: "history: the batches noetl-console wrote (every operator's), newest first" },
  { command: 'contexts', keys: ['x'], scopes: ['list'], help: "switch context (the config file's contexts:)" },
  { command: 'help', keys: ['?'], scopes: ['list', 'detail'], help: 'all keys', footer: 'help' },
  { command: 'nextChild', keys: ['tab'], scopes: ['detail'], help: 'select the next child execution', footer: 'child' },
  { command: 'prevChild', keys: ['shift+tab'], scopes: ['detail'], help: 'select the previous child execution' },
  { command: 'openChild', keys: ['enter'], scopes: ['detail'], help: 'open the selected child execution' },
  { command: 'back', keys: ['escape', 'q'], scopes: ['detail'], help: 'back to the parent, or to the list', footer: 'back' },
  { command: 'close', keys: ['escape', 'q', '?'], scopes: ['help'], help: 'close help (or the error)' },
  { command: 'close', keys: ['escape', 'enter', 'q'], scopes: ['results'], help: 'close the outcome list', footer: 'close' },
  { command: 'review', keys: ['v'], scopes: ['results'], help: 'review, in a new dialog, the running descendants the write did not touch (not shown)', footer: 'review' },
  { command: 'confirm', keys: ['enter'], scopes: ['search'], help: 'keep the filter', footer: 'keep' },
  { command: 'close', keys: ['escape'], scopes: ['search'], help: 'drop the filter', footer: 'drop' },
  { command: 'edit', keys: ['ctrl+u', 'ctrl+w'], scopes: ['search'], help: 'erase the filter / its last word' },
  { command: 'confirm', keys: ['enter'], scopes: ['dialog'], help: 'reason: on to the count (or Yes); count: write when it is right; button: press it', footer: 'go on' },
  { command: 'edit', keys: ['ctrl+u', 'ctrl+w'], scopes: ['dialog'], help: 'in the reason: erase to the start / the word before the caret' },
  { command: 'edit', keys: ['home', 'end'], scopes: ['dialog'], help: 'in the reason: caret to start / end (← → move it, ↑ ↓ earlier reasons)' },
  { command: 'focusNext', keys: ['tab', 'right'], scopes: ['dialog'], help: 'next field or button (→ on a button)', shown: 'Tab →', footer: 'next' },
  { command: 'focusPrev', keys: ['shift+tab', 'left'], scopes: ['dialog'], help: 'previous field or button (← on a button)', shown: 'S-Tab ←' },
  { command: 'cascade', keys: ['t'], scopes: ['dialog'], help: 'cascade to running descendants on/off (on a button)', footer: 'cascade' },
  { command: 'close', keys: ['escape', 'n'], scopes: ['dialog'], help: 'close, nothing written (n on a button)', footer: 'close' },
  { command: 'confirm', keys: ['enter'], scopes: ['contexts'], help: 'switch to the context under the cursor (closes the current database, opens its own)', footer: 'switch' },
  { command: 'close', keys: ['escape', 'q', 'x'], scopes: ['contexts'], help: 'close, stay in the current context', footer: 'cancel' },
];

export const SCOPE_TITLES: Record<Scope, string> = {
  global: 'Anywhere',
  list: 'List',
  detail: 'Detail view',
  dialog: 'Confirmation dialog',
  search: 'Text filter',
  results: 'Outcome list',
  help: 'Help',
  contexts: 'Context picker',
};

/** A stable name for a key press: 'q', 'A', 'enter', 'ctrl+c', 'shift+tab', 'space'. */
export function keyName(input: string, key: Key): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return) return 'enter';
  if (key.escape) return 'escape';
  if (key.tab) return key.shift ? 'shift+tab' : 'tab';
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl && input) return `ctrl+${input}`;
  if (input === ' ') return 'space';
  return input;
}

const CONTROL_NAMES: Record<string, string> = { '\r': 'enter', '\n': 'enter', '\t': 'tab', '\u007f': 'backspace', '\b': 'backspace', ' ': 'space' };

/**
 * Key names of one input event. Ink hands a run of typed characters that
 * arrive together (fast typing, a paste, tmux send-keys) over as one string;
 * each character is a key press of its own here.
 */
export function keyNames(input: string, key: Key): string[] {
  const chars = [...input];
  if (chars.length <= 1 || key.ctrl || key.meta) return [keyName(input, key)];
  return chars.map((c) => CONTROL_NAMES[c] ?? c);
}

/** The command bound to `name` in `scope` (global bindings win), or null. */
export function lookup(scope: Scope, name: string): Command | null {
  for (const s of ['global', scope] as const) {
    const b = KEYMAP.find((x) => x.scopes.includes(s) && x.keys.includes(name));
    if (b) return b.command;
  }
  return null;
}

const KEY_LABELS: Record<string, string> = {
  up: '↑',
  down: '↓',
  left: '←',
  right: '→',
  enter: 'Enter',
  escape: 'Esc',
  space: 'Space',
  tab: 'Tab',
  'shift+tab': 'S-Tab',
  pageup: 'PgUp',
  pagedown: 'PgDn',
  home: 'Home',
  end: 'End',
};

export function keysLabel(b: Binding): string {
  if (b.shown) return b.shown;
  return b.keys.map((k) => KEY_LABELS[k] ?? (k.startsWith('ctrl+') ? `^${k.slice(5)}` : k)).join(' ');
}

/** The bindings of a scope; those that write an action not in `actions` are left out (read-only: none). */
export function bindingsFor(scope: Scope, actions?: readonly Action[]): Binding[] {
  return KEYMAP.filter((b) => b.scopes.includes(scope) && (!b.writes || !actions || actions.includes(b.writes)));
}

/** `key label` pairs for the footer of a scope, in table order. */
export function footerItems(scope: Scope, actions?: readonly Action[]): { keys: string; label: string }[] {
  return bindingsFor(scope, actions)
    .filter((b) => b.footer)
    .map((b) => ({ keys: keysLabel(b).split(' ')[0]!, label: b.footer! }));
}

/** Help text lines, generated from the table. */
export function helpLines(actions?: readonly Action[]): { title: string; rows: { keys: string; help: string }[] }[] {
  const order: Scope[] = ['global', 'list', 'search', 'detail', 'dialog', 'results', 'contexts', 'help'];
  // With nothing to write there is no dialog either.
  return order
    .filter((scope) => scope !== 'dialog' || !actions || actions.length > 0)
    .map((scope) => ({
      title: SCOPE_TITLES[scope],
      rows: bindingsFor(scope, actions).map((b) => ({ keys: keysLabel(b), help: b.help })),
    }));
}

/** The keys section of README.md, generated from the table (test/unit/keymap.test.ts keeps them equal). */
export function keysMarkdown(): string {
  const out: string[] = [];
  for (const group of helpLines()) {
    out.push(`**${group.title}**`, '', '| Keys | What they do |', '| --- | --- |');
    for (const row of group.rows)
      out.push(
        `| ${row.keys
          .split(' ')
          .map((k) => `\`${k}\``)
          .join(' ')} | ${row.help.replace(/\|/g, '\\|')} |`,
      );
    out.push('');
  }
  const writes = KEYMAP.filter((b) => b.writes).map((b) => `\`${keysLabel(b)}\``);
  out.push(`In text fields (filter, reason, count) keys type text. ${writes.join(', ')} are not offered in read-only mode, nor for an action the source cannot write.`);
  return out.join('\n');
}
