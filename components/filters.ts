import { formatSeconds } from '../src/duration.js';
import type { StuckFilter } from '../src/core/filter.js';
import { G } from './glyphs.js';

/** What the list shows: the stuck filter's age, idle and children (src/core/filter.ts), and the typed filter text. */
export type Filter = Required<Pick<StuckFilter, 'olderThanSeconds' | 'idleSeconds' | 'includeChildren'>> & { text: string };

/** Keys 0-5: any age, then at least 5m … 24h. */
export const AGE_PRESETS = [0, 5 * 60, 15 * 60, 3600, 6 * 3600, 24 * 3600] as const;
export const IDLE_STEPS: readonly (number | null)[] = [null, 5 * 60, 15 * 60, 3600];

/** The next preset above (dir 1) or below (dir -1) the current age; stays put at the ends. */
export function stepAge(current: number, dir: 1 | -1): number {
  if (dir === 1) return AGE_PRESETS.find((p) => p > current) ?? current;
  return [...AGE_PRESETS].reverse().find((p) => p < current) ?? current;
}

/** off → 5m → 15m → 1h → off; a value from the flag that is not a step moves to the next step above it. */
export function nextIdle(current: number | null): number | null {
  if (current === null) return IDLE_STEPS[1]!;
  return IDLE_STEPS.find((s): s is number => s !== null && s > current) ?? null;
}

export function describeFilter(f: Filter): string {
  const { ge, dot } = G();
  // The typed filter first: it is what the operator set last and reads for.
  const parts = f.text ? [`filter "${f.text}"`] : [];
  parts.push(f.olderThanSeconds === 0 ? 'age any' : `age${ge}${formatSeconds(f.olderThanSeconds)}`);
  parts.push(f.idleSeconds === null ? 'idle any' : `idle${ge}${formatSeconds(f.idleSeconds)}`);
  parts.push(f.includeChildren ? 'with children' : 'no children');
  return parts.join(` ${dot} `);
}
