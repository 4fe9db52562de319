import type { Database, Queryable } from '../db/database.js';
import { OperationalError } from '../errors.js';
import type { HealthCounts, NoetlExecution } from '../core/execution.js';
import type { StuckFilter } from '../core/filter.js';
import type { TimelineEvent, TreeNode } from '../core/show.js';
import { toExecution, type DescribedRow } from './model.js';
import { mapLimited, planCuts, rangesOf, type IdRange, type LeafStats } from './chunks.js';
import * as sql from './sql.js';

/** Events per chunk of a full load: a statement reads about this many, however long the history. */
export const CHUNK_ROWS = 2_000_000;
/** Chunks read at once (sessions of the pool; the rest of the machine's cores are the server's). */
export const CHUNK_PARALLEL = 2;

/** Ids per statement when a known list of executions is probed (a snapshot's running set). */
export const ID_BATCH = 5_000;

/** One running execution, undescribed: what `health` counts. */
export interface RunningEntry {
  execution_id: string;
  /** Its first start event's created_at, epoch ms (UTC). */
  started_ms: number;
}

/** Where a full load's running set can come from instead of the anti-join over the whole history (snapshot.ts). */
export interface RunningSetProvider {
  /**
   * Every running execution, described (the listing with olderThan 0 and
   * children), kept current; null when the store should read the history
   * itself (a small one, where the full load is cheap).
   */
  running(load: LoadOptions): Promise<{ viewRows(filter: StuckFilter): DescribedRow[] } | null>;
}

export interface LoadProgress {
  done: number;
  total: number;
}

/** How a full load is read: in execution_id chunks when the history is large. */
export interface LoadOptions {
  /** Events per chunk (from the planner's statistics); default CHUNK_ROWS. */
  chunkRows?: number;
  /** These ranges instead of the planned ones (tests). */
  ranges?: readonly IdRange[];
  parallel?: number;
  /** After the plan (done 0) and after each chunk; only when there is more than one. */
  onProgress?: (p: LoadProgress) => void;
  /** Read the whole history now, whatever a running-set snapshot holds (the console's ctrl-r). */
  fresh?: boolean;
}

export interface RecentActivity {
  execution_id: string;
  has_start: boolean;
  has_terminal: boolean;
  parent_execution_id: string | null;
  /** Its events stamped after the window start asked for. */
  seen: number;
  /** Its events stamped after now minus the next window. */
  next: number;
}

/** Read access to a NoETL schema: every query goes through sql.ts. */
export class NoetlStore {
  private caps: Promise<sql.Capabilities> | null = null;
  /** Set by the commands and the console (snapshot.ts); null: every load reads the whole history. */
  snapshot: RunningSetProvider | null = null;

  constructor(
    readonly db: Database,
    readonly schema: string,
  ) {}

  capabilities(): Promise<sql.Capabilities> {
    this.caps ??= this.db
      .query<{
        has_event: boolean;
        has_catalog: boolean;
        has_command: boolean;
        has_runtime: boolean;
        has_snowflake: boolean;
        event_columns: string[];
        execution_columns: string[];
        event_leaves: LeafStats[];
      }>(sql.capabilitiesSql(), [this.schema])
      .then(({ rows: [row] }) => {
        if (!row?.has_event || !row.has_catalog) {
          throw new OperationalError(`schema ${JSON.stringify(this.schema)} on ${this.db.label} has no NoETL event/catalog tables (is --schema right?)`);
        }
        const event = new Set(row.event_columns);
        return {
          hasCommand: row.has_command,
          hasRuntime: row.has_runtime,
          hasSnowflake: row.has_snowflake,
          hasTenant: event.has('tenant_id') && event.has('organization_id'),
          hasPrevEventId: event.has('prev_event_id'),
          hasIngestTime: event.has('ingest_time'),
          projectionColumns: new Set(row.execution_columns),
          eventLeaves: row.event_leaves,
        };
      })
      .catch((error: unknown) => {
        this.caps = null;
        throw error;
      });
    return this.caps;
  }

  async listStuck(filter: StuckFilter, load?: LoadOptions): Promise<NoetlExecution[]> {
    return (await this.listStuckRows(filter, load)).map((row) => toExecution(row));
  }

  async listStuckRows(filter: StuckFilter, load: LoadOptions = {}): Promise<DescribedRow[]> {
    const kept = this.snapshot ? await this.snapshot.running(load) : null;
    return kept ? kept.viewRows(filter) : this.loadStuckRows(filter, load);
  }

  /** The listing read from the whole history (in chunks when it is large), whatever a snapshot holds. */
  async loadStuckRows(filter: StuckFilter, load: LoadOptions = {}): Promise<DescribedRow[]> {
    const caps = await this.capabilities();
    const query = async (r: IdRange) => {
      const { text, values } = sql.listStuckSql(this.schema, caps, filter, r);
      return (await this.db.query<DescribedRow>(text, values)).rows;
    };
    const ranges = this.rangesFor(caps, load);
    if (ranges.length === 1) return query(ranges[0]!);
    const parts = await this.inParts(ranges, load, query);
    // Each chunk is ordered and limited alike: the first `limit` of the merge are the unchunked answer.
    const rows = parts.flat().sort((a, b) => a.started_ms - b.started_ms || compareIds(a.execution_id, b.execution_id));
    return filter.limit ? rows.slice(0, filter.limit) : rows;
  }

  private rangesFor(caps: sql.Capabilities, load: LoadOptions): readonly IdRange[] {
    return load.ranges ?? rangesOf(planCuts(caps.eventLeaves, load.chunkRows ?? CHUNK_ROWS));
  }

  /** `work` over each part, a few at a time, with progress when there is more than one. */
  private async inParts<T, R>(parts: readonly T[], load: LoadOptions, work: (part: T) => Promise<R>): Promise<R[]> {
    if (parts.length <= 1) return Promise.all(parts.map(work));
    // PGlite has one session: parts there run one after another.
    const parallel = this.db.kind === 'pglite' ? 1 : (load.parallel ?? CHUNK_PARALLEL);
    let done = 0;
    load.onProgress?.({ done, total: parts.length });
    return mapLimited(parts, parallel, async (part) => {
      const out = await work(part);
      load.onProgress?.({ done: ++done, total: parts.length });
      return out;
    });
  }

  /** Every running execution, undescribed, read from the whole history in chunks (the full load's anti-join). */
  async fullRunningSet(load: LoadOptions = {}): Promise<RunningEntry[]> {
    const caps = await this.capabilities();
    const text = sql.runningIdsSql(this.schema);
    const parts = await this.inParts(this.rangesFor(caps, load), load, async (r) => (await this.db.query<RunningEntry>(text, [r.lo, r.hi])).rows);
    return parts.flat();
  }

  /** Those of `ids` with a terminal event, by index probes. */
  async terminalAmong(ids: readonly string[]): Promise<Set<string>> {
    const text = sql.terminalAmongSql(this.schema);
    const batches = Array.from({ length: Math.ceil(ids.length / ID_BATCH) }, (_, i) => ids.slice(i * ID_BATCH, (i + 1) * ID_BATCH));
    const parts = await this.inParts(batches, {}, async (b) => (await this.db.query<{ execution_id: string }>(text, [b])).rows);
    return new Set(parts.flat().map((r) => r.execution_id));
  }

  /** Estimated events in the event table, from the planner's statistics (0 when never analyzed). */
  async estimatedEvents(): Promise<number> {
    const caps = await this.capabilities();
    return caps.eventLeaves.reduce((sum, l) => sum + Math.max(0, l.rows), 0);
  }

  /** Executions by id, whatever their state; unknown ids are simply absent. */
  async describe(ids: readonly string[], q: Queryable = this.db): Promise<NoetlExecution[]> {
    return (await this.describeRows(ids, q)).map((row) => toExecution(row));
  }

  async describeRows(ids: readonly string[], q: Queryable = this.db): Promise<DescribedRow[]> {
    if (ids.length === 0) return [];
    const caps = await this.capabilities();
    return (await q.query<DescribedRow>(sql.describeIdsSql(this.schema, caps), [ids])).rows;
  }

  /** Executions with events stamped after `sinceMs`, and the database's clock; `nextWindowMs` sizes `next`. */
  async recentActivity(sinceMs: number, nextWindowMs = 0): Promise<{ nowMs: number; executions: RecentActivity[] }> {
    const { rows } = await this.db.query<RecentActivity & { execution_id: string | null; now_ms: number }>(sql.recentActivitySql(this.schema), [sinceMs, nextWindowMs]);
    return {
      nowMs: rows[0]!.now_ms,
      executions: rows.filter((r) => r.execution_id !== null).map(({ now_ms: _n, ...r }) => r),
    };
  }

  /** Latest heartbeat per worker pool (empty when the database has no runtime table). */
  async heartbeats(): Promise<Map<string, number | null>> {
    const caps = await this.capabilities();
    if (!caps.hasRuntime) return new Map();
    const { rows } = await this.db.query<{ name: string; heartbeat_ms: number | null }>(sql.heartbeatsSql(this.schema));
    return new Map(rows.map((r) => [r.name, r.heartbeat_ms]));
  }

  async timeline(id: string, limit: number): Promise<{ events: TimelineEvent[]; total: number }> {
    // The count apart: a window count over the timeline would read every event before the LIMIT.
    const { rows } = await this.db.query<TimelineEvent & { created_ms: number }>(sql.timelineSql(this.schema), [id, limit]);
    const count = await this.db.query<{ n: string }>(sql.eventCountSql(this.schema), [id]);
    const total = Number(count.rows[0]?.n ?? 0);
    return {
      total,
      events: rows.map((r) => ({
        event_id: r.event_id,
        event_type: r.event_type,
        node_name: r.node_name,
        status: r.status,
        worker_id: r.worker_id,
        created_at: new Date(r.created_ms).toISOString(),
        error: r.error,
        meta: r.meta,
      })),
    };
  }

  /** Every (child, parent) edge below `roots`, however deep, in child id order. */
  async descendantEdges(roots: readonly string[], q: Queryable = this.db): Promise<{ execution_id: string; parent_execution_id: string }[]> {
    if (roots.length === 0) return [];
    const { rows } = await q.query<{ execution_id: string; parent_execution_id: string }>(sql.descendantsSql(this.schema), [roots]);
    return rows.sort((a, b) => compareIds(a.execution_id, b.execution_id));
  }

  /**
   * Every descendant of `roots` through parent_execution_id, however deep,
   * breadth first (a node at the depth of its shortest path), each once.
   */
  async descendants(roots: readonly string[], q: Queryable = this.db): Promise<TreeNode[]> {
    const rows = await this.descendantEdges(roots, q);
    const children = new Map<string, string[]>();
    for (const row of rows) {
      const list = children.get(row.parent_execution_id);
      if (list) list.push(row.execution_id);
      else children.set(row.parent_execution_id, [row.execution_id]);
    }
    const seen = new Set(roots);
    const out: TreeNode[] = [];
    let frontier = [...roots];
    for (let depth = 1; frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const parent of frontier) {
        for (const child of children.get(parent) ?? []) {
          if (seen.has(child)) continue;
          seen.add(child);
          out.push({ execution_id: child, parent_execution_id: parent, depth });
          next.push(child);
        }
      }
      frontier = next;
    }
    return out;
  }

  async health(stuckSeconds: number, longRunningSeconds: number): Promise<HealthCounts> {
    const caps = await this.capabilities();
    // The running set as list reads it (a snapshot, else the chunked anti-join), then the rest in one statement.
    const kept = this.snapshot ? await this.snapshot.running({}) : null;
    const running: RunningEntry[] = kept ? kept.viewRows({ olderThanSeconds: 0, includeChildren: true }) : await this.fullRunningSet();
    const { rows } = await this.db.query<{ recent_24h: number; live_workers: number | null; now_ms: number }>(sql.healthExtrasSql(this.schema, caps));
    const r = rows[0]!;
    const olderThan = (seconds: number) => running.filter((e) => e.started_ms <= r.now_ms - seconds * 1000).length;
    const oldest = running.reduce((min, e) => Math.min(min, e.started_ms), Infinity);
    return {
      running: running.length,
      stuck: olderThan(stuckSeconds),
      long_running: olderThan(longRunningSeconds),
      oldest_running_seconds: running.length === 0 ? null : Math.round((r.now_ms - oldest) / 1000),
      recent_24h: r.recent_24h,
      live_workers: r.live_workers,
      now: new Date(r.now_ms).toISOString(),
    };
  }
}

export function compareIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
