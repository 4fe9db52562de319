/**
 * The running-set snapshot on a sharded cluster, through the bin: one file
 * per shard (its own key), revalidated by the next run, which sees what the
 * engine wrote on each shard meanwhile and lists what --fresh lists; a shard
 * down leaves the others' snapshots working and is reported as without one.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConnectionOptions } from '../../src/config.js';
import { openPostgres } from '../../src/db/postgres.js';
import { ShardedNoetlSource } from '../../src/noetl/sharded.js';
import { DEFAULT_MAX_AGE_MS } from '../../src/noetl/snapshot.js';
import { Scenario, type ExecutionBuilder } from '../fixtures/scenario.js';
import { jsonOf, runCli, show } from '../helpers/cli.js';
import { describePostgres } from '../helpers/db.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { SCHEMA, clusterConfig, createShardCluster, idOnShard, type ShardCluster } from '../helpers/shards.js';

const BASE = 613000000000000000n;
const PASSWORD = 'Sn4p-pw-never-saved';

describePostgres('the running-set snapshot on a sharded cluster', () => {
  let k: ShardCluster;
  let dir: string;
  let cache: string;
  let closedPort: number;
  const ids = { p: '', c0: '', a: '', done: '', c: '', b: '', n: '' };
  // Snapshots at any size of history; the outcome on stderr.
  const env = () => ({ XDG_CACHE_HOME: cache, NOETL_CONSOLE_SNAPSHOT_MIN_EVENTS: '0', NOETL_CONSOLE_DEBUG: '1' });
  const snapshots = () => join(cache, 'noetl-console');

  const withPassword = (url: string, port = '5432') => {
    const u = new URL(url);
    u.password = PASSWORD;
    u.port = port;
    return u.toString();
  };
  const config = (shards: string[]) => clusterConfig(k, dir, shards);
  const list = async (file: string, ...extra: string[]) => {
    const r = await runCli(['list', '--older-than', '0', '--include-children', '--json', '--config', file, ...extra], { env: env() });
    return { r, outcome: /running set: (.+)/.exec(r.stderr)?.[1] };
  };
  /** What a list shows of each execution, apart from the clock. */
  const listed = (json: { executions: Record<string, unknown>[] }) =>
    json.executions.map((e) => ({
      id: e.execution_id,
      path: e.path,
      parent: e.parent_execution_id,
      running_children: e.running_children,
      worker: e.worker_id,
      worker_alive: e.worker_alive,
      stuck_step: e.stuck_step,
    }));
  /** The snapshot files by shard index (from their key's target). */
  const files = () => {
    const found = readdirSync(snapshots()).filter((f) => f.startsWith('running-set-') && f.endsWith('.json'));
    const docs = found.map((f) => ({ path: join(snapshots(), f), doc: JSON.parse(readFileSync(join(snapshots(), f), 'utf8')) }));
    return new Map(docs.map((d) => [Number(/ shard (\d+)$/.exec(d.doc.key.target)![1]), d]));
  };
  const savedIds = (shard: number) =>
    files()
      .get(shard)!
      .doc.value.state.rows.map((r: { execution_id: string }) => r.execution_id)
      .sort();

  beforeAll(async () => {
    ids.p = await idOnShard(0, 2, BASE + 1000n);
    ids.c0 = await idOnShard(0, 2, BASE + 1500n);
    ids.a = await idOnShard(0, 2, BASE + 2000n);
    ids.done = await idOnShard(0, 2, BASE + 3000n);
    ids.c = await idOnShard(1, 2, BASE + 4000n);
    ids.b = await idOnShard(1, 2, BASE + 5000n);
    ids.n = await idOnShard(1, 2, BASE + 6000n);
    k = await createShardCluster('snap', 2, () => {
      const s = new Scenario(BASE);
      s.worker('worker-live', 2);
      // The catalog row of the execution the engine starts between runs: the cluster database holds it.
      s.catalog('etl/new');
      const p = s.execution({ path: 'etl/tree', startedMinutesAgo: 80, id: ids.p }).step('spawn', 78, 'worker-live');
      s.execution({ path: 'etl/tree/child', dialect: 'rust', startedMinutesAgo: 77, parent: p, id: ids.c0 }).issued('work', 76);
      s.execution({ path: 'etl/tree/child', startedMinutesAgo: 75, parent: p, id: ids.c }).issued('work', 70);
      s.execution({ path: 'etl/a', dialect: 'rust', startedMinutesAgo: 120, id: ids.a }).claimed('load', 100, 'worker-live');
      s.execution({ path: 'etl/b', startedMinutesAgo: 100, id: ids.b }).issued('transform', 95);
      s.execution({ path: 'etl/done', startedMinutesAgo: 90, id: ids.done }).step('one', 85).finish('completed', 84);
      return s;
    });
    dir = mkdtempSync(join(tmpdir(), 'snap-shards-'));
    cache = mkdtempSync(join(tmpdir(), 'noetl-console-xdg-'));
    const probe = await FaultProxy.start();
    closedPort = probe.port;
    await probe.close();
  }, 120_000);

  afterAll(async () => {
    await k?.drop();
    for (const d of [dir, cache]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('keeps one snapshot per shard, revalidates each, and lists what --fresh lists', async () => {
    const file = config(k.shardUrls.map((u) => withPassword(u)));
    const first = await list(file);
    expect(first.r.code, show(first.r)).toBe(0);
    expect(first.outcome).toBe('full:missing');
    expect(listed(jsonOf(first.r)).map((e) => e.id)).toEqual([ids.a, ids.b, ids.p, ids.c0, ids.c]);

    // One file per shard, 0600 in a 0700 directory, keyed by the shard's own database; no password.
    expect(statSync(snapshots()).mode & 0o777).toBe(0o700);
    const saved = files();
    expect([...saved.keys()].sort()).toEqual([0, 1]);
    for (const [shard, { path, doc }] of saved) {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(doc.key).toMatchObject({ database: new URL(k.shardUrls[shard]!).pathname.slice(1), schema: SCHEMA, source_kind: 'noetl', source_name: 'prod' });
      expect(readFileSync(path, 'utf8')).not.toContain(PASSWORD);
    }
    expect(savedIds(0)).toEqual([ids.a, ids.p, ids.c0].sort());
    expect(savedIds(1)).toEqual([ids.b, ids.c].sort());
    const fullLoadAt = [0, 1].map((shard) => saved.get(shard)!.doc.value.full_load_at_ms);

    // The engine meanwhile: a child of p starts on shard 1 (its parent on shard 0); a and c0, p's child beside it, finish on shard 0.
    const { rows: catalog } = await k.cluster.query<{ catalog_id: string; path: string }>(`SELECT catalog_id::text, path FROM "${SCHEMA}".catalog`);
    const started = new Scenario(BASE + 900_000n).knownCatalog(catalog);
    started.execution({ path: 'etl/new', startedMinutesAgo: 0.5, parent: { id: ids.p } as ExecutionBuilder, id: ids.n }).issued('work', 0.4);
    await started.apply(k.shards[1]!, SCHEMA);
    await k.shards[1]!.query(`DELETE FROM "${SCHEMA}".catalog`);
    await k.shards[0]!.query(
      `INSERT INTO "${SCHEMA}".event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status)
       SELECT e.execution_id, e.event_id + 1000, e.catalog_id, now() AT TIME ZONE 'UTC', 'playbook_completed', 'playbook', 'COMPLETED'
       FROM "${SCHEMA}".event e WHERE e.execution_id = ANY($1::bigint[]) AND e.event_type = 'playbook_started'`,
      [[ids.a, ids.c0]],
    );

    const second = await list(file);
    expect(second.r.code, show(second.r)).toBe(0);
    expect(second.outcome).toBe('revalidated');
    // Revalidated, not reloaded: each file still descends from the first run's full load, and holds the change.
    expect([0, 1].map((shard) => files().get(shard)!.doc.value.full_load_at_ms)).toEqual(fullLoadAt);
    expect(savedIds(0)).toEqual([ids.p]);
    expect(savedIds(1)).toEqual([ids.b, ids.c, ids.n].sort());

    const fresh = await list(file, '--fresh');
    expect(fresh.r.code, show(fresh.r)).toBe(0);
    expect(fresh.outcome).toBe('full:fresh');
    expect(listed(jsonOf(second.r))).toEqual(listed(jsonOf(fresh.r)));
    const rows = listed(jsonOf(fresh.r));
    expect(rows.map((e) => e.id)).toEqual([ids.b, ids.p, ids.c, ids.n]);
    // p's running children are on shard 1, its row on shard 0 (re-described when c0 finished): counted across shards on the way out, not saved.
    expect(rows.find((e) => e.id === ids.p)).toMatchObject({ path: 'etl/tree', running_children: 2 });
    expect(rows.find((e) => e.id === ids.n)).toMatchObject({ path: 'etl/new', parent: ids.p });
    expect(files().get(0)!.doc.value.state.rows[0]).toMatchObject({ execution_id: ids.p, running_children: 0 });
    for (const shard of [0, 1]) expect(files().get(shard)!.doc.value.full_load_at_ms).toBeGreaterThan(fullLoadAt[shard]!);

    // Each shard its own: without shard 1's file, shard 0 revalidates and shard 1 loads.
    rmSync(files().get(1)!.path);
    const mixed = await list(file);
    expect(mixed.outcome).toBe('shard 0 revalidated, shard 1 full:missing');
    expect(listed(jsonOf(mixed.r))).toEqual(rows);

    // health counts the same running set, from the snapshots.
    const h = await runCli(['health', '--json', '--config', file], { env: env() });
    expect([0, 4, 5], show(h)).toContain(h.code);
    expect(h.stderr).toContain('running set: revalidated');
    expect(jsonOf(h).metrics.running_executions).toBe(rows.length);
  }, 120_000);

  it('a shard down: reported, the others revalidate, its snapshot kept for when it answers', async () => {
    const before = readFileSync(files().get(1)!.path, 'utf8');
    const down = await list(config([withPassword(k.shardUrls[0]!), withPassword(k.shardUrls[1]!, String(closedPort))]));
    expect(down.r.code, show(down.r)).toBe(1);
    const json = jsonOf(down.r);
    expect(json.partial).toBe(true);
    expect(json.unreachable_shards.map((u: { shard: number }) => u.shard)).toEqual([1]);
    expect(down.outcome).toBe('revalidated');
    expect(json.executions.map((e: { execution_id: string }) => e.execution_id)).toEqual([ids.p]);
    expect(readFileSync(files().get(1)!.path, 'utf8')).toBe(before);

    const back = await list(config(k.shardUrls.map((u) => withPassword(u))));
    expect(back.r.code, show(back.r)).toBe(0);
    expect(back.outcome).toBe('revalidated');
    expect(listed(jsonOf(back.r)).map((e) => e.id)).toEqual([ids.b, ids.p, ids.c, ids.n]);
  });

  it("the console's live set: each shard's full refresh revalidates its snapshot, ctrl-r reads every shard's history", async () => {
    const options = (url: string): ConnectionOptions => ({
      target: { kind: 'postgres', connectionString: url, label: new URL(url).host + new URL(url).pathname },
      schema: SCHEMA,
      readOnly: true,
      statementTimeoutMs: 15_000,
      connectTimeoutMs: 10_000,
    });
    const clusterDb = openPostgres(options(k.clusterUrl));
    const own = mkdtempSync(join(tmpdir(), 'noetl-console-snap-'));
    const open = () => {
      const source = new ShardedNoetlSource(clusterDb, SCHEMA, 'prod', k.shardUrls.map(options));
      const report = source.useSnapshot({ fresh: false, maxAgeMs: DEFAULT_MAX_AGE_MS, sourceName: 'prod', target: 'cluster', dir: own, minEvents: 0 });
      return { source, report };
    };
    const all = { olderThanSeconds: 0, includeChildren: true };
    try {
      const first = open();
      const live = first.source.live();
      expect((await live.refresh()).kind).toBe('full');
      expect(first.report.outcome).toBe('full:missing');
      await first.source.close();
      const second = open();
      const again = second.source.live();
      await again.refresh();
      expect(second.report.outcome).toBe('revalidated');
      expect(again.view(all).map((e) => e.execution_id)).toEqual([ids.b, ids.p, ids.c, ids.n]);
      expect(again.view(all).find((e) => e.execution_id === ids.p)?.running_children).toBe(2);
      await again.refresh(true);
      expect(second.report.outcome).toBe('full:fresh');
      expect(again.view({ olderThanSeconds: 0 }).map((e) => e.execution_id)).toEqual((await second.source.listStuck({ olderThanSeconds: 0 })).map((e) => e.execution_id));
      await second.source.close();
    } finally {
      await clusterDb.close();
      rmSync(own, { recursive: true, force: true });
    }
  });
});
