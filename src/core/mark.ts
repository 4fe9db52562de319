/** What an operator does to a stuck execution, and what each source reports back. */
import type { Actor, Batch } from '../audit.js';
import type { TerminalState } from './execution.js';

/** What an operator can do to a stuck execution, and how its outcome is reported. */
export const ACTIONS = {
  cancel: { state: 'cancelled', outcome: 'cancelled', dryOutcome: 'would_cancel', verb: 'cancel', done: 'Cancelled' },
  fail: { state: 'failed', outcome: 'failed', dryOutcome: 'would_fail', verb: 'mark failed', done: 'Marked failed' },
  complete: { state: 'completed', outcome: 'completed', dryOutcome: 'would_complete', verb: 'mark completed', done: 'Marked completed' },
} as const;

export type Action = keyof typeof ACTIONS;

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

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
  /** Executions per transaction (MARK_BATCH_EXECUTIONS); a root with its descendants is never split. */
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

export function isChange(outcome: Outcome): boolean {
  return outcome === 'cancelled' || outcome === 'failed' || outcome === 'completed';
}

export function isWould(outcome: Outcome): boolean {
  return outcome === 'would_cancel' || outcome === 'would_fail' || outcome === 'would_complete';
}

/** One row of an undo (status tables keep the status a batch replaced). */
export interface UndoResult {
  execution_id: string;
  /** restored (or would_restore): its previous status is back; changed_since: not in the status the batch wrote any more, left alone. */
  outcome: 'restored' | 'would_restore' | 'changed_since';
  status: string | null;
  previous: string | null;
  wrote: string | null;
}
