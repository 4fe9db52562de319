/**
 * The full load cut into execution_id ranges, so that no single statement
 * reads the whole history. An execution's start and terminal events carry
 * its execution_id, so the running-set anti-join of each range is exact and
 * the union of the ranges is the unchunked result.
 *
 * Cuts come from the planner's statistics (catalog reads only): each leaf
 * partition's histogram of execution_id splits it into buckets of about
 * equal rows; a leaf without one but with finite range bounds is cut into
 * equal id slices (snowflake ids grow with time: time slices). Buckets are
 * then gathered into chunks of about `chunkRows` events. The first and last
 * chunks are open-ended, so rows outside stale statistics are still read.
 */

export const MIN_ID = -(2n ** 63n);
export const MAX_ID = 2n ** 63n - 1n;

/** An inclusive execution_id range, as decimal strings (bind parameters). */
export interface IdRange {
  lo: string;
  hi: string;
}

export const WHOLE_RANGE: IdRange = { lo: MIN_ID.toString(), hi: MAX_ID.toString() };

/** One leaf of the event table as eventLeavesSql() (src/noetl/sql.ts) reads it. */
export interface LeafStats {
  /** pg_class.reltuples: -1 (never analyzed) or an estimate. */
  rows: number;
  /** `FOR VALUES FROM (..) TO (..)` when range-partitioned by execution_id, else null. */
  bound: string | null;
  /** pg_stats.histogram_bounds as text (`{1,2,3}`), or null. */
  histogram: string | null;
}

interface Bucket {
  lo: bigint;
  hi: bigint;
  rows: number;
}

function parseBound(bound: string | null): { from: bigint | null; to: bigint | null } | null {
  const m = bound && /FROM \(([^)]*)\) TO \(([^)]*)\)/.exec(bound);
  if (!m) return null;
  const value = (v: string) => (/^'?-?\d+'?$/.test(v.trim()) ? BigInt(v.trim().replace(/'/g, '')) : null);
  return { from: value(m[1]!), to: value(m[2]!) };
}

function bucketsOf(leaf: LeafStats, chunkRows: number): Bucket[] {
  if (!(leaf.rows > 0)) return [];
  const bounds = leaf.histogram
    ?.replace(/^\{|\}$/g, '')
    .split(',')
    .filter((v) => /^-?\d+$/.test(v))
    .map((v) => BigInt(v));
  if (bounds && bounds.length >= 2) {
    const per = leaf.rows / (bounds.length - 1);
    return bounds.slice(1).map((hi, i) => ({ lo: bounds[i]!, hi, rows: per }));
  }
  // No histogram: equal slices of the partition's id range (time slices for snowflake ids).
  const range = parseBound(leaf.bound);
  if (!range || range.from === null || range.to === null || range.to <= range.from) return [];
  const n = BigInt(Math.min(1000, Math.ceil(leaf.rows / chunkRows)));
  const width = (range.to - range.from) / n;
  if (width <= 0n) return [];
  return Array.from({ length: Number(n) }, (_, i) => ({
    lo: range.from! + width * BigInt(i),
    hi: i === Number(n) - 1 ? range.to! - 1n : range.from! + width * BigInt(i + 1) - 1n,
    rows: leaf.rows / Number(n),
  }));
}

/** Cut points: chunk i reads [cut[i-1], cut[i] - 1], the first from MIN_ID, the last to MAX_ID. */
export function planCuts(leaves: readonly LeafStats[], chunkRows: number): bigint[] {
  const buckets = leaves.flatMap((l) => bucketsOf(l, chunkRows)).sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const total = buckets.reduce((sum, b) => sum + b.rows, 0);
  const cuts: bigint[] = [];
  let acc = 0;
  let left = total;
  for (const b of buckets) {
    acc += b.rows;
    left -= b.rows;
    // Cut after this bucket when the chunk is full and enough is left for another (no sliver at the end).
    if (acc >= chunkRows && left >= chunkRows / 4) {
      const cut = b.hi + 1n;
      if (cut > (cuts.at(-1) ?? MIN_ID) && cut <= MAX_ID) cuts.push(cut);
      acc = 0;
    }
  }
  return cuts;
}

/** The ranges between cut points (sorted, distinct), covering every bigint. */
export function rangesOf(cuts: readonly bigint[]): IdRange[] {
  const sorted = [...new Set(cuts)].filter((c) => c > MIN_ID && c <= MAX_ID).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ranges: IdRange[] = [];
  let lo = MIN_ID;
  for (const cut of sorted) {
    ranges.push({ lo: lo.toString(), hi: (cut - 1n).toString() });
    lo = cut;
  }
  ranges.push({ lo: lo.toString(), hi: MAX_ID.toString() });
  return ranges;
}

/** Run `work` over `items`, at most `parallel` at a time; results in item order. */
export async function mapLimited<T, R>(items: readonly T[], parallel: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await work(items[i]!, i);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, items.length)) }, worker));
  return out;
}
