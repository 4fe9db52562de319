/**
 * Mark rows of a status table failed or cancelled. Each batch is one
 * transaction: the conditional update (sql.markUpdateSql) changes only rows
 * still in a running status, then the other ids are read again to tell
 * already-finished from missing. A dry run only reads. A status table has no
 * child executions, so `cascade` changes nothing.
 */
import type { Database, Queryable } from '../db/database.js';
import { UsageError } from '../errors.js';
import { canonicalRowId } from './ids.js';
import { terminalStateOfStatus, type StatusVocabulary } from './model.js';
import * as sql from './sql.js';
import { ACTIONS, PartialMarkError, type Action, type MarkRequest, type MarkResult, type Outcome, type UndoResult } from '../core/mark.js';
import { withRetry } from '../db/retry.js';

export const DEFAULT_MARK_BATCH = 200;

export interface MarkTarget {
  db: Database;
  shape: sql.TableShape;
  vocabulary: StatusVocabulary;
  /** Names the config key in the refusal of an action the table has no status for. */
  origin: string;
}

/** The status an action writes: the configured failed or cancelled value (complete is NoETL's alone). */
export function statusWritten(v: StatusVocabulary, action: Action): string | undefined {
  return action === 'fail' ? v.failed : action === 'cancel' ? v.cancelled : undefined;
}

export async function markRows(t: MarkTarget, req: MarkRequest): Promise<MarkResult[]> {
  const write = statusWritten(t.vocabulary, req.action);
  if (write === undefined) {
    const key = ACTIONS[req.action].state;
    throw new UsageError(`${t.origin}: no ${key} status value is configured (status.${key}), so ${req.action} is not available for this source`);
  }
  const shape = ACTIONS[req.action];
  const results: MarkResult[] = [];
  // One result per row: "007" and "7" name the same integer id.
  const unique = [...new Set(req.ids.map((id) => canonicalRowId(t.shape.idType, id) ?? id))];
  const batchSize = Math.max(1, req.batchSize ?? DEFAULT_MARK_BATCH);

  for (let i = 0; i < unique.length; i += batchSize) {
    const given = unique.slice(i, i + batchSize);
    const canonical = new Map(given.map((id) => [id, canonicalRowId(t.shape.idType, id)]));
    const ids = [...new Set([...canonical.values()].filter((id): id is string => id !== null))];

    const run = async (q: Queryable): Promise<{ changed: Set<string>; states: Map<string, string | null> }> => {
      let changed = new Set<string>();
      if (!req.dryRun && ids.length > 0) {
        const update = sql.markUpdateSql(t.shape, {
          ids,
          status: write,
          reason: req.reason || `marked ${shape.outcome} by noetl-console`,
          action: req.action,
          user: req.actor.os_user,
          host: req.actor.host,
          version: req.actor.console_version,
          batch: req.batch?.id ?? null,
        });
        changed = new Set((await q.query<{ id: string }>(update.text, update.values)).rows.map((r) => r.id));
      }
      const rest = ids.filter((id) => !changed.has(id));
      const states = new Map<string, string | null>();
      if (rest.length > 0) {
        const read = sql.statesSql(t.shape, rest);
        for (const row of (await q.query<sql.StateRow>(read.text, read.values)).rows) states.set(row.id, row.status);
      }
      return { changed, states };
    };
    let outcome: Awaited<ReturnType<typeof run>>;
    try {
      outcome = await withRetry(() => (req.dryRun ? run(t.db) : t.db.transaction(run)));
    } catch (error) {
      // Earlier batches committed and stay changed: report them with the error.
      if (results.length > 0) throw new PartialMarkError(results, error);
      throw error;
    }
    const { changed, states } = outcome;

    const batch = given.map((id): MarkResult => {
      const key = canonical.get(id) ?? null;
      let outcome: Outcome;
      let state: MarkResult['state'] = null;
      if (key !== null && changed.has(key)) outcome = shape.outcome;
      else if (key === null || !states.has(key)) outcome = 'not_found';
      else {
        const status = states.get(key) ?? null;
        if (status !== null && t.vocabulary.running.includes(status)) {
          // Only a dry run gets here: a write changed every row still running.
          outcome = req.dryRun ? shape.dryOutcome : 'already_terminal';
        } else {
          outcome = 'already_terminal';
          state = terminalStateOfStatus(status, t.vocabulary);
        }
      }
      return { execution_id: key ?? id, outcome, parent_execution_id: null, root_execution_id: key ?? id, cascaded: false, state, event_id: null };
    });
    results.push(...batch);
    req.onBatch?.(batch);
  }
  return results;
}

/**
 * Put back the status a batch replaced, on the rows still in the status it
 * wrote; rows changed since are reported and left alone. Null when the
 * source's reason column cannot hold a batch record.
 */
export async function undoBatch(t: MarkTarget, batch: string, who: Omit<sql.UndoWrite, 'batch'>, dryRun: boolean): Promise<UndoResult[] | null> {
  const read = sql.batchRowsSql(t.shape, batch);
  if (!read) return null;
  const run = async (q: Queryable): Promise<UndoResult[]> => {
    const rows = (await q.query<sql.BatchRow>(read.text, read.values)).rows.filter((r) => r.wrote !== null);
    const undoable = rows.filter((r) => r.previous !== null && r.status === r.wrote).map((r) => r.id);
    let restored = new Set<string>();
    if (!dryRun && undoable.length > 0) {
      const update = sql.undoSql(t.shape, { batch, ...who }, undoable)!;
      restored = new Set((await q.query<{ id: string }>(update.text, update.values)).rows.map((r) => r.id));
    }
    return rows.map((r) => {
      const done = dryRun ? undoable.includes(r.id) : restored.has(r.id);
      return {
        execution_id: r.id,
        outcome: done ? (dryRun ? 'would_restore' : 'restored') : 'changed_since',
        status: done && !dryRun ? r.previous : r.status,
        previous: r.previous,
        wrote: r.wrote,
      };
    });
  };
  return withRetry(() => (dryRun ? run(t.db) : t.db.transaction(run)));
}
