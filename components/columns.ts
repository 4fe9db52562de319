import { formatSeconds } from '../src/duration.js';
import { safeText } from '../src/sanitize.js';
import { G } from './glyphs.js';
import { type Execution } from '../src/core/execution.js';

export type ColumnKey = 'id' | 'path' | 'age' | 'idle' | 'step' | 'diag' | 'ch';

export interface Column {
  key: ColumnKey;
  title: string;
  width: number;
  align: 'left' | 'right';
}

/** Width of the `> *` markers before each row. */
export const MARKER_WIDTH = 3;

/**
 * Column widths for a terminal `width` wide. Fixed columns first; path,
 * step and diagnosis share what is left. Narrow terminals drop the step,
 * then idle, so the rest stays readable.
 */
export function layoutColumns(width: number, idWidth: number): Column[] {
  const fixed: Column[] = [
    { key: 'id', title: 'ID', width: idWidth, align: 'left' },
    { key: 'age', title: 'AGE', width: 6, align: 'right' },
    { key: 'idle', title: 'IDLE', width: 6, align: 'right' },
    { key: 'ch', title: 'CH', width: 3, align: 'right' },
  ];
  const flex = [
    { key: 'path' as const, title: 'PATH', weight: 4, min: 12 },
    { key: 'step' as const, title: 'STEP', weight: 2, min: 8 },
    { key: 'diag' as const, title: 'DIAGNOSIS', weight: 3, min: 10 },
  ];
  const usable = width - MARKER_WIDTH - 1; // last column keeps off the right edge
  const gaps = (n: number) => n - 1;
  const fixedWidth = (cols: Column[]) => cols.reduce((s, c) => s + c.width, 0);
  let flexCols = flex;
  let fixedCols = fixed;
  const fits = () => usable - fixedWidth(fixedCols) - gaps(fixedCols.length + flexCols.length) >= flexCols.reduce((s, f) => s + f.min, 0);
  if (!fits()) flexCols = flex.filter((f) => f.key !== 'step');
  if (!fits()) fixedCols = fixed.filter((c) => c.key !== 'idle');
  const room = Math.max(0, usable - fixedWidth(fixedCols) - gaps(fixedCols.length + flexCols.length));
  const totalWeight = flexCols.reduce((s, f) => s + f.weight, 0);
  const widths = flexCols.map((f) => Math.max(Math.min(f.min, room), Math.floor((room * f.weight) / totalWeight)));
  // Give rounding leftovers to the path.
  const spare = room - widths.reduce((s, w) => s + w, 0);
  if (spare > 0) widths[0]! += spare;
  const byKey = new Map<ColumnKey, Column>();
  for (const c of fixedCols) byKey.set(c.key, c);
  flexCols.forEach((f, i) => byKey.set(f.key, { key: f.key, title: f.title, width: widths[i]!, align: 'left' }));
  const order: ColumnKey[] = ['id', 'path', 'age', 'idle', 'step', 'diag', 'ch'];
  return order.map((k) => byKey.get(k)).filter((c): c is Column => c !== undefined);
}

/** The shortest id tail (at least `min` digits) that tells all `ids` apart. */
export function uniqueTailLength(ids: readonly string[], min = 6): number {
  const longest = ids.reduce((m, id) => Math.max(m, id.length), 0);
  for (let n = min; n < longest; n++) {
    const seen = new Set<string>();
    let unique = true;
    for (const id of ids) {
      const tail = id.slice(-n);
      if (seen.has(tail)) {
        unique = false;
        break;
      }
      seen.add(tail);
    }
    if (unique) return n;
  }
  return Math.max(min, longest);
}

export function shortId(id: string, tail: number): string {
  return id.length <= tail ? id : `${G().ellipsis}${id.slice(-tail)}`;
}

/** Cut to `width` with an ellipsis, then pad. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const chars = [...text];
  const cut = chars.length > width ? `${chars.slice(0, width - 1).join('')}${G().ellipsis}` : text;
  const pad = ' '.repeat(Math.max(0, width - Math.min(chars.length, width)));
  return align === 'right' ? pad + cut : cut + pad;
}

/** The text of one cell; database text goes through safeText. */
export function cellText(e: Execution, key: ColumnKey, idTail: number): string {
  switch (key) {
    case 'id':
      return shortId(e.execution_id, idTail);
    case 'path':
      return safeText(e.path ?? '?', 200);
    case 'age':
      return formatSeconds(e.age_seconds);
    case 'idle':
      return formatSeconds(e.idle_seconds);
    case 'step':
      return safeText(e.stuck_step ?? (e.last_step ? `after ${e.last_step}` : '-'), 100);
    case 'diag':
      return safeText(e.diagnosis, 100);
    case 'ch':
      return e.running_children ? String(e.running_children) : '';
  }
}
