/**
 * The running set kept between runs, so that a run costs what changed since
 * the previous one instead of an anti-join over the whole history.
 *
 * After a full load, the set (execution_id and start time of each running
 * execution) and a watermark are saved in the user's cache directory
 * (cache.ts). The next run revalidates instead of reading the history:
 *   1. the executions with a start event stamped after the watermark (the
 *      created_at index's recent slice) join the known ones;
 *   2. all of them are probed by execution_id for a start and no terminal
 *      event (the (execution_id, event_type, ...) index): the result is the
 *      running set, and it is saved with a new watermark.
 * Its cost follows the running set and the events since the previous run,
 * not the history.
 *
 * The watermark is created_at, not event_id. A writer stamps created_at
 * (DEFAULT CURRENT_TIMESTAMP: its transaction's start) before it commits, so
 * a row may become visible after a later-stamped one; the watermark is the
 * database clock read before the previous run's first statement minus
 * MARGIN_MS, so a row stamped before that statement and committed after it
 * is still in the next window if it committed within the margin (and a
 * writer's clock may be that far behind the database's). event_id cannot do
 * this: NoETL indexes it only inside (execution_id, event_id), so "ids above
 * X" has no index to read from; ids are minted by the writers in three bit
 * layouts, so they are not ordered by time across writers; and they are
 * minted before commit just the same.
 *
 * What a snapshot can miss: a running execution whose start event became
 * visible more than MARGIN_MS after it was stamped (a bulk import of old
 * rows, a transaction held open for longer). A full load finds it again; one
 * runs at least every --max-snapshot-age (counted from the full load the
 * snapshot descends from, not from its last revalidation). Writes stay
 * exact whatever the snapshot says: the mark path re-checks each execution
 * under its lock.
 *
 * Used only where the history is large (SNAPSHOT_MIN_EVENTS, from the
 * planner's statistics): below that a full load is cheap and exact.
 * Capabilities are not cached: they decide the shape of the writes, and one
 * catalog query is cheap next to the risk of writing to a schema that
 * migrated since.
 */
import { cacheDir, readCache, writeCache, type CacheKey } from '../cache.js';
import { databaseIdentity } from '../db/identity.js';
import type { LoadOptions, NoetlStore, RunningEntry, RunningSetProvider } from './store.js';

/** How far before the previous run's clock the next one re-reads starts (late commits, writer clock skew). */
export const MARGIN_MS = 5 * 60_000;
/** Default of --max-snapshot-age. */
export const DEFAULT_MAX_AGE_MS = 60 * 60_000;
/** Below this many events (planner estimate) every run is a full load. NOETL_CONSOLE_SNAPSHOT_MIN_EVENTS overrides it. */
export const SNAPSHOT_MIN_EVENTS = 1_000_000;
const KIND = 'running-set';

export interface SnapshotOptions {
  /** --fresh: a full load now (and a new snapshot from it). */
  fresh: boolean;
  /** --max-snapshot-age in ms: older snapshots (since their full load) are not used. */
  maxAgeMs: number;
  /** The config file's source name ("noetl" without one). */
  sourceName: string;
  /** host:port/db (or the PGlite directory): two copies of one cluster are two snapshots. */
  target: string;
  /** Default: cacheDir(). */
  dir?: string;
  minEvents?: number;
  marginMs?: number;
}

interface SnapshotDoc {
  /** Local clock (epoch ms) of the full load this snapshot descends from: what --max-snapshot-age is counted from. */
  full_load_at_ms: number;
  /** Database clock (epoch ms, UTC): the next run reads starts stamped after it. */
  watermark_ms: number;
  running: [string, number][];
}

/** Why the last read was what it was (bench, tests and NOETL_CONSOLE_DEBUG). */
export type SnapshotOutcome = 'revalidated' | 'full:missing' | 'full:corrupt' | 'full:foreign' | 'full:stale' | 'full:fresh' | 'small';

function parseDoc(value: unknown): SnapshotDoc | null {
  const v = value as Partial<SnapshotDoc> | null;
  if (!v || typeof v !== 'object') return null;
  if (!Number.isFinite(v.full_load_at_ms) || !Number.isFinite(v.watermark_ms) || !Array.isArray(v.running)) return null;
  for (const e of v.running) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || !/^-?\d{1,19}$/.test(e[0]) || !Number.isFinite(e[1])) return null;
  }
  return v as SnapshotDoc;
}

export function snapshotMinEvents(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.NOETL_CONSOLE_SNAPSHOT_MIN_EVENTS;
  return raw !== undefined && /^\d{1,12}$/.test(raw.trim()) ? Number(raw) : SNAPSHOT_MIN_EVENTS;
}

export class RunningSetSnapshot implements RunningSetProvider {
  private key: Promise<CacheKey> | null = null;
  /** What the last running() did. */
  outcome: SnapshotOutcome | null = null;
  /** The last save's error, if any: a cache that cannot be written never fails a command. */
  saveError: unknown = null;
  private fresh: boolean;

  constructor(
    private readonly store: NoetlStore,
    private readonly options: SnapshotOptions,
  ) {
    this.fresh = options.fresh;
  }

  private cacheKey(): Promise<CacheKey> {
    this.key ??= databaseIdentity(this.store.db).then((id) => ({
      system_identifier: id.system_identifier,
      database: id.database,
      target: this.options.target,
      schema: this.store.schema,
      source_kind: 'noetl',
      source_name: this.options.sourceName,
    }));
    return this.key;
  }

  async running(load: LoadOptions): Promise<RunningEntry[] | null> {
    if ((await this.store.estimatedEvents()) < (this.options.minEvents ?? snapshotMinEvents())) {
      this.outcome = 'small';
      return null;
    }
    const key = await this.cacheKey();
    const dir = this.options.dir ?? cacheDir();
    const margin = this.options.marginMs ?? MARGIN_MS;
    const saved = this.fresh ? null : readCache(KIND, key, parseDoc, dir);
    // --fresh is for this run's first load: the console's later refreshes may use what it saved.
    const fresh = this.fresh;
    this.fresh = false;
    const age = saved?.status === 'ok' ? Date.now() - saved.value.full_load_at_ms : null;
    const usable = saved?.status === 'ok' && age !== null && age >= -60_000 && age <= this.options.maxAgeMs ? saved.value : null;
    if (usable) {
      const since = await this.store.startedSince(usable.watermark_ms);
      const known = new Set(usable.running.map(([id]) => id));
      for (const id of since.ids) known.add(id);
      const running = await this.store.stillRunning([...known]);
      this.save(key, dir, { full_load_at_ms: usable.full_load_at_ms, watermark_ms: since.nowMs - margin, running });
      this.outcome = 'revalidated';
      return running;
    }
    this.outcome = fresh ? 'full:fresh' : saved?.status === 'ok' ? 'full:stale' : `full:${saved?.status ?? 'missing'}` as SnapshotOutcome;
    // The clock before the load's first statement: anything it did not see was stamped after this minus the margin.
    const fullLoadAt = Date.now();
    const { nowMs } = await this.store.startedSince(Number.MAX_SAFE_INTEGER);
    const running = await this.store.fullRunningSet(load);
    this.save(key, dir, { full_load_at_ms: fullLoadAt, watermark_ms: nowMs - margin, running });
    return running;
  }

  private save(key: CacheKey, dir: string, doc: { full_load_at_ms: number; watermark_ms: number; running: RunningEntry[] }): void {
    try {
      const value: SnapshotDoc = { ...doc, running: doc.running.map((e) => [e.execution_id, e.started_ms]) };
      writeCache(KIND, key, value, dir);
      this.saveError = null;
    } catch (error) {
      this.saveError = error;
    }
  }
}

/** Keep a NoETL store's running set between runs (no-op for other stores). */
export function useSnapshot(store: NoetlStore, options: SnapshotOptions): RunningSetSnapshot {
  const snapshot = new RunningSetSnapshot(store, options);
  store.snapshot = snapshot;
  return snapshot;
}
