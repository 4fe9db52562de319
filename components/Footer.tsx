import { Text } from 'ink';
import { footerItems, type Scope } from './keymap.js';
import type { Theme } from './theme.js';
import type { Action } from '../src/core/mark.js';

/** The main keys of the current screen, from the keymap. */
export function Footer({ scope, actions, theme }: { scope: Scope; actions?: readonly Action[]; theme: Theme }) {
  const items = footerItems(scope, actions);
  return (
    <Text wrap="truncate-end">
      {items.map((it, i) => (
        <Text key={i}>
          <Text bold color={theme.accent}>
            {it.keys}
          </Text>
          {` ${it.label}${i < items.length - 1 ? '  ' : ''}`}
        </Text>
      ))}
    </Text>
  );
}
