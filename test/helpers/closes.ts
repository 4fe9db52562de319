/** Event types that end an execution, both dialects (../shared/noetl-schema.md). */
export const TERMINAL_EVENT_TYPES = [
  'playbook.completed',
  'playbook_completed',
  'workflow.completed',
  'playbook.failed',
  'playbook_failed',
  'workflow.failed',
  'execution.cancelled',
  'playbook.cancelled',
  'playbook_cancelled',
];

interface Row {
  event_id: string;
  event_type: string;
  parent_event_id: string | null;
  meta: Record<string, any> | null;
}

/**
 * The closes among an execution's events: a console close writes two rows
 * (src/noetl/vocabulary.ts CLOSE_ROWS), the first the parent event of the
 * second, so each close counts once, as its newest row, whose type says the
 * state (execution.cancelled, playbook.failed, playbook.completed). An
 * engine's terminal event counts as itself.
 */
export function closesOf<R extends Row>(rows: readonly R[]): R[] {
  const terminal = rows.filter((e) => TERMINAL_EVENT_TYPES.includes(e.event_type));
  const byConsole = (e: Row) => e.meta?.emitted_by === 'noetl-console';
  const firsts = new Set(terminal.filter(byConsole).map((e) => e.parent_event_id));
  return terminal.filter((e) => !(byConsole(e) && firsts.has(e.event_id)));
}
