import type { Diagnosis, ExecutionState, NoetlExecution } from '../core/execution.js';
import type { StuckFacts } from '../core/filter.js';
import { historyOf, type ThresholdMap } from '../core/thresholds.js';
import { formatCoarse, formatSeconds } from '../duration.js';
import { WORKER_STALE_SECONDS } from './sql.js';
import { normalizeEventType, terminalStateOf } from './vocabulary.js';

/** A row of describeBody (sql.ts). */
export interface DescribedRow {
  execution_id: string;
  parent_execution_id: string | null;
  path: string | null;
  started_ms: number;
  now_ms: number;
  last_event_type: string | null;
  last_event_step: string | null;
  last_event_status: string | null;
  last_event_ms: number | null;
  /** The newest event is a command completed with pending_callback: parked on an external system. */
  pending_callback: boolean;
  parent_last_event_ms: number | null;
  /** First and newest events ingested at one instant, long after they happened: history imported in bulk. */
  bulk_imported: boolean;
  terminal_type: string | null;
  terminal_ms: number | null;
  last_step: string | null;
  step_name: string | null;
  step_event_type: string | null;
  worker_id: string | null;
  /** Latest heartbeat of the worker, epoch ms (absolute, like now_ms). */
  heartbeat_ms: number | null;
  runtime_rows: number | null;
  running_children: number;
  total_children: number;
  parent_running: boolean;
  /** It is its own ancestor through parent_execution_id. */
  in_cycle: boolean;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const seconds = (ms: number): number => Math.max(0, Math.round(ms / 1000));

const STEP_DONE = new Set(['step.exit', 'step.completed', 'command.completed', 'call.done', 'action.completed']);
/** A worker holds the step: it claimed it and has not reported it done. */
const STEP_HELD = new Set(['command.claimed', 'command.started', 'command.heartbeat', 'call.started', 'loop.item']);

/** What does not change with the clock, derived once per row (the live set re-derives 10,000 rows a refresh). */
interface Fixed {
  state: ExecutionState;
  startedAt: string;
  lastEventAt: string | null;
  finishedAt: string | null;
  stuckStep: string | null;
  held: boolean;
}
const fixedOf = new WeakMap<DescribedRow, Fixed>();

function fixed(row: DescribedRow): Fixed {
  let f = fixedOf.get(row);
  if (!f) {
    const state: ExecutionState = terminalStateOf(row.terminal_type) ?? 'running';
    const stepType = normalizeEventType(row.step_event_type);
    const stuckStep = state === 'running' && row.step_name !== null && !STEP_DONE.has(stepType) ? row.step_name : null;
    f = {
      state,
      startedAt: iso(row.started_ms)!,
      lastEventAt: iso(row.last_event_ms),
      finishedAt: state === 'running' ? null : iso(row.terminal_ms),
      stuckStep,
      held: stuckStep !== null && STEP_HELD.has(stepType),
    };
    fixedOf.set(row, f);
  }
  return f;
}

/** `history`: learned thresholds to judge the row by (its `history` field), set here rather than on a copy of the row. */
export function toExecution(row: DescribedRow, history?: ThresholdMap, minHistory?: number): NoetlExecution {
  const { state, startedAt, lastEventAt, finishedAt, stuckStep, held } = fixed(row);
  const idle = row.last_event_ms === null ? null : seconds(row.now_ms - row.last_event_ms);
  const heartbeatAge = row.heartbeat_ms === null ? null : Math.max(0, (row.now_ms - row.heartbeat_ms) / 1000);
  let workerAlive: boolean | null = null;
  if (row.worker_id) workerAlive = heartbeatAge !== null && heartbeatAge <= WORKER_STALE_SECONDS;
  // Built whole, then the diagnosis set in place: a spread copy of every row doubled the view's cost (bench/ui.ts).
  const execution: NoetlExecution = {
    source: 'noetl',
    execution_id: row.execution_id,
    path: row.path,
    state,
    started_at: startedAt,
    age_seconds: seconds(row.now_ms - row.started_ms),
    last_event_at: lastEventAt,
    last_event_type: row.last_event_type,
    idle_seconds: idle,
    last_step: row.last_step,
    stuck_step: stuckStep,
    worker_id: row.worker_id,
    worker_alive: workerAlive,
    worker_heartbeat_age_seconds: heartbeatAge === null ? null : Math.round(heartbeatAge),
    parent_execution_id: row.parent_execution_id,
    parent_running: row.parent_running,
    running_children: row.running_children,
    total_children: row.total_children,
    finished_at: finishedAt,
    diagnosis: '',
    severity: 'none',
    history: undefined,
  };
  if (history) execution.history = historyOf(execution, history, minHistory);
  const { text, severity } = diagnose(execution, row.runtime_rows, held, signalsOf(row));
  execution.diagnosis = text;
  execution.severity = severity;
  return execution;
}

/** What the stuck filter's terms read of a row (src/core/filter.ts). */
export function stuckFactsOf(row: DescribedRow): StuckFacts {
  return {
    startedMs: row.started_ms,
    lastActivityMs: row.last_event_ms,
    nowMs: row.now_ms,
    path: row.path,
    childOfRunning: row.parent_running && !row.in_cycle,
  };
}

/** NoETL's known stuck shapes (the Rust non-convergence sweep's), read from the describe query. */
export interface StuckSignals {
  /** The end step completed and the newest event says so: finished, but never closed. */
  finishedNeverClosed: boolean;
  pendingCallback: boolean;
  /** The parent is running and wrote an event within PARENT_ACTIVE_SECONDS. */
  parentProgressing: boolean;
  bulkImported: boolean;
  inCycle: boolean;
}

/** A parent with an event this recent may still drive its child (the sweep's grace is longer; an operator's view is shorter). */
export const PARENT_ACTIVE_SECONDS = 15 * 60;

const NO_SIGNALS: StuckSignals = { finishedNeverClosed: false, pendingCallback: false, parentProgressing: false, bulkImported: false, inCycle: false };

function signalsOf(row: DescribedRow): StuckSignals {
  const last = normalizeEventType(row.last_event_type);
  return {
    finishedNeverClosed: row.last_event_step === 'end' && STEP_DONE.has(last) && /^(completed|success)$/i.test(row.last_event_status ?? ''),
    pendingCallback: row.pending_callback,
    parentProgressing: row.parent_running && row.parent_last_event_ms !== null && row.now_ms - row.parent_last_event_ms <= PARENT_ACTIVE_SECONDS * 1000,
    bulkImported: row.bulk_imported,
    inCycle: row.in_cycle,
  };
}

/**
 * A few words that say why an execution is stuck, the cause before the
 * symptom: a dead worker, a command never claimed or a failed step wins over
 * "waiting on children". The worker is judged only while it holds the stuck
 * step: a worker that ran a finished step and went away says nothing about
 * the execution now.
 */
const danger = (text: string): Diagnosis => ({ text, severity: 'danger' });
const warn = (text: string): Diagnosis => ({ text, severity: 'warn' });
const none = (text: string): Diagnosis => ({ text, severity: 'none' });

export function diagnose(
  e: Omit<NoetlExecution, 'diagnosis' | 'severity'>,
  runtimeRows: number | null = null,
  workerHoldsStep = true,
  signals: StuckSignals = NO_SIGNALS,
): Diagnosis {
  if (e.state !== 'running') return none(e.state);
  const last = normalizeEventType(e.last_event_type);
  const idle = e.idle_seconds ?? e.age_seconds;
  if (signals.inCycle) return none('parent cycle');
  if (signals.bulkImported) return none('bulk-imported history');
  if (last === 'command.issued') return danger(`never claimed${idle >= 60 ? ` (${formatSeconds(idle)})` : ''}`);
  if (workerHoldsStep && e.worker_id && e.worker_alive === false) return danger(runtimeRows === 0 ? 'worker unknown' : 'worker dead');
  if (last === 'command.failed' || last === 'call.error') return danger(`failed step, no recovery`);
  if (signals.finishedNeverClosed && e.running_children === 0) return none('finished, never closed');
  if (signals.pendingCallback) return none('parked on a callback');
  if (workerHoldsStep && e.worker_id && e.worker_alive === true) return none(`claim held by live ${e.worker_id}`);
  if (e.running_children > 0) return none(`waiting on ${e.running_children} child${e.running_children === 1 ? '' : 'ren'}`);
  if (signals.parentProgressing) return none('parent still progressing');
  if (idle >= 600) return warn(`idle ${formatCoarse(idle)}`);
  if (!e.stuck_step && e.last_step) return warn('stalled between steps');
  if (!e.stuck_step && !e.last_step) return warn('no progress');
  return none('running long');
}
