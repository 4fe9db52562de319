import { stuckSql, type StuckFilter } from '../core/filter.js';
import type { Action } from '../core/mark.js';
/**
 * Every SQL statement of a status-table source. Identifiers come from the
 * config (validated there, checked against the catalog in catalog.ts) and are
 * always quoted; values (ids, status values, reasons) only ever travel as
 * bind parameters.
 *
 * Times: outputs are epoch milliseconds. extract(epoch ...) of a timestamptz
 * is absolute, and of a timestamp without time zone is its nominal value read
 * as UTC, so neither depends on the session TimeZone. Filters compare a
 * column with now() in the column's own type (now() AT TIME ZONE 'UTC' for a
 * timestamp without time zone), which keeps them index-friendly.
 */

export type IdType = 'integer' | 'uuid' | 'text';

export interface TimeColumn {
  /** Quoted column name. */
  col: string;
  /** timestamptz (true) or timestamp without time zone (false). */
  tz: boolean;
}

export type ReasonTarget = { kind: 'column'; col: string } | { kind: 'append'; col: string } | { kind: 'json'; col: string; jsonb: boolean; key: string };

export interface StepsShape {
  table: string;
  executionId: string;
  stepId: string;
  status: string;
  started: TimeColumn | null;
  finished: TimeColumn | null;
  attempts: string | null;
  error: string | null;
  done: readonly string[];
  running: readonly string[];
}

/** A status table as resolved against the catalog: every name quoted, every type known. */
export interface TableShape {
  /** "schema"."table" */
  table: string;
  /** schema.table, for messages and as the path when there is no label column. */
  tableName: string;
  idType: IdType;
  id: string;
  status: string;
  /** SQL type that status values are cast to (the column's own type for enums). */
  statusType: string;
  running: readonly string[];
  started: TimeColumn;
  finished: TimeColumn | null;
  updated: TimeColumn | null;
  label: string | null;
  display: readonly { name: string; col: string }[];
  reason: ReasonTarget | null;
  steps: StepsShape | null;
}

export interface Statement {
  text: string;
  values: unknown[];
}

/** Bind parameters in order of appearance. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast: string): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const ID_CAST: Record<IdType, string> = { integer: 'bigint', uuid: 'uuid', text: 'text' };

const ms = (expr: string) => `(extract(epoch FROM ${expr})::float8 * 1000)`;
const NOW_MS = ms('now()');
/** now() in the type of the column, for comparisons. */
const nowFor = (c: TimeColumn) => (c.tz ? 'now()' : `(now() AT TIME ZONE 'UTC')`);
const msOf = (alias: string, c: TimeColumn | null) => (c ? ms(`${alias}.${c.col}`) : 'NULL::float8');

// ---------------------------------------------------------------- catalog

/** The relation named by $1 (a quoted, possibly qualified name), or no row. */
export function relationSql(): string {
  return `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, c.oid::bigint::text AS oid
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = to_regclass($1::text)`;
}

/** Tables whose name matches $2 (and schema $1 when given) ignoring case: hints for a mistyped name. */
export function similarRelationsSql(): string {
  return `SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE lower(c.relname) = lower($2::text) AND ($1::text IS NULL OR lower(n.nspname) = lower($1::text))
      AND c.relkind IN ('r', 'p', 'v', 'f', 'm')
    ORDER BY n.nspname, c.relname LIMIT 3`;
}

/** Columns of relation $1 (oid) with their base type (through one domain level). */
export function columnsSql(): string {
  return `SELECT a.attname AS name,
      format_type(a.atttypid, NULL) AS type,
      format_type(bt.oid, NULL) AS base_type,
      bt.typcategory::text AS category,
      bt.typtype::text AS typtype,
      bt.oid::bigint::text AS base_oid
    FROM pg_attribute a
    JOIN pg_type ty ON ty.oid = a.atttypid
    JOIN pg_type bt ON bt.oid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END
    WHERE a.attrelid = $1::bigint::oid AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum`;
}

/** Labels of enum type $1 (oid), in order. */
export function enumLabelsSql(): string {
  return `SELECT e.enumlabel AS label FROM pg_enum e WHERE e.enumtypid = $1::bigint::oid ORDER BY e.enumsortorder`;
}

/** Plans (never runs) the join of runs and steps, so a type mismatch shows before first use. */
export function stepsJoinProbeSql(s: TableShape, steps: StepsShape): string {
  return `SELECT 1 FROM ${s.table} t JOIN ${steps.table} st ON st.${steps.executionId} = t.${s.id} WHERE false`;
}

// ---------------------------------------------------------------- reads

/** One row per execution as model.ts reads it. */
export interface StatusRow {
  id: string;
  label: string | null;
  status: string | null;
  started_ms: number | null;
  updated_ms: number | null;
  finished_ms: number | null;
  /** display_0, display_1, ... in config order. */
  [display: `display_${number}`]: string | null;
  last_step: string | null;
  stuck_step: string | null;
  stuck_attempts: number | null;
  stuck_error: string | null;
  activity_step: string | null;
  activity_status: string | null;
  activity_ms: number | null;
  step_count: number | null;
  now_ms: number;
}

/**
 * The described rows of the table matching `where` (conditions on alias t),
 * then `outer` (conditions on the described row d), oldest first.
 */
function describeSelect(s: TableShape, p: Params, where: string[], outer: string[] = [], limit: string | null = null): string {
  const steps = s.steps;
  const stepsColumns = steps
    ? `lc.step_id AS last_step, rs.step_id AS stuck_step, rs.attempts AS stuck_attempts, rs.error AS stuck_error,
       la.step_id AS activity_step, la.status AS activity_status, la.at_ms AS activity_ms, sc.n AS step_count`
    : `NULL::text AS last_step, NULL::text AS stuck_step, NULL::int AS stuck_attempts, NULL::text AS stuck_error,
       NULL::text AS activity_step, NULL::text AS activity_status, NULL::float8 AS activity_ms, NULL::int AS step_count`;
  let laterals = '';
  if (steps) {
    const done = p.add(steps.done, 'text[]');
    const running = p.add(steps.running, 'text[]');
    const match = `st.${steps.executionId} = t.${s.id}`;
    const started = msOf('st', steps.started);
    const finished = msOf('st', steps.finished);
    const at = `greatest(${started}, ${finished})`;
    laterals = `
    LEFT JOIN LATERAL (
      SELECT st.${steps.stepId}::text AS step_id FROM ${steps.table} st
      WHERE ${match} AND st.${steps.status}::text = ANY(${done})
      ORDER BY coalesce(${finished}, ${started}) DESC NULLS LAST, st.${steps.stepId}::text DESC LIMIT 1) lc ON true
    LEFT JOIN LATERAL (
      SELECT st.${steps.stepId}::text AS step_id,
             ${steps.attempts ? `st.${steps.attempts}::int` : 'NULL::int'} AS attempts,
             ${steps.error ? `left(st.${steps.error}::text, 2000)` : 'NULL::text'} AS error
      FROM ${steps.table} st
      WHERE ${match} AND st.${steps.status}::text = ANY(${running})
      ORDER BY ${started} DESC NULLS LAST, st.${steps.stepId}::text DESC LIMIT 1) rs ON true
    LEFT JOIN LATERAL (
      SELECT st.${steps.stepId}::text AS step_id, st.${steps.status}::text AS status, ${at} AS at_ms
      FROM ${steps.table} st
      WHERE ${match} AND ${at} IS NOT NULL
      ORDER BY ${at} DESC, st.${steps.stepId}::text DESC LIMIT 1) la ON true
    LEFT JOIN LATERAL (SELECT count(*)::int AS n FROM ${steps.table} st WHERE ${match}) sc ON true`;
  }
  const display = s.display.map((d, i) => `t.${d.col}::text AS display_${i},`).join('\n    ');
  return `SELECT * FROM (
    SELECT t.${s.id}::text AS id,
    t.${s.id} AS sort_key,
    ${s.label ? `t.${s.label}::text` : 'NULL::text'} AS label,
    t.${s.status}::text AS status,
    ${msOf('t', s.started)} AS started_ms,
    ${msOf('t', s.updated)} AS updated_ms,
    ${msOf('t', s.finished)} AS finished_ms,
    ${display}
    ${stepsColumns},
    ${NOW_MS} AS now_ms
    FROM ${s.table} t${laterals}
    WHERE ${where.length ? where.join(' AND ') : 'true'}
  ) d
  WHERE ${outer.length ? outer.join(' AND ') : 'true'}
  ORDER BY d.started_ms NULLS LAST, d.sort_key
  ${limit ? `LIMIT ${limit}` : ''}`;
}

/** Rows still in a running status, stuck under `filter` (src/core/filter.ts), described, oldest first. */
export function listRunningSql(s: TableShape, filter: StuckFilter): Statement {
  const p = new Params();
  const bind = (value: unknown, cast: string) => p.add(value, cast);
  const where = [`t.${s.status} = ANY(${p.add(s.running, `${s.statusType}[]`)})`];
  const terms = stuckSql(
    filter,
    {
      // On the table itself, before the row is described: the age narrows the most.
      started: { at: `t.${s.started.col}`, now: nowFor(s.started), unit: 'timestamp' },
      lastActivity: { at: 'greatest(d.updated_ms, d.activity_ms, d.started_ms)', now: 'd.now_ms', unit: 'ms' },
      path: s.label ? 'd.label' : filter.path ? p.add(s.tableName, 'text') : 'NULL',
      childOfRunning: null,
    },
    bind,
  );
  if (terms.age) where.push(terms.age);
  const outer = [terms.idle, terms.path].filter((c): c is string => c !== undefined);
  const limit = filter.limit != null ? p.add(filter.limit, 'bigint') : null;
  return { text: describeSelect(s, p, where, outer, limit), values: p.values };
}

/** The rows with these ids (canonical text), whatever their status. */
export function describeIdsSql(s: TableShape, ids: readonly string[]): Statement {
  const p = new Params();
  const where = [`t.${s.id} = ANY(${p.add(ids, `${ID_CAST[s.idType]}[]`)})`];
  return { text: describeSelect(s, p, where), values: p.values };
}

export function clockSql(): string {
  return `SELECT ${NOW_MS} AS now_ms`;
}

export interface StepRow {
  step_id: string;
  status: string | null;
  started_ms: number | null;
  finished_ms: number | null;
  attempts: number | null;
  error: string | null;
  seq: number;
  total: number;
}

/** Steps of one execution, latest first, at most `limit`, with their total count. */
export function stepsSql(s: TableShape, steps: StepsShape, id: string, limit: number): Statement {
  const p = new Params();
  const started = msOf('st', steps.started);
  const finished = msOf('st', steps.finished);
  const text = `SELECT st.${steps.stepId}::text AS step_id, st.${steps.status}::text AS status,
      ${started} AS started_ms, ${finished} AS finished_ms,
      ${steps.attempts ? `st.${steps.attempts}::int` : 'NULL::int'} AS attempts,
      ${steps.error ? `left(st.${steps.error}::text, 2000)` : 'NULL::text'} AS error,
      (row_number() OVER (ORDER BY coalesce(${started}, ${finished}) DESC NULLS LAST, st.${steps.stepId}::text DESC))::int AS seq,
      (count(*) OVER ())::int AS total
    FROM ${steps.table} st
    WHERE st.${steps.executionId} = ${p.add(id, ID_CAST[s.idType])}
    ORDER BY seq
    LIMIT ${p.add(limit, 'bigint')}`;
  return { text, values: p.values };
}

export function stepCountSql(s: TableShape, steps: StepsShape, id: string): Statement {
  return {
    text: `SELECT count(*)::int AS n FROM ${steps.table} st WHERE st.${steps.executionId} = $1::${ID_CAST[s.idType]}`,
    values: [id],
  };
}

export interface HealthRow {
  running: number;
  stuck: number;
  long_running: number;
  oldest_running_s: number | null;
  recent_24h: number;
  now_ms: number;
}

/** Counts for `health`: running rows, those older than stuck/long-running ages, rows started in 24 h. */
export function healthSql(s: TableShape, stuckSeconds: number, longRunningSeconds: number): Statement {
  const p = new Params();
  const running = p.add(s.running, `${s.statusType}[]`);
  const started = `t.${s.started.col}`;
  const now = nowFor(s.started);
  const text = `SELECT count(*)::int AS running,
      count(*) FILTER (WHERE ${started} <= ${now} - ${p.add(stuckSeconds, 'float8')} * interval '1 second')::int AS stuck,
      count(*) FILTER (WHERE ${started} <= ${now} - ${p.add(longRunningSeconds, 'float8')} * interval '1 second')::int AS long_running,
      (extract(epoch FROM now())::float8 - min(extract(epoch FROM ${started})::float8)) AS oldest_running_s,
      (SELECT count(*)::int FROM ${s.table} r WHERE r.${s.started.col} >= ${now} - interval '24 hours') AS recent_24h,
      ${NOW_MS} AS now_ms
    FROM ${s.table} t
    WHERE t.${s.status} = ANY(${running})`;
  return { text, values: p.values };
}

// ---------------------------------------------------------------- writes

export interface StateRow {
  id: string;
  status: string | null;
}

/** Current status of these ids (read again after the update, in the same transaction). */
export function statesSql(s: TableShape, ids: readonly string[]): Statement {
  return {
    text: `SELECT t.${s.id}::text AS id, t.${s.status}::text AS status FROM ${s.table} t WHERE t.${s.id} = ANY($1::${ID_CAST[s.idType]}[])`,
    values: [ids],
  };
}

export interface MarkWrite {
  ids: readonly string[];
  /** The status value to write. */
  status: string;
  reason: string;
  action: Action;
  user: string;
  host: string;
  version: string;
  /** The write's batch id (src/audit.ts), kept next to the reason where the reason column can hold it. */
  batch: string | null;
}

/**
 * The conditional update: lock the rows still in a running status in id
 * order (so that overlapping consoles queue instead of deadlocking), then
 * set status, finished time and reason on those still running, returning
 * their ids. A row finished by someone else meanwhile fails the status
 * condition on re-check and is left alone.
 */
export function markUpdateSql(s: TableShape, w: MarkWrite): Statement {
  const p = new Params();
  const ids = p.add(w.ids, `${ID_CAST[s.idType]}[]`);
  const running = p.add(s.running, `${s.statusType}[]`);
  const sets = [`${s.status} = ${p.add(w.status, s.statusType)}`];
  if (s.finished) sets.push(`${s.finished.col} = ${nowFor(s.finished)}`);
  if (s.reason) sets.push(reasonSet(s.reason, w, p));
  const text = `WITH locked AS (
      SELECT t.${s.id} AS id, t.${s.status}::text AS previous FROM ${s.table} t
      WHERE t.${s.id} = ANY(${ids}) AND t.${s.status} = ANY(${running})
      ORDER BY t.${s.id}
      FOR UPDATE
    )
    UPDATE ${s.table} t SET ${sets.join(', ')}
    FROM locked l
    WHERE t.${s.id} = l.id AND t.${s.status} = ANY(${running})
    RETURNING t.${s.id}::text AS id`;
  return { text, values: p.values };
}

const ISO_NOW = `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

function reasonSet(r: ReasonTarget, w: MarkWrite, p: Params): string {
  const reason = p.add(w.reason, 'text');
  const current = `t.${r.col}`;
  switch (r.kind) {
    case 'column':
      return `${r.col} = ${reason}`;
    case 'append': {
      // "<reason> (noetl-console <version>, <user>@<host>, <ISO time>)" on a line of its own.
      // ", batch <id>: <previous> -> <written>": what undo reads back (undoSql).
      const batch = w.batch ? ` || ', batch ' || ${p.add(w.batch, 'text')} || ': ' || l.previous || ' -> ' || ${p.add(w.status, 'text')}` : '';
      const line = `(${reason} || ' (noetl-console ' || ${p.add(w.version, 'text')} || ', ' || ${p.add(`${w.user}@${w.host}`, 'text')}${batch} || ', ' || ${ISO_NOW} || ')')`;
      return `${r.col} = CASE WHEN ${current} IS NULL OR ${current} = '' THEN ${line} ELSE ${current} || E'\\n' || ${line} END`;
    }
    case 'json': {
      const entry = `jsonb_build_object(${p.add(r.key, 'text')}, ${reason}, 'noetl_console', jsonb_strip_nulls(jsonb_build_object(
        'action', ${p.add(w.action, 'text')}, 'by', ${p.add(w.user, 'text')}, 'host', ${p.add(w.host, 'text')},
        'version', ${p.add(w.version, 'text')}, 'at', ${ISO_NOW}, 'batch', ${p.add(w.batch, 'text')},
        'previous', CASE WHEN ${p.add(w.batch, 'text')} IS NULL THEN NULL ELSE l.previous END,
        'wrote', CASE WHEN ${p.add(w.batch, 'text')} IS NULL THEN NULL ELSE ${p.add(w.status, 'text')} END)))`;
      const old = `${current}::jsonb`;
      // Merge into an object, append to an array, keep any other value next to the entry.
      const merged = `CASE
        WHEN ${current} IS NULL OR jsonb_typeof(${old}) = 'null' THEN ${entry}
        WHEN jsonb_typeof(${old}) = 'object' THEN ${old} || ${entry}
        WHEN jsonb_typeof(${old}) = 'array' THEN ${old} || jsonb_build_array(${entry})
        ELSE jsonb_build_array(${old}, ${entry}) END`;
      return `${r.col} = ${r.jsonb ? merged : `(${merged})::json`}`;
    }
  }
}

// ---------------------------------------------------------------- undo

export interface UndoWrite {
  batch: string;
  user: string;
  host: string;
  version: string;
}

export interface BatchRow {
  id: string;
  status: string | null;
  previous: string | null;
  wrote: string | null;
}

/** What a batch recorded per row, next to the reason: the status before and the status written. `b` is the batch id's bind parameter. */
function batchRecord(r: ReasonTarget, b: string): { previous: string; wrote: string } | null {
  const col = `t.${r.col}`;
  if (r.kind === 'append') {
    // Batch ids are checked to be digits, letters and dashes: nothing special in a regular expression.
    const at = `('batch ' || ${b} || ': ([^ ,)]+) -> ([^ ,)]+)')`;
    return { previous: `(regexp_match(${col}, ${at}))[1]`, wrote: `(regexp_match(${col}, ${at}))[2]` };
  }
  if (r.kind === 'json') {
    const entry = `jsonb_path_query_first(${col}::jsonb, '$.** ? (@.batch == $b)', jsonb_build_object('b', ${b}))`;
    return { previous: `(${entry}->>'previous')`, wrote: `(${entry}->>'wrote')` };
  }
  return null;
}

/** The rows a batch wrote (found by its id next to the reason), their status now, and what the batch recorded. Null when the reason column cannot hold a batch. */
export function batchRowsSql(s: TableShape, batch: string): Statement | null {
  const rec = s.reason ? batchRecord(s.reason, '$1::text') : null;
  if (!s.reason || !rec) return null;
  return {
    text: `SELECT t.${s.id}::text AS id, t.${s.status}::text AS status, ${rec.previous} AS previous, ${rec.wrote} AS wrote
      FROM ${s.table} t WHERE strpos(t.${s.reason.col}::text, $1::text) > 0 ORDER BY t.${s.id}`,
    values: [batch],
  };
}

/**
 * Undo: rows of the batch still in the status it wrote get their previous
 * status back, their finished time cleared and (text reasons) an undo line;
 * locked in id order and re-checked, as the close was. Returns the ids restored.
 */
export function undoSql(s: TableShape, w: UndoWrite, ids: readonly string[]): Statement | null {
  if (!s.reason) return null;
  const p = new Params();
  const rec = batchRecord(s.reason, p.add(w.batch, 'text'));
  if (!rec) return null;
  const idList = p.add(ids, `${ID_CAST[s.idType]}[]`);
  const sets = [`${s.status} = (l.previous)::${s.statusType}`];
  if (s.finished) sets.push(`${s.finished.col} = NULL`);
  if (s.reason.kind === 'append') {
    const line = `'undo of batch ' || $1::text || ' (noetl-console ' || ${p.add(w.version, 'text')} || ', ' || ${p.add(`${w.user}@${w.host}`, 'text')} || ', ' || ${ISO_NOW} || ')'`;
    sets.push(`${s.reason.col} = t.${s.reason.col} || E'\\n' || ${line}`);
  }
  const text = `WITH locked AS (
      SELECT t.${s.id} AS id, ${rec.previous} AS previous, ${rec.wrote} AS wrote FROM ${s.table} t
      WHERE t.${s.id} = ANY(${idList})
      ORDER BY t.${s.id}
      FOR UPDATE
    )
    UPDATE ${s.table} t SET ${sets.join(', ')}
    FROM locked l
    WHERE t.${s.id} = l.id AND l.previous IS NOT NULL AND t.${s.status}::text = l.wrote
    RETURNING t.${s.id}::text AS id`;
  return { text, values: p.values };
}

/**
 * Learned thresholds: per label (the table's name without one), durations
 * of rows finished in the last `days` days with a completed status: the
 * configured `completed` values, else any status that is not running,
 * failed or cancelled. Null without a finished_at column.
 */
export function thresholdsSql(s: TableShape, days: number, completed: readonly string[] | null, notCompleted: readonly string[]): Statement | null {
  if (!s.finished) return null;
  const p = new Params();
  const f = `t.${s.finished.col}`;
  const status = completed ? `t.${s.status} = ANY(${p.add(completed, `${s.statusType}[]`)})` : `NOT (t.${s.status} = ANY(${p.add(notCompleted, `${s.statusType}[]`)}))`;
  const path = s.label ? `t.${s.label}::text` : p.add(s.tableName, 'text');
  const seconds = `((${msOf('t', s.finished)} - ${msOf('t', s.started)}) / 1000)`;
  const text = `SELECT path, count(*)::int AS samples,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)::float8 AS median_seconds,
      percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds)::float8 AS p95_seconds,
      percentile_cont(0.99) WITHIN GROUP (ORDER BY seconds)::float8 AS p99_seconds
    FROM (
      SELECT ${path} AS path, ${seconds} AS seconds FROM ${s.table} t
      WHERE ${f} >= ${nowFor(s.finished)} - ${p.add(days, 'float8')} * interval '1 day'
        AND ${status} AND t.${s.started.col} IS NOT NULL AND ${f} >= t.${s.started.col}
    ) r
    WHERE path IS NOT NULL
    GROUP BY path`;
  return { text, values: p.values };
}
