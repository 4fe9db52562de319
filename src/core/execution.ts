/**
 * The execution as both sources deliver it and both front ends show it.
 * Ids are strings (they exceed 2^53), times ISO 8601 UTC.
 */
import type { HistoryFields } from './thresholds.js';

export type TerminalState = 'completed' | 'failed' | 'cancelled';
export type ExecutionState = 'running' | TerminalState;

/** How loud a diagnosis is: `danger` needs a hand now, `warn` is worth a look, `none` is the ordinary case. */
export type Severity = 'danger' | 'warn' | 'none';

/** Why an execution looks stuck, in a few words, and how loud that is. */
export interface Diagnosis {
  text: string;
  severity: Severity;
}

/** What every source knows of an execution. */
interface ExecutionBase {
  execution_id: string;
  path: string | null;
  state: ExecutionState;
  started_at: string;
  age_seconds: number;
  last_event_at: string | null;
  last_event_type: string | null;
  idle_seconds: number | null;
  last_step: string | null;
  stuck_step: string | null;
  finished_at: string | null;
  /** Null and 0 where the source has no child executions (a status table). */
  parent_execution_id: string | null;
  running_children: number;
  total_children: number;
  diagnosis: string;
  severity: Severity;
  /** Its path's learned threshold (thresholds.ts), when read. */
  history?: HistoryFields;
}

/** An execution read from NoETL's event log: a worker may hold its step, a parent may drive it. */
export interface NoetlExecution extends ExecutionBase {
  source: 'noetl';
  worker_id: string | null;
  worker_alive: boolean | null;
  worker_heartbeat_age_seconds: number | null;
  parent_running: boolean;
}

/** A row of a status table: the status as stored, the configured display columns, the stuck step's attempts and error. */
export interface StatusTableExecution extends ExecutionBase {
  source: 'status-table';
  status: string | null;
  /** The configured display columns, in config order, as text. */
  display: Record<string, string | null>;
  stuck_step_attempts: number | null;
  stuck_step_error: string | null;
}

export type Execution = NoetlExecution | StatusTableExecution;
export type SourceKind = Execution['source'];

/** The worker holding the execution's step, where the source has workers. */
export function workerOf(e: Execution): { id: string; alive: boolean | null; heartbeatAgeSeconds: number | null } | null {
  if (e.source !== 'noetl' || !e.worker_id) return null;
  return { id: e.worker_id, alive: e.worker_alive, heartbeatAgeSeconds: e.worker_heartbeat_age_seconds };
}

/** What `health` reports. */
export interface HealthCounts {
  running: number;
  stuck: number;
  long_running: number;
  oldest_running_seconds: number | null;
  recent_24h: number;
  live_workers: number | null;
  now: string;
}
