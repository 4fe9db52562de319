/** The stable JSON rows of `list` and `show` (keys as documented in README). */
import type { Execution } from '../core/execution.js';
import type { ShowData } from '../core/show.js';
import { historyJson } from '../core/thresholds.js';

export function listJsonRow(e: Execution) {
  return {
    execution_id: e.execution_id,
    path: e.path,
    started_at: e.started_at,
    age_seconds: e.age_seconds,
    last_event_at: e.last_event_at,
    last_event_type: e.last_event_type,
    idle_seconds: e.idle_seconds,
    last_step: e.last_step,
    stuck_step: e.stuck_step,
    worker_id: e.source === 'noetl' ? e.worker_id : null,
    worker_alive: e.source === 'noetl' ? e.worker_alive : null,
    parent_execution_id: e.parent_execution_id,
    running_children: e.running_children,
    diagnosis: e.diagnosis,
    ...(e.source === 'status-table' ? { status: e.status, display: e.display } : {}),
    ...(e.history !== undefined ? historyJson(e.history) : {}),
  };
}

/** Every field of the execution, then its timeline and child tree. */
export function showJson(d: ShowData) {
  const e = d.execution;
  const noetl = e.source === 'noetl' ? e : null;
  return {
    execution_id: e.execution_id,
    path: e.path,
    state: e.state,
    started_at: e.started_at,
    age_seconds: e.age_seconds,
    last_event_at: e.last_event_at,
    last_event_type: e.last_event_type,
    idle_seconds: e.idle_seconds,
    last_step: e.last_step,
    stuck_step: e.stuck_step,
    worker_id: noetl?.worker_id ?? null,
    worker_alive: noetl?.worker_alive ?? null,
    worker_heartbeat_age_seconds: noetl?.worker_heartbeat_age_seconds ?? null,
    parent_execution_id: e.parent_execution_id,
    parent_running: noetl?.parent_running ?? false,
    running_children: e.running_children,
    total_children: e.total_children,
    finished_at: e.finished_at,
    diagnosis: e.diagnosis,
    ...(e.source === 'status-table' ? { status: e.status, display: e.display, stuck_step_attempts: e.stuck_step_attempts, stuck_step_error: e.stuck_step_error } : {}),
    ...(d.timeline.kind === 'events' ? { events: d.timeline.events, total_events: d.timeline.total } : { steps: d.timeline.steps, total_steps: d.timeline.total }),
    children: d.children.map((c) => ({
      execution_id: c.execution_id,
      parent_execution_id: c.parent_execution_id,
      depth: c.depth,
      state: c.execution?.state ?? null,
      path: c.execution?.path ?? null,
      diagnosis: c.execution?.diagnosis ?? null,
    })),
  };
}
