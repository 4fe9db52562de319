import { matchFilter, type ParsedFilter } from '../src/core/filter-language.js';
import type { Execution } from '../src/core/execution.js';

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
  /** In the tree view: how far under its shown ancestor (0 for a top row). */
  depth?: number;
}

/** How long a gone row stays on screen (cursor or mark on it) before it leaves. */
export const GONE_LINGER_MS = 15_000;

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
  // Which kept ids are still there: a set of the few kept, not of every fresh row.
  const stillThere = new Set<string>();
  if (keep.size > 0) for (const e of fresh) if (keep.has(e.execution_id)) stillThere.add(e.execution_id);
  const ghosts = previous
    .filter((r) => keep.has(r.e.execution_id) && !stillThere.has(r.e.execution_id) && (r.goneAt === undefined || now - r.goneAt < GONE_LINGER_MS))
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
  const kept = rows.filter((r) => matchFilter(filter, r.e));
  // Every row kept (the first letters of a word most rows share): the same list, so nothing derived from it is redone.
  return kept.length === rows.length ? rows : kept;
}

/** Why a kept execution left the list, from its described state. */
export function goneReason(state: string | undefined): string {
  if (!state) return 'gone: not found';
  return state === 'running' ? 'gone: unmatched' : `gone: ${state}`;
}

export type SortKey = 'id' | 'path' | 'age' | 'ratio' | 'idle' | 'step' | 'diag' | 'ch';
export interface Sort {
  key: SortKey;
  /** Largest (or last) first. */
  desc: boolean;
}
/** Oldest first, as NoETL's sweep sees them. */
export const DEFAULT_SORT: Sort = { key: 'age', desc: true };
export const SORT_KEYS: readonly SortKey[] = ['id', 'path', 'age', 'ratio', 'idle', 'step', 'diag', 'ch'];

function sortValue(e: Execution, key: SortKey): string | number | bigint {
  switch (key) {
    case 'id':
      return BigInt(e.execution_id);
    case 'path':
      return (e.path ?? '').toLowerCase();
    case 'age':
      return e.age_seconds;
    case 'idle':
      return e.idle_seconds ?? e.age_seconds;
    case 'step':
      return (e.stuck_step ?? e.last_step ?? '').toLowerCase();
    case 'diag':
      return e.diagnosis.toLowerCase();
    case 'ch':
      return e.running_children;
    case 'ratio':
      // No history sorts below every ratio.
      return e.history?.ratio ?? -1;
  }
}

/** Rows by one column; ties keep the list's order (oldest first). */
export function sortRows(rows: readonly Row[], sort: Sort): readonly Row[] {
  if (sort.key === DEFAULT_SORT.key && sort.desc === DEFAULT_SORT.desc) return rows;
  const dir = sort.desc ? -1 : 1;
  return rows
    .map((r, i) => ({ r, i, v: sortValue(r.e, sort.key) }))
    .sort((a, b) => (a.v < b.v ? -dir : a.v > b.v ? dir : a.i - b.i))
    .map((x) => x.r);
}

/**
 * The tree view: each row followed by its children (those shown), indented,
 * in the order given; a row whose parent is not shown is a top row.
 */
export function treeRows(rows: readonly Row[]): Row[] {
  const ids = new Set(rows.map((r) => r.e.execution_id));
  const kids = new Map<string, Row[]>();
  const top: Row[] = [];
  for (const r of rows) {
    const p = r.e.parent_execution_id;
    if (p !== null && ids.has(p) && p !== r.e.execution_id) {
      const list = kids.get(p) ?? [];
      list.push(r);
      kids.set(p, list);
    } else top.push(r);
  }
  const out: Row[] = [];
  const seen = new Set<string>();
  const walk = (r: Row, depth: number) => {
    if (seen.has(r.e.execution_id)) return; // a parent cycle shows each row once
    seen.add(r.e.execution_id);
    out.push(depth === (r.depth ?? 0) ? r : { ...r, depth });
    for (const k of kids.get(r.e.execution_id) ?? []) walk(k, depth + 1);
  };
  for (const r of top) walk(r, 0);
  for (const r of rows) if (!seen.has(r.e.execution_id)) walk(r, 0);
  return out;
}
