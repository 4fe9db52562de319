/** Everything `show` and the console's detail view say about one execution. */
import type { Execution } from './execution.js';

/** One event of NoETL's log. */
export interface TimelineEvent {
  event_id: string;
  event_type: string | null;
  node_name: string | null;
  status: string | null;
  worker_id: string | null;
  created_at: string;
  error: string | null;
  meta: unknown;
}

/** One step (or node) of a status table's steps table, as stored: it is not an event and has no event id. */
export interface StepEntry {
  step_id: string;
  status: string | null;
  started_at: string | null;
  finished_at: string | null;
  attempts: number | null;
  duration_seconds: number | null;
  error: string | null;
}

/** The recent history of an execution: NoETL's events, or a status table's steps; latest first, `total` in all. */
export type Timeline = { kind: 'events'; events: TimelineEvent[]; total: number } | { kind: 'steps'; noun: string; steps: StepEntry[]; total: number };

export interface TreeNode {
  execution_id: string;
  parent_execution_id: string;
  depth: number;
}

export interface ShowData {
  execution: Execution;
  timeline: Timeline;
  /** Descendants, depth first; `execution` null when it could not be described. */
  children: (TreeNode & { execution: Execution | null })[];
}
