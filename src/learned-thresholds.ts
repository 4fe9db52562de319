/**
 * One cache of a source's learned thresholds per history window, shared by
 * everything in the process that judges its rows (the commands, the console),
 * in memory and, once a caller passes its environment, in the user's cache
 * directory beside the running-set snapshot: the next run, command or
 * console, starts with them instead of a pass over the window's completions
 * (seconds on a large history).
 */
import { DEFAULT_HISTORY_DAYS, DEFAULT_MIN_HISTORY, ThresholdCache, type Threshold, type ThresholdStore } from './core/thresholds.js';
import { cacheDir, readCache, writeCache, type CacheKey } from './cache.js';
import { databaseIdentity } from './db/identity.js';
import type { ExecutionSource } from './source.js';

const caches = new WeakMap<ExecutionSource, Map<number, ThresholdCache>>();

/** Thresholds are reused this long unless the config says (thresholds.cache_minutes). */
export const DEFAULT_THRESHOLDS_TTL_MS = 10 * 60_000;

/**
 * The cache of `source`'s thresholds over `days`. The first call for a source and window makes it:
 * with `env`, kept on disk (the bin's commands and console); without, in memory only (tests of the
 * console in process, which must not share the user's cache directory).
 */
export function learnedThresholds(source: ExecutionSource, days: number, ttlMs: number, env: NodeJS.ProcessEnv | null): ThresholdCache {
  let byDays = caches.get(source);
  if (!byDays) caches.set(source, (byDays = new Map()));
  let cache = byDays.get(days);
  if (!cache) {
    const read = source.thresholds ? () => source.thresholds!(days) : () => Promise.resolve([]);
    cache = new ThresholdCache(read, `${source.kind}:${source.name}:${source.describeTarget}:${days}`, ttlMs, env ? diskStore(source, env) : null);
    byDays.set(days, cache);
  }
  return cache;
}

/** How the console judges a source's rows: the cache of its thresholds and the finished runs a ratio needs. */
export interface ConsoleJudging {
  cache: ThresholdCache;
  minHistory: number;
}
const consoleJudging = new WeakMap<ExecutionSource, ConsoleJudging>();

/** The bin's console judges as the commands do: the config's window and min_history, the cache on disk (commands/ui.ts). */
export function judgeInConsole(source: ExecutionSource, judging: { days: number; cacheMs: number; minHistory: number }, env: NodeJS.ProcessEnv): void {
  consoleJudging.set(source, { cache: learnedThresholds(source, judging.days, judging.cacheMs, env), minHistory: judging.minHistory });
}

/** The console's judging of `source`: as its command set it, else 14 days and the default min_history, in memory. */
export function consoleThresholds(source: ExecutionSource): ConsoleJudging {
  return consoleJudging.get(source) ?? { cache: learnedThresholds(source, DEFAULT_HISTORY_DAYS, DEFAULT_THRESHOLDS_TTL_MS, null), minHistory: DEFAULT_MIN_HISTORY };
}

/**
 * The user's cache directory, keyed by the database's system identifier and
 * name, then the source and window: a read is shared by every run (command or
 * console) on the same source per cache period. A cache that cannot be read or
 * written is no cache.
 */
function diskStore(source: ExecutionSource, env: NodeJS.ProcessEnv): ThresholdStore {
  let identity: Promise<CacheKey> | null = null;
  const keyOf = (key: string) =>
    (identity ??= databaseIdentity(source.db).then((id) => ({ system_identifier: id.system_identifier, database: id.database }))).then((id) => ({ ...id, source: key }));
  const parse = (value: unknown) => {
    const v = value as { at?: unknown; rows?: unknown };
    return typeof v?.at === 'number' && Array.isArray(v.rows) ? (v as { at: number; rows: Threshold[] }) : null;
  };
  return {
    async get(key) {
      const read = readCache('thresholds', await keyOf(key), parse, cacheDir(env));
      return read.status === 'ok' ? read.value : null;
    },
    async set(key, value) {
      writeCache('thresholds', await keyOf(key), value, cacheDir(env));
    },
  };
}
