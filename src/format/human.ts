import type { ChalkInstance } from 'chalk';
import { formatSeconds } from '../duration.js';
import { safeText } from '../sanitize.js';
import { renderTable, type Column } from './table.js';
import { workerOf, type Execution } from '../core/execution.js';
import { isChange, type MarkResult } from '../core/mark.js';
import type { ShowData, TimelineEvent } from '../core/show.js';

export function listLines(rows: readonly Execution[], c: ChalkInstance, maxWidth: number): string[] {
  if (rows.length === 0) return [c.green('No stuck executions.')];
  const columns: Column<Execution>[] = [
    { header: 'EXECUTION', get: (e) => e.execution_id },
    { header: 'PATH', get: (e) => e.path ?? '?', flex: true },
    { header: 'AGE', get: (e) => formatSeconds(e.age_seconds), align: 'right' },
    { header: 'IDLE', get: (e) => formatSeconds(e.idle_seconds), align: 'right' },
    { header: 'STEP', get: (e) => e.stuck_step ?? (e.last_step ? `after ${e.last_step}` : '-'), flex: true },
    { header: 'DIAGNOSIS', get: (e) => e.diagnosis, flex: true },
    { header: 'CH', get: (e) => String(e.running_children), align: 'right' },
  ];
  const [header, ...body] = renderTable(rows, columns, maxWidth);
  return [c.bold(header!), ...body];
}

const STATE_COLOR: Record<string, (c: ChalkInstance, t: string) => string> = {
  running: (c, t) => c.yellow(t),
  completed: (c, t) => c.green(t),
  failed: (c, t) => c.red(t),
  cancelled: (c, t) => c.magenta(t),
};

export function stateText(state: string, c: ChalkInstance): string {
  return (STATE_COLOR[state] ?? ((_c, t) => t))(c, state.toUpperCase());
}

export function auditText(meta: unknown): string | null {
  if (!meta || typeof meta !== 'object') return null;
  const m = meta as Record<string, unknown>;
  if (m.emitted_by !== 'noetl-console' && m.cancelled_by === undefined) return null;
  const parts = [
    m.action ? `${String(m.action)} by ${String(m.cancelled_by ?? m.emitted_by)}` : `by ${String(m.cancelled_by ?? m.emitted_by)}`,
    m.os_user ? `user ${String(m.os_user)}` : null,
    m.host ? `host ${String(m.host)}` : null,
    m.console_version ? `v${String(m.console_version)}` : null,
    m.reason ? `reason: ${String(m.reason)}` : null,
  ].filter(Boolean);
  return parts.join(', ');
}

const timelineLength = (d: ShowData) => (d.timeline.kind === 'events' ? d.timeline.events.length : d.timeline.steps.length);

/** The timeline as event rows: a status table's steps under its noun. */
export function timelineEvents(d: ShowData): TimelineEvent[] {
  const t = d.timeline;
  if (t.kind === 'events') return t.events;
  return t.steps.map((s) => ({
    event_id: s.step_id,
    event_type: t.noun,
    node_name: s.step_id,
    status: s.status,
    worker_id: null,
    created_at: s.started_at ?? s.finished_at ?? '',
    error: s.error,
    meta: null,
  }));
}

export function showLines(d: ShowData, c: ChalkInstance): string[] {
  const e = d.execution;
  const table = e.source === 'status-table' ? e : null;
  const worker = workerOf(e);
  const field = (name: string, value: string) => `${c.dim(name.padEnd(15))} ${value}`;
  const out = [
    `${c.bold('Execution')} ${e.execution_id}  ${stateText(e.state, c)}`,
    field(table ? 'Path' : 'Playbook', safeText(e.path ?? '?')),
    table ? field('Status', safeText(table.status ?? '-')) : null,
    ...Object.entries(table?.display ?? {}).map(([k, v]) => field(safeText(k, 40), safeText(v ?? '-'))),
    field('Started', `${e.started_at} (${formatSeconds(e.age_seconds)} ago)`),
    e.finished_at ? field('Finished', e.finished_at) : null,
    field('Last event', `${safeText(e.last_event_type ?? '-')} at ${e.last_event_at ?? '-'} (idle ${formatSeconds(e.idle_seconds)})`),
    field('Last completed', safeText(e.last_step ?? '-')),
    field(
      'Stuck step',
      `${safeText(e.stuck_step ?? '-')}${table?.stuck_step_attempts != null ? ` (attempt ${table.stuck_step_attempts})` : ''}${
        table?.stuck_step_error ? `: ${safeText(table.stuck_step_error, 200)}` : ''
      }`,
    ),
    field(
      'Worker',
      worker
        ? `${safeText(worker.id)} ${worker.alive ? c.green('alive') : c.red('no fresh heartbeat')}${
            worker.heartbeatAgeSeconds !== null ? ` (heartbeat ${formatSeconds(worker.heartbeatAgeSeconds)} ago)` : ''
          }`
        : '-',
    ),
    field('Parent', e.parent_execution_id ?? '-'),
    field('Children', `${e.running_children} running of ${e.total_children}`),
    field('Diagnosis', safeText(e.diagnosis)),
    '',
    c.bold(`Events (latest ${timelineLength(d)} of ${d.timeline.total})`),
  ].filter((l): l is string => l !== null);
  for (const ev of timelineEvents(d)) {
    const audit = auditText(ev.meta);
    out.push(
      `  ${ev.created_at}  ${safeText(ev.event_type ?? '?', 40).padEnd(22)} ${safeText(ev.node_name ?? '', 40).padEnd(16)} ${safeText(ev.status ?? '', 20)}${
        ev.worker_id ? `  ${c.dim(safeText(ev.worker_id, 40))}` : ''
      }`,
    );
    if (ev.error) out.push(`      ${c.red('error:')} ${safeText(ev.error, 300)}`);
    if (audit) out.push(`      ${c.cyan('audit:')} ${safeText(audit, 300)}`);
  }
  if (d.children.length) {
    out.push('', c.bold(`Child executions (${d.children.length})`));
    for (const ch of d.children) {
      const x = ch.execution;
      out.push(
        `  ${'  '.repeat(ch.depth - 1)}└ ${ch.execution_id}  ${x ? stateText(x.state, c) : '?'}  ${safeText(x?.path ?? '', 60)}${
          x && x.state === 'running' ? `  ${safeText(x.diagnosis, 40)}` : ''
        }`,
      );
    }
  }
  return out;
}

const OUTCOME_TEXT: Record<string, string> = {
  cancelled: 'cancelled',
  failed: 'marked failed',
  completed: 'marked completed',
  already_terminal: 'already finished',
  not_found: 'not found',
  would_cancel: 'would cancel',
  would_fail: 'would mark failed',
  would_complete: 'would mark completed',
  error: 'error',
  not_attempted: 'not attempted',
  not_shown: 'not shown, not changed',
};

export function markLines(results: readonly MarkResult[], c: ChalkInstance): string[] {
  return results.map((r) => {
    const text = OUTCOME_TEXT[r.outcome] ?? r.outcome;
    const colored =
      isChange(r.outcome)
        ? c.green(text)
        : r.outcome === 'not_found' || r.outcome === 'error'
          ? c.red(text)
          : r.outcome === 'already_terminal' || r.outcome === 'not_shown'
            ? c.yellow(`${text}${r.state ? ` (${r.state})` : ''}`)
            : c.cyan(text);
    const note = r.message ? c.dim(`: ${safeText(r.message, 300)}`) : '';
    return `${r.cascaded ? `  └ ${r.execution_id}` : r.execution_id}  ${colored}${r.cascaded ? c.dim(` (child of ${r.parent_execution_id})`) : ''}${note}`;
  });
}
