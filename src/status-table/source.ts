import type { StatusTableConfig } from '../config-file.js';
import type { Database } from '../db/database.js';
import type { ShowData } from '../format/human.js';
import type { MarkRequest, MarkResult } from '../noetl/mark.js';
import { pathPattern, type HealthCounts, type StuckFilter, type TimelineEvent } from '../noetl/store.js';
import type { Action } from '../noetl/vocabulary.js';
import type { ExecutionSource, LiveSet } from '../source.js';
import { resolveTable, type SourceOrigin } from './catalog.js';
import { canonicalRowId, parseRowId } from './ids.js';
import { StatusTableLiveSet, type RunningSnapshot } from './live.js';
import { markRows, statusWritten, undoBatch, type UndoResult } from './mark.js';
import type { Actor } from '../audit.js';
import { toExecution, type ModelContext, type StatusTableExecution } from './model.js';
import * as sql from './sql.js';
import type { Threshold } from '../thresholds.js';

const DESCRIBE_BATCH = 1000;

/**
 * A table with one row per run and a status column, as an ExecutionSource.
 * The config is checked against the catalog on first use (UsageError naming
 * the key when something is missing). No children: `cascade` is a no-op.
 */
export class StatusTableSource implements ExecutionSource {
  readonly kind = 'status-table' as const;
  readonly hasChildren = false;
  /** What mark() accepts: the actions the config has a status value to write for. */
  readonly actions: readonly Action[];
  private resolved: Promise<ModelContext> | null = null;

  constructor(
    readonly db: Database,
    readonly name: string,
    readonly config: StatusTableConfig,
    /** The config file, for messages. */
    readonly file: string | null = null,
  ) {
    this.actions = (['fail', 'cancel'] as const).filter((a) => statusWritten(config.status, a) !== undefined);
  }

  describeWrite(action: Action): string {
    const value = statusWritten(this.config.status, action);
    return value === undefined ? `cannot ${action} (no value for it in the config)` : `sets ${this.config.status.column} = '${value}'`;
  }

  get describeTarget(): string {
    return `table ${this.config.table}`;
  }

  private get origin(): SourceOrigin {
    return { name: this.name, file: this.file };
  }

  /** The table as found in the catalog; checked once, again after a failure. */
  context(): Promise<ModelContext> {
    this.resolved ??= resolveTable(this.db, this.config, this.origin)
      .then((shape) => ({
        shape,
        vocabulary: this.config.status,
        displayNames: this.config.display ?? [],
        noun: this.config.steps?.noun ?? 'step',
      }))
      .catch((error: unknown) => {
        this.resolved = null;
        throw error;
      });
    return this.resolved;
  }

  parseId(raw: string): string {
    return parseRowId(this.config.id.type, raw);
  }

  async listStuck(filter: StuckFilter): Promise<StatusTableExecution[]> {
    return (await this.listWithClock(filter)).executions;
  }

  private async listWithClock(filter: StuckFilter): Promise<{ executions: StatusTableExecution[]; nowMs: number | null }> {
    const ctx = await this.context();
    const statement = sql.listRunningSql(ctx.shape, {
      olderThanSeconds: filter.olderThanSeconds,
      idleSeconds: filter.idleSeconds ?? null,
      pathPattern: filter.path ? pathPattern(filter.path) : null,
      limit: filter.limit ?? null,
    });
    const { rows } = await this.db.query<sql.StatusRow>(statement.text, statement.values);
    return { executions: rows.map((r) => toExecution(r, ctx)), nowMs: rows[0]?.now_ms ?? null };
  }

  async describe(ids: readonly string[]): Promise<StatusTableExecution[]> {
    const ctx = await this.context();
    const valid = [...new Set(ids.map((id) => canonicalRowId(this.config.id.type, id)).filter((id): id is string => id !== null))];
    const out: StatusTableExecution[] = [];
    for (let i = 0; i < valid.length; i += DESCRIBE_BATCH) {
      const statement = sql.describeIdsSql(ctx.shape, valid.slice(i, i + DESCRIBE_BATCH));
      const { rows } = await this.db.query<sql.StatusRow>(statement.text, statement.values);
      out.push(...rows.map((r) => toExecution(r, ctx)));
    }
    return out;
  }

  /** The row, its steps as the timeline (latest first, at most `events`), no children. */
  async detail(id: string, events: number): Promise<ShowData | null> {
    const ctx = await this.context();
    const [execution] = await this.describe([id]);
    if (!execution) return null;
    const steps = ctx.shape.steps;
    if (!steps) return { execution, events: [], totalEvents: 0, children: [] };
    let timeline: TimelineEvent[] = [];
    let total = 0;
    if (events > 0) {
      const statement = sql.stepsSql(ctx.shape, steps, execution.execution_id, events);
      const { rows } = await this.db.query<sql.StepRow>(statement.text, statement.values);
      timeline = rows.map((r) => stepEvent(r, ctx.noun));
      total = rows[0]?.total ?? 0;
    }
    if (timeline.length === 0) {
      const count = sql.stepCountSql(ctx.shape, steps, execution.execution_id);
      total = (await this.db.query<{ n: number }>(count.text, count.values)).rows[0]?.n ?? 0;
    }
    return { execution, events: timeline, totalEvents: total, children: [] };
  }

  /** A status table has no child executions. */
  async runningDescendants(): Promise<string[]> {
    return [];
  }

  /** Undo a batch this console wrote (src/status-table/mark.ts undoBatch); null when the reason column cannot record batches. */
  async undo(batch: string, actor: Actor, dryRun: boolean): Promise<UndoResult[] | null> {
    const ctx = await this.context();
    return undoBatch({ db: this.db, shape: ctx.shape, vocabulary: ctx.vocabulary, origin: this.name }, batch, { user: actor.os_user, host: actor.host, version: actor.console_version }, dryRun);
  }

  async mark(req: MarkRequest): Promise<MarkResult[]> {
    const ctx = await this.context();
    const origin = `${this.file ? `${this.file}: ` : ''}source ${this.name}`;
    return markRows({ db: this.db, shape: ctx.shape, vocabulary: ctx.vocabulary, origin }, req);
  }

  async thresholds(days: number): Promise<Threshold[]> {
    const ctx = await this.context();
    const v = this.config.status;
    const notCompleted = [...v.running, ...(v.failed !== undefined ? [v.failed] : []), ...(v.cancelled !== undefined ? [v.cancelled] : [])];
    const statement = sql.thresholdsSql(ctx.shape, days, v.completed ?? null, notCompleted);
    if (!statement) return [];
    return (await this.db.query<Threshold>(statement.text, statement.values)).rows;
  }

  async health(stuckSeconds: number, longRunningSeconds: number): Promise<HealthCounts> {
    const ctx = await this.context();
    const statement = sql.healthSql(ctx.shape, stuckSeconds, longRunningSeconds);
    const r = (await this.db.query<sql.HealthRow>(statement.text, statement.values)).rows[0]!;
    return {
      running: r.running,
      stuck: r.stuck,
      long_running: r.long_running,
      oldest_running_seconds: r.oldest_running_s === null ? null : Math.max(0, Math.round(r.oldest_running_s)),
      recent_24h: r.recent_24h,
      live_workers: null,
      now: new Date(r.now_ms).toISOString(),
    };
  }

  /** Every running row and the database clock (for LiveSet). */
  async running(): Promise<RunningSnapshot> {
    const { executions, nowMs } = await this.listWithClock({ olderThanSeconds: 0 });
    if (nowMs !== null) return { executions, nowMs };
    const { rows } = await this.db.query<{ now_ms: number }>(sql.clockSql());
    return { executions, nowMs: rows[0]!.now_ms };
  }

  live(): LiveSet {
    return new StatusTableLiveSet(() => this.running());
  }
}

/** A step row as a timeline entry: event_type "<noun>", node_name the step id. */
function stepEvent(r: sql.StepRow, noun: string): TimelineEvent {
  const at = r.started_ms ?? r.finished_ms;
  return {
    event_id: `${r.step_id}#${r.seq}`,
    event_type: noun,
    node_name: r.step_id,
    status: r.status,
    worker_id: null,
    created_at: at === null ? '' : new Date(at).toISOString(),
    error: r.error,
    meta: {
      attempts: r.attempts,
      started_at: r.started_ms === null ? null : new Date(r.started_ms).toISOString(),
      finished_at: r.finished_ms === null ? null : new Date(r.finished_ms).toISOString(),
      duration_seconds: r.started_ms !== null && r.finished_ms !== null ? Math.max(0, Math.round((r.finished_ms - r.started_ms) / 1000)) : null,
    },
  };
}
