import { useCallback, useRef, useState } from 'react';
import type { ContextChoice } from '../src/config-file.js';
import { App, type AppProps } from './App.js';
import { errorLine } from './connection.js';
import type { Filter } from './filters.js';
import type { Session } from './session.js';

export interface ContextSwitchProps extends Omit<AppProps, 'source' | 'readOnly' | 'context' | 'contexts' | 'onSwitchContext' | 'notice'> {
  initial: Session;
  contexts: readonly ContextChoice[];
  /** Open a context by name (resolve its source, connect). */
  open: (name: string) => Promise<Session>;
  /** Told of each session that takes over (the caller closes the last one at the end). */
  onSession?: (session: Session) => void;
}

/**
 * The app on one session at a time: the picker's choice is opened first (a
 * context that cannot be reached leaves the current one in place), then the
 * app is remounted on it with a fresh state and the old session is closed.
 */
export function ContextSwitch({ initial, contexts, open, onSession, filter, ...rest }: ContextSwitchProps) {
  const [current, setCurrent] = useState<{ session: Session; filter: Filter; n: number; notice: string | null }>({ session: initial, filter, n: 0, notice: null });
  const busy = useRef(false);
  const onSwitchContext = useCallback(
    async (name: string, keep: Filter): Promise<string | null> => {
      if (busy.current) return 'a switch is already under way';
      busy.current = true;
      const old = current.session;
      try {
        let next: Session;
        try {
          next = await open(name);
        } catch (error) {
          return errorLine(error, name);
        }
        onSession?.(next);
        setCurrent({
          session: next,
          filter: keep,
          n: current.n + 1,
          notice: `context ${name}: ${next.source.db.label} ${next.source.describeTarget}${next.readOnly ? ' (read-only)' : ''}`,
        });
        await old.close();
        return null;
      } finally {
        busy.current = false;
      }
    },
    [current, open, onSession],
  );
  const { session } = current;
  return (
    <App
      key={current.n}
      {...rest}
      filter={current.filter}
      source={session.source}
      readOnly={session.readOnly}
      context={session.context}
      contexts={contexts}
      onSwitchContext={onSwitchContext}
      notice={current.notice}
    />
  );
}
