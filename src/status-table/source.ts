import type { StatusTableConfig } from '../config-file.js';
import type { Database } from '../db/database.js';
import type { ExecutionSource, LiveSet } from '../source.js';
import { resolveTable, type SourceOrigin } from './catalog.js';
import { canonicalRowId, parseRowId } from './ids.js';
import { StatusTableLiveSet, type RunningSnapshot } from './live.js';
import { markRows, statusWritten, undoBatch } from './mark.js';
import type { Actor } from '../audit.js';
import { stuckFactsOf, toExecution, type ModelContext } from './model.js';
import * as sql from './sql.js';
import type { Threshold } from '../core/thresholds.js';
import type { ShowData, StepEntry } from '../core/show.js';
import type { MarkRequest, MarkResult, Action, UndoResult } from '../core/mark.js';
import type { HealthCounts, StatusTableExecution } from '../core/execution.js';
import type { StuckFilter } from '../core/filter.js';

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
    const { rows, ctx } = await this.listRows(filter);
    return rows.map((r) => toExecution(r, ctx));
  }

  private async listRows(filter: StuckFilter): Promise<{ rows: sql.StatusRow[]; ctx: ModelContext }> {
    const ctx = await this.context();
    const statement = sql.listRunningSql(ctx.shape, filter);
    return { rows: (await this.db.query<sql.StatusRow>(statement.text, statement.values)).rows, ctx };
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

  /** The row, its steps (latest first, at most `events`), no children. */
  async detail(id: string, events: number): Promise<ShowData | null> {
    const ctx = await this.context();
    const [execution] = await this.describe([id]);
    if (!execution) return null;
    const steps = ctx.shape.steps;
    if (!steps) return { execution, timeline: { kind: 'steps', noun: ctx.noun, steps: [], total: 0 }, children: [] };
    let entries: StepEntry[] = [];
    let total = 0;
    if (events > 0) {
      const statement = sql.stepsSql(ctx.shape, steps, execution.execution_id, events);
      const { rows } = await this.db.query<sql.StepRow>(statement.text, statement.values);
      entries = rows.map(stepEntry);
      total = rows[0]?.total ?? 0;
    }
    if (entries.length === 0) {
      const count = sql.stepCountSql(ctx.shape, steps, execution.execution_id);
      total = (await this.db.query<{ n: number }>(count.text, count.values)).rows[0]?.n ?? 0;
    }
    return { execution, timeline: { kind: 'steps', noun: ctx.noun, steps: entries, total }, children: [] };
  }

  /** A status table has no child executions. */
  async runningDescendants(): Promise<string[]> {
    return [];
  }

  /** Undo a batch this console wrote (src/status-table/mark.ts undoBatch); null when the reason column cannot record batches. */
  async undo(batch: string, actor: Actor, dryRun: boolean): Promise<UndoResult[] | null> {
    const ctx = await this.context();
    return undoBatch(
      { db: this.db, shape: ctx.shape, vocabulary: ctx.vocabulary, origin: this.name },
      batch,
      { user: actor.os_user, host: actor.host, version: actor.console_version },
      dryRun,
    );
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
    const { rows, ctx } = await this.listRows({ olderThanSeconds: 0 });
    const executions = rows.map((r) => ({ execution: toExecution(r, ctx), facts: stuckFactsOf(r, ctx) }));
    const nowMs = rows[0]?.now_ms ?? (await this.db.query<{ now_ms: number }>(sql.clockSql())).rows[0]!.now_ms;
    return { executions, nowMs };
  }

  live(): LiveSet {
    return new StatusTableLiveSet(() => this.running());
  }
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function stepEntry(r: sql.StepRow): StepEntry {
  return {
    step_id: r.step_id,
    status: r.status,
    started_at: iso(r.started_ms),
    finished_at: iso(r.finished_ms),
    attempts: r.attempts,
    duration_seconds: r.started_ms !== null && r.finished_ms !== null ? Math.max(0, Math.round((r.finished_ms - r.started_ms) / 1000)) : null,
    error: r.error,
  };
}
