import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Key } from 'ink';
import { KEYMAP, keyName, keyNames, keysMarkdown, lookup, type Scope } from '../../components/keymap.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const START = '<!-- keys: generated from components/keymap.ts by test/unit/keymap.test.ts (UPDATE_README=1 rewrites it) -->';
const END = '<!-- /keys -->';

describe('the keymap', () => {
  it('binds no key twice in one scope', () => {
    const seen = new Map<string, string>();
    for (const b of KEYMAP) {
      // The same command may list a key in two entries (the edit keys' help lines); a key never means two commands.
      for (const scope of b.scopes as Scope[]) {
        for (const k of b.keys) {
          const at = `${scope} ${k}`;
          expect(seen.get(at) ?? b.command, `${at} is bound to ${seen.get(at)} and ${b.command}`).toBe(b.command);
          seen.set(at, b.command);
        }
      }
    }
  });

  it('README.md lists exactly the keys of the keymap', () => {
    const text = readFileSync(README, 'utf8');
    const a = text.indexOf(START);
    const b = text.indexOf(END);
    expect(a, 'README has the keys markers').toBeGreaterThan(0);
    const current = text.slice(a + START.length, b).trim();
    const wanted = keysMarkdown().trim();
    if (current !== wanted && process.env.UPDATE_README === '1') {
      writeFileSync(README, `${text.slice(0, a + START.length)}\n${wanted}\n${text.slice(b)}`);
      return;
    }
    expect(current).toBe(wanted);
  });

  it('global bindings win over a scope: ctrl-c quits from a dialog and from the search line', () => {
    for (const scope of ['list', 'detail', 'dialog', 'search', 'results', 'help', 'contexts'] as const) expect(lookup(scope, 'ctrl+c'), scope).toBe('quit');
    expect(lookup('list', 'q')).toBe('quit');
    expect(lookup('dialog', 'q')).toBeNull();
    expect(lookup('list', 'no-such-key')).toBeNull();
  });

  it('every binding has help text, and every key it names is one keyName() can produce', () => {
    const named = /^(up|down|left|right|pageup|pagedown|home|end|enter|escape|tab|shift\+tab|backspace|space|ctrl\+[a-z]|[\x21-\x7e])$/;
    for (const b of KEYMAP) {
      expect(b.help, b.command).not.toBe('');
      for (const k of b.keys) expect(k, `${b.command}: ${k}`).toMatch(named);
    }
  });
});

describe('key names', () => {
  const key = (over: Partial<Key> = {}) => ({ ...Object.fromEntries(Object.keys(NO_KEY).map((k) => [k, false])), ...over }) as Key;
  const NO_KEY = {
    upArrow: 0,
    downArrow: 0,
    leftArrow: 0,
    rightArrow: 0,
    pageUp: 0,
    pageDown: 0,
    home: 0,
    end: 0,
    return: 0,
    escape: 0,
    tab: 0,
    shift: 0,
    backspace: 0,
    delete: 0,
    ctrl: 0,
    meta: 0,
  };

  it('names special keys, ctrl chords and space', () => {
    expect(keyName('', key({ upArrow: true }))).toBe('up');
    expect(keyName('', key({ tab: true, shift: true }))).toBe('shift+tab');
    expect(keyName('', key({ delete: true }))).toBe('backspace');
    expect(keyName('w', key({ ctrl: true }))).toBe('ctrl+w');
    expect(keyName(' ', key())).toBe('space');
    expect(keyName('G', key())).toBe('G');
  });

  it('a run of characters in one event is one key each; control characters by name', () => {
    expect(keyNames('ab c', key())).toEqual(['a', 'b', 'space', 'c']);
    expect(keyNames('x\r\t\u007f', key())).toEqual(['x', 'enter', 'tab', 'backspace']);
    expect(keyNames('w', key({ ctrl: true }))).toEqual(['ctrl+w']);
  });
});
