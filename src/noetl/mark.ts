import type { Actor, Batch } from '../audit.js';
import type { Queryable } from '../db/database.js';
import type { NoetlStore } from './store.js';
import { compareIds } from './store.js';
import * as sql from './sql.js';
import { nextSnowflake } from './snowflake.js';
import { ACTIONS, CLOSE_ROWS, PROJECTION_STATUS, terminalStateOf, type Action, type TerminalState } from './vocabulary.js';

export type Outcome =
  | 'cancelled'
  | 'failed'
  | 'completed'
  | 'already_terminal'
  | 'not_found'
  | 'would_cancel'
  | 'would_fail'
  | 'would_complete'
  /** Through a server: it failed on this execution, or on an earlier one. */
  | 'error'
  | 'not_attempted'
  /** A running descendant the operator was not shown (it started after the dialog or the saved plan): left running. */
  | 'not_shown';

export interface MarkResult {
  execution_id: string;
  outcome: Outcome;
  parent_execution_id: string | null;
  /** The id the operator named (or cleanup selected) that led here. */
  root_execution_id: string;
  cascaded: boolean;
  /** For already_terminal: the state it already had. */
  state: TerminalState | null;
  /** The newest row the close wrote (its state row). */
  event_id: string | null;
  /** Through a server: what went wrong (error, not_attempted) or what the server said. */
  message?: string;
}

export interface MarkRequest {
  action: Action;
  ids: readonly string[];
  reason: string;
  cascade: boolean;
  dryRun: boolean;
  actor: Actor;
  /** The batch this write belongs to (history, verify); recorded in every row. */
  batch?: Batch;
  /** Roots per transaction; each root with its descendants is never split. */
  batchSize?: number;
  /**
   * The executions the operator saw (a confirmed dialog, a saved plan). The
   * ids named are always written; cascade writes only descendants in this
   * set, and reports any other running one as `not_shown`, unchanged.
   */
  bound?: ReadonlySet<string>;
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
  projected: boolean;
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
 * Close executions: cancelled, failed or completed. Each batch of roots, with
 * their descendants when cascading, runs in one transaction: lock the
 * executions in id order, re-read their state, write the close (sql.markSql)
 * only for those still running. Every execution is reported once, in the
 * order first met.
 */
export async function markExecutions(store: NoetlStore, req: MarkRequest): Promise<MarkResult[]> {
  const caps = { ...(await store.capabilities()) };
  const handled = new Set<string>();
  const results: MarkResult[] = [];
  const unique = [...new Set(req.ids)];
  const batchSize = req.batchSize ?? 200;

  for (let i = 0; i < unique.length; i += batchSize) {
    const roots = unique.slice(i, i + batchSize).filter((id) => !handled.has(id));
    if (roots.length === 0) continue;
    const depth = new Map<string, number>(); // execution -> levels below its root
    const notShown = new Set<string>();
    const run = async (q: Queryable): Promise<StateRow[]> => {
      const targets = new Map<string, string>(); // execution -> root
      for (const id of roots) targets.set(id, id);
      if (req.cascade) {
        // A node's root is the topmost named execution above it, so that an
        // id named with its parent (cleanup selects both) reads as cascaded.
        const parentOf = new Map<string, string>();
        for (const edge of await store.descendantEdges(roots, q)) {
          if (handled.has(edge.execution_id) || parentOf.has(edge.execution_id)) continue;
          parentOf.set(edge.execution_id, edge.parent_execution_id);
          if (!targets.has(edge.execution_id)) targets.set(edge.execution_id, edge.execution_id);
        }
        for (const id of targets.keys()) {
          const seen = new Set([id]);
          let top = id;
          for (let up = parentOf.get(top); up !== undefined && targets.has(up) && !seen.has(up); up = parentOf.get(top)) {
            seen.add(up);
            top = up;
          }
          targets.set(id, top);
          depth.set(id, seen.size - 1);
        }
      }
      // Outside the bound set: read, never written (reported not_shown when running).
      const all = [...targets.keys()];
      const bound = req.bound;
      const named = new Set(roots);
      const ids = bound ? all.filter((id) => named.has(id) || bound.has(id)) : all;
      const unseen = bound ? all.filter((id) => !named.has(id) && !bound.has(id)) : [];
      notShown.clear();
      const read = async (some: string[]) =>
        some.length === 0 ? [] : (await q.query<StateRow>(sql.markSql(store.schema, caps, false), [some, some.map((id) => targets.get(id)!)])).rows;
      const unseenRows = (await read(unseen)).filter((r) => r.found && !r.terminal_type);
      for (const r of unseenRows) notShown.add(r.execution_id);
      if (req.dryRun) return [...(await read(ids)), ...unseenRows];
      const rootIds = ids.map((id) => targets.get(id)!);
      await q.query(sql.lockExecutionsSql(), [[...ids].sort(compareIds)]);
      const [first, second] = CLOSE_ROWS[req.action];
      const failed = req.action === 'fail';
      const context = { reason: req.reason, closed_by: 'noetl-console' };
      const rowResult = (status: string, extra: object = {}) => JSON.stringify({ status, context: { ...context, ...extra } });
      const meta = closeMeta(req);
      return (
        await q.query<StateRow>(sql.markSql(store.schema, caps, true), [
          ids,
          rootIds,
          first.eventType,
          first.node,
          first.status,
          rowResult(first.status, req.action === 'cancel' ? {} : { stop_marker_for: req.action }),
          second.eventType,
          second.node,
          second.status,
          rowResult(second.status, failed ? { error: req.reason } : {}),
          failed ? req.reason : null,
          JSON.stringify(meta),
          ids.map(() => nextSnowflake()),
          ids.map(() => nextSnowflake()),
          PROJECTION_STATUS[req.action],
          failed,
          failed ? req.reason : null,
        ])
      ).rows.concat(unseenRows);
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
    // Report roots in the order given, each followed by its descendants, level by level.
    const ordered = [...rows].sort((a, b) => {
      const ra = roots.indexOf(a.root_id);
      const rb = roots.indexOf(b.root_id);
      if (ra !== rb) return ra - rb;
      const da = depth.get(a.execution_id) ?? 0;
      const db = depth.get(b.execution_id) ?? 0;
      return da !== db ? da - db : compareIds(a.execution_id, b.execution_id);
    });
    const batch: MarkResult[] = [];
    for (const row of ordered) {
      if (handled.has(row.execution_id)) continue;
      handled.add(row.execution_id);
      const result = toResult(byId.get(row.execution_id)!, req);
      batch.push(notShown.has(row.execution_id) ? { ...result, outcome: 'not_shown', event_id: null } : result);
    }
    results.push(...batch);
    req.onBatch?.(batch);
  }
  return results;
}

/** Who closes, why and from where: the meta of every row the console writes (per-execution keys are added to it). */
export function closeMeta(req: Pick<MarkRequest, 'reason' | 'action' | 'cascade' | 'actor' | 'batch'>) {
  return {
    ...(req.batch ? { batch_id: req.batch.id, batch_command: req.batch.command, batch_selection: req.batch.selection } : {}),
    reason: req.reason,
    cancelled_by: 'noetl-console',
    emitted_by: 'noetl-console',
    action: req.action,
    actionable: true,
    cascade: req.cascade,
    ...req.actor,
  };
}

function toResult(row: StateRow, req: MarkRequest): MarkResult {
  const shape = ACTIONS[req.action];
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
  return outcome === 'cancelled' || outcome === 'failed' || outcome === 'completed';
}

export function isWould(outcome: Outcome): boolean {
  return outcome === 'would_cancel' || outcome === 'would_fail' || outcome === 'would_complete';
}

/**
 * Close the Python engine's projection rows of executions whose close is
 * already in the event log (written through the engine's API), under the
 * same lock as a direct close. Returns the ids whose row changed.
 */
export async function closeProjection(
  store: NoetlStore,
  ids: readonly string[],
  action: Action,
  reason: string,
  /** The caller's transaction, when it already holds the lock (server-close.ts). */
  within?: Queryable,
): Promise<string[]> {
  const caps = await store.capabilities();
  const statement = sql.closeProjectionSql(store.schema, caps);
  if (!statement || ids.length === 0) return [];
  const run = async (q: Queryable) => {
    await q.query(sql.lockExecutionsSql(), [[...ids].sort(compareIds)]);
    const failed = action === 'fail';
    const { rows } = await q.query<{ execution_id: string }>(statement, [ids, PROJECTION_STATUS[action], failed, failed ? reason : null]);
    return rows.map((r) => String(r.execution_id));
  };
  return within ? run(within) : store.db.transaction(run);
}

/** How many descendants of `ids` are still running (what a close without cascade leaves behind). */
export async function runningDescendants(store: NoetlStore, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await store.db.query<{ execution_id: string }>(sql.runningDescendantsSql(store.schema), [ids]);
  return rows.map((r) => r.execution_id);
}
