/**
 * The set of running executions kept up to date at the cost of what changed.
 *
 * After one full load, a refresh reads only (1) executions with an event
 * stamped since the previous refresh, minus a safety margin, because writers
 * stamp created_at themselves and commit late, (2) the descriptions of those
 * that are running or just finished, and of their parents, and (3) the worker
 * heartbeats (a small table). Ages, idle times and worker liveness are then
 * derived from the database's clock. A periodic full reconcile corrects
 * anything the incremental path missed (an event stamped older than the
 * margin, a command-table-only change).
 */
import type { NoetlExecution } from '../core/execution.js';
import type { ThresholdMap } from '../core/thresholds.js';
import { stuckMatcher, type StuckFilter } from '../core/filter.js';
import { stuckFactsOf, toExecution, type DescribedRow } from './model.js';
import { compareIds, type LoadProgress, type NoetlStore } from './store.js';

export interface LiveOptions {
  /** How far back each refresh re-reads, for late commits and writer clock skew. */
  marginMs?: number;
  /** Full reconcile period. */
  reconcileMs?: number;
}

export interface RefreshStats {
  kind: 'full' | 'incremental';
  /** Executions re-described in this refresh. */
  described: number;
  running: number;
  ms: number;
}

/** Everything a refresh starts from: what a snapshot keeps between runs (snapshot.ts). */
export interface LiveState {
  rows: DescribedRow[];
  nowMs: number;
  watermarkMs: number;
  windowCounts: [string, number][];
}

/** Rows derived per slice of viewSlices(): a few milliseconds of work. */
const SLICE_ROWS = 4000;

export class LiveRunningSet {
  private rows = new Map<string, DescribedRow>();
  /** The rows oldest first; a row's start never changes, so only joins and leaves reorder it. */
  private sorted: DescribedRow[] | null = null;
  private nowMs = 0;
  private lastFullAt = 0;
  private watermarkMs = 0;
  /** Per execution, its events inside the current window, as counted by the previous refresh. */
  private windowCounts = new Map<string, number>();
  private readonly marginMs: number;
  private readonly reconcileMs: number;
  private progress: LoadProgress | null = null;

  constructor(
    private readonly store: NoetlStore,
    options: LiveOptions = {},
  ) {
    this.marginMs = options.marginMs ?? 120_000;
    this.reconcileMs = options.reconcileMs ?? 5 * 60_000;
  }

  get loaded(): boolean {
    return this.lastFullAt > 0;
  }

  /** Full load when due (first time, every reconcile period, or forced), else incremental. */
  async refresh(force = false): Promise<RefreshStats> {
    const started = performance.now();
    if (force || !this.loaded || Date.now() - this.lastFullAt >= this.reconcileMs) {
      let rows: DescribedRow[];
      try {
        rows = await this.store.listStuckRows({ olderThanSeconds: 0, includeChildren: true }, { onProgress: (p) => (this.progress = p), fresh: force });
      } finally {
        this.progress = null;
      }
      // With no running execution the listing carries no clock: read it alone (an empty index range).
      const nowMs = rows[0]?.now_ms ?? (await this.store.recentActivity(Number.MAX_SAFE_INTEGER)).nowMs;
      this.rows = new Map(rows.map((r) => [r.execution_id, r]));
      this.sorted = null;
      this.nowMs = nowMs;
      this.watermarkMs = nowMs - this.marginMs;
      this.windowCounts = new Map();
      this.lastFullAt = Date.now();
      return { kind: 'full', described: rows.length, running: this.rows.size, ms: performance.now() - started };
    }
    const { nowMs, executions } = await this.store.recentActivity(this.watermarkMs, this.marginMs);
    const touched = new Set<string>();
    for (const a of executions) {
      // Events are only ever inserted: the same count in the same window means nothing new arrived.
      if (a.seen <= (this.windowCounts.get(a.execution_id) ?? 0)) continue;
      if (this.rows.has(a.execution_id) || (a.has_start && !a.has_terminal)) touched.add(a.execution_id);
      if (a.has_terminal || a.has_start) {
        // A child that starts or finishes changes its parent's running_children.
        const parent = a.parent_execution_id ?? this.rows.get(a.execution_id)?.parent_execution_id;
        if (parent && this.rows.has(parent)) touched.add(parent);
      }
    }
    const described = await this.store.describeRows([...touched]);
    const byId = new Map(described.map((r) => [r.execution_id, r]));
    for (const id of touched) {
      const row = byId.get(id);
      if (row && row.terminal_type === null) this.rows.set(id, row);
      else this.rows.delete(id);
      this.sorted = null;
    }
    const heartbeats = await this.store.heartbeats();
    for (const row of this.rows.values()) {
      row.now_ms = nowMs;
      if (row.worker_id && heartbeats.has(row.worker_id)) row.heartbeat_ms = heartbeats.get(row.worker_id) ?? null;
      // Parent liveness and progress follow the set itself.
      const parent = row.parent_execution_id === null ? undefined : this.rows.get(row.parent_execution_id);
      row.parent_running = parent !== undefined;
      if (parent) row.parent_last_event_ms = parent.last_event_ms;
    }
    this.nowMs = nowMs;
    this.watermarkMs = nowMs - this.marginMs;
    this.windowCounts = new Map(executions.filter((a) => a.next > 0).map((a) => [a.execution_id, a.next]));
    return { kind: 'incremental', described: described.length, running: this.rows.size, ms: performance.now() - started };
  }

  /** The set and where the next refresh reads from. */
  exportState(): LiveState {
    return { rows: [...this.rows.values()], nowMs: this.nowMs, watermarkMs: this.watermarkMs, windowCounts: [...this.windowCounts] };
  }

  /** Start from a state (a full load's, or a saved one): the next refresh() is incremental. */
  restore(state: LiveState): void {
    this.rows = new Map(state.rows.map((r) => [r.execution_id, r]));
    this.sorted = null;
    this.nowMs = state.nowMs;
    this.watermarkMs = state.watermarkMs;
    this.windowCounts = new Map(state.windowCounts);
    this.lastFullAt = Date.now();
  }

  /** Every running execution, whatever its age. */
  get runningCount(): number {
    return this.rows.size;
  }

  get clockMs(): number {
    return this.nowMs;
  }

  get loadProgress(): LoadProgress | null {
    return this.progress;
  }

  /** The stuck executions under `filter`, as `list` would return them. */
  view(filter: StuckFilter, history?: ThresholdMap, minHistory?: number): NoetlExecution[] {
    const out: NoetlExecution[] = [];
    for (const slice of this.viewSlices(filter, history, minHistory)) for (const e of slice) out.push(e);
    return out;
  }

  *viewSlices(filter: StuckFilter, history?: ThresholdMap, minHistory?: number): Generator<NoetlExecution[]> {
    const rows = this.viewRows(filter);
    for (let at = 0; at < rows.length; at += SLICE_ROWS) yield rows.slice(at, at + SLICE_ROWS).map((row) => toExecution(row, history, minHistory));
  }

  /** The rows under `filter`, as the listing SQL returns them. */
  viewRows(filter: StuckFilter): DescribedRow[] {
    const out = this.matching(filter);
    return filter.limit ? out.slice(0, filter.limit) : out;
  }

  /** How many `view(filter)` would return, without deriving them. */
  count(filter: StuckFilter): number {
    return this.matching(filter).length;
  }

  private matching(filter: StuckFilter): DescribedRow[] {
    const match = stuckMatcher(filter);
    this.sorted ??= [...this.rows.values()].sort((a, b) => a.started_ms - b.started_ms || compareIds(a.execution_id, b.execution_id));
    const out: DescribedRow[] = [];
    for (const row of this.sorted) if (match(stuckFactsOf(row))) out.push(row);
    return out;
  }
}
