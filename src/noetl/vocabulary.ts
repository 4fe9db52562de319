/**
 * NoETL's event vocabulary, both dialects (dotted Python, underscore Rust).
 * See ../shared/noetl-schema.md. These are code constants, never user input,
 * so they are written into SQL as literals (which lets the planner use the
 * (execution_id, event_type, event_id DESC) index).
 */
import type { TerminalState } from '../core/execution.js';
import type { Action } from '../core/mark.js';

export const START_TYPES = ['playbook.initialized', 'playbook.started', 'playbook_started'] as const;

export const TERMINAL_TYPES: Record<TerminalState, readonly string[]> = {
  completed: ['playbook.completed', 'playbook_completed', 'workflow.completed'],
  failed: ['playbook.failed', 'playbook_failed', 'workflow.failed'],
  cancelled: ['execution.cancelled', 'playbook.cancelled', 'playbook_cancelled'],
};

export const ALL_TERMINAL_TYPES: readonly string[] = Object.values(TERMINAL_TYPES).flat();

/** Events that mean a step finished its work (normalized: '_' read as '.'). */
export const STEP_DONE_TYPES = ['step.exit', 'step.completed', 'command.completed', 'call.done', 'action.completed'] as const;

/** Events about the execution as a whole, not a step. */
export const EXECUTION_LEVEL_PREFIXES = ['playbook', 'workflow', 'execution'] as const;

const normalized = new Map<string, string>();

export function normalizeEventType(type: string | null | undefined): string {
  if (!type) return '';
  // A small vocabulary, read twice per row at every refresh of the console: each spelling is normalized once.
  let n = normalized.get(type);
  if (n === undefined) {
    n = type.toLowerCase().replace(/_/g, '.');
    if (normalized.size < 1000) normalized.set(type, n);
  }
  return n;
}

export function terminalStateOf(type: string | null | undefined): TerminalState | null {
  if (!type) return null;
  for (const [state, types] of Object.entries(TERMINAL_TYPES) as [TerminalState, readonly string[]][]) {
    if (types.includes(type)) return state;
  }
  return null;
}

export function sqlList(values: readonly string[]): string {
  return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');
}

/** One event row of a close. */
export interface CloseRow {
  eventType: string;
  node: string;
  status: string;
}

/**
 * The rows one close writes, in event_id order (the last is the newest).
 * Chosen so that every reader of both NoETL engines sees the execution
 * finished in the intended state (README "How the console closes an
 * execution", test/conformance):
 * - the dotted `playbook.*` row is the only spelling that every Rust reader
 *   knows (orchestrator state, replay, list, detail, status, both sweeps);
 * - `execution.cancelled` is the only row the Rust claim gate refuses claims
 *   on, so every close carries it: for fail and complete as a stop marker
 *   written first, so the newest terminal (what the Python readers and the
 *   Rust detail view take) is the intended state.
 */
export const CLOSE_ROWS: Record<Action, readonly [CloseRow, CloseRow]> = {
  cancel: [
    { eventType: 'playbook.cancelled', node: 'playbook', status: 'CANCELLED' },
    { eventType: 'execution.cancelled', node: 'cancel', status: 'CANCELLED' },
  ],
  fail: [
    { eventType: 'execution.cancelled', node: 'cancel', status: 'CANCELLED' },
    { eventType: 'playbook.failed', node: 'playbook', status: 'FAILED' },
  ],
  complete: [
    { eventType: 'execution.cancelled', node: 'cancel', status: 'CANCELLED' },
    { eventType: 'playbook.completed', node: 'playbook', status: 'COMPLETED' },
  ],
};

/** What noetl.execution (the Python engine's projection) says once closed. */
export const PROJECTION_STATUS: Record<Action, string> = { cancel: 'CANCELLED', fail: 'FAILED', complete: 'COMPLETED' };
