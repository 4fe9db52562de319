/**
 * Every SQL statement the console runs against a NoETL database lives here.
 * User input only ever travels as bind parameters; the schema name is
 * validated as an identifier (config.ts) and quoted here.
 */
import { stuckSql, type StuckFilter } from '../core/filter.js';
import type { IdRange, LeafStats } from './chunks.js';
import { ALL_TERMINAL_TYPES, START_TYPES, TERMINAL_TYPES, STEP_DONE_TYPES, EXECUTION_LEVEL_PREFIXES, sqlList } from './vocabulary.js';

export interface Capabilities {
  hasCommand: boolean;
  hasRuntime: boolean;
  hasSnowflake: boolean;
  /** event.tenant_id and organization_id (NoETL's later columns): a close copies them from the execution. */
  hasTenant: boolean;
  /** event.prev_event_id (the Rust server's chain). */
  hasPrevEventId: boolean;
  /** event.ingest_time: a history bulk-imported from another cluster shows in it. */
  hasIngestTime: boolean;
  /** Columns of the Python engine's noetl.execution projection; empty when the table is absent. */
  projectionColumns: ReadonlySet<string>;
  /** The event table's leaves and their statistics, to cut the full load by (chunks.ts). */
  eventLeaves: readonly LeafStats[];
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const TERMINAL = sqlList(ALL_TERMINAL_TYPES);
const STARTS = sqlList(START_TYPES);
const OTHER_STARTS = sqlList(START_TYPES.filter((t) => t !== 'playbook.initialized'));
const STEP_DONE = sqlList(STEP_DONE_TYPES);
const EXECUTION_LEVEL = sqlList(EXECUTION_LEVEL_PREFIXES);
export const WORKER_STALE_SECONDS = 90;

/** `now()` as UTC wall-clock time, the convention of event.created_at. */
const CLOCK = `clock AS (SELECT (now() AT TIME ZONE 'UTC') AS now_utc)`;
const ms = (expr: string) => `(extract(epoch FROM ${expr})::float8 * 1000)`;

export function capabilitiesSql(): string {
  // $1 = schema name (unquoted); to_regclass/to_regprocedure return NULL when absent.
  const columns = (table: string) => `coalesce((SELECT array_agg(a.attname::text) FROM pg_attribute a
      WHERE a.attrelid = to_regclass(quote_ident($1) || '.${table}') AND a.attnum > 0 AND NOT a.attisdropped), '{}')`;
  return `SELECT
    to_regclass(quote_ident($1) || '.event') IS NOT NULL AS has_event,
    to_regclass(quote_ident($1) || '.catalog') IS NOT NULL AS has_catalog,
    to_regclass(quote_ident($1) || '.command') IS NOT NULL AS has_command,
    to_regclass(quote_ident($1) || '.runtime') IS NOT NULL AS has_runtime,
    to_regprocedure(quote_ident($1) || '.snowflake_id()') IS NOT NULL AS has_snowflake,
    ${columns('event')} AS event_columns,
    ${columns('execution')} AS execution_columns,
    ${eventLeavesSql()} AS event_leaves`;
}

/**
 * What chunks.ts cuts the full load by, read with the capabilities (no round
 * trip of its own): each leaf of the event table (the table itself when it is
 * not partitioned), its estimated rows, its range bound when the parent is
 * range-partitioned by execution_id, and the planner's histogram of
 * execution_id. Catalog reads only; $1 = schema name.
 */
function eventLeavesSql(): string {
  return `coalesce((WITH root AS (SELECT to_regclass(quote_ident($1) || '.event') AS relid),
    leaves AS (
      SELECT t.relid, t.parentrelid FROM root, pg_partition_tree(root.relid) t WHERE t.isleaf
      UNION ALL
      SELECT root.relid, NULL::regclass FROM root
      WHERE NOT EXISTS (SELECT 1 FROM pg_partition_tree(root.relid) t WHERE t.relid <> root.relid)
    )
    SELECT json_agg(json_build_object(
      'rows', c.reltuples::float8,
      'bound', CASE WHEN l.parentrelid IS NOT NULL AND pg_get_partkeydef(l.parentrelid) = 'RANGE (execution_id)'
        THEN pg_get_expr(c.relpartbound, c.oid) END,
      'histogram', (SELECT st.histogram_bounds::text FROM pg_stats st
        WHERE st.schemaname = n.nspname AND st.tablename = c.relname AND st.attname = 'execution_id' AND NOT st.inherited)))
    FROM leaves l JOIN pg_class c ON c.oid = l.relid JOIN pg_namespace n ON n.oid = c.relnamespace), '[]'::json)`;
}

/**
 * The derived fields of each execution in a `target` CTE (execution_id,
 * started_at, catalog_id, parent_execution_id), one row each.
 */
function describeBody(s: string, caps: Capabilities): string {
  const worker = caps.hasCommand ? 'coalesce(lw.worker_id, cw.worker_id)' : 'lw.worker_id';
  return `SELECT
    t.execution_id::text AS execution_id,
    t.parent_execution_id::text AS parent_execution_id,
    c.path,
    ${ms('t.started_at')} AS started_ms,
    ${ms('ck.now_utc')} AS now_ms,
    le.event_type AS last_event_type,
    le.node_name AS last_event_step,
    le.status AS last_event_status,
    ${ms('le.created_at')} AS last_event_ms,
    coalesce(le.pending_callback, false) AS pending_callback,
    ${ms('pl.created_at')} AS parent_last_event_ms,
    ${
      caps.hasIngestTime
        ? `coalesce(fi.ingest_time = le.ingest_time AND fi.event_id <> le.event_id
      AND le.ingest_time > (le.created_at AT TIME ZONE 'UTC') + interval '1 hour', false)`
        : 'false'
    } AS bulk_imported,
    lt.event_type AS terminal_type,
    ${ms('lt.created_at')} AS terminal_ms,
    lc.node_name AS last_step,
    ls.node_name AS step_name,
    ls.event_type AS step_event_type,
    ${worker} AS worker_id,
    ${caps.hasRuntime ? 'hb.heartbeat_ms, hb.runtime_rows' : 'NULL::float8 AS heartbeat_ms, NULL::int AS runtime_rows'},
    ch.running_children,
    ch.total_children,
    (t.parent_execution_id IS NOT NULL AND EXISTS (
       SELECT 1 FROM ${s}.event p WHERE p.execution_id = t.parent_execution_id)
     AND NOT EXISTS (
       SELECT 1 FROM ${s}.event p WHERE p.execution_id = t.parent_execution_id AND p.event_type IN (${TERMINAL}))
    ) AS parent_running,
    -- Its own ancestor (a self-parent or a parent cycle): listed on its own,
    -- since no parent will ever finish it. UNION ends the walk at a repeat.
    (t.parent_execution_id IS NOT NULL AND EXISTS (
      WITH RECURSIVE up(id) AS (
        SELECT t.parent_execution_id
        UNION
        SELECT p.parent_execution_id FROM up CROSS JOIN LATERAL (
          SELECT e.parent_execution_id FROM ${s}.event e
          WHERE e.execution_id = up.id AND e.parent_execution_id IS NOT NULL ORDER BY e.event_id LIMIT 1) p
      )
      SELECT 1 FROM up WHERE up.id = t.execution_id)
    ) AS in_cycle
  FROM target t
  CROSS JOIN clock ck
  LEFT JOIN ${s}.catalog c ON c.catalog_id = t.catalog_id
  LEFT JOIN LATERAL (
    -- The Rust non-convergence sweep's callback shape: a completed command
    -- parked on an external system (nothing after it, so no call.done).
    SELECT e.event_id, e.event_type, e.node_name, e.status, e.created_at${caps.hasIngestTime ? ', e.ingest_time' : ''},
      (replace(e.event_type, '_', '.') = 'command.completed'
        AND 'true' IN (e.result->'context'->>'pending_callback', e.context->>'pending_callback', e.meta->>'pending_callback')) AS pending_callback
    FROM ${s}.event e
    WHERE e.execution_id = t.execution_id ORDER BY e.event_id DESC LIMIT 1) le ON true
  LEFT JOIN LATERAL (
    SELECT p.created_at FROM ${s}.event p
    WHERE p.execution_id = t.parent_execution_id ORDER BY p.event_id DESC LIMIT 1) pl ON t.parent_execution_id IS NOT NULL${
      caps.hasIngestTime
        ? `
  LEFT JOIN LATERAL (
    SELECT e.event_id, e.ingest_time FROM ${s}.event e
    WHERE e.execution_id = t.execution_id ORDER BY e.event_id LIMIT 1) fi ON true`
        : ''
    }
  LEFT JOIN LATERAL (
    SELECT e.event_type, e.created_at FROM ${s}.event e
    WHERE e.execution_id = t.execution_id AND e.event_type IN (${TERMINAL})
    ORDER BY e.event_id DESC LIMIT 1) lt ON true
  LEFT JOIN LATERAL (
    SELECT e.node_name FROM ${s}.event e
    WHERE e.execution_id = t.execution_id AND e.node_name IS NOT NULL
      AND replace(lower(e.event_type), '_', '.') IN (${STEP_DONE})
    ORDER BY e.event_id DESC LIMIT 1) lc ON true
  LEFT JOIN LATERAL (
    SELECT e.node_name, e.event_type FROM ${s}.event e
    WHERE e.execution_id = t.execution_id AND e.node_name IS NOT NULL
      AND split_part(replace(lower(e.event_type), '_', '.'), '.', 1) NOT IN (${EXECUTION_LEVEL})
    ORDER BY e.event_id DESC LIMIT 1) ls ON true
  LEFT JOIN LATERAL (
    SELECT e.worker_id FROM ${s}.event e
    WHERE e.execution_id = t.execution_id AND e.worker_id IS NOT NULL AND e.worker_id <> ''
    ORDER BY e.event_id DESC LIMIT 1) lw ON true
  ${
    caps.hasCommand
      ? `LEFT JOIN LATERAL (
    SELECT cm.worker_id FROM ${s}.command cm
    WHERE cm.execution_id = t.execution_id AND cm.worker_id IS NOT NULL AND cm.worker_id <> ''
    ORDER BY cm.updated_at DESC NULLS LAST LIMIT 1) cw ON true`
      : ''
  }
  ${
    caps.hasRuntime
      ? `LEFT JOIN LATERAL (
    SELECT ${ms('max(r.heartbeat)')} AS heartbeat_ms, count(*)::int AS runtime_rows
    FROM ${s}.runtime r WHERE r.name = ${worker}) hb ON true`
      : ''
  }
  LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE NOT EXISTS (
             SELECT 1 FROM ${s}.event x WHERE x.execution_id = k.execution_id AND x.event_type IN (${TERMINAL})))::int AS running_children,
           count(*)::int AS total_children
    FROM (SELECT DISTINCT e.execution_id FROM ${s}.event e WHERE e.parent_execution_id = t.execution_id) k) ch ON true`;
}

/**
 * `starts` and `running` CTEs: every execution of an inclusive execution_id
 * range (bigint parameters $lo, $hi) with a start event and no terminal
 * event, its start time, catalog and parent.
 */
function runningCtes(s: string, lo: string, hi: string): string {
  // Python starts come from NoETL's partial index on playbook.initialized
  // (index-only); the anti-join against terminal events is left to the
  // planner (a hash anti-join at scale) rather than one probe per group. An
  // age condition belongs after it: nearly every start is old, and a
  // created_at condition in the scan only steers the planner off the start
  // indexes. An execution's start and terminal events share its
  // execution_id, so the anti-join splits exactly by id range (chunks.ts);
  // the range is repeated on the terminal side so that a hash anti-join
  // hashes only that range.
  const within = (a: string) => `${a}.execution_id BETWEEN ${lo}::bigint AND ${hi}::bigint`;
  return `starts AS (
    SELECT st.execution_id, st.created_at, st.catalog_id, st.parent_execution_id
    FROM ${s}.event st WHERE st.event_type = 'playbook.initialized' AND ${within('st')}
    UNION ALL
    SELECT st.execution_id, st.created_at, st.catalog_id, st.parent_execution_id
    FROM ${s}.event st WHERE st.event_type IN (${OTHER_STARTS}) AND ${within('st')}
  ),
  running AS (
    SELECT r.execution_id, min(r.created_at) AS started_at,
           min(r.catalog_id) AS catalog_id, min(r.parent_execution_id) AS parent_execution_id
    FROM starts r
    WHERE NOT EXISTS (
      SELECT 1 FROM ${s}.event x WHERE x.execution_id = r.execution_id AND x.event_type IN (${TERMINAL}) AND ${within('x')})
    GROUP BY r.execution_id
  )`;
}

/**
 * Running executions stuck under `filter` (src/core/filter.ts), described,
 * oldest first, in the execution_id range $1..$2 (inclusive; the whole
 * bigint range for all).
 */
export function listStuckSql(schema: string, caps: Capabilities, filter: StuckFilter, ids: IdRange): { text: string; values: unknown[] } {
  const s = quoteIdent(schema);
  const values: unknown[] = [ids.lo, ids.hi];
  const bind = (value: unknown, cast: string) => `$${values.push(value)}::${cast}`;
  const terms = stuckSql(
    filter,
    {
      // The age narrows the running set before anything is described.
      started: { at: 'r.started_at', now: '(SELECT now_utc FROM clock)', unit: 'timestamp' },
      lastActivity: { at: 'd.last_event_ms', now: 'd.now_ms', unit: 'ms' },
      path: 'd.path',
      childOfRunning: 'd.parent_running AND NOT d.in_cycle',
    },
    bind,
  );
  const outer = [terms.idle, terms.path, terms.children].filter((c): c is string => c !== undefined);
  const limit = filter.limit != null ? `LIMIT ${bind(filter.limit, 'bigint')}` : '';
  const text = `WITH ${CLOCK},
  ${runningCtes(s, '$1', '$2')},
  target AS (
    SELECT r.* FROM running r WHERE ${terms.age ?? 'true'}
  ),
  described AS (${describeBody(s, caps)})
  SELECT d.* FROM described d
  WHERE ${outer.length ? outer.join(' AND ') : 'true'}
  ORDER BY d.started_ms, d.execution_id::numeric
  ${limit}`;
  return { text, values };
}

/**
 * The running set alone, undescribed, of an execution_id range ($1..$2):
 * execution_id and start time (epoch ms). What `health` counts.
 */
export function runningIdsSql(schema: string): string {
  return `WITH ${runningCtes(quoteIdent(schema), '$1', '$2')}
  SELECT r.execution_id::text AS execution_id, ${ms('r.started_at')} AS started_ms FROM running r`;
}

/**
 * Those of $1 (bigint[]) that have a terminal event: a snapshot's known
 * running executions re-checked, each by a probe of the
 * (execution_id, event_type, ...) index, whenever the event was stamped.
 */
export function terminalAmongSql(schema: string): string {
  const s = quoteIdent(schema);
  // LATERAL ... LIMIT 1, not EXISTS: the planner turned EXISTS into a semi-join
  // that hashed every terminal event of the history.
  return `SELECT x.id::text AS execution_id FROM (SELECT DISTINCT unnest($1::bigint[]) AS id) x
    CROSS JOIN LATERAL (
      SELECT 1 FROM ${s}.event t WHERE t.execution_id = x.id AND t.event_type IN (${TERMINAL}) LIMIT 1) t`;
}

/** The same description for given ids ($1 bigint[]), whatever their state. */
export function describeIdsSql(schema: string, caps: Capabilities): string {
  const s = quoteIdent(schema);
  return `WITH ${CLOCK},
  target AS (
    SELECT x.id AS execution_id, coalesce(f.start_at, f.first_at) AS started_at,
           f.catalog_id, f.parent_execution_id
    FROM unnest($1::bigint[]) AS x(id)
    JOIN LATERAL (
      SELECT min(e.created_at) FILTER (WHERE e.event_type IN (${STARTS})) AS start_at,
             min(e.created_at) AS first_at, min(e.catalog_id) AS catalog_id,
             min(e.parent_execution_id) AS parent_execution_id
      FROM ${s}.event e WHERE e.execution_id = x.id) f ON f.first_at IS NOT NULL
  )
  ${describeBody(s, caps)}
  ORDER BY started_at, execution_id`;
}

/** Recent events of one execution ($1), newest first, at most $2. */
export function timelineSql(schema: string): string {
  const s = quoteIdent(schema);
  return `SELECT e.event_id::text AS event_id, e.event_type, e.node_name, e.status, e.worker_id,
      ${ms('e.created_at')} AS created_ms, left(e.error, 2000) AS error, e.meta
    FROM ${s}.event e WHERE e.execution_id = $1::bigint
    ORDER BY e.event_id DESC LIMIT $2::bigint`;
}

export function eventCountSql(schema: string): string {
  return `SELECT count(*)::bigint::text AS n FROM ${quoteIdent(schema)}.event WHERE execution_id = $1::bigint`;
}

/**
 * Every (child, parent) edge below the executions in $1, however deep, in one
 * query. UNION (not UNION ALL) drops edges already found, so a parent cycle
 * ends the recursion instead of looping.
 */
export function descendantsSql(schema: string): string {
  return `WITH RECURSIVE ${treeCte(quoteIdent(schema))}
    SELECT execution_id::text AS execution_id, parent_execution_id::text AS parent_execution_id FROM tree`;
}

function treeCte(s: string): string {
  // Each parent looked up through the index on parent_execution_id (LATERAL):
  // joined as a set, thousands of roots made the planner expect most of the
  // table and scan all of it.
  const children = (parent: string) => `CROSS JOIN LATERAL (SELECT DISTINCT e.execution_id FROM ${s}.event e WHERE e.parent_execution_id = ${parent}) c`;
  return `tree(execution_id, parent_execution_id) AS (
      SELECT c.execution_id, r.id FROM (SELECT DISTINCT unnest($1::bigint[]) AS id) r ${children('r.id')}
      UNION
      SELECT c.execution_id, t.execution_id FROM tree t ${children('t.execution_id')}
    )`;
}

/** Descendants of $1 that are still running (no terminal event), however deep. */
export function runningDescendantsSql(schema: string): string {
  const s = quoteIdent(schema);
  return `WITH RECURSIVE ${treeCte(s)}
    SELECT DISTINCT t.execution_id::text AS execution_id FROM tree t
    WHERE t.execution_id <> ALL($1::bigint[])
      AND NOT EXISTS (SELECT 1 FROM ${s}.event x WHERE x.execution_id = t.execution_id AND x.event_type IN (${TERMINAL}))
    ORDER BY 1`;
}

/** Transaction-scoped locks on executions, taken in id order so that consoles never deadlock. */
export function lockExecutionsSql(): string {
  return `SELECT count(*)::int AS locked FROM (
      SELECT pg_advisory_xact_lock(l.id) FROM (SELECT DISTINCT unnest($1::bigint[]) AS id ORDER BY 1) l) z`;
}

/** The state of each target in a `target` CTE (execution_id, root_id, ...), read under the lock. */
function targetStateSql(s: string, caps: Capabilities): string {
  const tenant = caps.hasTenant ? ', e.tenant_id, e.organization_id' : '';
  return `state AS (
    SELECT tg.*, fe.catalog_id, fe.parent_execution_id${caps.hasTenant ? ', fe.tenant_id, fe.organization_id' : ''},
           (fe.catalog_id IS NOT NULL) AS found, lt.event_type AS terminal_type, le.event_id AS last_event_id
    FROM target tg
    LEFT JOIN LATERAL (
      SELECT e.catalog_id, e.parent_execution_id${tenant} FROM ${s}.event e
      WHERE e.execution_id = tg.execution_id ORDER BY e.event_id LIMIT 1) fe ON true
    LEFT JOIN LATERAL (
      SELECT e.event_type FROM ${s}.event e
      WHERE e.execution_id = tg.execution_id AND e.event_type IN (${TERMINAL})
      ORDER BY e.event_id DESC LIMIT 1) lt ON true
    LEFT JOIN LATERAL (
      SELECT e.event_id FROM ${s}.event e
      WHERE e.execution_id = tg.execution_id ORDER BY e.event_id DESC LIMIT 1) le ON true
  )`;
}

/**
 * The SET list that closes the Python engine's projection row, from a
 * relation `closed` (execution_id, event_id, event_type, node_name) of the
 * close's newest row. The engine keeps orchestrating while state.completed is
 * false, so the flag is what stops it; only the columns the table has are set.
 * Params: status, failed (boolean), error.
 */
function projectionUpdateSql(s: string, caps: Capabilities, p: { status: string; failed: string; error: string }): string | null {
  const has = (c: string) => caps.projectionColumns.has(c);
  if (!has('execution_id') || !has('status')) return null;
  const set = [`status = ${p.status}::text`];
  if (has('end_time')) set.push('end_time = coalesce(x.end_time, now())');
  if (has('updated_at')) set.push('updated_at = now()');
  if (has('last_event_type')) set.push('last_event_type = c.event_type');
  if (has('last_node_name')) set.push('last_node_name = c.node_name');
  if (has('last_event_id')) set.push('last_event_id = greatest(coalesce(x.last_event_id, 0), c.event_id)');
  if (has('error')) set.push(`error = CASE WHEN ${p.failed}::boolean THEN ${p.error}::text ELSE x.error END`);
  if (has('state')) {
    set.push(`state = CASE WHEN jsonb_typeof(x.state) = 'object'
      THEN x.state || jsonb_build_object('completed', true, 'failed', ${p.failed}::boolean) ELSE x.state END`);
  }
  return `UPDATE ${s}.execution x SET ${set.join(', ')}
    FROM closed c
    WHERE x.execution_id = c.execution_id AND upper(coalesce(x.status, '')) NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')
    RETURNING x.execution_id`;
}

/**
 * State of each target ($1 ids, $2 root ids) re-read under the lock. With
 * `write` it also closes those still running: two event rows each
 * (vocabulary.ts CLOSE_ROWS), the second newer in both event_id and
 * created_at, chained to the execution's newest event and filed under its
 * tenant, and the projection row when there is one. Write params: $3..$6 the
 * first row (event_type, node, status, result), $7..$10 the second, $11 its
 * error, $12 meta, $13/$14 fallback event ids, $15 projection status, $16
 * failed, $17 projection error.
 */
export function markSql(schema: string, caps: Capabilities, write: boolean): string {
  const s = quoteIdent(schema);
  if (!write) {
    return `WITH target AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS x(execution_id, root_id)),
    ${targetStateSql(s, caps)}
    SELECT st.execution_id::text AS execution_id, st.root_id::text AS root_id,
           st.parent_execution_id::text AS parent_execution_id, st.found, st.terminal_type,
           NULL::text AS event_id, false AS projected
    FROM state st`;
  }
  const id = (fallback: string) => (caps.hasSnowflake ? `${s}.snowflake_id()` : fallback);
  const columns = [
    'execution_id',
    'event_id',
    'catalog_id',
    'parent_execution_id',
    'parent_event_id',
    ...(caps.hasPrevEventId ? ['prev_event_id'] : []),
    ...(caps.hasTenant ? ['tenant_id', 'organization_id'] : []),
    'created_at',
    'event_type',
    'node_id',
    'node_name',
    'status',
    'result',
    'error',
    'meta',
  ].join(', ');
  const meta = `$12::jsonb || jsonb_build_object(
             'cascaded', o.execution_id <> o.root_id,
             'root_execution_id', o.root_id::text,
             'parent_cancel_id', CASE WHEN o.execution_id <> o.root_id THEN o.root_id::text END)`;
  // Both rows in one INSERT, their ids computed first (each execution's second
  // row chains to its first): joining a second INSERT back to the first by
  // execution_id was a nested loop over CTEs estimated at one row, quadratic
  // in the batch.
  const pick = (first: string, second: string) => `CASE k.n WHEN 1 THEN ${first} ELSE ${second} END`;
  const previous = pick('o.last_event_id', 'o.id1');
  const projection = projectionUpdateSql(s, caps, { status: '$15', failed: '$16', error: '$17' });
  return `WITH ${CLOCK},
  target AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $13::bigint[], $14::bigint[])
      AS x(execution_id, root_id, fallback1, fallback2)
  ),
  ${targetStateSql(s, caps)},
  open AS (
    SELECT st.*, greatest(${id('st.fallback1')}, coalesce(st.last_event_id, 0) + 1) AS id1
    FROM state st WHERE st.found AND st.terminal_type IS NULL
  ),
  ids AS (SELECT o.*, greatest(${id('o.fallback2')}, o.id1 + 1) AS id2 FROM open o),
  written AS (
    INSERT INTO ${s}.event (${columns})
    SELECT o.execution_id, ${pick('o.id1', 'o.id2')}, o.catalog_id, o.parent_execution_id, ${previous},
           ${caps.hasPrevEventId ? `${previous},` : ''} ${caps.hasTenant ? 'o.tenant_id, o.organization_id,' : ''}
           ${pick('ck.now_utc', "ck.now_utc + interval '1 microsecond'")},
           ${pick('$3::text', '$7::text')}, ${pick('$4::text', '$8::text')}, ${pick('$4::text', '$8::text')},
           ${pick('$5::text', '$9::text')}, ${pick('$6::jsonb', '$10::jsonb')}, ${pick('NULL::text', '$11::text')}, ${meta}
    FROM ids o CROSS JOIN clock ck CROSS JOIN (VALUES (1), (2)) k(n)
    RETURNING execution_id, event_id, event_type, node_name
  ),
  closed AS (SELECT DISTINCT ON (w.execution_id) w.* FROM written w ORDER BY w.execution_id, w.event_id DESC),
  projected AS (${projection ?? 'SELECT NULL::bigint AS execution_id WHERE false'})
  SELECT st.execution_id::text AS execution_id, st.root_id::text AS root_id,
         st.parent_execution_id::text AS parent_execution_id, st.found, st.terminal_type,
         c.event_id::text AS event_id, (p.execution_id IS NOT NULL) AS projected
  FROM state st
  LEFT JOIN closed c ON c.execution_id = st.execution_id
  LEFT JOIN projected p ON p.execution_id = st.execution_id`;
}

/**
 * Close the projection rows of executions already closed in the event log
 * (through the engine's API): $1 ids; the rest as projectionUpdateSql. Null
 * when the database has no projection.
 */
export function closeProjectionSql(schema: string, caps: Capabilities): string | null {
  const s = quoteIdent(schema);
  const update = projectionUpdateSql(s, caps, { status: '$2', failed: '$3', error: '$4' });
  if (!update) return null;
  return `WITH closed AS (
    SELECT x.id AS execution_id, lt.event_id, lt.event_type, lt.node_name
    FROM unnest($1::bigint[]) AS x(id)
    JOIN LATERAL (
      SELECT e.event_id, e.event_type, e.node_name FROM ${s}.event e
      WHERE e.execution_id = x.id AND e.event_type IN (${TERMINAL})
      ORDER BY e.event_id DESC LIMIT 1) lt ON true
  )
  ${update}`;
}

/**
 * What `health` reads besides the running set (store.ts counts that one):
 * executions started in the last 24 hours, live worker pools, the clock.
 */
export function healthExtrasSql(schema: string, caps: Capabilities): string {
  const s = quoteIdent(schema);
  return `WITH ${CLOCK}
  SELECT
    (SELECT count(DISTINCT e.execution_id)::int FROM ${s}.event e
      WHERE e.event_type IN (${STARTS}) AND e.created_at >= ck.now_utc - interval '24 hours') AS recent_24h,
    ${
      caps.hasRuntime
        ? `(SELECT count(*)::int FROM ${s}.runtime w WHERE w.kind = 'worker_pool'
        AND w.heartbeat >= now() - interval '${WORKER_STALE_SECONDS} seconds') AS live_workers`
        : 'NULL::int AS live_workers'
    },
    ${ms('ck.now_utc')} AS now_ms
  FROM clock ck`;
}

/**
 * Incremental refresh: every execution with an event stamped after $1 (epoch
 * ms, UTC), with what kind of events it had, how many events it has after $1
 * (`seen`) and after now - $2 ms (`next`, the next refresh's window). Reads
 * only the recent slice of the created_at index.
 */
export function recentActivitySql(schema: string): string {
  const s = quoteIdent(schema);
  return `WITH ${CLOCK}
  SELECT e.execution_id::text AS execution_id,
         bool_or(e.event_type IN (${STARTS})) AS has_start,
         bool_or(e.event_type IN (${TERMINAL})) AS has_terminal,
         min(e.parent_execution_id)::text AS parent_execution_id,
         count(e.execution_id)::int AS seen,
         count(e.execution_id) FILTER (WHERE e.created_at > ck.now_utc - $2::float8 * interval '1 millisecond')::int AS next,
         max(${ms('ck.now_utc')}) AS now_ms
  FROM clock ck
  LEFT JOIN ${s}.event e ON e.created_at > (to_timestamp($1::float8 / 1000) AT TIME ZONE 'UTC')
  GROUP BY e.execution_id`;
}

/** Latest heartbeat of each worker pool, epoch ms. */
export function heartbeatsSql(schema: string): string {
  return `SELECT r.name, ${ms('max(r.heartbeat)')} AS heartbeat_ms
    FROM ${quoteIdent(schema)}.runtime r GROUP BY r.name`;
}

/*
 * `doctor`: the catalog reads, and the DDL it prints (never runs).
 */

/**
 * The event table and, when it is partitioned, every partition below it
 * (sub-partitions too), parents before children. $1 = schema name.
 */
export function eventTreeSql(): string {
  // pg_partition_tree lists nothing for a table that is not partitioned: the root row comes first on its own.
  return `WITH root AS (SELECT to_regclass(quote_ident($1) || '.event') AS relid)
    SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
      t.parentrelid::oid::text AS parent, t.level
    FROM (SELECT relid, NULL::regclass AS parentrelid, 0 AS level FROM root
          UNION ALL
          SELECT t.relid, t.parentrelid, t.level FROM root, pg_partition_tree(root.relid) t WHERE t.relid <> root.relid) t
    JOIN pg_class c ON c.oid = t.relid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    ORDER BY t.level, c.relname`;
}

/**
 * Every index on the tables $1 (oids as text[]), in parts to compare with a
 * recommendation: key columns (with DESC), INCLUDE columns, the predicate,
 * whether it is valid, and the partitioned index it is attached to.
 */
export function eventIndexesSql(): string {
  return `SELECT i.oid::text AS oid, n.nspname AS schema, i.relname AS name, x.indrelid::text AS table_oid,
      x.indisvalid AS valid, am.amname AS method, pg_get_expr(x.indpred, x.indrelid) AS predicate,
      ARRAY(SELECT pg_get_indexdef(i.oid, k, false) || CASE WHEN (x.indoption[k - 1] & 1) = 1 THEN ' DESC' ELSE '' END
            FROM generate_series(1, x.indnkeyatts) k ORDER BY k) AS keys,
      ARRAY(SELECT pg_get_indexdef(i.oid, k, false)
            FROM generate_series(x.indnkeyatts + 1, x.indnatts) k ORDER BY k) AS include,
      (SELECT h.inhparent::text FROM pg_inherits h WHERE h.inhrelid = i.oid) AS parent
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_namespace n ON n.oid = i.relnamespace
    JOIN pg_am am ON am.oid = i.relam
    WHERE x.indrelid = ANY ($1::oid[])
    ORDER BY i.relname`;
}

/** Names in use in schemas $1 (text[]): an index name must not collide with any relation. */
export function relationNamesSql(): string {
  return `SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY ($1::text[])`;
}

/**
 * Whether any event of each type exists, one boolean column per type in
 * order ("0", "1", ...). Each EXISTS stops at the first row, through the
 * (event_type) index or a partial index on that type.
 */
export function eventTypesSeenSql(schema: string, types: readonly string[]): string {
  const s = quoteIdent(schema);
  return `SELECT ${types.map((t, i) => `EXISTS (SELECT 1 FROM ${s}.event WHERE event_type = ${sqlList([t])}) AS "${i}"`).join(',\n    ')}`;
}

/** An index shape as PostgreSQL prints its parts (pg_get_indexdef per column). */
export interface IndexShape {
  keys: readonly string[];
  include: readonly string[];
  /** Literals its WHERE must name (an index with no WHERE when empty). */
  predicateTypes: readonly string[];
}

export interface RecommendedIndex extends IndexShape {
  /** Short name in reports. */
  name: string;
  /** The index name doctor gives it. */
  index: string;
  why: string;
}

/**
 * Indexes that make the full load and the incremental probes cheap. The
 * terminal and start partial indexes turn the running-set anti-join into two
 * small index-only scans; created_at serves the incremental probe; the
 * completed one keeps thresholdsSql's window index-only; the others are NoETL's own.
 */
export function recommendedIndexes(): RecommendedIndex[] {
  const terminal = [...ALL_TERMINAL_TYPES];
  const otherStarts = START_TYPES.filter((t) => t !== 'playbook.initialized');
  return [
    {
      name: 'event_exec_type',
      index: 'idx_event_exec_type',
      keys: ['execution_id', 'event_type', 'event_id DESC'],
      include: [],
      predicateTypes: [],
      why: 'state of one execution (terminal events) in a few index pages',
    },
    {
      name: 'event_parent_exec',
      index: 'idx_event_parent_exec',
      keys: ['parent_execution_id'],
      include: [],
      predicateTypes: [],
      why: 'child executions (cascade, running_children)',
    },
    {
      name: 'event_created_at',
      index: 'idx_event_created_at',
      keys: ['created_at'],
      include: [],
      predicateTypes: [],
      why: 'the incremental refresh reads only events stamped since the previous one',
    },
    {
      name: 'event_terminal_exec',
      index: 'idx_event_terminal_exec',
      keys: ['execution_id'],
      include: [],
      predicateTypes: terminal,
      why: 'the full load anti-joins every start against terminal events: a small index-only scan instead of heap pages',
    },
    {
      name: 'event_start_exec',
      index: 'idx_event_start_exec',
      keys: ['execution_id'],
      include: ['created_at', 'catalog_id', 'parent_execution_id'],
      predicateTypes: otherStarts,
      why: 'Rust-dialect starts, index-only (NoETL indexes only playbook.initialized)',
    },
    {
      name: 'event_completed_at',
      index: 'idx_event_completed_at',
      keys: ['created_at'],
      include: ['execution_id'],
      predicateTypes: TERMINAL_TYPES.completed,
      why: "learned thresholds read the window's completions index-only instead of a heap page each",
    },
  ];
}

/** schema.name, both quoted. */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

function indexShapeSql(r: IndexShape): string {
  const include = r.include.length ? ` INCLUDE (${r.include.join(', ')})` : '';
  const where =
    r.predicateTypes.length === 1 ? ` WHERE event_type = ${sqlList(r.predicateTypes)}` : r.predicateTypes.length ? ` WHERE event_type IN (${sqlList(r.predicateTypes)})` : '';
  return `(${r.keys.join(', ')})${include}${where}`;
}

/**
 * CREATE INDEX `index` on `table` (qualified): `concurrently` builds without
 * blocking writes but PostgreSQL refuses it on a partitioned table; `only`
 * creates a partitioned table's index without recursing (instant, invalid
 * until each partition's index is attached); `recursive` builds it on the
 * table and every partition at once, blocking their writes meanwhile.
 */
export function createIndexSql(r: IndexShape, index: string, table: string, how: 'concurrently' | 'only' | 'recursive'): string {
  const create = how === 'concurrently' ? 'CREATE INDEX CONCURRENTLY IF NOT EXISTS' : 'CREATE INDEX IF NOT EXISTS';
  return `${create} ${quoteIdent(index)} ON ${how === 'only' ? 'ONLY ' : ''}${table} ${indexShapeSql(r)};`;
}

/** Attach a partition's index (qualified) to its parent's; attaching the last one makes the parent valid. */
export function attachIndexSql(parentIndex: string, partitionIndex: string): string {
  return `ALTER INDEX ${parentIndex} ATTACH PARTITION ${partitionIndex};`;
}

/** Drop an invalid leftover of a failed CONCURRENTLY build, without blocking writes. */
export function dropIndexSql(index: string): string {
  return `DROP INDEX CONCURRENTLY IF EXISTS ${index};`;
}

/** Rebuild an invalid index that is attached to a parent index (it cannot be dropped alone). */
export function reindexSql(index: string): string {
  return `REINDEX INDEX CONCURRENTLY ${index};`;
}

const COMPLETED = sqlList(TERMINAL_TYPES.completed);

/**
 * Learned thresholds: per playbook path, the durations of executions that
 * completed in the last $1 days (median, p95, p99, count). Only completions:
 * a run the console cancelled after hours would teach the next pass that
 * hours are normal. The window's completions come from doctor's
 * idx_event_completed_at, index-only (its WHERE is this query's event_type
 * list), else from the created_at and event_type indexes (a bitmap AND, a
 * heap page per completion); starts as in listStuckSql (NoETL's
 * partial index, index-only), joined by execution_id, which the planner may
 * also probe per execution through (execution_id, event_type, event_id).
 * Measured in bench/ (--only thresholds): a join beat a probe per execution,
 * and materializing the runs before joining the paths keeps that join to one.
 */
export function thresholdsSql(schema: string): string {
  return `${runsWith(schema)}
  SELECT c.path, count(*)::int AS samples,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY r.seconds)::float8 AS median_seconds,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY r.seconds)::float8 AS p95_seconds,
    percentile_cont(0.99) WITHIN GROUP (ORDER BY r.seconds)::float8 AS p99_seconds
  FROM runs r JOIN ${quoteIdent(schema)}.catalog c ON c.catalog_id = r.catalog_id
  GROUP BY c.path`;
}

/**
 * The runs thresholdsSql learns from, each its catalog_id and seconds: a
 * sharded cluster reads them on each shard, names their paths from the
 * cluster catalog and takes the percentiles over the union (sharded.ts).
 */
export function runsSql(schema: string): string {
  return `${runsWith(schema)}
  SELECT r.catalog_id::text AS catalog_id, r.seconds FROM runs r WHERE r.catalog_id IS NOT NULL`;
}

/** The completed runs of the last $1 days, as the CTE `runs` (catalog_id, seconds). */
function runsWith(schema: string): string {
  const s = quoteIdent(schema);
  return `WITH ${CLOCK},
  finished AS (
    SELECT x.execution_id, max(x.created_at) AS finished_at
    FROM ${s}.event x
    WHERE x.event_type IN (${COMPLETED})
      AND x.created_at >= (SELECT now_utc FROM clock) - $1::float8 * interval '1 day'
    GROUP BY x.execution_id
  ),
  starts AS (
    SELECT st.execution_id, st.created_at, st.catalog_id FROM ${s}.event st WHERE st.event_type = 'playbook.initialized'
    UNION ALL
    SELECT st.execution_id, st.created_at, st.catalog_id FROM ${s}.event st WHERE st.event_type IN (${OTHER_STARTS})
  ),
  runs AS MATERIALIZED (
    SELECT min(st.catalog_id) AS catalog_id, extract(epoch FROM (f.finished_at - min(st.created_at)))::float8 AS seconds
    FROM finished f JOIN starts st ON st.execution_id = f.execution_id
    GROUP BY f.execution_id, f.finished_at
    HAVING min(st.created_at) <= f.finished_at
  )`;
}
