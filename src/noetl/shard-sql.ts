/** The statements a sharded source adds: what a shard's rows need from the cluster database. */
import { WORKER_STALE_SECONDS, heartbeatsSql, quoteIdent } from './sql.js';

export { heartbeatsSql };
import { ALL_TERMINAL_TYPES, sqlList } from './vocabulary.js';

/** Each execution's catalog_id, from its first event carrying one. $1 ids. */
export function catalogIdsSql(schema: string): string {
  return `SELECT DISTINCT ON (e.execution_id) e.execution_id::text AS execution_id, e.catalog_id::text AS catalog_id
    FROM ${quoteIdent(schema)}.event e
    WHERE e.execution_id = ANY($1::bigint[]) AND e.catalog_id IS NOT NULL
    ORDER BY e.execution_id, e.event_id`;
}

/** Playbook paths by catalog_id (the cluster database). $1 catalog ids. */
export function catalogPathsSql(schema: string): string {
  return `SELECT c.catalog_id::text AS catalog_id, c.path FROM ${quoteIdent(schema)}.catalog c WHERE c.catalog_id = ANY($1::bigint[])`;
}

/** Children of $1 parents on this shard: how many, how many still running. */
export function childCountsSql(schema: string): string {
  const s = quoteIdent(schema);
  return `SELECT k.parent_execution_id::text AS parent_execution_id, count(*)::int AS total_children,
      count(*) FILTER (WHERE NOT EXISTS (
        SELECT 1 FROM ${s}.event x WHERE x.execution_id = k.execution_id
          AND x.event_type IN (${sqlList(ALL_TERMINAL_TYPES)})))::int AS running_children
    FROM (SELECT DISTINCT e.execution_id, e.parent_execution_id FROM ${s}.event e WHERE e.parent_execution_id = ANY($1::bigint[])) k
    GROUP BY k.parent_execution_id`;
}

/** Which cluster-wide tables the cluster database has. $1 schema name (unquoted). */
export function clusterTablesSql(): string {
  return `SELECT to_regclass(quote_ident($1) || '.catalog') IS NOT NULL AS has_catalog,
    to_regclass(quote_ident($1) || '.runtime') IS NOT NULL AS has_runtime`;
}

/** Worker pools with a fresh heartbeat (the cluster database's runtime table), as health counts them. */
export function liveWorkersSql(schema: string): string {
  return `SELECT count(*)::int AS live_workers FROM ${quoteIdent(schema)}.runtime w
    WHERE w.kind = 'worker_pool' AND w.heartbeat >= now() - interval '${WORKER_STALE_SECONDS} seconds'`;
}

/** Which of $1 have rows on this shard. */
export function presentSql(schema: string): string {
  return `SELECT x.id::text AS execution_id FROM unnest($1::bigint[]) AS x(id)
    WHERE EXISTS (SELECT 1 FROM ${quoteIdent(schema)}.event e WHERE e.execution_id = x.id)`;
}
