/**
 * A sharded source whose shard goes away mid-run (a proxy in front of it is
 * closed) or hangs (the proxy stalls): the other shards still list, refresh
 * and write; the shard is named with the time it first failed; metrics label
 * each shard; when it answers again it is no longer missing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { currentActor } from '../../src/audit.js';
import type { ConnectionOptions } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { openPostgres } from '../../src/db/postgres.js';
import { renderMetrics, snapshotOf } from '../../src/metrics.js';
import { ShardedNoetlSource } from '../../src/noetl/sharded.js';
import { Scenario, type ExecutionBuilder } from '../fixtures/scenario.js';
import { describePostgres } from '../helpers/db.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { SCHEMA, createShardCluster, idOnShard, type ShardCluster } from '../helpers/shards.js';

const BASE = 612000000000000000n;

describePostgres('a sharded source with a shard that goes away', () => {
  let k: ShardCluster;
  let proxy: FaultProxy;
  let source: ShardedNoetlSource;
  let clusterDb: Database;
  const ids: string[][] = [[], [], []];
  const tree = { p: '', c: '', g: '', self: '' };

  const options = (url: string): ConnectionOptions => ({
    target: { kind: 'postgres', connectionString: url, label: new URL(url).host + new URL(url).pathname },
    schema: SCHEMA,
    readOnly: false,
    statementTimeoutMs: 1000,
    connectTimeoutMs: 2000,
  });
  const listed = async () => (await source.listStuck({ olderThanSeconds: 0, includeChildren: true })).map((e) => e.execution_id).sort();

  beforeAll(async () => {
    for (let shard = 0; shard < 3; shard++) for (let j = 0; j < 3; j++) ids[shard]!.push(await idOnShard(shard, 3, BASE + BigInt(shard * 10_000 + j * 1000)));
    tree.p = await idOnShard(0, 3, BASE + 50_000n);
    tree.c = await idOnShard(1, 3, BASE + 51_000n);
    tree.g = await idOnShard(2, 3, BASE + 52_000n);
    tree.self = await idOnShard(1, 3, BASE + 60_000n);
    k = await createShardCluster('wt16', 3, () => {
      const s = new Scenario(BASE);
      s.worker('w', 5);
      ids.flat().forEach((id, i) => s.execution({ path: `etl/${i}`, startedMinutesAgo: 90 - i, id }).claimed('load', 60 - i, 'w'));
      const p = s.execution({ path: 'tree', startedMinutesAgo: 50, id: tree.p }).step('spawn', 49);
      const c = s.execution({ path: 'tree/child', startedMinutesAgo: 48, parent: p, id: tree.c }).step('spawn', 47);
      s.execution({ path: 'tree/grandchild', startedMinutesAgo: 46, parent: c, id: tree.g }).issued('x', 45);
      s.execution({ path: 'loop/self', startedMinutesAgo: 44, parent: { id: tree.self } as ExecutionBuilder, id: tree.self }).issued('x', 43);
      return s;
    });
    proxy = await FaultProxy.start();
    clusterDb = openPostgres(options(k.clusterUrl));
    source = new ShardedNoetlSource(clusterDb, SCHEMA, 'prod', [options(k.shardUrls[0]!), options(proxy.url(k.shardUrls[1]!)), options(k.shardUrls[2]!)]);
  }, 120_000);

  afterAll(async () => {
    await source?.close();
    await clusterDb?.close();
    await proxy?.close();
    await k?.drop();
  });

  it('lists every shard while all answer', async () => {
    expect(await listed()).toEqual([...ids.flat(), tree.p, tree.c, tree.g, tree.self].sort());
    expect(source.unreachable()).toEqual([]);
  });

  it('a self-parented execution is listed on its own by the listing and by the live view alike (no parent will finish it)', async () => {
    const tops = { olderThanSeconds: 0, includeChildren: false };
    const live = source.live();
    await live.refresh();
    expect(live.view(tops).map((e) => e.execution_id)).toContain(tree.self);
    expect((await source.listStuck(tops)).map((e) => e.execution_id)).toContain(tree.self);
    // Closed here, so that the tests after this one see the executions they expect.
    const [r] = await source.mark({ action: 'cancel', ids: [tree.self], reason: 'cycle test', cascade: false, dryRun: false, actor: currentActor() });
    expect(r?.outcome).toBe('cancelled');
  });

  it('writes only what the operator was shown: a descendant on another shard outside it is not_shown, unchanged', async () => {
    const count = async (db: Database, id: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${SCHEMA}".event WHERE execution_id = $1`, [id])).rows[0]!.n;
    const before = await count(k.shards[2]!, tree.g);
    const results = await source.mark({ action: 'cancel', ids: [tree.p], reason: 'bound', cascade: true, dryRun: false, actor: currentActor(), bound: new Set([tree.p, tree.c]) });
    expect(results.map((r) => [r.execution_id, r.outcome, r.root_execution_id, r.cascaded])).toEqual([
      [tree.p, 'cancelled', tree.p, false],
      [tree.c, 'cancelled', tree.p, true],
      [tree.g, 'not_shown', tree.p, true],
    ]);
    expect(await count(k.shards[2]!, tree.g)).toBe(before);
    expect(await listed()).toContain(tree.g);
    // Then closed on its own, so that the tests after this one see the nine executions.
    expect((await source.mark({ action: 'cancel', ids: [tree.g], reason: 'bound', cascade: false, dryRun: false, actor: currentActor() }))[0]!.outcome).toBe('cancelled');
  });

  it('keeps listing, refreshing and writing the others when a shard hangs, and names it', async () => {
    const live = source.live();
    await live.refresh();
    expect(live.runningCount).toBe(9);
    proxy.stallAll();
    const started = Date.now();
    expect(await listed()).toEqual([...ids[0]!, ...ids[2]!].sort());
    const [down] = source.unreachable();
    expect(down).toMatchObject({ shard: 1, target: `127.0.0.1:${proxy.port}${new URL(k.shardUrls[1]!).pathname}` });
    expect(Date.parse(down!.since)).toBeGreaterThanOrEqual(started - 1000);
    // The live view leaves out the missing shard rather than show its old rows.
    await live.refresh(true);
    expect(live.runningCount).toBe(6);
    expect(
      live
        .view({ olderThanSeconds: 0, includeChildren: true })
        .map((e) => e.execution_id)
        .sort(),
    ).toEqual([...ids[0]!, ...ids[2]!].sort());
    const metrics = renderMetrics(
      snapshotOf(live, { stuckSeconds: 60, longRunningSeconds: 3600, topPaths: 3, context: 'prod-eu' }),
      { stuckSeconds: 60, longRunningSeconds: 3600, topPaths: 3, context: 'prod-eu' },
      0.1,
    );
    expect(metrics).toMatch(/^noetl_console_shard_up\{context="prod-eu",shard="1",target="127\.0\.0\.1:\d+\/\S+"\} 0$/m);
    expect(metrics).toMatch(/^noetl_console_shard_running_executions\{context="prod-eu",shard="0",target="[^"]+"\} 3$/m);
    expect(metrics).toMatch(/^noetl_console_running_executions\{context="prod-eu"\} 6$/m);
    // Still the same since: it has not answered in between.
    await listed();
    expect(source.unreachable()[0]!.since).toBe(down!.since);
    // A write to a shard that answers commits; the one routed to the missing shard is not attempted.
    const results = await source.mark({ action: 'cancel', ids: [ids[0]![0]!, ids[1]![0]!], reason: 'test', cascade: false, dryRun: false, actor: currentActor() });
    expect(results.map((r) => [r.execution_id, r.outcome])).toEqual([
      [ids[0]![0]!, 'cancelled'],
      [ids[1]![0]!, 'not_attempted'],
    ]);
    const { rows } = await k.shards[1]!.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${SCHEMA}".event WHERE execution_id = $1`, [ids[1]![0]!]);
    const { rows: ref } = await k.reference.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${SCHEMA}".event WHERE execution_id = $1`, [ids[1]![0]!]);
    expect(rows[0]!.n).toBe(ref[0]!.n);
  }, 60_000);

  it('is no longer missing once it answers again', async () => {
    proxy.heal();
    expect(await listed()).toEqual(
      ids
        .flat()
        .filter((id) => id !== ids[0]![0])
        .sort(),
    );
    expect(source.unreachable()).toEqual([]);
  }, 60_000);

  it('when a shard is dropped for good (its proxy closed), reports it the same way', async () => {
    await proxy.close();
    expect(await listed()).toEqual([...ids[0]!, ...ids[2]!].filter((id) => id !== ids[0]![0]).sort());
    expect(source.unreachable().map((d) => d.shard)).toEqual([1]);
    expect(source.unreachable()[0]!.error).toMatch(/connection refused|lost the connection|terminat/);
  }, 60_000);
});
