/**
 * The running set kept between runs, so that a run costs what changed since
 * the previous one instead of an anti-join over the whole history.
 *
 * After a full load, the running set (every running execution as the
 * listing describes it) and a watermark are saved in the user's cache
 * directory (cache.ts). The next run revalidates instead of reading the
 * history:
 *   1. the known running executions are probed by execution_id for a
 *      terminal event (the (execution_id, event_type, ...) index), whenever
 *      that event was stamped: those that finished leave;
 *   2. what the console's live refresh reads (live.ts): executions with
 *      events stamped after the watermark, re-described (new starts join,
 *      finishes leave, progress updates the row), and worker heartbeats.
 * Its cost follows the running set and the events since the previous run,
 * not the history. The result is saved again, with a new watermark.
 *
 * The watermark is created_at, not event_id. A writer stamps created_at
 * (DEFAULT CURRENT_TIMESTAMP: its transaction's start) before it commits, so
 * a row may become visible after a later-stamped one; the watermark is the
 * database clock read before the run's first statement minus MARGIN_MS, so
 * a row stamped before that statement and committed after it is still in
 * the next window if it committed within the margin (a writer's clock may be
 * that far behind the database's, too). event_id cannot do this: NoETL
 * indexes it only after execution_id, so "ids above X" has no index to read
 * from; writers mint ids in three bit layouts, not ordered by time across
 * writers; and they are minted before commit just the same.
 *
 * What a snapshot can miss: a start or progress event that became visible
 * more than MARGIN_MS after it was stamped (a bulk import of old rows, a
 * transaction held open longer), and a change only in the command table.
 * A full load finds them; one runs at least every --max-snapshot-age
 * (counted from the full load the snapshot descends from, not from its last
 * revalidation). Writes stay exact whatever the snapshot says: the mark path
 * re-checks each execution under its lock.
 *
 * Used only where the history is large (SNAPSHOT_MIN_EVENTS, from the
 * planner's statistics): below that a full load is cheap and exact.
 * Capabilities are not cached: they decide the shape of the writes, and one
 * catalog query is cheap next to the risk of writing to a schema that
 * migrated since.
 */
import { cacheDir, readCache, writeCache, type CacheKey } from '../cache.js';
import { databaseIdentity } from '../db/identity.js';
import { LiveRunningSet, type LiveState } from './live.js';
import type { DescribedRow } from './model.js';
import type { LoadOptions, NoetlStore, RunningSetProvider } from './store.js';

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
  /** The live set's state: described rows, database clock, watermark (created_at, epoch ms UTC), window counts. */
  state: LiveState;
}

/** Why the last read was what it was (bench, tests and NOETL_CONSOLE_DEBUG). */
export type SnapshotOutcome = 'revalidated' | 'full:missing' | 'full:corrupt' | 'full:foreign' | 'full:stale' | 'full:fresh' | 'small';

/** What callers read of a source's snapshots after a run (commands: NOETL_CONSOLE_DEBUG); a sharded cluster has one per shard. */
export interface SnapshotReport {
  /** A SnapshotOutcome, or one per shard when its shards' differ; null before the first read. */
  readonly outcome: string | null;
  readonly saveError: unknown;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function parseDoc(value: unknown): SnapshotDoc | null {
  const v = value as { full_load_at_ms?: unknown; state?: Partial<LiveState> } | null;
  const st = v?.state;
  if (!v || !finite(v.full_load_at_ms) || !st || !finite(st.nowMs) || !finite(st.watermarkMs) || !Array.isArray(st.rows) || !Array.isArray(st.windowCounts)) return null;
  for (const r of st.rows as unknown[]) {
    const row = r as Partial<DescribedRow> | null;
    if (!row || typeof row.execution_id !== 'string' || !/^-?\d{1,19}$/.test(row.execution_id) || !finite(row.started_ms) || !finite(row.now_ms)) return null;
  }
  for (const e of st.windowCounts as unknown[]) if (!Array.isArray(e) || typeof e[0] !== 'string' || !finite(e[1])) return null;
  return v as SnapshotDoc;
}

export function snapshotMinEvents(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.NOETL_CONSOLE_SNAPSHOT_MIN_EVENTS;
  return raw !== undefined && /^\d{1,12}$/.test(raw.trim()) ? Number(raw) : SNAPSHOT_MIN_EVENTS;
}

export class RunningSetSnapshot implements RunningSetProvider, SnapshotReport {
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
    this.key ??= databaseIdentity(this.store.db).then(
      (id) => ({
        system_identifier: id.system_identifier,
        database: id.database,
        target: this.options.target,
        schema: this.store.schema,
        source_kind: 'noetl',
        source_name: this.options.sourceName,
      }),
      // A database that did not answer (a shard down) is asked again next time.
      (error: unknown) => {
        this.key = null;
        throw error;
      },
    );
    return this.key;
  }

  async running(load: LoadOptions): Promise<LiveRunningSet | null> {
    if ((await this.store.estimatedEvents()) < (this.options.minEvents ?? snapshotMinEvents())) {
      this.outcome = 'small';
      return null;
    }
    const key = await this.cacheKey();
    const dir = this.options.dir ?? cacheDir();
    const marginMs = this.options.marginMs ?? MARGIN_MS;
    // The set is refreshed here only, incrementally: never a reconcile of its own.
    const live = new LiveRunningSet(this.store, { marginMs, reconcileMs: Number.MAX_SAFE_INTEGER });
    // --fresh is for this run's first load: the console's later loads may use what it saved, except on ctrl-r.
    const fresh = this.fresh || load.fresh === true;
    this.fresh = false;
    const saved = fresh ? null : readCache(KIND, key, parseDoc, dir);
    const age = saved?.status === 'ok' ? Date.now() - saved.value.full_load_at_ms : null;
    const usable = saved?.status === 'ok' && age !== null && age >= -60_000 && age <= this.options.maxAgeMs ? saved.value : null;
    if (usable) {
      const finished = await this.store.terminalAmong(usable.state.rows.map((r) => r.execution_id));
      // A finished child leaves before refresh() could name its parent (its terminal event need not carry
      // parent_execution_id): its running parents are described again here, their running_children current.
      const parents = new Set(usable.state.rows.filter((r) => finished.has(r.execution_id) && r.parent_execution_id !== null).map((r) => r.parent_execution_id));
      const kept = usable.state.rows.filter((r) => !finished.has(r.execution_id));
      const again = new Map((await this.store.describeRows(kept.filter((r) => parents.has(r.execution_id)).map((r) => r.execution_id))).map((r) => [r.execution_id, r]));
      live.restore({ ...usable.state, rows: kept.map((r) => again.get(r.execution_id) ?? r).filter((r) => r.terminal_type === null) });
      await live.refresh();
      this.save(key, dir, usable.full_load_at_ms, live);
      this.outcome = 'revalidated';
      return live;
    }
    this.outcome = fresh ? 'full:fresh' : saved?.status === 'ok' ? 'full:stale' : (`full:${saved?.status ?? 'missing'}` as SnapshotOutcome);
    const fullLoadAt = Date.now();
    // The clock before the load's first statement: whatever the load did not see was stamped after this minus the margin.
    const { nowMs } = await this.store.recentActivity(Number.MAX_SAFE_INTEGER);
    const rows = await this.store.loadStuckRows({ olderThanSeconds: 0, includeChildren: true }, load);
    live.restore({ rows, nowMs: rows[0]?.now_ms ?? nowMs, watermarkMs: nowMs - marginMs, windowCounts: [] });
    this.save(key, dir, fullLoadAt, live);
    return live;
  }

  private save(key: CacheKey, dir: string, fullLoadAt: number, live: LiveRunningSet): void {
    try {
      const value: SnapshotDoc = { full_load_at_ms: fullLoadAt, state: live.exportState() };
      writeCache(KIND, key, value, dir);
      this.saveError = null;
    } catch (error) {
      this.saveError = error;
    }
  }
}

/** Keep a NoETL store's running set between runs. */
export function useSnapshot(store: NoetlStore, options: SnapshotOptions): RunningSetSnapshot {
  const snapshot = new RunningSetSnapshot(store, options);
  store.snapshot = snapshot;
  return snapshot;
}
