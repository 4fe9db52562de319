import { Text } from 'ink';
import { footerItems, type Scope } from './keymap.js';
import type { Theme } from './theme.js';

/** The main keys of the current screen, from the keymap. */
export function Footer({ scope, theme }: { scope: Scope; theme: Theme }) {
  const items = footerItems(scope);
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
