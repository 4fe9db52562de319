/**
 * Learned thresholds: how long each playbook path (each label, for status
 * tables) usually runs, from its finished executions of the last N days,
 * and how a running execution's age compares with that.
 */
import type { Execution } from './execution.js';

export const DEFAULT_HISTORY_DAYS = 14;
/** Finished runs needed before a ratio is shown or counts in a policy. */
export const DEFAULT_MIN_HISTORY = 5;

/** One path's finished durations, seconds. */
export interface Threshold {
  path: string;
  samples: number;
  median_seconds: number;
  p95_seconds: number;
  p99_seconds: number;
}

/**
 * PostgreSQL's percentile_cont over `sorted` (ascending, not empty): the
 * linear interpolation between the values at position p * (n - 1), computed
 * as orderedsetaggs.c does, so that the result is the same double.
 */
export function percentileCont(sorted: readonly number[], p: number): number {
  const at = p * (sorted.length - 1);
  const first = Math.floor(at);
  const second = Math.ceil(at);
  const lo = sorted[first]!;
  return second > first ? lo + (at - first) * (sorted[second]! - lo) : lo;
}

/** A path's threshold from its runs' durations, as thresholdsSql computes it on one database. */
export function thresholdOf(path: string, seconds: number[]): Threshold {
  const sorted = seconds.sort((a, b) => a - b);
  return {
    path,
    samples: sorted.length,
    median_seconds: percentileCont(sorted, 0.5),
    p95_seconds: percentileCont(sorted, 0.95),
    p99_seconds: percentileCont(sorted, 0.99),
  };
}

/** What a stuck row carries (list --json, the RATIO column, `ratio>3`). */
export interface HistoryFields {
  typical_seconds: number | null;
  p95_seconds: number | null;
  /** age / p95, two decimals; null: fewer finished runs than min_history ("no history"). */
  ratio: number | null;
  history_samples: number;
}

export type ThresholdMap = ReadonlyMap<string, Threshold>;

export function thresholdMap(rows: readonly Threshold[]): ThresholdMap {
  return new Map(rows.map((t) => [t.path, t]));
}

export function historyOf(e: Pick<Execution, 'path' | 'age_seconds'>, map: ThresholdMap, minHistory = DEFAULT_MIN_HISTORY): HistoryFields {
  const t = e.path === null ? undefined : map.get(e.path);
  if (!t || t.samples < minHistory) {
    return { typical_seconds: t ? Math.round(t.median_seconds) : null, p95_seconds: t ? Math.round(t.p95_seconds) : null, ratio: null, history_samples: t?.samples ?? 0 };
  }
  // A p95 under a second (instant playbooks) would make every age a huge ratio: a second is the floor.
  const ratio = Math.round((e.age_seconds / Math.max(1, t.p95_seconds)) * 100) / 100;
  return { typical_seconds: Math.round(t.median_seconds), p95_seconds: Math.round(t.p95_seconds), ratio, history_samples: t.samples };
}

/** Each execution with its `history` set (a new object; the live set's rows are shared). */
export function withHistory<E extends Execution>(rows: readonly E[], map: ThresholdMap, minHistory = DEFAULT_MIN_HISTORY): E[] {
  return rows.map((e) => ({ ...e, history: historyOf(e, map, minHistory) }));
}

/** The human column: "4.1x p95", "no history". */
export function ratioText(h: HistoryFields | null | undefined): string {
  if (!h) return '';
  if (h.ratio === null) return 'no history';
  return `${h.ratio >= 10 ? Math.round(h.ratio) : h.ratio.toFixed(1)}x p95`;
}

/** The list --json keys. */
export function historyJson(h: HistoryFields | null | undefined) {
  return { typical_seconds: h?.typical_seconds ?? null, p95_seconds: h?.p95_seconds ?? null, ratio: h?.ratio ?? null };
}

/**
 * Where thresholds persist between processes. The disk copy (the user's
 * cache dir) plugs in here; see README, "Learned thresholds".
 */
export interface ThresholdStore {
  get(key: string): Promise<{ at: number; rows: Threshold[] } | null>;
  set(key: string, value: { at: number; rows: Threshold[] }): Promise<void>;
}

/** A read of a source's thresholds shared for `ttlMs`, in memory and in an optional store. */
export class ThresholdCache {
  private last: { at: number; map: ThresholdMap } | null = null;
  private inflight: Promise<ThresholdMap> | null = null;
  private failed: { at: number; error: unknown } | null = null;

  constructor(
    private readonly read: () => Promise<Threshold[]>,
    private readonly key: string,
    private readonly ttlMs: number,
    private readonly store: ThresholdStore | null = null,
    private readonly now: () => number = Date.now,
  ) {}

  /** A read that failed is not retried for a minute (a console refreshes every few seconds). */
  static readonly RETRY_MS = 60_000;

  /** What is known now, without waiting (empty before the first read); starts a read when stale. */
  peek(): ThresholdMap {
    void this.get().catch(() => undefined);
    return this.last?.map ?? new Map();
  }

  get(): Promise<ThresholdMap> {
    const now = this.now();
    if (this.last && now - this.last.at < this.ttlMs) return Promise.resolve(this.last.map);
    if (this.failed && now - this.failed.at < ThresholdCache.RETRY_MS) return Promise.reject(this.failed.error);
    this.inflight ??= (async () => {
      if (!this.last && this.store) {
        const kept = await this.store.get(this.key).catch(() => null);
        if (kept && now - kept.at < this.ttlMs && Array.isArray(kept.rows)) {
          this.last = { at: kept.at, map: thresholdMap(kept.rows) };
          return this.last.map;
        }
      }
      const rows = await this.read();
      const at = this.now();
      this.last = { at, map: thresholdMap(rows) };
      this.failed = null;
      await this.store?.set(this.key, { at, rows }).catch(() => undefined);
      return this.last.map;
    })()
      .catch((error: unknown) => {
        this.failed = { at: this.now(), error };
        throw error;
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }
}
