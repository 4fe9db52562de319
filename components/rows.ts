import type { Execution } from '../src/noetl/model.js';
import { matchFilter, type ParsedFilter } from '../src/filter.js';

/**
 * A row of the list. `gone` is set when the execution dropped out of the
 * latest refresh while the operator was on it (cursor or mark): it stays in
 * place, dimmed, saying why, instead of the cursor jumping to another row.
 */
export interface Row {
  e: Execution;
  gone: string | null;
  /** When it was first seen gone (ms). */
  goneAt?: number;
}

/** How long a gone row stays on screen (cursor or mark on it) before it leaves. */
export const GONE_LINGER_MS = 8_000;

function olderFirst(a: Execution, b: Execution): number {
  if (a.started_at !== b.started_at) return a.started_at < b.started_at ? -1 : 1;
  const x = BigInt(a.execution_id);
  const y = BigInt(b.execution_id);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The new list: the fresh rows (already oldest first) plus, in their sorted
 * place, the kept rows of `previous` that are no longer in it. `goneWhy` says
 * why each one left (its final state, or that it no longer matches).
 */
export function mergeRows(previous: readonly Row[], fresh: readonly Execution[], keep: ReadonlySet<string>, goneWhy: ReadonlyMap<string, string>, now = Date.now()): Row[] {
  const freshIds = new Set(fresh.map((e) => e.execution_id));
  const ghosts = previous
    .filter((r) => keep.has(r.e.execution_id) && !freshIds.has(r.e.execution_id) && (r.goneAt === undefined || now - r.goneAt < GONE_LINGER_MS))
    .map((r) => ({ e: r.e, gone: goneWhy.get(r.e.execution_id) ?? r.gone ?? 'gone', goneAt: r.goneAt ?? now }))
    .sort((a, b) => olderFirst(a.e, b.e));
  const out: Row[] = [];
  let g = 0;
  for (const e of fresh) {
    while (g < ghosts.length && olderFirst(ghosts[g]!.e, e) < 0) out.push(ghosts[g++]!);
    out.push({ e, gone: null });
  }
  while (g < ghosts.length) out.push(ghosts[g++]!);
  return out;
}

/** The rows the filter expression keeps (src/filter.ts, the same as `list --filter`). */
export function matchRows(rows: readonly Row[], filter: ParsedFilter): readonly Row[] {
  if (filter.terms.length === 0) return rows;
  return rows.filter((r) => matchFilter(filter, r.e));
}

/** Why a kept execution left the list, from its described state. */
export function goneReason(state: string | undefined): string {
  if (!state) return 'gone: not found';
  return state === 'running' ? 'gone: unmatched' : `gone: ${state}`;
}
