/**
 * What every command and the interactive console need from a store of
 * executions. NoETL's event log is one source; a status table (one row per
 * run with a status column, see src/status-table/) is another.
 */
import type { Actor } from './audit.js';
import type { Database } from './db/database.js';
import type { BatchRecord, HistoryFilter, VerifyResult } from './noetl/history.js';
import type { AnalyzeReport } from './noetl/statistics.js';
import type { LoadOptions, LoadProgress } from './noetl/store.js';
import type { UnreachableShard } from './noetl/sharded.js';
import type { SnapshotOptions, SnapshotReport } from './noetl/snapshot.js';
import type { Threshold, ThresholdMap } from './core/thresholds.js';
import type { UndoResult, MarkRequest, MarkResult, Action } from './core/mark.js';
import type { ShowData } from './core/show.js';
import type { Execution, HealthCounts } from './core/execution.js';
import type { StuckFilter } from './core/filter.js';

/** The running set, kept fresh by `refresh()`, filtered by `view()` (interactive app, metrics --listen). */
export interface LiveSet {
  refresh(force?: boolean): Promise<{ kind: 'full' | 'incremental'; described: number; running: number; ms: number }>;
  /** With `history`, each row's `history` judged by those learned thresholds (a ratio from `minHistory` finished runs). */
  view(filter: StuckFilter, history?: ThresholdMap, minHistory?: number): Execution[];
  /** The same rows a slice at a time, for a caller that answers keys between slices (the console at 50,000 rows). */
  viewSlices?(filter: StuckFilter, history?: ThresholdMap, minHistory?: number): Iterable<Execution[]>;
  /** How many view(filter) would return. */
  count(filter: StuckFilter): number;
  readonly runningCount: number;
  readonly clockMs: number;
  /** A sharded source: per shard, whether its last refresh answered, and its running and stuck counts. */
  shardCounts?(stuckSeconds: number): ShardCounts[];
  /** A full load read in chunks, while it runs (for a progress line); null otherwise. */
  readonly loadProgress?: LoadProgress | null;
}

export interface ShardCounts {
  shard: number;
  /** host:port/db, never a password. */
  target: string;
  up: boolean;
  running: number;
  stuck: number;
}

export interface ExecutionSource {
  readonly kind: 'noetl' | 'status-table';
  /** Source name from the config file, or "noetl". */
  readonly name: string;
  readonly db: Database;
  /** A one-line description for headers: table or schema. */
  readonly describeTarget: string;
  /** What mark() accepts (a status table may have no cancelled value). */
  readonly actions: readonly Action[];
  /** What an action writes, for the confirmation: `writes execution.cancelled`, `sets status = 'failed'`. */
  describeWrite(action: Action): string;
  /** Whether child executions exist in this source (cascade, children columns). */
  readonly hasChildren: boolean;
  /** Validate an id typed by an operator; throws UsageError. Returns the canonical form. */
  parseId(raw: string): string;
  /** `load`: how a large history is read (chunks, progress); a source may ignore it. */
  listStuck(filter: StuckFilter, load?: LoadOptions): Promise<Execution[]>;
  /** Executions by id, whatever their state; unknown ids are absent. */
  describe(ids: readonly string[]): Promise<Execution[]>;
  detail(id: string, events: number): Promise<ShowData | null>;
  mark(req: MarkRequest): Promise<MarkResult[]>;
  /** After a big write: analyze the tables written (null when the write was small); absent where not needed. */
  analyzeWritten?(results: readonly MarkResult[]): Promise<AnalyzeReport | null>;
  /** The batches noetl-console wrote, newest first (NoETL); absent where the source keeps none. */
  history?(filter: HistoryFilter): Promise<BatchRecord[]>;
  /** What happened to a batch's executions since it closed them (NoETL); absent where the source cannot tell. */
  verify?(batchId: string): Promise<VerifyResult[]>;
  /** Put back what a batch of this console changed (status tables); absent where closes are final (NoETL). Null: the source records no batches. */
  undo?(batch: string, actor: Actor, dryRun: boolean): Promise<UndoResult[] | null>;
  /** Descendants of `ids` still running, however deep (what a close without cascade leaves behind). */
  runningDescendants(ids: readonly string[]): Promise<string[]>;
  health(stuckSeconds: number, longRunningSeconds: number): Promise<HealthCounts>;
  /** Learned thresholds: per path (label), durations of runs finished in the last `days` days; absent where the source cannot tell. */
  thresholds?(days: number): Promise<Threshold[]>;
  live(options?: { marginMs?: number; reconcileMs?: number }): LiveSet;
  /** A sharded source: the shards (or cluster database) whose last read or write failed; what was read is partial. */
  unreachable?(): readonly UnreachableShard[];
  /** A sharded source: a line for the operator when rows are not where NoETL's hash routes them. */
  onMismatch?: ((line: string) => void) | null;
  /** Keep the running set between runs (snapshot.ts; a sharded cluster: one per shard); absent where every load reads the whole history (status tables). */
  useSnapshot?(options: SnapshotOptions): SnapshotReport;
  /** Closes what the source opened besides `db` (a sharded source's shard databases). */
  close?(): Promise<void>;
}
