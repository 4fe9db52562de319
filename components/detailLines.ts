import type { ShowData } from '../src/core/show.js';
import { showBody } from '../src/format/show.js';
import { toSegs, type Line } from './Lines.js';
import type { Theme } from './theme.js';

/** The scrollable body of the detail view: the lines of `show` (src/format/show.ts), drawn by Ink. */
export function detailLines(d: ShowData, theme: Theme, selectedChild: number | null = null): Line[] {
  return showBody(d, selectedChild).map((line) => toSegs(line, theme));
}
