import type { Execution } from '../src/core/execution.js';
import { FIELD, FIELDS, fitCell, shortId as shortIdOf, type ColumnKey } from '../src/format/columns.js';
import { G } from './glyphs.js';

export type { ColumnKey } from '../src/format/columns.js';

export interface Column {
  key: ColumnKey;
  title: string;
  width: number;
  align: 'left' | 'right';
}

/** Width of the `> *` markers before each row. */
export const MARKER_WIDTH = 3;

/**
 * Column widths for a terminal `width` wide, from the fields' width policy
 * (src/format/columns.ts): fixed columns first (the id `idWidth`); the flex
 * ones share what is left. A narrow terminal drops columns by their
 * dropOrder (the step, then idle), so the rest stays readable.
 */
export function layoutColumns(width: number, idWidth: number, withRatio = false): Column[] {
  const usable = width - MARKER_WIDTH - 1; // last column keeps off the right edge
  const fixedWidth = (key: ColumnKey) => {
    const w = FIELD[key].width;
    return key === 'id' ? idWidth : 'fixed' in w ? w.fixed : 0;
  };
  const isFlex = (key: ColumnKey) => 'weight' in FIELD[key].width;
  const minOf = (key: ColumnKey) => {
    const w = FIELD[key].width;
    return 'min' in w ? w.min : 0;
  };
  // RATIO only when some row has a learned threshold (its field's shownFor).
  let keys = FIELDS.filter((f) => !f.shownFor || withRatio).map((f) => f.key);
  const fits = () => {
    const fixed = keys.filter((k) => !isFlex(k)).reduce((s, k) => s + fixedWidth(k), 0);
    return usable - fixed - (keys.length - 1) >= keys.filter(isFlex).reduce((s, k) => s + minOf(k), 0);
  };
  for (const f of FIELDS.filter((f) => f.dropOrder !== undefined).sort((a, b) => a.dropOrder! - b.dropOrder!)) {
    if (fits()) break;
    keys = keys.filter((k) => k !== f.key);
  }
  const flex = keys.filter(isFlex);
  const room = Math.max(0, usable - keys.filter((k) => !isFlex(k)).reduce((s, k) => s + fixedWidth(k), 0) - (keys.length - 1));
  const weightOf = (key: ColumnKey) => {
    const w = FIELD[key].width;
    return 'weight' in w ? w.weight : 0;
  };
  const totalWeight = flex.reduce((s, k) => s + weightOf(k), 0);
  const widths = new Map(flex.map((k) => [k, Math.max(Math.min(minOf(k), room), Math.floor((room * weightOf(k)) / totalWeight))]));
  // Give rounding leftovers to the first flex column (the path).
  const spare = room - [...widths.values()].reduce((s, w) => s + w, 0);
  if (spare > 0 && flex[0]) widths.set(flex[0], widths.get(flex[0])! + spare);
  return keys.map((key) => ({ key, title: FIELD[key].title, width: widths.get(key) ?? fixedWidth(key), align: FIELD[key].align }));
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
  return shortIdOf(id, tail, G().ellipsis);
}

/** Cut to `width` terminal cells with an ellipsis, then pad. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  return fitCell(text, width, align, G().ellipsis);
}

/** The text of one cell (src/format/columns.ts). */
export function cellText(e: Execution, key: ColumnKey, idTail: number): string {
  const field = FIELD[key];
  return field.short ? field.short(e) : field.text(e, idTail, G().ellipsis);
}
