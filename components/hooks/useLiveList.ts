import { useEffect, useEffectEvent, useMemo, useRef, useState } from 'react';
import type { ExecutionSource } from '../../src/source.js';
import type { Execution } from '../../src/core/execution.js';
import { backoffMs, errorLine, type Connection } from '../connection.js';
import type { Filter } from '../filters.js';
import { goneReason, mergeRows, type Row } from '../rows.js';
import { uniqueTailLength } from '../columns.js';
import { consoleThresholds } from '../../src/learned-thresholds.js';

/** Header counts: every running execution, and those the age/idle filter calls stuck. */
export interface Counts {
  running: number;
  stuck: number;
}

export interface LiveList {
  rows: readonly Row[];
  /** The id column's widths, computed again only when the rows' ids change (a refresh changes ages, rarely ids). */
  idWidths: IdWidths;
  health: Counts | null;
  /** Time of the last successful refresh (ms), null before the first. */
  refreshedAt: number | null;
  connection: Connection;
  /** A full load read in chunks, while it runs: chunks done of total (null otherwise). */
  loading: { done: number; total: number } | null;
}

interface Options {
  source: ExecutionSource;
  filter: Filter;
  refreshMs: number;
  paused: boolean;
  /** No refresh at all while true (a dialog is open): the list stays as it was. */
  frozen: boolean;
  /** Bump to refresh now. */
  refreshToken: number;
  /** Bump to reload everything from the database (a full reconcile) on the next refresh. */
  reconcileToken: number;
  /** Ids to keep on screen as gone when they drop out (cursor, marks). */
  keepIds: () => ReadonlySet<string>;
}

export interface IdWidths {
  /** The shortest tail that tells every id apart. */
  shortTail: number;
  /** The longest id. */
  fullWidth: number;
}

function idWidthsOf(rows: readonly Row[]): IdWidths {
  const ids = rows.map((r) => r.e.execution_id);
  return { shortTail: uniqueTailLength(ids), fullWidth: ids.reduce((m, id) => Math.max(m, id.length), 0) };
}

/** One turn of the event loop: pending input is read before the next step. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function sameIds(a: readonly Row[], b: readonly Row[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.e.execution_id !== b[i]!.e.execution_id) return false;
  return true;
}

/**
 * The stuck list, refreshed every `refreshMs` while not paused or frozen.
 * Refreshes are incremental (src/noetl/live.ts): after the first load they
 * read only what changed, with a full reconcile every 5 minutes or on demand.
 * A failed refresh keeps the last rows, reports the connection down and
 * retries with backoff; nothing here ever throws into render.
 */
export function useLiveList(o: Options): LiveList {
  const [state, setState] = useState<LiveList>({ rows: [], idWidths: idWidthsOf([]), health: null, refreshedAt: null, connection: { state: 'connecting' }, loading: null });
  // The options as they are when a refresh runs: only the deps below restart the loop.
  const current = useEffectEvent(() => o);
  const running = useMemo(() => o.source.live(), [o.source]);
  // Learned thresholds, read again every few minutes: the RATIO column, `ratio>3`, the ratio sort.
  // The bin's console shares the commands' cache, on disk (commands/ui.ts); in memory otherwise.
  const judging = useMemo(() => consoleThresholds(o.source), [o.source]);
  const reconciled = useRef(o.reconcileToken);
  const { olderThanSeconds, idleSeconds, includeChildren } = o.filter;

  // A change of filter is a new list, not the old one refreshed: no ghosts.
  const appliedKey = useRef<string | null>(null);
  const key = `${olderThanSeconds}|${idleSeconds}|${includeChildren}`;

  useEffect(() => {
    if (o.frozen) return;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let failures = 0;

    const tick = async () => {
      const { source, filter, keepIds, reconcileToken } = current();
      // A chunked full load says how far it got (src/noetl/chunks.ts), a few times a second.
      const progress = setInterval(() => {
        const p = running.loadProgress ?? null;
        if (!stopped && p) setState((prev) => (prev.loading?.done === p.done && prev.loading?.total === p.total ? prev : { ...prev, loading: { done: p.done, total: p.total } }));
      }, 250);
      try {
        await running.refresh(reconciled.current !== reconcileToken);
        clearInterval(progress);
        reconciled.current = reconcileToken;
        // Between the steps below (each a pass over every row), keys typed meanwhile are answered first.
        await turn();
        if (stopped) return;
        // Never waited for: rows show "no history" until the first read answers; a failed read never fails a refresh.
        const map = judging.cache.peek();
        const stuckFilter = { olderThanSeconds: filter.olderThanSeconds, idleSeconds: filter.idleSeconds, includeChildren: filter.includeChildren };
        const history = map.size > 0 ? map : undefined;
        let fresh: Execution[];
        if (running.viewSlices) {
          fresh = [];
          for (const slice of running.viewSlices(stuckFilter, history, judging.minHistory)) {
            for (const e of slice) fresh.push(e);
            await turn();
            if (stopped) return;
          }
        } else {
          fresh = running.view(stuckFilter, history, judging.minHistory);
          await turn();
          if (stopped) return;
        }
        const health: Counts = {
          running: running.runningCount,
          stuck: filter.includeChildren ? fresh.length : running.count({ olderThanSeconds: filter.olderThanSeconds, idleSeconds: filter.idleSeconds, includeChildren: true }),
        };
        await turn();
        if (stopped) return;
        const keep = appliedKey.current === key ? keepIds() : new Set<string>();
        const missing = new Set(keep);
        for (const e of fresh) {
          if (missing.size === 0) break;
          missing.delete(e.execution_id);
        }
        const why = new Map<string, string>();
        if (missing.size > 0) {
          const described = new Map((await source.describe([...missing])).map((e) => [e.execution_id, e.state]));
          if (stopped) return;
          for (const id of missing) why.set(id, goneReason(described.get(id)));
        }
        failures = 0;
        setState((prev) => {
          const rows = mergeRows(prev.rows, fresh, keep, why);
          return { rows, idWidths: sameIds(prev.rows, rows) ? prev.idWidths : idWidthsOf(rows), health, refreshedAt: Date.now(), connection: { state: 'up' }, loading: null };
        });
        appliedKey.current = key;
        schedule(current().refreshMs);
      } catch (error) {
        clearInterval(progress);
        if (stopped) return;
        failures++;
        const delay = backoffMs(failures);
        const message = errorLine(error, current().source.db.label);
        setState((prev) => ({ ...prev, connection: { state: 'down', error: message, retryAt: Date.now() + delay, failures }, loading: null }));
        schedule(delay);
      }
    };
    const schedule = (ms: number) => {
      timer = setTimeout(() => {
        // Paused: stop here; resuming bumps refreshToken, which starts again.
        if (!stopped && !current().paused) void tick();
      }, ms);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [o.source, running, judging, key, o.frozen, o.refreshToken]);

  return state;
}
