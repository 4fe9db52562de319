/**
 * The columns of a list of executions, declared once: name, width policy,
 * alignment, text and colour. `list` (src/format/human.ts) sizes them to
 * their content; the console (components/columns.ts, Table.tsx) to the
 * terminal. Widths are terminal cells (string-width), so a CJK or emoji path
 * does not shift the columns after it.
 */
import cliTruncate from 'cli-truncate';
import stringWidth from 'string-width';
import { formatSeconds } from '../duration.js';
import type { Execution } from '../core/execution.js';
import { ratioText } from '../core/thresholds.js';
import { safeText } from '../sanitize.js';
import { severityTone, type Tone } from './spans.js';

export type ColumnKey = 'id' | 'path' | 'age' | 'idle' | 'step' | 'diag' | 'ch' | 'ratio';

export interface Field {
  key: ColumnKey;
  title: string;
  /** The title where the whole id is shown (`list`). */
  listTitle?: string;
  align: 'left' | 'right';
  /** Fixed: the console's width. Flex: a share of the room left (weight), never under `min`; `list` shrinks these first. */
  width: { fixed: number } | { weight: number; min: number };
  /** Dropped on a narrow console, lowest first. */
  dropOrder?: number;
  /** The cell; `idTail` shortens the id to its last digits (null: whole). Database text is made safe here. */
  text(e: Execution, idTail: number | null, ellipsis: string): string;
  tone?(e: Execution): Tone | undefined;
  /** The console's narrower cell, where it differs from `list`'s. */
  short?(e: Execution): string;
  /** Shown only when this holds for the rows (RATIO: some row has a ratio to show). */
  shownFor?(rows: readonly Execution[]): boolean;
}

/** The whole id, or an ellipsis and its last `tail` digits. */
export function shortId(id: string, tail: number | null, ellipsis: string): string {
  return tail === null || id.length <= tail ? id : `${ellipsis}${id.slice(-tail)}`;
}

export const FIELDS: readonly Field[] = [
  { key: 'id', title: 'ID', listTitle: 'EXECUTION', align: 'left', width: { fixed: 0 }, text: (e, tail, ell) => shortId(e.execution_id, tail, ell) },
  { key: 'path', title: 'PATH', align: 'left', width: { weight: 4, min: 12 }, text: (e) => safeText(e.path ?? '?', 200) },
  { key: 'age', title: 'AGE', align: 'right', width: { fixed: 6 }, text: (e) => formatSeconds(e.age_seconds) },
  { key: 'idle', title: 'IDLE', align: 'right', width: { fixed: 6 }, dropOrder: 2, text: (e) => formatSeconds(e.idle_seconds) },
  {
    key: 'step',
    title: 'STEP',
    align: 'left',
    width: { weight: 2, min: 8 },
    dropOrder: 1,
    text: (e) => safeText(e.stuck_step ?? (e.last_step ? `after ${e.last_step}` : '-'), 100),
  },
  { key: 'diag', title: 'DIAGNOSIS', align: 'left', width: { weight: 3, min: 10 }, text: (e) => safeText(e.diagnosis, 100), tone: (e) => severityTone(e.severity) },
  { key: 'ch', title: 'CH', align: 'right', width: { fixed: 3 }, text: (e) => (e.running_children ? String(e.running_children) : '') },
  {
    key: 'ratio',
    title: 'RATIO',
    align: 'right',
    width: { fixed: 6 },
    dropOrder: 3,
    text: (e) => ratioText(e.history),
    short: (e) => (e.history?.ratio == null ? '-' : ratioText(e.history).replace(/ p95$/, '')),
    shownFor: (rows) => rows.some((e) => e.history?.ratio != null),
  },
];

/** The fields shown for these rows. */
export function fieldsFor(rows: readonly Execution[]): Field[] {
  return FIELDS.filter((f) => !f.shownFor || f.shownFor(rows));
}

export const FIELD: Readonly<Record<ColumnKey, Field>> = Object.fromEntries(FIELDS.map((f) => [f.key, f])) as Record<ColumnKey, Field>;

/** Terminal cells the text takes. */
export const cellWidth = (text: string): number => stringWidth(text);

/** Cut to `width` cells with `ellipsis` at the end, then pad to exactly `width`. */
export function fitCell(text: string, width: number, align: 'left' | 'right' = 'left', ellipsis = '…'): string {
  if (width <= 0) return '';
  const cut = cellWidth(text) > width ? cliTruncate(text, width, { position: 'end', truncationCharacter: ellipsis }) : text;
  const pad = ' '.repeat(Math.max(0, width - cellWidth(cut)));
  return align === 'right' ? pad + cut : cut + pad;
}
