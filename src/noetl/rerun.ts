/**
 * Start closed executions again through the engine's API (NoETL has no
 * retry endpoint, only a new run: POST /api/execute in both servers,
 * noetl/server handlers/execute.rs and noetl/noetl server/api/core). The new
 * run gets the same catalog entry (so the same playbook version) and the
 * workload the old one started with, read from its start event.
 */
import type { Batch } from '../audit.js';
import { ApiError, describeAnswer, idOf, type NoetlApi } from './api.js';
import { quoteIdent } from './sql.js';
import type { NoetlStore } from './store.js';
import { ALL_TERMINAL_TYPES, START_TYPES, sqlList } from './vocabulary.js';

export interface RerunTarget {
  execution_id: string;
  found: boolean;
  running: boolean;
  catalog_id: string | null;
  path: string | null;
  /** The workload the start event recorded (Rust: context.workload; Python: result.result.workload), null when none. */
  workload: unknown;
}

function targetsSql(schema: string): string {
  const s = quoteIdent(schema);
  return `SELECT x.id::text AS execution_id,
      EXISTS (SELECT 1 FROM ${s}.event e WHERE e.execution_id = x.id) AS found,
      NOT EXISTS (SELECT 1 FROM ${s}.event e WHERE e.execution_id = x.id AND e.event_type IN (${sqlList(ALL_TERMINAL_TYPES)})) AS running,
      st.catalog_id::text AS catalog_id, c.path,
      coalesce(st.context->'workload', st.result->'context'->'workload', st.result->'result'->'workload', st.result->'workload') AS workload
    FROM unnest($1::bigint[]) AS x(id)
    LEFT JOIN LATERAL (
      SELECT e.catalog_id, e.context, e.result FROM ${s}.event e
      WHERE e.execution_id = x.id AND e.event_type IN (${sqlList(START_TYPES)})
      ORDER BY e.event_id LIMIT 1
    ) st ON true
    LEFT JOIN ${s}.catalog c ON c.catalog_id = st.catalog_id`;
}

export async function rerunTargets(store: NoetlStore, ids: readonly string[]): Promise<RerunTarget[]> {
  const { rows } = await store.db.query<RerunTarget>(targetsSql(store.schema), [ids]);
  return rows;
}

/**
 * POST /api/execute for one target. The catalog id is written as a JSON
 * number from its digits (it may be above 2^53); the link back to the old
 * execution and the batch travel as W3C baggage, which the Rust server keeps
 * in the new run's start event (meta.trace) and the Python server ignores.
 */
export async function startAgain(api: NoetlApi, t: RerunTarget, batch: Batch): Promise<string> {
  if (!t.catalog_id || !/^\d+$/.test(t.catalog_id)) throw new ApiError('garbage', `execution ${t.execution_id}: no start event with a catalog id to run again`);
  const trace = { baggage: { noetl_console_rerun_of: t.execution_id, noetl_console_batch: batch.id } };
  const body = `{"catalog_id":${t.catalog_id},"payload":${JSON.stringify(t.workload ?? {})},"trace":${JSON.stringify(trace)}}`;
  const answer = await api.request('POST', '/api/execute', body);
  const id = idOf((answer.body as { execution_id?: unknown } | undefined)?.execution_id);
  if (answer.status >= 300 || !id) {
    throw new ApiError(
      answer.status >= 300 ? 'http' : 'garbage',
      `the NoETL server at ${api.label} refused POST /api/execute for ${t.execution_id}: ${describeAnswer(answer)}`,
      answer.status,
    );
  }
  return id;
}
