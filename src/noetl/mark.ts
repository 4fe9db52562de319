import type { Actor } from '../audit.js';
import type { Queryable } from '../db/database.js';
import type { NoetlStore } from './store.js';
import { compareIds } from './store.js';
import * as sql from './sql.js';
import { nextSnowflake } from './snowflake.js';
import { WRITE_SHAPES, terminalStateOf, type Action, type TerminalState } from './vocabulary.js';

export type Outcome = 'cancelled' | 'failed' | 'already_terminal' | 'not_found' | 'would_cancel' | 'would_fail';

export interface MarkResult {
  execution_id: string;
  outcome: Outcome;
  parent_execution_id: string | null;
  /** The id the operator named (or cleanup selected) that led here. */
  root_execution_id: string;
  cascaded: boolean;
  /** For already_terminal: the state it already had. */
  state: TerminalState | null;
  event_id: string | null;
}

export interface MarkRequest {
  action: Action;
  ids: readonly string[];
  reason: string;
  cascade: boolean;
  dryRun: boolean;
  actor: Actor;
  /** Roots per transaction; each root with its descendants is never split. */
  batchSize?: number;
  /** Called after each committed batch (progress, crash tests). */
  onBatch?: (results: MarkResult[]) => void;
}

interface StateRow {
  execution_id: string;
  root_id: string;
  parent_execution_id: string | null;
  found: boolean;
  terminal_type: string | null;
  event_id: string | null;
}

const RETRYABLE = new Set(['40P01', '40001']);

/**
 * A batch failed after earlier batches had committed: those stay changed
 * (each batch is atomic) and are reported, so the operator knows to rerun.
 */
export class PartialMarkError extends Error {
  constructor(
    readonly results: MarkResult[],
    override readonly cause: unknown,
  ) {
    super(`${(cause as Error)?.message ?? String(cause)}`);
  }
}

/**
 * Mark executions cancelled or failed. Each batch of roots, with their
 * descendants when cascading, runs in one transaction: lock the executions in
 * id order, re-read their state, insert a terminal event only for those still
 * running. Every execution is reported once, in the order first met.
 */
export async function markExecutions(store: NoetlStore, req: MarkRequest): Promise<MarkResult[]> {
  const caps = { ...(await store.capabilities()) };
  const shape = WRITE_SHAPES[req.action];
  const handled = new Set<string>();
  const results: MarkResult[] = [];
  const unique = [...new Set(req.ids)];
  const batchSize = req.batchSize ?? 200;

  for (let i = 0; i < unique.length; i += batchSize) {
    const roots = unique.slice(i, i + batchSize).filter((id) => !handled.has(id));
    if (roots.length === 0) continue;
    const run = async (q: Queryable): Promise<StateRow[]> => {
      const targets = new Map<string, string>(); // execution -> root
      for (const id of roots) targets.set(id, id);
      if (req.cascade) {
        // Breadth first over all roots at once: a node's root is its parent's.
        for (const node of await store.descendants(roots, q)) {
          const root = targets.get(node.parent_execution_id);
          if (root && !targets.has(node.execution_id) && !handled.has(node.execution_id)) targets.set(node.execution_id, root);
        }
      }
      const ids = [...targets.keys()];
      const rootIds = ids.map((id) => targets.get(id)!);
      if (req.dryRun) {
        return (await q.query<StateRow>(sql.markSql(store.schema, caps, false), [ids, rootIds])).rows;
      }
      await q.query(sql.lockExecutionsSql(), [[...ids].sort(compareIds)]);
      const meta = {
        reason: req.reason,
        cancelled_by: 'noetl-console',
        emitted_by: 'noetl-console',
        action: req.action,
        actionable: true,
        cascade: req.cascade,
        ...req.actor,
      };
      const result =
        req.action === 'fail'
          ? JSON.stringify({ status: 'FAILED', context: { reason: req.reason, marked_by: 'noetl-console' } })
          : null;
      const error = req.action === 'fail' ? req.reason : null;
      const fallbackIds = ids.map(() => nextSnowflake());
      return (
        await q.query<StateRow>(sql.markSql(store.schema, caps, true), [
          ids,
          rootIds,
          shape.eventType,
          shape.node,
          shape.status,
          result,
          error,
          JSON.stringify(meta),
          fallbackIds,
        ])
      ).rows;
    };

    let rows: StateRow[];
    try {
      rows = await withRetry(() => (req.dryRun ? run(store.db) : store.db.transaction(run))).catch((error: unknown) => {
        // snowflake_id() runs with the caller's rights: a role without USAGE on
        // its sequence gets 42501. The console's own snowflakes do as well.
        if (!caps.hasSnowflake || (error as { code?: string }).code !== '42501' || !/snowflake|sequence/i.test((error as Error).message)) throw error;
        caps.hasSnowflake = false;
        return store.db.transaction(run);
      });
    } catch (error) {
      if (results.length > 0) throw new PartialMarkError(results, error);
      throw error;
    }
    const byId = new Map(rows.map((r) => [r.execution_id, r]));
    // Report roots in the order given, each followed by its descendants.
    const ordered = [...rows].sort((a, b) => {
      const ra = roots.indexOf(a.root_id);
      const rb = roots.indexOf(b.root_id);
      if (ra !== rb) return ra - rb;
      if (a.execution_id === a.root_id) return -1;
      if (b.execution_id === b.root_id) return 1;
      return 0;
    });
    const batch: MarkResult[] = [];
    for (const row of ordered) {
      if (handled.has(row.execution_id)) continue;
      handled.add(row.execution_id);
      batch.push(toResult(byId.get(row.execution_id)!, req));
    }
    results.push(...batch);
    req.onBatch?.(batch);
  }
  return results;
}

function toResult(row: StateRow, req: MarkRequest): MarkResult {
  const shape = WRITE_SHAPES[req.action];
  let outcome: Outcome;
  if (!row.found) outcome = 'not_found';
  else if (row.terminal_type) outcome = 'already_terminal';
  else if (req.dryRun) outcome = shape.dryOutcome;
  else outcome = row.event_id ? shape.outcome : 'already_terminal';
  return {
    execution_id: row.execution_id,
    outcome,
    parent_execution_id: row.parent_execution_id,
    root_execution_id: row.root_id,
    cascaded: row.execution_id !== row.root_id,
    state: terminalStateOf(row.terminal_type),
    event_id: row.event_id,
  };
}

/** Run a transaction again after a deadlock or serialization failure (at most 3 tries). */
export async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 3 || !code || !RETRYABLE.has(code)) throw error;
    }
  }
}

export function isChange(outcome: Outcome): boolean {
  return outcome === 'cancelled' || outcome === 'failed';
}
