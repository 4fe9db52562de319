/**
 * The lines of one execution in full: `show` prints them (chalk or plain),
 * the console's detail view draws them (Ink). One list of fields, one
 * child tree, one timeline: the two cannot drift apart.
 */
import { formatSeconds } from '../duration.js';
import { workerOf, type Execution } from '../core/execution.js';
import type { ShowData, StepEntry, TimelineEvent } from '../core/show.js';
import { safeText } from '../sanitize.js';
import { severityTone, span, stateTone, type Line, type Span } from './spans.js';

/** Width of the field names. */
const NAME_WIDTH = 15;

/** 2026-05-01 12:00:05 UTC from an ISO time. */
export function utcTime(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '-';
}

/** The console's audit record in an event's meta, as one line; null when the event is not the console's. */
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

export const stateSpan = (state: string): Span => span(state.toUpperCase(), { bold: true, tone: stateTone(state) });

const field = (name: string, ...value: Span[]): Line => [span(name.padEnd(NAME_WIDTH), { dim: true }), span(' '), ...value];

/** The fields of an execution, one a line. */
export function fieldLines(e: Execution): Line[] {
  const table = e.source === 'status-table' ? e : null;
  const worker = workerOf(e);
  const lines: (Line | null)[] = [
    // The diagnosis beside the state while it runs (once finished it is the state).
    field('State', stateSpan(e.state), ...(e.state === 'running' ? [span(`  ${safeText(e.diagnosis)}`, { tone: severityTone(e.severity) })] : [])),
    // A status table's row has a status and display columns instead of a playbook.
    field(table ? 'Path' : 'Playbook', span(safeText(e.path ?? '?'))),
    table ? field('Status', span(safeText(table.status ?? '-'))) : null,
    ...Object.entries(table?.display ?? {}).map(([k, v]) => field(safeText(k, 40), span(safeText(v ?? '-')))),
    field('Started', span(`${utcTime(e.started_at)}, age ${formatSeconds(e.age_seconds)}`)),
    e.finished_at ? field('Finished', span(utcTime(e.finished_at))) : null,
    field('Idle', span(`${formatSeconds(e.idle_seconds)} since ${safeText(e.last_event_type ?? '-', 40)}${e.last_event_at ? ` (${utcTime(e.last_event_at)})` : ''}`)),
    field('Last done', span(safeText(e.last_step ?? '-'))),
    field(
      'Stuck step',
      span(safeText(e.stuck_step ?? '-'), { tone: e.stuck_step ? 'warn' : undefined }),
      span(table?.stuck_step_attempts != null ? ` (attempt ${table.stuck_step_attempts})` : ''),
      ...(table?.stuck_step_error ? [span(': '), span(safeText(table.stuck_step_error, 200), { tone: 'danger' })] : []),
    ),
  ];
  if (e.source === 'noetl') {
    lines.push(
      field(
        'Worker',
        ...(worker
          ? [
              span(`${safeText(worker.id, 60)}  `),
              worker.alive ? span('heartbeat fresh', { tone: 'ok' }) : span('no fresh heartbeat', { tone: 'danger', bold: true }),
              span(worker.heartbeatAgeSeconds !== null ? ` (${formatSeconds(worker.heartbeatAgeSeconds)} ago)` : ' (never)'),
            ]
          : [span('-')]),
      ),
      field('Parent', span(e.parent_execution_id ?? '-')),
      field('Children', span(`${e.running_children} running of ${e.total_children}`)),
    );
  }
  return lines.filter((l): l is Line => l !== null);
}

/** The child tree, depth first; `selected` (the console's Tab) is marked with `>`. */
export function childLines(d: ShowData, selected: number | null = null): Line[] {
  if (d.children.length === 0) return [];
  const lines: Line[] = [[], [span(`Child executions (${d.children.length})`, { bold: true })]];
  d.children.forEach((c, i) => {
    const x = c.execution;
    const picked = i === selected;
    lines.push([
      span(`${picked ? '>' : ' '} ${'  '.repeat(c.depth - 1)}└ ${c.execution_id} `, { inverse: picked, bold: picked }),
      x ? stateSpan(x.state) : span('?', { bold: true }),
      span(`  ${safeText(x?.path ?? '', 60)}`),
      span(x && x.state === 'running' ? `  ${safeText(x.diagnosis, 40)}` : '', { dim: true, tone: x ? severityTone(x.severity) : undefined }),
    ]);
  });
  return lines;
}

function eventLines(ev: TimelineEvent): Line[] {
  const lines: Line[] = [
    [
      span(`${ev.created_at ? utcTime(ev.created_at).slice(0, 19) : '-'.padEnd(19)}  `, { dim: true }),
      span(safeText(ev.event_type ?? '?', 40).padEnd(22)),
      span(` ${safeText(ev.node_name ?? '', 40).padEnd(16)}`),
      span(` ${safeText(ev.status ?? '', 20)}`, { tone: stateTone((ev.status ?? '').toLowerCase()) }),
      span(ev.worker_id ? `  ${safeText(ev.worker_id, 40)}` : '', { dim: true }),
    ],
  ];
  if (ev.error) lines.push([span('    error: ', { tone: 'danger' }), span(safeText(ev.error, 300))]);
  const audit = auditText(ev.meta);
  if (audit) lines.push([span('    audit: ', { tone: 'accent', bold: true }), span(safeText(audit, 300))]);
  return lines;
}

function stepLines(s: StepEntry): Line[] {
  const at = s.started_at ?? s.finished_at;
  const notes = [s.attempts !== null ? `attempt ${s.attempts}` : null, s.duration_seconds !== null ? `took ${formatSeconds(s.duration_seconds)}` : null].filter(Boolean);
  const lines: Line[] = [
    [
      span(`${at ? utcTime(at).slice(0, 19) : '-'.padEnd(19)}  `, { dim: true }),
      span(safeText(s.step_id, 40).padEnd(22)),
      span(` ${safeText(s.status ?? '', 20)}`, { tone: stateTone((s.status ?? '').toLowerCase()) }),
      span(notes.length ? `  ${notes.join(', ')}` : '', { dim: true }),
    ],
  ];
  if (s.error) lines.push([span('    error: ', { tone: 'danger' }), span(safeText(s.error, 300))]);
  return lines;
}

/** The timeline, newest first: NoETL's events, or a status table's steps under its noun. */
export function timelineLines(d: ShowData): Line[] {
  const t = d.timeline;
  if (t.kind === 'events') {
    return [[], [span(`Events (newest first, ${t.events.length} of ${t.total})`, { bold: true })], ...t.events.flatMap(eventLines)];
  }
  const title = `${t.noun.charAt(0).toUpperCase()}${t.noun.slice(1)}s`;
  return [[], [span(`${title} (newest first, ${t.steps.length} of ${t.total})`, { bold: true })], ...t.steps.flatMap(stepLines)];
}

/** Everything below the title: fields, child tree, timeline. */
export function showBody(d: ShowData, selectedChild: number | null = null): Line[] {
  return [...fieldLines(d.execution), ...childLines(d, selectedChild), ...timelineLines(d)];
}
