import { formatSeconds } from '../src/duration.js';
import { safeText } from '../src/sanitize.js';
import { fit, shortId } from './columns.js';
import { seg, type Line } from './Lines.js';
import type { Theme } from './theme.js';
import { isChange, isWould, type MarkResult, type Outcome } from '../src/core/mark.js';
import type { Execution } from '../src/core/execution.js';

export function outcomeText(r: MarkResult): string {
  const texts: Record<Outcome, string> = {
    cancelled: 'cancelled',
    failed: 'marked failed',
    completed: 'marked completed',
    already_terminal: `already finished${r.state ? ` (${r.state})` : ''}`,
    not_found: 'not found',
    would_cancel: 'will cancel',
    would_fail: 'will mark failed',
    would_complete: 'will mark completed',
    error: 'error',
    not_attempted: 'not attempted',
    not_shown: 'not shown, not changed',
  };
  return texts[r.outcome];
}

function outcomeColor(theme: Theme, outcome: Outcome): string | undefined {
  if (isChange(outcome)) return theme.ok;
  if (isWould(outcome) || outcome === 'not_shown') return theme.warn;
  if (outcome === 'not_found' || outcome === 'error') return theme.danger;
  return undefined;
}

/** One line per execution: tree marker, id, path, age, what happens to it. */
export function outcomeLines(items: readonly { result: MarkResult; execution: Execution | null }[], theme: Theme, idTail: number, width: number): Line[] {
  const pathWidth = Math.max(10, width - idTail - 44);
  return items.map(({ result: r, execution: e }) => {
    const skipped = r.outcome === 'already_terminal' || r.outcome === 'not_found';
    return [
      seg(r.cascaded ? ' └ ' : '   '),
      seg(`${fit(shortId(r.execution_id, idTail), idTail + 1)} `),
      seg(`${fit(safeText(e?.path ?? '?', 200), pathWidth)} `),
      seg(`${fit(e ? formatSeconds(e.age_seconds) : '-', 6, 'right')}  `),
      seg(outcomeText(r), { color: outcomeColor(theme, r.outcome), bold: !skipped }),
    ];
  });
}

/** "3 cancelled, 1 already finished" */
export function outcomeSummary(results: readonly MarkResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) {
    const key = r.outcome === 'already_terminal' ? 'already finished' : outcomeText(r);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
}
