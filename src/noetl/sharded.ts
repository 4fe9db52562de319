/**
 * A sharded NoETL cluster as one ExecutionSource (README, "Sharded clusters").
 *
 * NoETL's Rust server keeps each execution's rows on the shard
 * xxhash64(seed 0, id as 8 little-endian bytes) % shards (shard-route.ts), and
 * the cluster-wide tables (catalog, runtime) in the cluster database, shard 0
 * when none is named. Each shard is an ordinary NoetlSource over a store that
 * takes playbook paths and worker heartbeats from the cluster database and
 * parents and children from the other shards. Reads fan out in parallel and
 * merge oldest first; a shard that fails is reported (unreachable()) while the
 * others answer. Writes go through each shard's own markExecutions: one
 * shard's transaction never depends on another's, and every execution is
 * reported with its own outcome.
 */
import type { ConnectionOptions } from '../config.js';
import type { Database, Queryable } from '../db/database.js';
import { openPostgres } from '../db/postgres.js';
import { describeDatabaseError, redact } from '../errors.js';
import type { ExecutionSource, LiveSet, ShardCounts } from '../source.js';
import type { AnalyzeReport } from './statistics.js';
import { history, verifyBatch, type BatchRecord, type HistoryFilter, type VerifyResult } from './history.js';
import { stuckFactsOf, toExecution, type DescribedRow } from './model.js';
import { catalogIdsSql, catalogPathsSql, childCountsSql, clusterTablesSql, heartbeatsSql, liveWorkersSql, presentSql } from './shard-sql.js';
import { runsSql } from './sql.js';
import { loadShardRouter, type ShardRouter } from './shard-route.js';
import { NoetlSource } from './source.js';
import { RunningSetSnapshot, type SnapshotOptions, type SnapshotReport } from './snapshot.js';
import { compareIds, NoetlStore, type LoadOptions } from './store.js';
import type { Execution, HealthCounts } from '../core/execution.js';
import { stuckMatcher, type StuckFilter } from '../core/filter.js';
import { PartialMarkError, type Action, type MarkRequest, type MarkResult } from '../core/mark.js';
import type { ShowData } from '../core/show.js';
import { thresholdOf, type Threshold, type ThresholdMap } from '../core/thresholds.js';
import { OperationalError } from '../errors.js';

export interface UnreachableShard {
  /** The shard's index in NoETL's order, or "cluster" for the cluster database. */
  shard: number | 'cluster';
  /** host:port/db, never a password. */
  target: string;
  /** When it first failed since it last answered, ISO 8601 UTC. */
  since: string;
  error: string;
}

interface Shard {
  index: number;
  db: Database;
  /** Rows as the shard holds them (for other shards' questions). */
  raw: NoetlStore;
  /** Rows completed from the cluster and the other shards. */
  source: NoetlSource;
}

/** How long one cluster heartbeat read serves the shards that ask for it together. */
const HEARTBEAT_REUSE_MS = 1000;

class ShardStore extends NoetlStore {
  constructor(
    db: Database,
    schema: string,
    private readonly owner: ShardedNoetlSource,
    private readonly index: number,
  ) {
    super(db, schema);
  }

  override async listStuckRows(filter: StuckFilter, load?: LoadOptions): Promise<DescribedRow[]> {
    return this.owner.complete(this.index, await super.listStuckRows(filter, load));
  }

  override async describeRows(ids: readonly string[], q?: Queryable): Promise<DescribedRow[]> {
    return this.owner.complete(this.index, await super.describeRows(ids, q));
  }

  override heartbeats(): Promise<Map<string, number | null>> {
    return this.owner.clusterHeartbeats();
  }
}

export class ShardedNoetlSource implements ExecutionSource {
  readonly kind = 'noetl' as const;
  readonly actions = ['cancel', 'fail', 'complete'] as const;
  readonly hasChildren = true;
  readonly shards: readonly Shard[];
  /** Which of catalog and runtime the cluster database has (it need not have the event tables). */
  private clusterTables: Promise<{ has_catalog: boolean; has_runtime: boolean }> | null = null;
  private readonly clusterIsShard0: boolean;
  private readonly down = new Map<number | 'cluster', UnreachableShard>();
  private heartbeatRead: { at: number; map: Promise<Map<string, number | null>> } | null = null;
  private router: ShardRouter | null = null;

  constructor(
    /** The cluster database (catalog, runtime). */
    readonly db: Database,
    readonly schema: string,
    readonly name: string,
    /** Each shard's connection, in NoETL's shard order; null: the cluster database is this shard. */
    shardOptions: readonly (ConnectionOptions | null)[],
  ) {
    this.clusterIsShard0 = shardOptions[0] === null;
    this.shards = shardOptions.map((options, index) => {
      const shardDb = options === null ? db : openPostgres(options);
      return {
        index,
        db: shardDb,
        raw: new NoetlStore(shardDb, schema),
        source: new NoetlSource(shardDb, schema, name, null, new ShardStore(shardDb, schema, this, index)),
      };
    });
  }

  get describeTarget(): string {
    return `schema ${this.schema} on ${this.shards.length} shard(s)`;
  }

  describeWrite(action: Action): string {
    return `${this.shards[0]!.source.describeWrite(action)}, on each execution's shard`;
  }

  parseId(raw: string): string {
    return this.shards[0]!.source.parseId(raw);
  }

  /** Shards (and the cluster database) whose last read or write failed, by index. */
  unreachable(): UnreachableShard[] {
    return [...this.down.values()].sort((a, b) => (a.shard === 'cluster' ? -1 : b.shard === 'cluster' ? 1 : a.shard - b.shard));
  }

  /** The shard NoETL routes an execution to. */
  async shardOf(id: string): Promise<number> {
    this.router ??= await loadShardRouter();
    return this.router(id, this.shards.length);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.filter((s) => s.db !== this.db).map((s) => s.db.close().catch(() => undefined)));
  }

  private targetOf(which: number | 'cluster'): string {
    return which === 'cluster' ? this.db.label : this.shards[which]!.db.label;
  }

  private failed(which: number | 'cluster', error: unknown): void {
    const target = this.targetOf(which);
    const since = this.down.get(which)?.since ?? new Date().toISOString();
    this.down.set(which, { shard: which, target, since, error: redact(describeDatabaseError(error, target)) });
  }

  private answered(which: number | 'cluster'): void {
    this.down.delete(which);
  }

  /**
   * Run fn on each of `shards` in parallel. A shard that fails is recorded
   * and left out; only when every one fails does the first error surface.
   */
  private async fanOut<T>(fn: (shard: Shard) => Promise<T>, shards: readonly Shard[] = this.shards): Promise<{ shard: Shard; value: T }[]> {
    const settled = await Promise.allSettled(shards.map((s) => fn(s)));
    const out: { shard: Shard; value: T }[] = [];
    let firstError: unknown = null;
    settled.forEach((r, i) => {
      const shard = shards[i]!;
      if (r.status === 'fulfilled') {
        this.answered(shard.index);
        out.push({ shard, value: r.value });
      } else {
        this.failed(shard.index, r.reason);
        firstError ??= r.reason;
      }
    });
    if (out.length === 0 && shards.length > 0) throw firstError;
    return out;
  }

  private tables(): Promise<{ has_catalog: boolean; has_runtime: boolean }> {
    this.clusterTables ??= this.db.query<{ has_catalog: boolean; has_runtime: boolean }>(clusterTablesSql(), [this.schema]).then(
      ({ rows }) => rows[0]!,
      (error: unknown) => {
        this.clusterTables = null;
        throw error;
      },
    );
    return this.clusterTables;
  }

  /** Run fn on the cluster database: its failure is recorded and `fallback` returned. */
  private async onCluster<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
    try {
      const value = await fn();
      this.answered('cluster');
      return value;
    } catch (error) {
      this.failed('cluster', error);
      return fallback;
    }
  }

  /** The cluster database's worker heartbeats, one read for the shards that ask together. */
  clusterHeartbeats(): Promise<Map<string, number | null>> {
    const now = Date.now();
    if (!this.heartbeatRead || now - this.heartbeatRead.at > HEARTBEAT_REUSE_MS) {
      const read = async () => {
        if (!(await this.tables()).has_runtime) return new Map<string, number | null>();
        const { rows } = await this.db.query<{ name: string; heartbeat_ms: number | null }>(heartbeatsSql(this.schema));
        return new Map(rows.map((r) => [r.name, r.heartbeat_ms]));
      };
      const map = read().then(
        (m) => {
          this.answered('cluster');
          return m;
        },
        (error: unknown) => {
          this.failed('cluster', error);
          return new Map<string, number | null>();
        },
      );
      this.heartbeatRead = { at: now, map };
    }
    return this.heartbeatRead.map;
  }

  /**
   * What one shard cannot know alone: the playbook path (the catalog is in
   * the cluster database), the worker's heartbeat (runtime, likewise), a
   * parent on another shard, children on other shards. Missing answers leave
   * the shard's own values; the failure is recorded.
   */
  async complete(index: number, rows: DescribedRow[]): Promise<DescribedRow[]> {
    if (rows.length === 0) return rows;
    const self = this.shards[index]!;
    const others = this.shards.filter((s) => s.index !== index);
    const [paths, heartbeats, hasRuntime, parents, children] = await Promise.all([
      this.clusterIsShard0 && index === 0
        ? null
        : this.pathsFor(
            self,
            rows.filter((r) => r.path === null).map((r) => r.execution_id),
          ),
      this.clusterHeartbeats(),
      this.tables().then(
        (t) => t.has_runtime,
        () => false,
      ),
      this.foreignParents(index, rows),
      others.length === 0
        ? []
        : this.fanOutQuiet(others, (s) =>
            s.db.query<{ parent_execution_id: string; total_children: number; running_children: number }>(childCountsSql(this.schema), [rows.map((r) => r.execution_id)]),
          ),
    ]);
    const childCounts = new Map<string, { total: number; running: number }>();
    for (const result of children) {
      for (const c of result.rows) {
        const seen = childCounts.get(c.parent_execution_id) ?? { total: 0, running: 0 };
        childCounts.set(c.parent_execution_id, { total: seen.total + c.total_children, running: seen.running + c.running_children });
      }
    }
    for (const row of rows) {
      const path = paths?.get(row.execution_id);
      if (path !== undefined) row.path = path;
      if (hasRuntime && row.worker_id) {
        row.heartbeat_ms = heartbeats.get(row.worker_id) ?? null;
        row.runtime_rows = heartbeats.has(row.worker_id) ? 1 : 0;
      }
      const parent = row.parent_execution_id === null ? undefined : parents.get(row.parent_execution_id);
      if (parent) {
        row.parent_running = parent.terminal_type === null;
        row.parent_last_event_ms = parent.last_event_ms;
      }
      const more = childCounts.get(row.execution_id);
      if (more) {
        row.total_children += more.total;
        row.running_children += more.running;
      }
    }
    return rows;
  }

  /** Paths of these executions of `shard` from the cluster catalog. */
  private async pathsFor(shard: Shard, ids: string[]): Promise<Map<string, string | null> | null> {
    if (ids.length === 0) return null;
    const { rows: catalogIds } = await shard.db.query<{ execution_id: string; catalog_id: string }>(catalogIdsSql(this.schema), [ids]);
    if (catalogIds.length === 0) return null;
    return this.onCluster(async () => {
      if (!(await this.tables()).has_catalog) return null;
      const { rows } = await this.db.query<{ catalog_id: string; path: string | null }>(catalogPathsSql(this.schema), [[...new Set(catalogIds.map((r) => r.catalog_id))]]);
      const byCatalog = new Map(rows.map((r) => [r.catalog_id, r.path]));
      return new Map(catalogIds.filter((r) => byCatalog.has(r.catalog_id)).map((r) => [r.execution_id, byCatalog.get(r.catalog_id)!]));
    }, null);
  }

  /** Parents that the hash puts on another shard than their child's, as their shard holds them. */
  private async foreignParents(index: number, rows: readonly DescribedRow[]): Promise<Map<string, DescribedRow>> {
    const byShard = new Map<number, Set<string>>();
    for (const row of rows) {
      if (row.parent_execution_id === null) continue;
      const at = await this.shardOf(row.parent_execution_id);
      if (at === index) continue;
      const set = byShard.get(at) ?? new Set<string>();
      set.add(row.parent_execution_id);
      byShard.set(at, set);
    }
    const found = await this.fanOutQuiet(
      [...byShard.keys()].map((i) => this.shards[i]!),
      (s) => s.raw.describeRows([...byShard.get(s.index)!]),
    );
    return new Map(found.flat().map((r) => [r.execution_id, r]));
  }

  /** fanOut that returns what answered, never throws (the failures are recorded). */
  private async fanOutQuiet<T>(shards: readonly Shard[], fn: (shard: Shard) => Promise<T>): Promise<T[]> {
    try {
      return (await this.fanOut(fn, shards)).map((r) => r.value);
    } catch {
      return [];
    }
  }

  async listStuck(filter: StuckFilter): Promise<Execution[]> {
    const answers = await this.fanOut((s) => s.source.store.listStuckRows(filter));
    // Each shard judged its rows' parents by itself; complete() saw the parents on other shards: the children term again.
    const children = stuckMatcher({ olderThanSeconds: 0, includeChildren: filter.includeChildren ?? false });
    const rows = answers.flatMap((a) => a.value).filter((r) => children(stuckFactsOf(r)));
    rows.sort((a, b) => a.started_ms - b.started_ms || compareIds(a.execution_id, b.execution_id));
    return (filter.limit ? rows.slice(0, filter.limit) : rows).map((row) => toExecution(row));
  }

  async describe(ids: readonly string[]): Promise<Execution[]> {
    const answers = await this.fanOut((s) => s.source.describe(ids));
    return answers.flatMap((a) => a.value);
  }

  async detail(id: string, events: number): Promise<ShowData | null> {
    const home = await this.shardOf(id);
    const first = await this.fanOut((s) => s.source.detail(id, events), [this.shards[home]!]).catch(() => []);
    let found = first[0]?.value ?? null;
    if (!found) {
      const rest = await this.fanOut(
        (s) => s.source.detail(id, events),
        this.shards.filter((s) => s.index !== home),
      ).catch(() => []);
      found = rest.find((r) => r.value !== null)?.value ?? null;
    }
    if (!found) return null;
    // The child tree spans shards: breadth first, each level in id order (as NoetlStore.descendants).
    const tree = await this.treeBelow([id]);
    const byShard = new Map<number, string[]>();
    for (const [child, { shard }] of tree) byShard.set(shard, [...(byShard.get(shard) ?? []), child]);
    const described = new Map(
      (
        await this.fanOutQuiet(
          [...byShard.keys()].map((i) => this.shards[i]!),
          (s) => s.source.describe(byShard.get(s.index)!),
        )
      )
        .flat()
        .map((e) => [e.execution_id, e]),
    );
    const childrenOf = new Map<string, string[]>();
    for (const child of [...tree.keys()].sort(compareIds)) {
      const parent = tree.get(child)!.parent;
      childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), child]);
    }
    const children: ShowData['children'] = [];
    let frontier = [id];
    for (let depth = 1; frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const parent of frontier) {
        for (const child of childrenOf.get(parent) ?? []) {
          children.push({ execution_id: child, parent_execution_id: parent, depth, execution: described.get(child) ?? null });
          next.push(child);
        }
      }
      frontier = next;
    }
    return { ...found, children };
  }

  /**
   * Where each execution's rows are: on the shard the hash names, confirmed
   * by its rows there; else on the shard that has them (a mismatch, noted).
   * Unreachable shards are skipped; an id found nowhere stays on its hash shard.
   */
  private async locate(ids: readonly string[]): Promise<{ at: Map<string, number>; mismatch: Map<string, number> }> {
    const routed = new Map<string, number>();
    for (const id of ids) routed.set(id, await this.shardOf(id));
    const ask = (shards: readonly Shard[], want: (s: Shard) => string[]) =>
      Promise.all(
        shards.map(async (s) => {
          const list = want(s);
          if (list.length === 0) return { shard: s, have: new Set<string>() };
          try {
            const { rows } = await s.db.query<{ execution_id: string }>(presentSql(this.schema), [list]);
            this.answered(s.index);
            return { shard: s, have: new Set(rows.map((r) => r.execution_id)) };
          } catch (error) {
            this.failed(s.index, error);
            return { shard: s, have: null };
          }
        }),
      );
    const home = await ask(this.shards, (s) => ids.filter((id) => routed.get(id) === s.index));
    const at = new Map<string, number>();
    const missing: string[] = [];
    for (const { shard, have } of home) {
      for (const id of ids) {
        if (routed.get(id) !== shard.index || have === null) continue;
        if (have.has(id)) at.set(id, shard.index);
        else missing.push(id);
      }
    }
    const mismatch = new Map<string, number>();
    if (missing.length > 0) {
      const probes = await ask(this.shards, (s) => missing.filter((id) => routed.get(id) !== s.index));
      for (const { shard, have } of probes) {
        for (const id of missing) {
          if (!have?.has(id) || at.has(id)) continue;
          at.set(id, shard.index);
          mismatch.set(id, routed.get(id)!);
        }
      }
    }
    for (const id of ids) if (!at.has(id)) at.set(id, routed.get(id)!);
    return { at, mismatch };
  }

  /** Descendants of `roots` across shards: child -> [parent, the shard holding its rows]. */
  private async treeBelow(roots: readonly string[]): Promise<Map<string, { parent: string; shard: number }>> {
    const below = new Map<string, { parent: string; shard: number }>();
    const seen = new Set(roots);
    let frontier = [...roots];
    while (frontier.length > 0) {
      const asked = frontier;
      const answers = await this.fanOut((s) => s.raw.descendantEdges(asked));
      frontier = [];
      for (const { shard, value } of answers) {
        for (const edge of value) {
          if (seen.has(edge.execution_id)) continue;
          seen.add(edge.execution_id);
          below.set(edge.execution_id, { parent: edge.parent_execution_id, shard: shard.index });
          frontier.push(edge.execution_id);
        }
      }
    }
    return below;
  }

  async mark(req: MarkRequest): Promise<MarkResult[]> {
    const named = [...new Set(req.ids)];
    const { at, mismatch } = await this.locate(named);
    const tree = req.cascade ? await this.treeBelow(named) : new Map<string, { parent: string; shard: number }>();
    const rootOf = (id: string): string => {
      let top = id;
      const hops = new Set([id]);
      for (let up = tree.get(top)?.parent; up !== undefined && !hops.has(up); up = tree.get(top)?.parent) {
        hops.add(up);
        top = up;
      }
      return top;
    };
    for (const [id, { shard }] of tree) {
      if (at.has(id)) continue;
      at.set(id, shard);
      const routed = await this.shardOf(id);
      if (routed !== shard) mismatch.set(id, routed);
    }
    for (const [id, routed] of mismatch) {
      const where = this.shards[at.get(id)!]!.db.label;
      this.onMismatch?.(
        `execution ${id}: NoETL's hash routes it to shard ${routed} (${this.shards[routed]!.db.label}) but its rows are on shard ${at.get(id)} (${where}); written there`,
      );
    }
    // Every target on its shard; the shard's cascade also meets children that start meanwhile.
    // With a bound set (what the operator was shown) a descendant outside it is not written.
    const bound = req.bound;
    const unseen = bound ? [...tree.keys()].filter((id) => !bound.has(id) && !named.includes(id)) : [];
    const groups = new Map<number, string[]>();
    for (const id of [...named, ...tree.keys()].filter((id) => !unseen.includes(id))) {
      const list = groups.get(at.get(id)!) ?? [];
      list.push(id);
      groups.set(at.get(id)!, list);
    }
    const byId = new Map<string, MarkResult>();
    await Promise.all(
      [...groups].map(async ([index, ids]) => {
        const shard = this.shards[index]!;
        let results: MarkResult[];
        let failure: unknown = null;
        try {
          results = await shard.source.mark({ ...req, ids, onBatch: undefined });
          this.answered(index);
        } catch (error) {
          failure = error instanceof PartialMarkError ? error.cause : error;
          results = error instanceof PartialMarkError ? error.results : [];
          this.failed(index, failure);
        }
        for (const r of results) {
          byId.set(r.execution_id, r);
          this.writtenAt.set(r.execution_id, index);
        }
        if (failure !== null) {
          const why = `shard ${index} (${shard.db.label}): ${redact(describeDatabaseError(failure, shard.db.label))}`;
          for (const id of ids) {
            if (byId.has(id)) continue;
            byId.set(id, {
              execution_id: id,
              outcome: 'not_attempted',
              parent_execution_id: tree.get(id)?.parent ?? null,
              root_execution_id: id,
              cascaded: false,
              state: null,
              event_id: null,
              message: why,
            });
          }
        }
      }),
    );
    // Outside the bound set and not met by a shard's own cascade: running ones are reported not_shown.
    const unmet = unseen.filter((id) => !byId.has(id));
    if (unmet.length > 0) {
      const byShard = new Map<number, string[]>();
      for (const id of unmet) byShard.set(at.get(id)!, [...(byShard.get(at.get(id)!) ?? []), id]);
      const read = await this.fanOutQuiet(
        [...byShard.keys()].map((i) => this.shards[i]!),
        (s) => s.raw.describeRows(byShard.get(s.index)!),
      );
      for (const row of read.flat()) {
        if (row.terminal_type !== null) continue;
        byId.set(row.execution_id, {
          execution_id: row.execution_id,
          outcome: 'not_shown',
          parent_execution_id: row.parent_execution_id,
          root_execution_id: row.execution_id,
          cascaded: true,
          state: null,
          event_id: null,
        });
      }
    }
    // Report roots in the order named, each followed by its descendants level by level.
    const out: MarkResult[] = [];
    const placed = new Set<string>();
    const childrenOf = new Map<string, string[]>();
    for (const [id, { parent }] of tree) childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), id]);
    const place = (id: string, root: string) => {
      const r = byId.get(id);
      if (!r || placed.has(id)) return;
      placed.add(id);
      const parent = tree.get(id)?.parent ?? r.parent_execution_id;
      const mis = mismatch.get(id);
      out.push({
        ...r,
        parent_execution_id: parent,
        root_execution_id: root,
        cascaded: id !== root,
        ...(mis !== undefined ? { message: [r.message, `routed to shard ${mis} by NoETL's hash, found on shard ${at.get(id)}`].filter(Boolean).join('; ') } : {}),
      });
    };
    for (const id of named) {
      const root = rootOf(id);
      if (root !== id && named.includes(root)) continue;
      place(id, id);
      let level = childrenOf.get(id) ?? [];
      while (level.length > 0) {
        const sorted = [...level].sort(compareIds);
        for (const child of sorted) place(child, id);
        level = sorted.flatMap((c) => childrenOf.get(c) ?? []);
      }
    }
    for (const [id, r] of byId) if (!placed.has(id)) place(id, r.root_execution_id);
    req.onBatch?.(out);
    return out;
  }

  /** The shard each execution of the last mark() was written on (analyzeWritten). */
  private readonly writtenAt = new Map<string, number>();

  /** After a big write: each shard analyzes what it wrote there (the threshold is per database, as its statistics are). */
  async analyzeWritten(results: readonly MarkResult[]): Promise<AnalyzeReport | null> {
    const byShard = new Map<number, MarkResult[]>();
    for (const r of results) {
      const at = this.writtenAt.get(r.execution_id);
      if (at === undefined) continue;
      byShard.set(at, [...(byShard.get(at) ?? []), r]);
    }
    const reports = await Promise.all([...byShard].map(async ([index, list]) => ({ index, report: await this.shards[index]!.source.analyzeWritten(list) })));
    const done = reports.filter((r) => r.report !== null);
    if (done.length === 0) return null;
    const on = (index: number, table: string) => `shard ${index}: ${table}`;
    return {
      rows: done.reduce((n, r) => n + r.report!.rows, 0),
      analyzed: done.flatMap((r) => r.report!.analyzed.map((t) => on(r.index, t))),
      not_permitted: done.flatMap((r) => r.report!.not_permitted.map((t) => on(r.index, t))),
      failed: done.flatMap((r) => r.report!.failed.map((f) => ({ ...f, table: on(r.index, f.table) }))),
    };
  }

  /** What happened to a batch's executions since it closed them, on every shard. */
  async verify(batchId: string): Promise<VerifyResult[]> {
    const answers = await this.fanOut((s) => verifyBatch(s.raw, batchId));
    return answers.flatMap((a) => a.value).sort((a, b) => compareIds(a.execution_id, b.execution_id));
  }

  /** The console's batches on every shard: one batch, written across shards, is one record. */
  async history(f: HistoryFilter): Promise<BatchRecord[]> {
    const answers = await this.fanOut((s) => history(s.raw, f));
    const byBatch = new Map<string, BatchRecord>();
    for (const b of answers.flatMap((a) => a.value)) {
      const seen = byBatch.get(b.batch_id);
      if (!seen) {
        byBatch.set(b.batch_id, { ...b });
        continue;
      }
      const first = b.started_at < seen.started_at ? b : seen;
      const ids = [...new Set([...seen.execution_ids, ...b.execution_ids])].sort(compareIds);
      byBatch.set(b.batch_id, {
        ...first,
        started_at: first.started_at,
        finished_at: b.finished_at > seen.finished_at ? b.finished_at : seen.finished_at,
        executions: ids.length,
        execution_ids: ids,
      });
    }
    return [...byBatch.values()].sort((a, b) => (a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : 0)).slice(0, f.limit);
  }

  /** Mismatches between NoETL's hash and where rows are: told to the operator (commands: stderr). */
  onMismatch: ((line: string) => void) | null = null;

  async runningDescendants(ids: readonly string[]): Promise<string[]> {
    const tree = await this.treeBelow(ids);
    if (tree.size === 0) return [];
    const byShard = new Map<number, string[]>();
    for (const [id, { shard }] of tree) byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
    const answers = await this.fanOut(
      (s) => s.raw.describeRows(byShard.get(s.index)!),
      [...byShard.keys()].map((i) => this.shards[i]!),
    );
    return answers
      .flatMap((a) => a.value)
      .filter((r) => r.terminal_type === null)
      .map((r) => r.execution_id)
      .sort(compareIds);
  }

  /**
   * Learned thresholds over the union of every shard's completed runs: each
   * shard's runs (catalog_id, seconds), their paths from the cluster catalog,
   * the percentiles taken here as percentile_cont takes them on one database.
   * A shard that does not answer fails the read (the commands then say "no
   * history"): percentiles of some shards' runs would mislead a sweep. The
   * read leaves unreachable() alone, which tells of the listing and the live set.
   */
  async thresholds(days: number): Promise<Threshold[]> {
    const settled = await Promise.allSettled(
      this.shards.map(async (s) => {
        await s.raw.capabilities();
        return (await s.db.query<{ catalog_id: string; seconds: number }>(runsSql(this.schema), [days])).rows;
      }),
    );
    const missing = settled.flatMap((r, i) => (r.status === 'rejected' ? [`shard ${i} did not answer (${firstLine(r.reason, this.targetOf(i))})`] : []));
    if (missing.length > 0) throw new OperationalError(`${missing.join('; ')}: thresholds need every shard`);
    const runs = settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    if (runs.length === 0) return [];
    const rows = await (async () => {
      if (!(await this.tables()).has_catalog) return [];
      return (await this.db.query<{ catalog_id: string; path: string | null }>(catalogPathsSql(this.schema), [[...new Set(runs.map((r) => r.catalog_id))]])).rows;
    })().catch((error: unknown) => {
      throw new OperationalError(`the cluster database did not answer (${firstLine(error, this.targetOf('cluster'))}): thresholds need its catalog`);
    });
    const pathOf = new Map(rows.map((r) => [r.catalog_id, r.path]));
    const byPath = new Map<string, number[]>();
    for (const run of runs) {
      const path = pathOf.get(run.catalog_id);
      if (path === undefined || path === null) continue;
      const seconds = byPath.get(path);
      if (seconds) seconds.push(run.seconds);
      else byPath.set(path, [run.seconds]);
    }
    return [...byPath].map(([path, seconds]) => thresholdOf(path, seconds));
  }

  async health(stuckSeconds: number, longRunningSeconds: number): Promise<HealthCounts> {
    const [answers, workers] = await Promise.all([
      this.fanOut((s) => s.raw.health(stuckSeconds, longRunningSeconds)),
      this.onCluster(async () => {
        if (!(await this.tables()).has_runtime) return null;
        return (await this.db.query<{ live_workers: number }>(liveWorkersSql(this.schema))).rows[0]!.live_workers;
      }, null),
    ]);
    const all = answers.map((a) => a.value);
    const oldest = all.map((h) => h.oldest_running_seconds).filter((v): v is number => v !== null);
    return {
      running: all.reduce((n, h) => n + h.running, 0),
      stuck: all.reduce((n, h) => n + h.stuck, 0),
      long_running: all.reduce((n, h) => n + h.long_running, 0),
      oldest_running_seconds: oldest.length ? Math.max(...oldest) : null,
      recent_24h: all.reduce((n, h) => n + h.recent_24h, 0),
      live_workers: workers,
      now: all[0]!.now,
    };
  }

  /**
   * A running-set snapshot per shard (snapshot.ts), each under its own key:
   * the shard's database identity, and the cluster's target naming the
   * shard. It keeps the rows as the shard holds them (over `raw`), so what
   * complete() adds from the other databases is added on the way out, to a
   * revalidated set as to a full load, and never saved. The listing and the
   * live set's full refreshes read it through the shard's store, health
   * through `raw`. A shard down fails its read as without a snapshot (fanOut
   * reports it); its file waits for the next run that reaches it.
   */
  useSnapshot(options: SnapshotOptions): SnapshotReport {
    const kept = this.shards.map((s) => {
      const snapshot = new RunningSetSnapshot(s.raw, { ...options, target: `${options.target} shard ${s.index}` });
      s.raw.snapshot = snapshot;
      s.source.store.snapshot = snapshot;
      return snapshot;
    });
    // One report for the cluster, over the shards that answered: their outcome when they agree, else each shard's.
    const answering = () => kept.map((snapshot, shard) => ({ snapshot, shard })).filter((k) => k.snapshot.outcome !== null && !this.down.has(k.shard));
    return {
      get outcome() {
        const read = answering();
        if (read.length === 0) return null;
        return new Set(read.map((k) => k.snapshot.outcome)).size === 1 ? read[0]!.snapshot.outcome : read.map((k) => `shard ${k.shard} ${k.snapshot.outcome}`).join(', ');
      },
      get saveError() {
        return kept.find((k) => k.saveError !== null)?.saveError ?? null;
      },
    };
  }

  live(options?: { marginMs?: number; reconcileMs?: number }): LiveSet {
    return new ShardedLiveSet(
      this,
      this.shards.map((s) => s.source.live(options)),
    );
  }

  isDown(index: number): boolean {
    return this.down.has(index);
  }

  /** fanOut over each shard's own live set (its own watermark and reconcile). */
  refreshShards<T>(fn: (index: number) => Promise<T>): Promise<{ shard: Shard; value: T }[]> {
    return this.fanOut((s) => fn(s.index));
  }
}

/** A shard's failure on one line, never a password. */
function firstLine(error: unknown, target: string): string {
  return redact(describeDatabaseError(error, target)).split('\n')[0]!;
}

/** One live set per shard, refreshed in parallel, viewed as one. */
class ShardedLiveSet implements LiveSet {
  /** Every running execution of the answering shards, with its parent. */
  private running: Map<string, string | null> | null = null;

  constructor(
    private readonly owner: ShardedNoetlSource,
    private readonly sets: readonly LiveSet[],
  ) {}

  async refresh(force?: boolean) {
    const started = performance.now();
    const answers = await this.owner.refreshShards((i) => this.sets[i]!.refresh(force));
    this.running = null;
    return {
      kind: answers.some((a) => a.value.kind === 'full') ? ('full' as const) : ('incremental' as const),
      described: answers.reduce((n, a) => n + a.value.described, 0),
      running: this.runningCount,
      ms: performance.now() - started,
    };
  }

  /** The sets of the shards that answered their last refresh: a shard down shows nothing rather than old rows. */
  private answering(): LiveSet[] {
    return this.sets.filter((_, i) => !this.owner.isDown(i));
  }

  view(filter: StuckFilter, history?: ThresholdMap, minHistory?: number): Execution[] {
    const sets = this.answering();
    const rows = sets.flatMap((s) => s.view({ ...filter, includeChildren: true, limit: null }, history, minHistory));
    // A parent on another shard: its own shard's set knows it runs.
    this.running ??= new Map(sets.flatMap((s) => s.view({ olderThanSeconds: 0, includeChildren: true }).map((e) => [e.execution_id, e.parent_execution_id] as const)));
    const running = this.running;
    // Its own ancestor (a self-parent, a parent cycle): listed on its own, as the SQL's in_cycle does, since no parent will finish it.
    const inCycle = (id: string) => {
      const seen = new Set<string>();
      for (let up = running.get(id) ?? null; up !== null && !seen.has(up); up = running.get(up) ?? null) {
        if (up === id) return true;
        seen.add(up);
      }
      return false;
    };
    const kept = filter.includeChildren ? rows : rows.filter((e) => e.parent_execution_id === null || !running.has(e.parent_execution_id) || inCycle(e.execution_id));
    kept.sort((a, b) => a.started_at.localeCompare(b.started_at) || compareIds(a.execution_id, b.execution_id));
    return filter.limit ? kept.slice(0, filter.limit) : kept;
  }

  count(filter: StuckFilter): number {
    return this.view({ ...filter, limit: null }).length;
  }

  get runningCount(): number {
    return this.answering().reduce((n, s) => n + s.runningCount, 0);
  }

  shardCounts(stuckSeconds: number): ShardCounts[] {
    return this.sets.map((s, shard) => {
      const up = !this.owner.isDown(shard);
      return {
        shard,
        target: this.owner.shards[shard]!.db.label,
        up,
        running: up ? s.runningCount : 0,
        stuck: up ? s.count({ olderThanSeconds: stuckSeconds, includeChildren: true }) : 0,
      };
    });
  }

  get clockMs(): number {
    return Math.max(...this.sets.map((s) => s.clockMs));
  }
}
