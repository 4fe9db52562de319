/**
 * The running set of a status table for the interactive app and metrics:
 * every refresh re-reads the rows in a running status (a small set, found
 * by status), so there is no incremental path to keep in step.
 */
import type { StatusTableExecution } from '../core/execution.js';
import { stuckMatcher, type StuckFacts, type StuckFilter } from '../core/filter.js';
import type { LiveSet } from '../source.js';
import { withHistory, type ThresholdMap } from '../core/thresholds.js';

export interface RunningSnapshot {
  /** Oldest first, each with what the stuck filter reads of its row. */
  executions: { execution: StatusTableExecution; facts: StuckFacts }[];
  nowMs: number;
}

export class StatusTableLiveSet implements LiveSet {
  private rows: RunningSnapshot['executions'] = [];
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

  /** The same selection as listStuck(filter), on the rows of the last refresh. */
  count(filter: StuckFilter): number {
    return this.view(filter).length;
  }

  view(filter: StuckFilter, history?: ThresholdMap, minHistory?: number): StatusTableExecution[] {
    const match = stuckMatcher(filter);
    const out = this.rows.filter((r) => match({ ...r.facts, nowMs: this.nowMs })).map((r) => r.execution);
    const limited = filter.limit ? out.slice(0, filter.limit) : out;
    return history ? withHistory(limited, history, minHistory) : limited;
  }
}
