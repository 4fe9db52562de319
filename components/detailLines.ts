import { formatSeconds } from '../src/duration.js';
import { auditText, timelineEvents } from '../src/format/human.js';
import { safeText } from '../src/sanitize.js';
import { clockTime } from './connection.js';
import { seg, type Line } from './Lines.js';
import { stateColor, type Theme } from './theme.js';
import { G } from './glyphs.js';
import { workerOf } from '../src/core/execution.js';
import type { ShowData } from '../src/core/show.js';

/** 2026-05-01 12:00:05 UTC from an ISO time. */
export function utcTime(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '-';
}

/** Local MM-DD HH:MM:SS, the timeline's time column. */
function eventTime(iso: string): string {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '-'.padEnd(14);
  return `${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${clockTime(d.getTime())}`;
}

/** The scrollable body of the detail view: fields, child tree, event timeline. */
export function detailLines(d: ShowData, theme: Theme, selectedChild: number | null = null): Line[] {
  const e = d.execution;
  const table = e.source === 'status-table' ? e : null;
  const worker = workerOf(e);
  const field = (name: string, ...value: Line): Line => [seg(name.padEnd(13), { dim: true }), ...value];
  const lines: Line[] = [
    field('State', seg(e.state.toUpperCase(), { bold: true, color: stateColor(theme, e.state) }), seg(e.state === 'running' ? `  ${safeText(e.diagnosis)}` : '')),
    // A status table's row has a status and display columns instead of a playbook.
    field(table ? 'Path' : 'Playbook', seg(safeText(e.path ?? '?'))),
    ...(table ? [field('Status', seg(safeText(table.status ?? '-')))] : []),
    ...Object.entries(table?.display ?? {}).map(([k, v]) => field(safeText(k, 12), seg(safeText(v ?? '-')))),
    field('Started', seg(`${utcTime(e.started_at)}, age ${formatSeconds(e.age_seconds)}`)),
    ...(e.finished_at ? [field('Finished', seg(utcTime(e.finished_at)))] : []),
    field('Idle', seg(`${formatSeconds(e.idle_seconds)} since ${safeText(e.last_event_type ?? '-', 40)}`)),
    field('Last done', seg(safeText(e.last_step ?? '-'))),
    field('Stuck step', seg(safeText(e.stuck_step ?? '-'), { color: e.stuck_step ? theme.warn : undefined })),
    field(
      'Worker',
      ...(worker
        ? [
            seg(`${safeText(worker.id, 60)}  `),
            worker.alive
              ? seg('heartbeat fresh', { color: theme.ok })
              : seg('no fresh heartbeat', { color: theme.danger, bold: true }),
            seg(worker.heartbeatAgeSeconds !== null ? ` (${formatSeconds(worker.heartbeatAgeSeconds)} ago)` : ' (never)'),
          ]
        : [seg('-')]),
    ),
    field('Parent', seg(e.parent_execution_id ?? '-')),
    field('Children', seg(`${e.running_children} running of ${e.total_children}`)),
  ];
  if (d.children.length > 0) {
    lines.push([], [seg(`Child executions (${d.children.length})`, { bold: true })]);
    d.children.forEach((c, i) => {
      const x = c.execution;
      const picked = i === selectedChild;
      lines.push([
        seg(`${picked ? '>' : ' '}${'  '.repeat(c.depth)}${G().branch} ${c.execution_id} `, { inverse: picked, bold: picked }),
        seg(x ? x.state.toUpperCase() : '?', { color: x ? stateColor(theme, x.state) : undefined, bold: true }),
        seg(`  ${safeText(x?.path ?? '', 60)}`),
        seg(x && x.state === 'running' ? `  ${safeText(x.diagnosis, 40)}` : '', { dim: true }),
      ]);
    });
  }
  const events = timelineEvents(d);
  lines.push([], [seg(`Events (newest first, ${events.length} of ${d.timeline.total})`, { bold: true })]);
  for (const ev of events) {
    lines.push([
      seg(`${eventTime(ev.created_at)}  `, { dim: true }),
      seg(safeText(ev.event_type ?? '?', 30).padEnd(22)),
      seg(` ${safeText(ev.node_name ?? '', 24).padEnd(14)}`),
      seg(` ${safeText(ev.status ?? '', 16)}`, { color: stateColor(theme, (ev.status ?? '').toLowerCase()) }),
      seg(ev.worker_id ? `  ${safeText(ev.worker_id, 30)}` : '', { dim: true }),
    ]);
    if (ev.error) lines.push([seg('    error: ', { color: theme.danger }), seg(safeText(ev.error, 300))]);
    const audit = auditText(ev.meta);
    if (audit) lines.push([seg('    audit: ', { color: theme.accent, bold: true }), seg(safeText(audit, 300))]);
  }
  return lines;
}
