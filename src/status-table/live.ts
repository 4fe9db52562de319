/**
 * The running set of a status table for the interactive app and metrics:
 * every refresh re-reads the rows in a running status (a small set, found
 * by status), so there is no incremental path to keep in step.
 */
import { globToRegExp } from '../noetl/live.js';
import type { StuckFilter } from '../noetl/store.js';
import type { LiveSet } from '../source.js';
import type { StatusTableExecution } from './model.js';

export interface RunningSnapshot {
  executions: StatusTableExecution[];
  nowMs: number;
}

export class StatusTableLiveSet implements LiveSet {
  private rows: StatusTableExecution[] = [];
  private nowMs = 0;

  constructor(private readonly load: () => Promise<RunningSnapshot>) {}

  async refresh(): Promise<{ kind: 'full'; described: number; running: number; ms: number }> {
    const started = performance.now();
    const { executions, nowMs } = await this.load();
    this.rows = executions;
    this.nowMs = nowMs;
    return { kind: 'full', described: executions.length, running: executions.length, ms: performance.now() - started };
  }

  get runningCount(): number {
    return this.rows.length;
  }

  get clockMs(): number {
    return this.nowMs;
  }

  /** The same selection as listStuck(filter), on the rows of the last refresh (already oldest first). */
  count(filter: StuckFilter): number {
    return this.view(filter).length;
  }

  view(filter: StuckFilter): StatusTableExecution[] {
    const match = filter.path ? globToRegExp(filter.path) : null;
    const now = this.nowMs;
    const out = this.rows.filter(
      (e) =>
        (filter.olderThanSeconds <= 0 || Date.parse(e.started_at) <= now - filter.olderThanSeconds * 1000) &&
        (filter.idleSeconds == null || Date.parse(e.last_event_at ?? e.started_at) <= now - filter.idleSeconds * 1000) &&
        (!match || (e.path !== null && match.test(e.path))),
    );
    return filter.limit ? out.slice(0, filter.limit) : out;
  }
}
