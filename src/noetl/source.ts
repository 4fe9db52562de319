import type { Database } from '../db/database.js';
import type { ExecutionSource, LiveSet } from '../source.js';
import { loadExecutionDetail } from './detail.js';
import { LiveRunningSet } from './live.js';
import { markExecutions, runningDescendants } from './mark.js';
import { analyzeWritten } from './statistics.js';
import { history, verifyBatch, type HistoryFilter } from './history.js';
import { NoetlStore, type LoadOptions } from './store.js';
import { parseExecutionId } from '../core/ids.js';
import { thresholdsSql } from './sql.js';
import type { Threshold } from '../core/thresholds.js';
import { CLOSE_ROWS } from './vocabulary.js';
import type { ServerConfig } from './api.js';
import { useSnapshot, type SnapshotOptions } from './snapshot.js';
import type { MarkRequest, MarkResult, Action } from '../core/mark.js';
import type { StuckFilter } from '../core/filter.js';

/** NoETL's event log as an ExecutionSource. */
export class NoetlSource implements ExecutionSource {
  readonly kind = 'noetl' as const;
  readonly actions = ['cancel', 'fail', 'complete'] as const;
  readonly hasChildren = true;
  readonly store: NoetlStore;

  constructor(
    readonly db: Database,
    readonly schema: string,
    readonly name = 'noetl',
    /** Close through this NoETL server's API (not for dry runs). */
    readonly server: ServerConfig | null = null,
    /** A store that adds to what the schema holds (one shard of a cluster, src/noetl/sharded.ts). */
    store?: NoetlStore,
  ) {
    this.store = store ?? new NoetlStore(db, schema);
  }

  describeWrite(action: Action): string {
    return `writes ${CLOSE_ROWS[action].map((r) => r.eventType).join(' + ')}`;
  }

  get describeTarget(): string {
    return `schema ${this.schema}`;
  }

  parseId(raw: string): string {
    return parseExecutionId(raw);
  }

  listStuck(filter: StuckFilter, load?: LoadOptions) {
    return this.store.listStuck(filter, load);
  }

  describe(ids: readonly string[]) {
    return this.store.describe(ids);
  }

  detail(id: string, events: number) {
    return loadExecutionDetail(this.store, id, events);
  }

  async mark(req: MarkRequest) {
    if (!this.server || req.dryRun) return markExecutions(this.store, req);
    // Loaded only here, so that commands without a server start as fast as before.
    const [{ NoetlApi }, { closeViaServer }] = await Promise.all([import('./api.js'), import('./server-close.js')]);
    return closeViaServer(this.store, new NoetlApi(this.server), req);
  }

  history(filter: HistoryFilter) {
    return history(this.store, filter);
  }

  verify(batchId: string) {
    return verifyBatch(this.store, batchId);
  }

  analyzeWritten(results: readonly MarkResult[]) {
    return analyzeWritten(this.store, results);
  }

  runningDescendants(ids: readonly string[]) {
    return runningDescendants(this.store, ids);
  }

  async thresholds(days: number): Promise<Threshold[]> {
    await this.store.capabilities();
    return (await this.db.query<Threshold>(thresholdsSql(this.store.schema), [days])).rows;
  }

  health(stuckSeconds: number, longRunningSeconds: number) {
    return this.store.health(stuckSeconds, longRunningSeconds);
  }

  useSnapshot(options: SnapshotOptions) {
    return useSnapshot(this.store, options);
  }

  live(options?: { marginMs?: number; reconcileMs?: number }): LiveSet {
    return new LiveRunningSet(this.store, options);
  }
}
