import { useEffect, useEffectEvent, useState } from 'react';
import type { ShowData } from '../../src/core/show.js';
import type { ExecutionSource } from '../../src/source.js';
import { errorLine } from '../connection.js';

export const DETAIL_EVENTS = 200;

export interface Detail {
  id: string | null;
  /** undefined while loading the first time; null when the execution has no events. */
  data: ShowData | null | undefined;
  error: string | null;
}

/** The detail of one execution, reloaded with the list's rhythm; keeps the last data on error. */
export function useDetail(source: ExecutionSource, id: string | null, o: { refreshMs: number; paused: boolean; frozen: boolean; refreshToken: number }): Detail {
  const [state, setState] = useState<Detail>({ id: null, data: undefined, error: null });
  // Read when the next reload is due: a change of pace does not restart the loop.
  const pace = useEffectEvent(() => ({ paused: o.paused, refreshMs: o.refreshMs }));
  useEffect(() => {
    if (id === null || o.frozen) return;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const load = async () => {
      try {
        const data = await source.detail(id, DETAIL_EVENTS);
        if (stopped) return;
        setState({ id, data, error: null });
      } catch (error) {
        if (stopped) return;
        setState((prev) => ({ id, data: prev.id === id ? prev.data : undefined, error: errorLine(error, source.db.label) }));
      }
      timer = setTimeout(() => {
        if (!stopped && !pace().paused) void load();
      }, pace().refreshMs);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [source, id, o.frozen, o.refreshToken]);
  return state.id === id ? state : { id, data: undefined, error: null };
}
