import type { ChalkInstance } from 'chalk';
import { safeText } from '../sanitize.js';
import { fieldsFor } from './columns.js';
import { renderTable, type Column } from './table.js';
import type { Execution } from '../core/execution.js';
import { isChange, type MarkResult } from '../core/mark.js';
import type { ShowData } from '../core/show.js';
import { showBody, stateSpan } from './show.js';
import { renderLine, span, type Line } from './spans.js';

export function listLines(rows: readonly Execution[], c: ChalkInstance, maxWidth: number): string[] {
  if (rows.length === 0) return [c.green('No stuck executions.')];
  const columns: Column<Execution>[] = fieldsFor(rows).map((f) => ({
    header: f.listTitle ?? f.title,
    get: (e) => f.text(e, null, '…'),
    flex: 'weight' in f.width,
    align: f.align,
    paint: f.tone ? (e, text) => renderLine([span(text, { tone: f.tone!(e) })], c) : undefined,
  }));
  const [header, ...body] = renderTable(rows, columns, maxWidth);
  return [c.bold(header!), ...body];
}

/** `show`: the title, then the same lines as the console's detail view. */
export function showLines(d: ShowData, c: ChalkInstance): string[] {
  const title: Line = [span('Execution', { bold: true }), span(` ${d.execution.execution_id}  `), stateSpan(d.execution.state)];
  return [title, ...showBody(d)].map((line) => renderLine(line, c));
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
    const colored = isChange(r.outcome)
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
