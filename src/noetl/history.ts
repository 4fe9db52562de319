/**
 * What noetl-console wrote, read back from the event log itself, so every
 * operator sees everyone's batches (`history`), and what happened to a
 * batch's executions after it closed them (`verify`).
 *
 * Every console close writes an `execution.cancelled` row (cancel's state
 * row, or the stop marker of fail and complete) whose meta names the batch:
 * one event type, answered from NoETL's (event_type) index, finds them all.
 */
import { ALL_TERMINAL_TYPES, sqlList } from './vocabulary.js';
import { quoteIdent } from './sql.js';
import type { NoetlStore } from './store.js';

export interface HistoryFilter {
  sinceSeconds: number;
  user: string | null;
  /** Substring of the reason, any case. */
  reason: string | null;
  executionId: string | null;
  batchId: string | null;
  limit: number;
}

export interface BatchRecord {
  batch_id: string;
  /** First and last row of the batch (UTC). */
  started_at: string;
  finished_at: string;
  action: string | null;
  command: string | null;
  selection: Record<string, unknown> | null;
  reason: string | null;
  os_user: string | null;
  host: string | null;
  console_version: string | null;
  via: string | null;
  executions: number;
  execution_ids: string[];
}

const ISO = (expr: string) => `to_char(${expr}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Rows written before batches had ids are grouped by who wrote them, and the second. */
const BATCH_KEY = `coalesce(e.meta->>'batch_id', 'unbatched-' || coalesce(e.meta->>'os_user', '?') || '@' || coalesce(e.meta->>'host', '?') || '-' || to_char(e.created_at, 'YYYYMMDD"T"HH24MISS"Z"'))`;

function historySql(schema: string): string {
  const s = quoteIdent(schema);
  return `WITH closes AS (
      SELECT e.execution_id, e.created_at, e.meta, ${BATCH_KEY} AS batch_id
      FROM ${s}.event e
      WHERE e.event_type = 'execution.cancelled' AND e.meta->>'emitted_by' = 'noetl-console'
        AND e.created_at >= (now() AT TIME ZONE 'UTC') - $1::float8 * interval '1 second'
        AND ($2::text IS NULL OR e.meta->>'os_user' = $2)
        AND ($3::text IS NULL OR strpos(lower(e.meta->>'reason'), lower($3)) > 0)
    ),
    picked AS (
      SELECT DISTINCT c.batch_id FROM closes c
      WHERE ($4::bigint IS NULL OR c.execution_id = $4) AND ($5::text IS NULL OR c.batch_id = $5)
    )
    SELECT c.batch_id,
      ${ISO('min(c.created_at)')} AS started_at, ${ISO('max(c.created_at)')} AS finished_at,
      (array_agg(c.meta ORDER BY c.created_at))[1] AS meta,
      count(DISTINCT c.execution_id)::int AS executions,
      array_agg(DISTINCT c.execution_id::text) AS execution_ids
    FROM closes c JOIN picked USING (batch_id)
    GROUP BY c.batch_id
    ORDER BY min(c.created_at) DESC
    LIMIT $6`;
}

export async function history(store: NoetlStore, f: HistoryFilter): Promise<BatchRecord[]> {
  const { rows } = await store.db.query<{ batch_id: string; started_at: string; finished_at: string; meta: Record<string, unknown>; executions: number; execution_ids: string[] }>(
    historySql(store.schema),
    [f.sinceSeconds, f.user, f.reason, f.executionId, f.batchId, f.limit],
  );
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return rows.map((r) => ({
    batch_id: r.batch_id,
    started_at: r.started_at,
    finished_at: r.finished_at,
    action: text(r.meta.action),
    command: text(r.meta.batch_command),
    selection: (r.meta.batch_selection as Record<string, unknown> | undefined) ?? null,
    reason: text(r.meta.reason),
    os_user: text(r.meta.os_user),
    host: text(r.meta.host),
    console_version: text(r.meta.console_version),
    via: text(r.meta.via),
    executions: r.executions,
    execution_ids: [...r.execution_ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0)),
  }));
}

export type Finding = 'closed_again' | 'engine_activity';

export interface VerifyResult {
  execution_id: string;
  /** When our close landed, and its newest row. */
  closed_at: string;
  /** quiet: nothing happened since; otherwise what did. */
  status: 'quiet' | Finding;
  after: { event_id: string; event_type: string; created_at: string; by: string }[];
}

/**
 * For each execution of the batch: the events written after our close,
 * by anyone but this batch. A terminal event (the engine finishing it
 * after all, another close) is `closed_again`; anything else (a claim, a
 * new command, a step) is `engine_activity`: the engine did not honour it.
 */
function verifySql(schema: string): string {
  const s = quoteIdent(schema);
  return `WITH ours AS (
      SELECT e.execution_id FROM ${s}.event e
      WHERE e.event_type = 'execution.cancelled' AND e.meta->>'emitted_by' = 'noetl-console' AND e.meta->>'batch_id' = $1
      GROUP BY e.execution_id
    ),
    closes AS (
      SELECT o.execution_id, max(x.event_id) AS close_id, max(x.created_at) AS closed_at
      FROM ours o JOIN ${s}.event x ON x.execution_id = o.execution_id AND x.meta->>'batch_id' = $1
      GROUP BY o.execution_id
    )
    SELECT c.execution_id::text AS execution_id, ${ISO('c.closed_at')} AS closed_at,
      coalesce(jsonb_agg(jsonb_build_object(
          'event_id', a.event_id::text, 'event_type', a.event_type, 'created_at', ${ISO('a.created_at')},
          'by', CASE WHEN a.meta->>'emitted_by' = 'noetl-console' THEN 'noetl-console batch ' || coalesce(a.meta->>'batch_id', '?') ELSE 'engine' END)
        ORDER BY a.event_id) FILTER (WHERE a.event_id IS NOT NULL), '[]') AS after,
      bool_or(a.event_type IN (${sqlList(ALL_TERMINAL_TYPES)})) AS terminal_after
    FROM closes c
    LEFT JOIN ${s}.event a ON a.execution_id = c.execution_id
      AND (a.event_id > c.close_id OR a.created_at > c.closed_at)
      AND a.meta->>'batch_id' IS DISTINCT FROM $1
    GROUP BY c.execution_id, c.closed_at
    ORDER BY c.execution_id`;
}

export async function verifyBatch(store: NoetlStore, batchId: string): Promise<VerifyResult[]> {
  const { rows } = await store.db.query<{ execution_id: string; closed_at: string; after: VerifyResult['after']; terminal_after: boolean | null }>(verifySql(store.schema), [
    batchId,
  ]);
  return rows.map((r) => ({
    execution_id: r.execution_id,
    closed_at: r.closed_at,
    status: r.after.length === 0 ? 'quiet' : r.terminal_after ? 'closed_again' : 'engine_activity',
    after: r.after,
  }));
}
