/**
 * NoETL's event vocabulary, both dialects (dotted Python, underscore Rust).
 * See ../shared/noetl-schema.md. These are code constants, never user input,
 * so they are written into SQL as literals (which lets the planner use the
 * (execution_id, event_type, event_id DESC) index).
 */
export const START_TYPES = ['playbook.initialized', 'playbook.started', 'playbook_started'] as const;

export const TERMINAL_TYPES = {
  completed: ['playbook.completed', 'playbook_completed', 'workflow.completed'],
  failed: ['playbook.failed', 'playbook_failed', 'workflow.failed'],
  cancelled: ['execution.cancelled', 'playbook.cancelled', 'playbook_cancelled'],
} as const;

export type TerminalState = keyof typeof TERMINAL_TYPES;
export type ExecutionState = 'running' | TerminalState;

export const ALL_TERMINAL_TYPES: readonly string[] = Object.values(TERMINAL_TYPES).flat();

/** Events that mean a step finished its work (normalized: '_' read as '.'). */
export const STEP_DONE_TYPES = ['step.exit', 'step.completed', 'command.completed', 'call.done', 'action.completed'] as const;

/** Events about the execution as a whole, not a step. */
export const EXECUTION_LEVEL_PREFIXES = ['playbook', 'workflow', 'execution'] as const;

export function normalizeEventType(type: string | null | undefined): string {
  return (type ?? '').toLowerCase().replace(/_/g, '.');
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

/** What the console writes for each action. */
export const WRITE_SHAPES = {
  cancel: { eventType: 'execution.cancelled', node: 'cancel', status: 'CANCELLED', outcome: 'cancelled', dryOutcome: 'would_cancel' },
  fail: { eventType: 'playbook.failed', node: 'playbook', status: 'FAILED', outcome: 'failed', dryOutcome: 'would_fail' },
} as const;

export type Action = keyof typeof WRITE_SHAPES;
