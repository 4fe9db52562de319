/**
 * The two statements of the server path (server-close.ts): which of a
 * close's rows the server has landed, and the direct write that finishes a
 * close the server left half done.
 */
import { quoteIdent, type Capabilities } from './sql.js';

/** Newest event id per event type ($2 text[]) of execution $1. */
export function serverRowsSql(schema: string): string {
  const s = quoteIdent(schema);
  return `SELECT e.event_type, max(e.event_id)::text AS event_id FROM ${s}.event e
    WHERE e.execution_id = $1::bigint AND e.event_type = ANY($2::text[])
    GROUP BY e.event_type`;
}

/**
 * Insert one playbook-level row ($2 type, $3 status, $4 result, $5 error,
 * $6 meta) for execution $1 unless a row of that type exists: catalog,
 * parent, tenant and organization (where the columns exist) copied from its
 * first event, chained to its newest event, with an id above every id it has ($7: the console's snowflake
 * when the database has no snowflake_id()).
 */
export function insertMissingRowSql(schema: string, caps: Capabilities): string {
  const s = quoteIdent(schema);
  const fresh = caps.hasSnowflake ? `${s}.snowflake_id()` : '$7::bigint';
  const prev = caps.hasPrevEventId ? ['prev_event_id', 'h.newest'] : null;
  const tenant = caps.hasTenant ? ['tenant_id, organization_id', 'f.tenant_id, f.organization_id'] : null;
  return `INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, parent_event_id,
      ${prev ? `${prev[0]},` : ''} ${tenant ? `${tenant[0]},` : ''} created_at, event_type, node_id, node_name, status, result, error, meta)
    SELECT $1::bigint, greatest(${fresh}, h.newest + 1), f.catalog_id, f.parent_execution_id, h.newest,
      ${prev ? `${prev[1]},` : ''} ${tenant ? `${tenant[1]},` : ''} (now() AT TIME ZONE 'UTC'), $2::text, 'playbook', 'playbook', $3::text, $4::jsonb, $5::text, $6::jsonb
    FROM (SELECT max(event_id) AS newest FROM ${s}.event WHERE execution_id = $1::bigint) h,
      LATERAL (SELECT * FROM ${s}.event WHERE execution_id = $1::bigint ORDER BY event_id LIMIT 1) f
    WHERE NOT EXISTS (SELECT 1 FROM ${s}.event x WHERE x.execution_id = $1::bigint AND x.event_type = $2::text)
    RETURNING event_id::text AS event_id`;
}
