/** The statements a sharded source adds: what a shard's rows need from the cluster database. */
import { quoteIdent } from './sql.js';
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
