/**
 * A small builder for NoETL-shaped data: executions of both dialects, steps,
 * children, stragglers, heartbeats. Times are offsets from the database's own
 * clock (seconds ago, UTC wall clock as NoETL writes), so tests never depend
 * on the host's clock or TimeZone.
 */
import type { Queryable } from '../db/database.js';

export type Dialect = 'python' | 'rust';

interface EventRow {
  execution_id: string;
  event_id: string;
  catalog_id: string;
  parent_execution_id: string | null;
  /** The execution's previous event (both engines chain to it; Rust also in prev_event_id). */
  parent_event_id: string | null;
  prev_event_id: string | null;
  tenant_id: string;
  organization_id: string;
  /** Ingested now, long after it happened: history imported in bulk from another cluster. */
  imported: boolean;
  seconds_ago: number;
  event_type: string;
  node_name: string | null;
  status: string | null;
  worker_id: string | null;
  result: string | null;
  error: string | null;
  meta: string | null;
}

/** Snowflake-sized ids, well above 2^53. */
export const ID_BASE = 543857931469455628n;

export class Scenario {
  private events: EventRow[] = [];
  private catalogs = new Map<string, string>();
  private workers = new Map<string, number | null>();
  private commands: { execution_id: string; catalog_id: string; event_id: string; command_id: string; step: string; status: string; worker: string | null; seconds_ago: number }[] =
    [];
  /** The Python engine's noetl.execution rows, by execution id. */
  private projections = new Map<string, Projection>();
  private nextExecution: bigint;
  private nextCatalog = 1000;
  private nextEvent: bigint;

  constructor(base: bigint = ID_BASE) {
    this.nextExecution = base;
    this.nextEvent = base + 10_000_000n;
  }

  catalog(path: string): string {
    let id = this.catalogs.get(path);
    if (!id) {
      id = String(this.nextCatalog++);
      this.catalogs.set(path, id);
    }
    return id;
  }

  /** Catalog rows already in the database (a demo resumed by another process): new executions reuse them. */
  knownCatalog(rows: readonly { catalog_id: string; path: string }[]): this {
    for (const r of rows) {
      this.catalogs.set(r.path, r.catalog_id);
      this.nextCatalog = Math.max(this.nextCatalog, Number(r.catalog_id) + 1);
    }
    return this;
  }

  /** A worker pool heartbeat; null seconds means a row without heartbeat. */
  worker(name: string, heartbeatSecondsAgo: number | null): this {
    this.workers.set(name, heartbeatSecondsAgo);
    return this;
  }

  execution(opts: {
    path: string;
    dialect?: Dialect;
    startedMinutesAgo: number;
    parent?: ExecutionBuilder;
    id?: string;
    tenant?: string;
    organization?: string;
    /** Its events were bulk-imported (ingest_time now, all at once). */
    imported?: boolean;
  }): ExecutionBuilder {
    const id = opts.id ?? String((this.nextExecution += 1009n));
    const builder = new ExecutionBuilder(
      this,
      id,
      this.catalog(opts.path),
      opts.dialect ?? 'python',
      opts.parent?.id ?? null,
      opts.tenant ?? opts.parent?.tenant ?? 'default',
      opts.organization ?? opts.parent?.organization ?? 'default',
      opts.imported ?? false,
    );
    if (builder.dialect === 'python') {
      // The Python engine writes its projection row when it starts an execution.
      this.projections.set(id, {
        execution_id: id,
        catalog_id: builder.catalogId,
        parent_execution_id: builder.parentId,
        status: 'RUNNING',
        seconds_ago: opts.startedMinutesAgo * 60,
        end_seconds_ago: null,
        last_event_type: null,
        last_event_id: null,
        state: { execution_id: id, catalog_id: builder.catalogId, playbook_path: opts.path, payload: {}, completed: false, failed: false },
      });
    }
    builder.event(builder.dialect === 'python' ? 'playbook.initialized' : 'playbook_started', opts.startedMinutesAgo * 60, {
      status: builder.dialect === 'python' ? 'RUNNING' : 'STARTED',
      node: 'playbook',
    });
    if (builder.dialect === 'python') builder.event('workflow.initialized', opts.startedMinutesAgo * 60 - 1, { status: 'RUNNING' });
    return builder;
  }

  /** @internal */
  push(row: Omit<EventRow, 'event_id'> & { event_id?: string }): string {
    const event_id = row.event_id ?? String((this.nextEvent += 7n));
    this.events.push({ ...row, event_id });
    const projection = this.projections.get(row.execution_id);
    if (projection) {
      // As the Python engine's StateStore: last event, and the terminal state once reached.
      projection.last_event_id = event_id;
      projection.last_event_type = row.event_type;
      // Its cancel API writes only the event: the projection stays RUNNING.
      const finished = ({ 'playbook.completed': 'COMPLETED', 'playbook.failed': 'FAILED' } as Record<string, string>)[row.event_type];
      if (finished && projection.status === 'RUNNING') {
        projection.status = finished;
        projection.end_seconds_ago = row.seconds_ago;
        projection.state = { ...projection.state, completed: true, failed: finished === 'FAILED' };
      }
    }
    return event_id;
  }

  /** @internal */
  command(execution_id: string, catalog_id: string, event_id: string, step: string, status: string, worker: string | null, seconds_ago: number): void {
    this.commands.push({ execution_id, catalog_id, event_id, command_id: String((this.nextEvent += 7n)), step, status, worker, seconds_ago });
  }

  /** Write everything in a few set-based statements. */
  async apply(db: Queryable, schema = 'noetl'): Promise<void> {
    const s = `"${schema}"`;
    if (this.catalogs.size) {
      await db.query(
        `INSERT INTO ${s}.catalog (catalog_id, path, version, kind)
         SELECT id, path, 1, 'playbook' FROM unnest($1::bigint[], $2::text[]) AS x(id, path)
         ON CONFLICT DO NOTHING`,
        [[...this.catalogs.values()], [...this.catalogs.keys()]],
      );
    }
    if (this.workers.size) {
      await db.query(
        `INSERT INTO ${s}.runtime (runtime_id, name, kind, status, heartbeat)
         SELECT row_number() OVER () + coalesce((SELECT max(runtime_id) FROM ${s}.runtime), 0), name, 'worker_pool', 'ready',
                CASE WHEN ago IS NULL THEN NULL ELSE now() - ago * interval '1 second' END
         FROM unnest($1::text[], $2::float8[]) AS x(name, ago)
         ON CONFLICT (kind, name) DO UPDATE SET heartbeat = EXCLUDED.heartbeat`,
        [[...this.workers.keys()], [...this.workers.values()]],
      );
    }
    const rows = this.events;
    for (let i = 0; i < rows.length; i += 5000) {
      const chunk = rows.slice(i, i + 5000);
      const col = <K extends keyof EventRow>(k: K) => chunk.map((r) => r[k]);
      await db.query(
        `INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at,
            event_type, node_id, node_name, node_type, status, worker_id, result, error, meta,
            parent_event_id, prev_event_id, tenant_id, organization_id, event_time, ingest_time)
         SELECT x.execution_id, x.event_id, x.catalog_id, x.parent_execution_id,
                (now() AT TIME ZONE 'UTC') - x.seconds_ago * interval '1 second',
                x.event_type, x.node_name, x.node_name, 'step', x.status, x.worker_id, x.result::jsonb, x.error, x.meta::jsonb,
                x.parent_event_id, x.prev_event_id, x.tenant_id, x.organization_id,
                -- As a live engine writes them: ingested when they happen (a bulk import is the exception).
                now() - x.seconds_ago * interval '1 second',
                CASE WHEN x.imported THEN now() ELSE now() - x.seconds_ago * interval '1 second' END
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::float8[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::bigint[],
                     $15::text[], $16::text[], $17::boolean[])
           AS x(execution_id, event_id, catalog_id, parent_execution_id, seconds_ago, event_type, node_name,
                status, worker_id, result, error, meta, parent_event_id, prev_event_id, tenant_id, organization_id, imported)`,
        [
          col('execution_id'),
          col('event_id'),
          col('catalog_id'),
          col('parent_execution_id'),
          col('seconds_ago'),
          col('event_type'),
          col('node_name'),
          col('status'),
          col('worker_id'),
          col('result'),
          col('error'),
          col('meta'),
          col('parent_event_id'),
          col('prev_event_id'),
          col('tenant_id'),
          col('organization_id'),
          col('imported'),
        ],
      );
    }
    if (this.commands.length) {
      const c = this.commands;
      await db.query(
        `INSERT INTO ${s}.command (execution_id, command_id, event_id, catalog_id, step_name, status, worker_id, claimed_at, updated_at)
         SELECT x.e, x.c, x.ev, x.cat, x.step, x.status, x.worker,
                CASE WHEN x.worker IS NULL THEN NULL ELSE now() - x.ago * interval '1 second' END,
                now() - x.ago * interval '1 second'
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::float8[])
           AS x(e, c, ev, cat, step, status, worker, ago)`,
        [
          c.map((r) => r.execution_id),
          c.map((r) => r.command_id),
          c.map((r) => r.event_id),
          c.map((r) => r.catalog_id),
          c.map((r) => r.step),
          c.map((r) => r.status),
          c.map((r) => r.worker),
          c.map((r) => r.seconds_ago),
        ],
      );
    }
    if (this.projections.size && (await hasProjection(db, schema))) {
      const p = [...this.projections.values()];
      await db.query(
        `INSERT INTO ${s}.execution (execution_id, catalog_id, parent_execution_id, status, start_time, end_time,
            last_event_type, last_event_id, state)
         SELECT x.id, x.cat, x.parent, x.status, now() - x.ago * interval '1 second',
                now() - x.end_ago * interval '1 second', x.last_type, x.last_id, x.state::jsonb
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::bigint[], $9::text[])
           AS x(id, cat, parent, status, ago, end_ago, last_type, last_id, state)
         ON CONFLICT (execution_id) DO UPDATE SET status = EXCLUDED.status, end_time = EXCLUDED.end_time,
           last_event_type = EXCLUDED.last_event_type, last_event_id = EXCLUDED.last_event_id, state = EXCLUDED.state`,
        [
          p.map((r) => r.execution_id),
          p.map((r) => r.catalog_id),
          p.map((r) => r.parent_execution_id),
          p.map((r) => r.status),
          p.map((r) => r.seconds_ago),
          p.map((r) => r.end_seconds_ago),
          p.map((r) => r.last_event_type),
          p.map((r) => r.last_event_id),
          p.map((r) => JSON.stringify(r.state)),
        ],
      );
    }
    this.events = [];
    this.commands = [];
    this.projections.clear();
    this.workers.clear();
  }
}

interface Projection {
  execution_id: string;
  catalog_id: string;
  parent_execution_id: string | null;
  status: string;
  seconds_ago: number;
  end_seconds_ago: number | null;
  last_event_type: string | null;
  last_event_id: string | null;
  state: Record<string, unknown>;
}

/** Whether the schema has the Python engine's projection table (some tests drop it). */
async function hasProjection(db: Queryable, schema: string): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [`"${schema}".execution`]);
  return rows[0]!.ok;
}

export class ExecutionBuilder {
  constructor(
    private readonly scenario: Scenario,
    readonly id: string,
    readonly catalogId: string,
    readonly dialect: Dialect,
    readonly parentId: string | null,
    readonly tenant: string = 'default',
    readonly organization: string = 'default',
    readonly imported: boolean = false,
  ) {}

  private lastEventId: string | null = null;

  private t(py: string, rs: string): string {
    return this.dialect === 'python' ? py : rs;
  }

  event(
    type: string,
    secondsAgo: number,
    extra: { node?: string | null; status?: string | null; worker?: string | null; result?: unknown; error?: string | null; meta?: unknown; eventId?: string } = {},
  ): this {
    this.lastEventId = this.scenario.push({
      execution_id: this.id,
      event_id: extra.eventId,
      catalog_id: this.catalogId,
      parent_execution_id: this.parentId,
      parent_event_id: this.lastEventId,
      prev_event_id: this.dialect === 'rust' ? this.lastEventId : null,
      tenant_id: this.tenant,
      organization_id: this.organization,
      imported: this.imported,
      seconds_ago: secondsAgo,
      event_type: type,
      node_name: extra.node ?? null,
      status: extra.status ?? null,
      worker_id: extra.worker ?? null,
      result: extra.result === undefined ? null : JSON.stringify(extra.result),
      error: extra.error ?? null,
      meta: extra.meta === undefined ? null : JSON.stringify(extra.meta),
    });
    return this;
  }

  /** A step that ran to completion on `worker`, ending `minutesAgo`. */
  step(name: string, minutesAgo: number, worker = 'worker-a'): this {
    const t = minutesAgo * 60;
    this.event(this.t('step.enter', 'step_enter'), t + 30, { node: name, status: 'RUNNING' });
    const issued = this.event(this.t('command.issued', 'command_issued'), t + 25, { node: name, status: 'PENDING' }).lastEventId!;
    this.event(this.t('command.claimed', 'command_claimed'), t + 20, { node: name, status: 'RUNNING', worker });
    this.event(this.t('command.completed', 'command_completed'), t + 5, { node: name, status: 'COMPLETED', worker });
    this.event(this.t('step.exit', 'step_exit'), t, { node: name, status: 'COMPLETED' });
    this.scenario.command(this.id, this.catalogId, issued, name, 'COMPLETED', worker, t);
    return this;
  }

  /** A command issued and never claimed by any worker. */
  issued(name: string, minutesAgo: number): this {
    this.event(this.t('step.enter', 'step_enter'), minutesAgo * 60 + 5, { node: name, status: 'RUNNING' });
    const issued = this.event(this.t('command.issued', 'command_issued'), minutesAgo * 60, { node: name, status: 'PENDING' }).lastEventId!;
    this.scenario.command(this.id, this.catalogId, issued, name, 'PENDING', null, minutesAgo * 60);
    return this;
  }

  /** A command claimed by `worker` and still in progress. */
  claimed(name: string, minutesAgo: number, worker: string): this {
    this.event(this.t('step.enter', 'step_enter'), minutesAgo * 60 + 10, { node: name, status: 'RUNNING' });
    const issued = this.event(this.t('command.issued', 'command_issued'), minutesAgo * 60 + 5, { node: name, status: 'PENDING' }).lastEventId!;
    this.event(this.t('command.claimed', 'command_claimed'), minutesAgo * 60, { node: name, status: 'RUNNING', worker });
    this.scenario.command(this.id, this.catalogId, issued, name, 'CLAIMED', worker, minutesAgo * 60);
    return this;
  }

  /** A terminal event in this execution's dialect; `status` may be given in any case. */
  finish(state: 'completed' | 'failed' | 'cancelled', minutesAgo: number, status?: string): this {
    const type =
      state === 'completed'
        ? this.t('playbook.completed', 'playbook_completed')
        : state === 'failed'
          ? this.t('playbook.failed', 'playbook_failed')
          : this.t('execution.cancelled', 'playbook_cancelled');
    return this.event(type, minutesAgo * 60, {
      node: 'playbook',
      status: status ?? state.toUpperCase(),
      result: state === 'failed' ? { status: status ?? 'FAILED', context: {} } : undefined,
      error: state === 'failed' ? 'boom' : undefined,
    });
  }
}
