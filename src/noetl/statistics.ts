/**
 * The planner's statistics after a big close. A cleanup of thousands of
 * executions adds thousands of terminal events at once; until the tables
 * are analyzed again the planner still believes terminal events of those
 * types are rare, and the full load's terminal lookup can switch to the
 * event_type index (measured: 15.2 s, 1.3 s after ANALYZE). So after a
 * write that big the console analyzes the partitions it wrote, when its
 * role may (owner, database owner, superuser), and says so when it may not;
 * doctor reports tables whose statistics are stale.
 */
import type { Queryable } from '../db/database.js';
import { quoteIdent } from './sql.js';
import type { NoetlStore } from './store.js';
import { type MarkResult, isChange } from '../core/mark.js';

/** Rows written (two events per close) from which the console analyzes what it wrote. */
export const ANALYZE_AFTER_ROWS = 2000;
/** Doctor: statistics are stale past this many rows changed, and this share of the table. */
const STALE_ROWS = ANALYZE_AFTER_ROWS;
const STALE_SHARE = 0.01;

export interface AnalyzeReport {
  /** Rows the write added or changed (events, projection rows). */
  rows: number;
  analyzed: string[];
  /** Tables this role may not analyze: the operator (or doctor's script) should. */
  not_permitted: string[];
  failed: { table: string; error: string }[];
}

/** The leaf tables (partitions) that hold the rows a close wrote. */
function writtenTablesSql(schema: string, projection: boolean): string {
  const s = quoteIdent(schema);
  const events = `SELECT DISTINCT e.tableoid::regclass::text AS name
      FROM ${s}.event e JOIN unnest($1::bigint[], $2::bigint[]) AS w(execution_id, event_id)
        ON e.execution_id = w.execution_id AND e.event_id = w.event_id`;
  if (!projection) return events;
  return `${events} UNION SELECT DISTINCT x.tableoid::regclass::text FROM ${s}.execution x WHERE x.execution_id = ANY($1::bigint[])`;
}

/** Which of $1 (regclass texts) the current role may ANALYZE (PostgreSQL 15: owner, database owner, superuser). */
const MAY_ANALYZE_SQL = `SELECT c.oid::regclass::text AS name,
    (pg_has_role(c.relowner, 'USAGE') OR pg_has_role(d.datdba, 'USAGE') OR r.rolsuper) AS may
  FROM pg_class c
  CROSS JOIN pg_database d
  CROSS JOIN pg_roles r
  WHERE c.oid = ANY($1::regclass[]) AND d.datname = current_database() AND r.rolname = current_user
  ORDER BY 1`;

/** After a close of at least ANALYZE_AFTER_ROWS rows: analyze the tables written. Null when the write was smaller. */
export async function analyzeWritten(store: NoetlStore, results: readonly MarkResult[]): Promise<AnalyzeReport | null> {
  const closed = results.filter((r) => isChange(r.outcome) && r.event_id !== null);
  const projection = (await store.capabilities()).projectionColumns.size > 0;
  const rows = closed.length * (projection ? 3 : 2);
  if (rows < ANALYZE_AFTER_ROWS) return null;
  const db = store.db;
  const written = (await db.query<{ name: string }>(writtenTablesSql(store.schema, projection), [closed.map((r) => r.execution_id), closed.map((r) => r.event_id)])).rows.map(
    (r) => r.name,
  );
  const may = (await db.query<{ name: string; may: boolean }>(MAY_ANALYZE_SQL, [written])).rows;
  const report: AnalyzeReport = { rows, analyzed: [], not_permitted: may.filter((m) => !m.may).map((m) => m.name), failed: [] };
  for (const { name } of may.filter((m) => m.may)) {
    try {
      // The name is the server's own quoted regclass text.
      await db.transaction((q: Queryable) => q.query(`ANALYZE ${name}`));
      report.analyzed.push(name);
    } catch (error) {
      report.failed.push({ table: name, error: (error as Error).message });
    }
  }
  return report;
}

export interface TableStatistics {
  table: string;
  live_rows: number;
  changed_since_analyze: number;
  last_analyze: string | null;
  stale: boolean;
}

/** The event table's leaves and the projection table, with how much changed since each was last analyzed. */
function statisticsSql(): string {
  return `WITH RECURSIVE tree(oid) AS (
      SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname IN ('event', 'execution')
      UNION
      SELECT i.inhrelid FROM tree t JOIN pg_inherits i ON i.inhparent = t.oid
    )
    SELECT c.oid::regclass::text AS table,
      coalesce(s.n_live_tup, 0)::float8 AS live_rows,
      coalesce(s.n_mod_since_analyze, 0)::float8 AS changed_since_analyze,
      to_char(greatest(s.last_analyze, s.last_autoanalyze) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_analyze
    FROM tree t JOIN pg_class c ON c.oid = t.oid
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE c.relkind = 'r'
    ORDER BY 1`;
}

export async function tableStatistics(store: NoetlStore): Promise<TableStatistics[]> {
  const { rows } = await store.db.query<Omit<TableStatistics, 'stale'>>(statisticsSql(), [store.schema]);
  return rows.map((r) => ({
    ...r,
    stale: r.changed_since_analyze >= STALE_ROWS && r.changed_since_analyze >= STALE_SHARE * Math.max(r.live_rows, 1),
  }));
}
