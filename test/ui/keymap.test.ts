import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KEYMAP, keysMarkdown, type Scope } from '../../components/keymap.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const START = '<!-- keys: generated from components/keymap.ts by test/ui/keymap.test.ts (UPDATE_README=1 rewrites it) -->';
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
});
