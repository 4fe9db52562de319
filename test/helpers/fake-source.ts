/**
 * An ExecutionSource in memory, for view tests that need no database: the
 * executions are given, reads filter them as a source would, and mark()
 * records each request and closes what it names (no cascade, no children).
 * Not a stand-in for the data layer: its tests run on real databases.
 */
import type { Database } from '../../src/db/database.js';
import type { ShowData } from '../../src/core/show.js';
import type { MarkRequest, MarkResult } from '../../src/core/mark.js';
import type { Execution, HealthCounts, NoetlExecution } from '../../src/core/execution.js';
import { stuckMatcher, type StuckFilter } from '../../src/core/filter.js';
import { ACTIONS, type Action } from '../../src/core/mark.js';
import type { ExecutionSource, LiveSet } from '../../src/source.js';
import { withHistory, type Threshold } from '../../src/core/thresholds.js';

/** A running execution, `ageSeconds` old and idle as long, with what `over` says. */
export function fakeExecution(id: string, path: string, ageSeconds: number, over: Partial<NoetlExecution> = {}): NoetlExecution {
  const started = new Date(Date.now() - ageSeconds * 1000).toISOString();
  return {
    source: 'noetl',
    execution_id: id,
    path,
    state: 'running',
    started_at: started,
    age_seconds: ageSeconds,
    last_event_at: started,
    last_event_type: 'command.issued',
    idle_seconds: ageSeconds,
    last_step: null,
    stuck_step: 'work',
    worker_id: null,
    worker_alive: null,
    worker_heartbeat_age_seconds: null,
    parent_execution_id: null,
    parent_running: false,
    running_children: 0,
    total_children: 0,
    finished_at: null,
    diagnosis: 'no worker has claimed the step',
    severity: 'danger',
    ...over,
  };
}

/** A Database the fake hands out for labels only: any statement is a test bug. */
const NO_DATABASE: Database = {
  kind: 'pglite',
  label: 'fake-source',
  query: () => Promise.reject(new Error('the fake source has no database')),
  transaction: () => Promise.reject(new Error('the fake source has no database')),
  close: async () => undefined,
};

export class FakeSource implements ExecutionSource {
  readonly kind = 'noetl' as const;
  readonly name = 'fake';
  readonly db = NO_DATABASE;
  readonly describeTarget = 'fake source';
  readonly actions: readonly Action[] = ['cancel', 'fail', 'complete'];
  readonly hasChildren = false;
  /** Every mark() call, dry runs included, oldest first. */
  readonly marks: MarkRequest[] = [];
  private readonly rows: Map<string, Execution>;

  constructor(
    executions: readonly Execution[],
    /** What thresholds() answers: the learned durations per path. */
    private readonly learned: readonly Threshold[] = [],
  ) {
    this.rows = new Map(executions.map((e) => [e.execution_id, e]));
  }

  async thresholds(): Promise<Threshold[]> {
    return [...this.learned];
  }

  private stuck(f: StuckFilter): Execution[] {
    // The sources' own definition of stuck (src/core/filter.ts), over the rows' facts.
    const stuck = stuckMatcher(f);
    const nowMs = Date.now();
    return [...this.rows.values()]
      .filter((e) => e.state === 'running')
      .filter((e) =>
        stuck({
          startedMs: nowMs - e.age_seconds * 1000,
          lastActivityMs: nowMs - (e.idle_seconds ?? e.age_seconds) * 1000,
          nowMs,
          path: e.path,
          childOfRunning: e.source === 'noetl' && e.parent_running,
        }),
      )
      .sort((a, b) => b.age_seconds - a.age_seconds);
  }

  describeWrite(action: Action): string {
    return `sets ${ACTIONS[action].state}`;
  }
  parseId(raw: string): string {
    return raw.trim();
  }
  async listStuck(filter: StuckFilter): Promise<Execution[]> {
    return this.stuck(filter);
  }
  async describe(ids: readonly string[]): Promise<Execution[]> {
    return ids.flatMap((id) => this.rows.get(id) ?? []);
  }
  async detail(id: string): Promise<ShowData | null> {
    const execution = this.rows.get(id);
    return execution ? { execution, timeline: { kind: 'events', events: [], total: 0 }, children: [] } : null;
  }
  async mark(req: MarkRequest): Promise<MarkResult[]> {
    this.marks.push(req);
    const done = ACTIONS[req.action];
    return req.ids.map((id) => {
      const e = this.rows.get(id);
      const base = { execution_id: id, parent_execution_id: null, root_execution_id: id, cascaded: false, event_id: null };
      if (!e) return { ...base, outcome: 'not_found', state: null };
      if (e.state !== 'running') return { ...base, outcome: 'already_terminal', state: e.state };
      if (req.dryRun) return { ...base, outcome: done.dryOutcome, state: null };
      this.rows.set(id, { ...e, state: done.state, finished_at: new Date().toISOString() });
      return { ...base, outcome: done.outcome, state: null };
    });
  }
  async runningDescendants(): Promise<string[]> {
    return [];
  }
  async health(stuckSeconds: number, longRunningSeconds: number): Promise<HealthCounts> {
    const running = this.stuck({ olderThanSeconds: 0, includeChildren: true });
    return {
      running: running.length,
      stuck: running.filter((e) => e.age_seconds >= stuckSeconds).length,
      long_running: running.filter((e) => e.age_seconds >= longRunningSeconds).length,
      recent_24h: running.length,
      oldest_running_seconds: running[0]?.age_seconds ?? null,
      live_workers: null,
      now: new Date().toISOString(),
    };
  }
  live(): LiveSet {
    const stuck = (f: StuckFilter) => this.stuck(f);
    const running = () => stuck({ olderThanSeconds: 0, includeChildren: true }).length;
    return {
      refresh: async () => ({ kind: 'full', described: this.rows.size, running: running(), ms: 0 }),
      view: (f, history, minHistory) => (history ? withHistory(stuck(f), history, minHistory) : stuck(f)),
      count: (f) => stuck(f).length,
      get runningCount() {
        return running();
      },
      get clockMs() {
        return Date.now();
      },
    };
  }
}
