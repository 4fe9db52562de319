/**
 * Rows of a status table as the console's Execution: path from the label
 * column (else the table name), idle time from updated_at and step activity
 * (else started_at), last completed and stuck step from the steps table.
 */
import type { StatusRow, TableShape } from './sql.js';
import type { Diagnosis, StatusTableExecution, TerminalState } from '../core/execution.js';
import type { StuckFacts } from '../core/filter.js';
import { formatCoarse } from '../duration.js';

export interface StatusVocabulary {
  running: readonly string[];
  failed?: string | undefined;
  cancelled?: string | undefined;
  completed?: readonly string[] | undefined;
}

const COMPLETED_WORDS = /^(completed?|success|succeeded|successful|done|finished|ok)$/i;
const FAILED_WORDS = /^(failed|failure|error|errored|crashed|timed[ _-]?out|timeout)$/i;
const CANCELLED_WORDS = /^(cancell?ed|aborted|killed|stopped|revoked|terminated)$/i;

/**
 * The terminal state a stored status stands for: the configured failed,
 * cancelled and completed values first, then the usual words; null when
 * neither says.
 */
export function terminalStateOfStatus(status: string | null, v: StatusVocabulary): TerminalState | null {
  if (status === null || v.running.includes(status)) return null;
  if (status === v.failed) return 'failed';
  if (status === v.cancelled) return 'cancelled';
  if (v.completed?.includes(status)) return 'completed';
  if (FAILED_WORDS.test(status)) return 'failed';
  if (CANCELLED_WORDS.test(status)) return 'cancelled';
  if (COMPLETED_WORDS.test(status)) return 'completed';
  return null;
}

export interface ModelContext {
  shape: TableShape;
  vocabulary: StatusVocabulary;
  displayNames: readonly string[];
  /** "step" or "node": the word used in diagnoses and event types. */
  noun: string;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const seconds = (ms: number): number => Math.max(0, Math.round(ms / 1000));

export function toExecution(row: StatusRow, ctx: ModelContext): StatusTableExecution {
  const { shape, vocabulary, noun } = ctx;
  const running = row.status !== null && vocabulary.running.includes(row.status);
  // A status that is neither running nor recognisably failed or cancelled has finished: completed.
  const state = running ? 'running' : (terminalStateOfStatus(row.status, vocabulary) ?? 'completed');
  const startedMs = row.started_ms ?? row.updated_ms ?? row.now_ms;

  // The latest sign of life: the row's updated_at, a step starting or finishing, else the start.
  let last: { ms: number; type: string } = { ms: startedMs, type: 'started' };
  if (row.updated_ms !== null && row.updated_ms > last.ms) last = { ms: row.updated_ms, type: 'updated' };
  if (row.activity_ms !== null && row.activity_ms >= last.ms) {
    last = { ms: row.activity_ms, type: `${noun}.${row.activity_status ?? 'unknown'}` };
  }

  const display: Record<string, string | null> = {};
  ctx.displayNames.forEach((name, i) => {
    display[name] = row[`display_${i}`] ?? null;
  });

  const e: Omit<StatusTableExecution, 'diagnosis' | 'severity'> = {
    source: 'status-table',
    execution_id: row.id,
    path: shape.label ? row.label : shape.tableName,
    state,
    started_at: iso(startedMs)!,
    age_seconds: seconds(row.now_ms - startedMs),
    last_event_at: iso(last.ms),
    last_event_type: last.type,
    idle_seconds: seconds(row.now_ms - last.ms),
    last_step: row.last_step,
    stuck_step: running ? row.stuck_step : null,
    parent_execution_id: null,
    running_children: 0,
    total_children: 0,
    finished_at: running ? null : iso(row.finished_ms),
    status: row.status,
    display,
    stuck_step_attempts: running ? row.stuck_attempts : null,
    stuck_step_error: running ? row.stuck_error : null,
  };
  const { text, severity } = diagnose(e, { hasSteps: shape.steps !== null, hasActivity: shape.updated !== null || shape.steps !== null, stepCount: row.step_count ?? 0, noun });
  return { ...e, diagnosis: text, severity };
}

/** What the stuck filter's terms read of a row (src/core/filter.ts): the start as stored, the latest of its times. */
export function stuckFactsOf(row: StatusRow, ctx: ModelContext): StuckFacts {
  const times = [row.updated_ms, row.activity_ms, row.started_ms].filter((t): t is number => t !== null);
  return {
    startedMs: row.started_ms,
    lastActivityMs: times.length ? Math.max(...times) : null,
    nowMs: row.now_ms,
    path: ctx.shape.label ? row.label : ctx.shape.tableName,
    childOfRunning: false,
  };
}

/** A few words on why a running row looks stuck, most specific first; the stored status once finished. */
export function diagnose(e: Omit<StatusTableExecution, 'diagnosis' | 'severity'>, o: { hasSteps: boolean; hasActivity: boolean; stepCount: number; noun: string }): Diagnosis {
  if (e.state !== 'running') return { text: e.status ?? e.state, severity: 'none' };
  if (e.stuck_step !== null) {
    return { text: `stuck in ${o.noun} ${e.stuck_step}${e.stuck_step_attempts !== null ? ` (attempt ${e.stuck_step_attempts})` : ''}`, severity: 'none' };
  }
  if (o.hasSteps && e.last_step !== null) return { text: `stalled after ${o.noun} ${e.last_step}`, severity: 'warn' };
  if (o.hasSteps && o.stepCount === 0) return { text: `no ${o.noun} started`, severity: 'none' };
  const idle = e.idle_seconds ?? e.age_seconds;
  if (o.hasActivity && idle >= 600) return { text: `idle ${formatCoarse(idle)}`, severity: 'warn' };
  return { text: `running ${formatCoarse(e.age_seconds)}`, severity: 'none' };
}
