/**
 * Every SQL statement the console runs against a NoETL database lives here.
 * User input only ever travels as bind parameters; the schema name is
 * validated as an identifier (config.ts) and quoted here.
 */
import { ALL_TERMINAL_TYPES, START_TYPES, STEP_DONE_TYPES, EXECUTION_LEVEL_PREFIXES, sqlList } from './vocabulary.js';

export interface Capabilities {
  hasCommand: boolean;
  hasRuntime: boolean;
  hasSnowflake: boolean;
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
  return `SELECT
    to_regclass(quote_ident($1) || '.event') IS NOT NULL AS has_event,
    to_regclass(quote_ident($1) || '.catalog') IS NOT NULL AS has_catalog,
    to_regclass(quote_ident($1) || '.command') IS NOT NULL AS has_command,
    to_regclass(quote_ident($1) || '.runtime') IS NOT NULL AS has_runtime,
    to_regprocedure(quote_ident($1) || '.snowflake_id()') IS NOT NULL AS has_snowflake`;
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
    ${ms('le.created_at')} AS last_event_ms,
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
    ) AS parent_running
  FROM target t
  CROSS JOIN clock ck
  LEFT JOIN ${s}.catalog c ON c.catalog_id = t.catalog_id
  LEFT JOIN LATERAL (
    SELECT e.event_type, e.node_name, e.created_at FROM ${s}.event e
    WHERE e.execution_id = t.execution_id ORDER BY e.event_id DESC LIMIT 1) le ON true
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
 * Running executions that started at least $1 seconds ago, described.
 * $2 idle seconds or NULL, $3 ILIKE pattern on path or NULL,
 * $4 include children of running parents, $5 limit or NULL.
 */
export function listStuckSql(schema: string, caps: Capabilities): string {
  const s = quoteIdent(schema);
  // Python starts come from NoETL's partial index on playbook.initialized
  // (index-only); the anti-join against terminal events is left to the
  // planner (a hash anti-join at scale) rather than one probe per group. The
  // age filter applies after it: nearly every start is old, and a created_at
  // condition in the scan only steers the planner off the start indexes.
  return `WITH ${CLOCK},
  starts AS (
    SELECT st.execution_id, st.created_at, st.catalog_id, st.parent_execution_id
    FROM ${s}.event st WHERE st.event_type = 'playbook.initialized'
    UNION ALL
    SELECT st.execution_id, st.created_at, st.catalog_id, st.parent_execution_id
    FROM ${s}.event st WHERE st.event_type IN (${OTHER_STARTS})
  ),
  target AS (
    SELECT r.execution_id, min(r.created_at) AS started_at,
           min(r.catalog_id) AS catalog_id, min(r.parent_execution_id) AS parent_execution_id
    FROM starts r
    WHERE NOT EXISTS (
      SELECT 1 FROM ${s}.event x WHERE x.execution_id = r.execution_id AND x.event_type IN (${TERMINAL}))
    GROUP BY r.execution_id
    HAVING min(r.created_at) <= (SELECT now_utc FROM clock) - $1::float8 * interval '1 second'
  ),
  described AS (${describeBody(s, caps)})
  SELECT d.* FROM described d
  WHERE ($2::float8 IS NULL OR d.last_event_ms <= d.now_ms - $2::float8 * 1000)
    AND ($3::text IS NULL OR d.path ILIKE $3::text)
    AND ($4::boolean OR NOT d.parent_running)
  ORDER BY d.started_ms, d.execution_id::numeric
  LIMIT $5::bigint`;
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

/** Direct children of the executions in $1 (one level of the tree). */
export function childrenSql(schema: string): string {
  return `SELECT DISTINCT e.execution_id::text AS execution_id, e.parent_execution_id::text AS parent_execution_id
    FROM ${quoteIdent(schema)}.event e WHERE e.parent_execution_id = ANY($1::bigint[])`;
}

/** Transaction-scoped locks on executions, taken in id order so that consoles never deadlock. */
export function lockExecutionsSql(): string {
  return `SELECT count(*)::int AS locked FROM (
      SELECT pg_advisory_xact_lock(l.id) FROM (SELECT DISTINCT unnest($1::bigint[]) AS id ORDER BY 1) l) z`;
}

/**
 * State of each target ($1 ids, $2 root ids) re-read under the lock; with
 * `write` it also inserts the terminal event for those still running and
 * reports which got one. Write params: $3 event_type, $4 node, $5 status,
 * $6 result jsonb, $7 error, $8 meta jsonb, $9 fallback event ids.
 */
export function markSql(schema: string, caps: Capabilities, write: boolean): string {
  const s = quoteIdent(schema);
  const state = `target AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[]${write ? ', $9::bigint[]' : ''})
      AS x(execution_id, root_id${write ? ', fallback_event_id' : ''})
  ),
  state AS (
    SELECT tg.*, fe.catalog_id, fe.parent_execution_id, (fe.catalog_id IS NOT NULL) AS found,
           lt.event_type AS terminal_type
    FROM target tg
    LEFT JOIN LATERAL (
      SELECT e.catalog_id, e.parent_execution_id FROM ${s}.event e
      WHERE e.execution_id = tg.execution_id ORDER BY e.event_id LIMIT 1) fe ON true
    LEFT JOIN LATERAL (
      SELECT e.event_type FROM ${s}.event e
      WHERE e.execution_id = tg.execution_id AND e.event_type IN (${TERMINAL})
      ORDER BY e.event_id DESC LIMIT 1) lt ON true
  )`;
  if (!write) {
    return `WITH ${state}
    SELECT st.execution_id::text AS execution_id, st.root_id::text AS root_id,
           st.parent_execution_id::text AS parent_execution_id, st.found, st.terminal_type,
           NULL::text AS event_id
    FROM state st`;
  }
  const eventId = caps.hasSnowflake ? `${s}.snowflake_id()` : 'st.fallback_event_id';
  return `WITH ${state},
  inserted AS (
    INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at,
                            event_type, node_id, node_name, node_type, status, result, error, meta)
    SELECT st.execution_id, ${eventId}, st.catalog_id, st.parent_execution_id, (now() AT TIME ZONE 'UTC'),
           $3::text, $4::text, $4::text, 'playbook', $5::text, $6::jsonb, $7::text,
           $8::jsonb || jsonb_build_object(
             'cascaded', st.execution_id <> st.root_id,
             'root_execution_id', st.root_id::text,
             'parent_cancel_id', CASE WHEN st.execution_id <> st.root_id THEN st.root_id::text END)
    FROM state st
    WHERE st.found AND st.terminal_type IS NULL
    RETURNING execution_id, event_id
  )
  SELECT st.execution_id::text AS execution_id, st.root_id::text AS root_id,
         st.parent_execution_id::text AS parent_execution_id, st.found, st.terminal_type,
         ins.event_id::text AS event_id
  FROM state st LEFT JOIN inserted ins ON ins.execution_id = st.execution_id`;
}

/** Counts for `health` and the interactive header. $1 stuck age s, $2 long-running age s. */
export function healthSql(schema: string, caps: Capabilities): string {
  const s = quoteIdent(schema);
  return `WITH ${CLOCK},
  running AS (
    SELECT st.execution_id, min(st.created_at) AS started_at
    FROM ${s}.event st
    WHERE st.event_type IN (${STARTS})
    GROUP BY st.execution_id
    HAVING NOT EXISTS (
      SELECT 1 FROM ${s}.event x WHERE x.execution_id = st.execution_id AND x.event_type IN (${TERMINAL}))
  )
  SELECT count(*)::int AS running,
    count(*) FILTER (WHERE r.started_at <= ck.now_utc - $1::float8 * interval '1 second')::int AS stuck,
    count(*) FILTER (WHERE r.started_at <= ck.now_utc - $2::float8 * interval '1 second')::int AS long_running,
    extract(epoch FROM (ck.now_utc - min(r.started_at)))::float8 AS oldest_running_s,
    (SELECT count(DISTINCT e.execution_id)::int FROM ${s}.event e
      WHERE e.event_type IN (${STARTS}) AND e.created_at >= ck.now_utc - interval '24 hours') AS recent_24h,
    ${
      caps.hasRuntime
        ? `(SELECT count(*)::int FROM ${s}.runtime w WHERE w.kind = 'worker_pool'
        AND w.heartbeat >= now() - interval '${WORKER_STALE_SECONDS} seconds') AS live_workers`
        : 'NULL::int AS live_workers'
    },
    ${ms('ck.now_utc')} AS now_ms
  FROM clock ck LEFT JOIN running r ON true
  GROUP BY ck.now_utc`;
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

/** Index definitions on the event table (and its partitions' parent), for `doctor`. */
export function eventIndexesSql(): string {
  return `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = $1 AND t.relname = 'event'`;
}

/**
 * Indexes that make the full load and the incremental probes cheap. The two
 * partial indexes turn the running-set anti-join into two small index-only
 * scans; created_at serves the incremental probe; the others are NoETL's own.
 */
export function recommendedIndexes(schema: string): { name: string; covers: RegExp; statement: string; why: string }[] {
  const s = quoteIdent(schema);
  return [
    {
      name: 'event_exec_type',
      covers: /\(execution_id, event_type/,
      statement: `CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_event_exec_type ON ${s}.event (execution_id, event_type, event_id DESC);`,
      why: 'state of one execution (terminal events) in a few index pages',
    },
    {
      name: 'event_parent_exec',
      covers: /\(parent_execution_id\)/,
      statement: `CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_event_parent_exec ON ${s}.event (parent_execution_id);`,
      why: 'child executions (cascade, running_children)',
    },
    {
      name: 'event_created_at',
      covers: /\(created_at\)/,
      statement: `CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_event_created_at ON ${s}.event (created_at);`,
      why: 'the incremental refresh reads only events stamped since the previous one',
    },
    {
      name: 'event_terminal_exec',
      covers: /\(execution_id\)[^]*WHERE[^]*execution\.cancelled[^]*playbook_completed|\(execution_id\)[^]*WHERE[^]*playbook_completed[^]*execution\.cancelled/,
      statement: `CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_event_terminal_exec ON ${s}.event (execution_id) WHERE event_type IN (${TERMINAL});`,
      why: 'the full load anti-joins every start against terminal events: a small index-only scan instead of heap pages',
    },
    {
      name: 'event_start_exec',
      covers: /\(execution_id\) INCLUDE \(created_at, catalog_id, parent_execution_id\)[^]*WHERE[^]*playbook_started/,
      statement: `CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_event_start_exec ON ${s}.event (execution_id) INCLUDE (created_at, catalog_id, parent_execution_id) WHERE event_type IN (${OTHER_STARTS});`,
      why: 'Rust-dialect starts, index-only (NoETL indexes only playbook.initialized)',
    },
  ];
}
