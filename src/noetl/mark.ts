import type { Queryable } from '../db/database.js';
import type { NoetlStore } from './store.js';
import { compareIds } from './store.js';
import * as sql from './sql.js';
import { nextSnowflake } from './snowflake.js';
import { ACTIONS, PartialMarkError, type Action, type MarkRequest, type MarkResult, type Outcome } from '../core/mark.js';
import { withRetry } from '../db/retry.js';
import { CLOSE_ROWS, PROJECTION_STATUS, terminalStateOf } from './vocabulary.js';

interface StateRow {
  execution_id: string;
  root_id: string;
  parent_execution_id: string | null;
  found: boolean;
  terminal_type: string | null;
  event_id: string | null;
  projected: boolean;
}

/**
 * Executions per transaction, by default. Each takes one advisory lock (the
 * per-execution key NoETL's server takes, so it cannot be shared or coarsened
 * without ceasing to exclude the server), and each lock is one entry of the
 * server's shared lock table: max_locks_per_transaction (64) x (max_connections
 * + autovacuum workers + background workers + WAL senders + prepared
 * transactions), 7,808 entries on a default PostgreSQL 15, shared by every
 * session; past it every session fails with "out of shared memory". 500 is a
 * sixteenth of that, so several consoles and the engine fit beside each other.
 * Larger batches buy little: 6,000 executions took about the same at 500,
 * 1,000 and 2,000 (bench/cleanup-write.ts), the statements per batch being 4
 * whatever its size. A family bigger than this still goes whole.
 */
export const MARK_BATCH_EXECUTIONS = 500;

/** A named execution and the descendants it closes; never split across transactions. */
interface Family {
  root: string;
  members: string[];
}

/**
 * Close executions: cancelled, failed or completed. The descendants of the
 * whole selection are read first, in one recursive query; then each batch
 * of families (a named execution with its descendants, up to `batchSize`
 * executions unless one family alone is bigger) runs in one transaction:
 * lock the executions in id order, re-read their state, write the close
 * (sql.markSql, one statement for the batch) only for those still running.
 * Every execution is reported once: roots in the order given, each followed
 * by its descendants, level by level.
 */
export async function markExecutions(store: NoetlStore, req: MarkRequest): Promise<MarkResult[]> {
  const caps = { ...(await store.capabilities()) };
  const results: MarkResult[] = [];
  const unique = [...new Set(req.ids)];
  const limit = Math.max(1, req.batchSize ?? MARK_BATCH_EXECUTIONS);
  const named = new Set(unique);
  const { families, rootOf, depth } = familiesOf(unique, req.cascade ? await store.descendantEdges(unique) : []);

  for (let i = 0; i < families.length;) {
    const batchFamilies: Family[] = [];
    let size = 0;
    while (i < families.length && (batchFamilies.length === 0 || size + families[i]!.members.length <= limit)) {
      size += families[i]!.members.length;
      batchFamilies.push(families[i++]!);
    }
    const order = new Map(batchFamilies.map((f, n) => [f.root, n]));
    const all = batchFamilies.flatMap((f) => f.members);
    // Outside the bound set: read, never written (reported not_shown when running).
    const bound = req.bound;
    const ids = bound ? all.filter((id) => named.has(id) || bound.has(id)) : all;
    const unseen = bound ? all.filter((id) => !named.has(id) && !bound.has(id)) : [];
    const notShown = new Set<string>();
    const run = async (q: Queryable): Promise<StateRow[]> => {
      notShown.clear();
      const read = async (some: string[]) =>
        some.length === 0 ? [] : (await q.query<StateRow>(sql.markSql(store.schema, caps, false), [some, some.map((id) => rootOf.get(id)!)])).rows;
      const unseenRows = (await read(unseen)).filter((r) => r.found && !r.terminal_type);
      for (const r of unseenRows) notShown.add(r.execution_id);
      if (req.dryRun) return [...(await read(ids)), ...unseenRows];
      const rootIds = ids.map((id) => rootOf.get(id)!);
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
    const ordered = [...rows].sort((a, b) => {
      const ra = order.get(a.root_id) ?? -1;
      const rb = order.get(b.root_id) ?? -1;
      if (ra !== rb) return ra - rb;
      const da = depth.get(a.execution_id) ?? 0;
      const db = depth.get(b.execution_id) ?? 0;
      return da !== db ? da - db : compareIds(a.execution_id, b.execution_id);
    });
    const batch = ordered.map((row) => {
      const result = toResult(row, req);
      return notShown.has(row.execution_id) ? { ...result, outcome: 'not_shown' as const, event_id: null } : result;
    });
    results.push(...batch);
    req.onBatch?.(batch);
  }
  return results;
}

/**
 * Group the named executions with their descendants (`edges`, child to
 * parent). A node's root is the topmost named execution above it, so that an
 * id named with its parent (cleanup selects both) reads as cascaded and goes
 * in its parent's family; each execution is in exactly one family. Families
 * come in the order their roots were given.
 */
export function familiesOf(
  named: readonly string[],
  edges: readonly { execution_id: string; parent_execution_id: string }[],
): { families: Family[]; rootOf: Map<string, string>; depth: Map<string, number> } {
  const rootOf = new Map<string, string>(named.map((id) => [id, id]));
  const parentOf = new Map<string, string>();
  for (const edge of edges) {
    if (parentOf.has(edge.execution_id)) continue;
    parentOf.set(edge.execution_id, edge.parent_execution_id);
    if (!rootOf.has(edge.execution_id)) rootOf.set(edge.execution_id, edge.execution_id);
  }
  const depth = new Map<string, number>(); // execution -> levels below its root
  if (edges.length > 0) {
    for (const id of rootOf.keys()) {
      const seen = new Set([id]);
      let top = id;
      for (let up = parentOf.get(top); up !== undefined && rootOf.has(up) && !seen.has(up); up = parentOf.get(top)) {
        seen.add(up);
        top = up;
      }
      rootOf.set(id, top);
      depth.set(id, seen.size - 1);
    }
  }
  const byRoot = new Map<string, Family>();
  const familyOf = (root: string) => {
    let family = byRoot.get(root);
    if (!family) byRoot.set(root, (family = { root, members: [] }));
    return family;
  };
  for (const id of named) if (rootOf.get(id) === id) familyOf(id);
  for (const [id, root] of rootOf) familyOf(root).members.push(id);
  return { families: [...byRoot.values()], rootOf, depth };
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
