/**
 * A sharded NoETL cluster through the bin, on the machine's PostgreSQL:
 * three shard databases and a cluster database (test/helpers/shards.ts), and a
 * reference database holding every row in one schema. What the console shows
 * and writes on the cluster is what it shows and writes on one database, each
 * row on its own shard.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { jsonOf, runCli, show } from '../helpers/cli.js';
import { describePostgres } from '../helpers/db.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { SCHEMA, clusterConfig, createShardCluster, idOnShard, type ShardCluster } from '../helpers/shards.js';

const BASE = 611000000000000000n;
const MAX = '9223372036854775807';
const PASSWORD = 'Sh4rd-pw-never-shown';
type Name = 'p' | 'c1' | 'c2' | 'g' | 'a' | 'b' | 'c' | 'd' | 'done' | 'max' | 'big' | 'stray';

describePostgres('a sharded NoETL cluster through the bin', () => {
  let k: ShardCluster;
  let dir: string;
  let closedPort: number;
  const ids = {} as Record<Name, string>;

  const build = () => {
    const s = new Scenario(BASE);
    s.worker('worker-live', 2).worker('worker-dead', 3600);
    const p = s.execution({ path: 'etl/tree', startedMinutesAgo: 80, id: ids.p }).step('spawn', 78, 'worker-live');
    const c1 = s.execution({ path: 'etl/tree/child', dialect: 'rust', startedMinutesAgo: 75, parent: p, id: ids.c1 }).step('spawn', 74);
    s.execution({ path: 'etl/tree/child', startedMinutesAgo: 75, parent: p, id: ids.c2 }).issued('work', 70);
    s.execution({ path: 'etl/tree/grandchild', startedMinutesAgo: 70, parent: c1, id: ids.g }).claimed('work', 69, 'worker-dead');
    s.execution({ path: 'etl/a', startedMinutesAgo: 120, id: ids.a }).claimed('load', 100, 'worker-live');
    s.execution({ path: 'etl/b', dialect: 'rust', startedMinutesAgo: 100, id: ids.b }).issued('transform', 95);
    s.execution({ path: 'etl/c', startedMinutesAgo: 50, id: ids.c }).claimed('x', 40, 'worker-dead');
    s.execution({ path: 'etl/d', startedMinutesAgo: 2, id: ids.d }).step('one', 1);
    s.execution({ path: 'etl/done', startedMinutesAgo: 90, id: ids.done }).step('one', 85).finish('completed', 84);
    s.execution({ path: 'etl/max', startedMinutesAgo: 60, id: ids.max }).issued('one', 59);
    s.execution({ path: 'etl/big', startedMinutesAgo: 65, id: ids.big }).issued('one', 64);
    s.execution({ path: 'etl/stray', startedMinutesAgo: 55, id: ids.stray }).issued('one', 54);
    return s;
  };

  const configFile = (name: string, body: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(body));
    return file;
  };
  const sharded = (shards: string[]) => clusterConfig(k, dir, shards);
  const onReference = (args: string[]) => runCli([...args, '--database-url', k.referenceUrl, '--schema', SCHEMA]);
  const eventsByExecution = async (db: ShardCluster['cluster']) => {
    const { rows } = await db.query<{ id: string; n: number }>(`SELECT execution_id::text AS id, count(*)::int AS n FROM "${SCHEMA}".event GROUP BY 1`);
    return new Map(rows.map((r) => [r.id, r.n]));
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
      last_step: e.last_step,
    }));

  beforeAll(async () => {
    // The tree spans the three shards; the largest bigint and an id above 2^53 are executions.
    ids.p = await idOnShard(0, 3, BASE + 1000n);
    ids.c1 = await idOnShard(1, 3, BASE + 2000n);
    ids.c2 = await idOnShard(2, 3, BASE + 3000n);
    ids.g = await idOnShard(2, 3, BASE + 4000n);
    ids.a = await idOnShard(0, 3, BASE + 5000n);
    ids.b = await idOnShard(1, 3, BASE + 6000n);
    ids.c = await idOnShard(2, 3, BASE + 7000n);
    ids.d = await idOnShard(1, 3, BASE + 8000n);
    ids.done = await idOnShard(0, 3, BASE + 9000n);
    ids.max = MAX;
    ids.big = '9007199254740993123';
    // Routed to shard 0, its rows on shard 2: a mismatch the console must find and report.
    ids.stray = await idOnShard(0, 3, BASE + 10_000n);
    k = await createShardCluster('wt16', 3, build, new Map([[ids.stray, 2]]));
    dir = mkdtempSync(join(tmpdir(), 'wt16-shards-'));
    const probe = await FaultProxy.start();
    closedPort = probe.port;
    await probe.close();
  }, 120_000);

  afterAll(async () => {
    await k?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('puts each execution on the shard the hash names, and nothing on the cluster database', async () => {
    for (let i = 0; i < 3; i++) {
      const here = [...(await eventsByExecution(k.shards[i]!)).keys()];
      expect(here.length).toBeGreaterThan(0);
      for (const id of here) expect(k.shardOf(id)).toBe(id === ids.stray ? 0 : i);
    }
    expect((await k.cluster.query<{ t: string | null }>(`SELECT to_regclass('"${SCHEMA}".event')::text AS t`)).rows[0]!.t).toBeNull();
  });

  it('lists the union of the shards, oldest first, as one database would', async () => {
    const config = sharded(k.shardUrls);
    for (const extra of [['--include-children'], []]) {
      const [mine, ref] = await Promise.all([
        runCli(['list', '--older-than', '0', '--json', '--config', config, ...extra]),
        onReference(['list', '--older-than', '0', '--json', ...extra]),
      ]);
      expect(mine.code, show(mine)).toBe(0);
      expect(ref.code, show(ref)).toBe(0);
      const json = jsonOf(mine);
      expect(json.partial).toBeUndefined();
      expect(listed(json)).toEqual(listed(jsonOf(ref)));
      expect(listed(json).length).toBeGreaterThanOrEqual(extra.length ? 10 : 7);
    }
    // Paths and heartbeats came from the cluster database: the shards have no catalog or runtime rows.
    const json = jsonOf(await runCli(['list', '--older-than', '0', '--include-children', '--json', '--config', config]));
    const byId = new Map(json.executions.map((e: { execution_id: string }) => [e.execution_id, e]));
    expect(byId.get(ids.g)).toMatchObject({ path: 'etl/tree/grandchild', worker_id: 'worker-dead', worker_alive: false, parent_execution_id: ids.c1 });
    expect(byId.get(ids.a)).toMatchObject({ path: 'etl/a', worker_alive: true });
    // Its children are on shards 1 and 2.
    expect(byId.get(ids.p)).toMatchObject({ running_children: 2 });
    // A child whose parent runs on another shard is not a row of its own without --include-children.
    const top = jsonOf(await runCli(['list', '--older-than', '0', '--json', '--config', config]));
    expect(top.executions.map((e: { execution_id: string }) => e.execution_id)).not.toContain(ids.g);
    expect(byId.get(MAX)).toMatchObject({ path: 'etl/max' });
  });

  it('shows an execution from its shard and counts health over the shards', async () => {
    const config = sharded(k.shardUrls);
    const shown = await runCli(['show', ids.c1, '--json', '--config', config]);
    expect(shown.code, show(shown)).toBe(0);
    const ref = await onReference(['show', ids.c1, '--json']);
    const strip = (j: any) => ({
      id: j.execution_id,
      path: j.path,
      running_children: j.running_children,
      children: j.children.map((c: any) => [c.execution_id, c.parent_execution_id, c.depth, c.state]),
      events: j.events.map((e: any) => e.event_id),
    });
    expect(strip(jsonOf(shown)).children).toHaveLength(1);
    expect(strip(jsonOf(shown))).toEqual(strip(jsonOf(ref)));
    const [h, hr] = await Promise.all([runCli(['health', '--json', '--config', config]), onReference(['health', '--json'])]);
    const counts = (j: any) => ({ running: j.running, stuck: j.stuck, live_workers: j.live_workers });
    expect(counts(jsonOf(h))).toEqual(counts(jsonOf(hr)));
  });

  it('cancels with cascade across shards: exactly the tree, each row on its own shard', async () => {
    const config = sharded(k.shardUrls);
    const before = await Promise.all(k.shards.map(eventsByExecution));
    const mine = await runCli(['cancel', ids.p, '--cascade', '--reason', 'sharded test', '--json', '--config', config]);
    expect(mine.code, show(mine)).toBe(0);
    const ref = await onReference(['cancel', ids.p, '--cascade', '--reason', 'sharded test', '--json']);
    expect(ref.code, show(ref)).toBe(0);
    const outcomes = (j: any) => j.results.map((r: any) => [r.execution_id, r.outcome, r.root_execution_id, r.cascaded, r.parent_execution_id]);
    expect(outcomes(jsonOf(mine))).toEqual(outcomes(jsonOf(ref)));
    expect(jsonOf(mine).changed_count).toBe(4);
    const after = await Promise.all(k.shards.map(eventsByExecution));
    const tree = new Set([ids.p, ids.c1, ids.c2, ids.g]);
    for (let i = 0; i < 3; i++) {
      for (const [id, n] of after[i]!) {
        const grew = n - (before[i]!.get(id) ?? 0);
        // A close writes two rows (NoETL's command.cancelled-style stop marker and the terminal row).
        expect(grew, `shard ${i} execution ${id}`).toBe(tree.has(id) ? 2 : 0);
      }
      for (const id of tree) if (k.shardOf(id) === i) expect(after[i]!.has(id)).toBe(true);
    }
    // One batch across the shards: history shows it once, verify reads every shard.
    const batch = jsonOf(mine).batch_id as string;
    const hist = await runCli(['history', '--batch', batch, '--json', '--config', config]);
    expect(hist.code, show(hist)).toBe(0);
    expect(jsonOf(hist).batches.map((b: any) => [b.batch_id, b.executions, b.execution_ids])).toEqual([[batch, 4, [...tree].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))]]);
    const verified = await runCli(['verify', batch, '--json', '--config', config]);
    expect(verified.code, show(verified)).toBe(0);
    expect(
      jsonOf(verified)
        .results.map((r: any) => [r.execution_id, r.status])
        .sort(),
    ).toEqual([...tree].sort().map((id) => [id, 'quiet']));
    // Again: nothing left to do, and nothing written.
    const again = await runCli(['cancel', ids.p, '--cascade', '--json', '--config', config]);
    expect(jsonOf(again).changed_count).toBe(0);
    expect(await Promise.all(k.shards.map(eventsByExecution))).toEqual(after);
  });

  it('writes an execution where its rows are when the hash names another shard, and says so', async () => {
    const config = sharded(k.shardUrls);
    const r = await runCli(['cancel', ids.stray, '--json', '--config', config]);
    expect(r.code, show(r)).toBe(0);
    const [result] = jsonOf(r).results;
    expect(result).toMatchObject({ execution_id: ids.stray, outcome: 'cancelled' });
    expect(result.message).toBe("routed to shard 0 by NoETL's hash, found on shard 2");
    expect(r.stderr).toMatch(new RegExp(`execution ${ids.stray}: NoETL's hash routes it to shard 0 \\(\\S+\\) but its rows are on shard 2 \\(\\S+\\); written there`));
    expect((await eventsByExecution(k.shards[0]!)).has(ids.stray)).toBe(false);
    expect((await eventsByExecution(k.shards[2]!)).get(ids.stray)).toBe((await eventsByExecution(k.reference)).get(ids.stray)! + 2);
    expect((await onReference(['cancel', ids.stray])).code).toBe(0);
  });

  it('with a shard down: lists and writes the others, says which shard and since when, exits 1', async () => {
    const down = [k.shardUrls[0]!, k.shardUrls[1]!.replace(':5432/', `:${closedPort}/`), k.shardUrls[2]!];
    const config = sharded(down);
    const r = await runCli(['list', '--older-than', '0', '--include-children', '--json', '--config', config]);
    expect(r.code, show(r)).toBe(1);
    const json = jsonOf(r);
    expect(json.partial).toBe(true);
    expect(json.unreachable_shards).toHaveLength(1);
    expect(json.unreachable_shards[0]).toMatchObject({ shard: 1, target: `127.0.0.1:${closedPort}/${new URL(k.shardUrls[1]!).pathname.slice(1)}` });
    expect(Date.parse(json.unreachable_shards[0].since)).toBeGreaterThan(Date.now() - 60_000);
    expect(json.unreachable_shards[0].error).toMatch(/connection refused/);
    const ref = jsonOf(await onReference(['list', '--older-than', '0', '--include-children', '--json']));
    const expected = ref.executions.map((e: { execution_id: string }) => e.execution_id).filter((id: string) => k.shardOf(id) !== 1);
    expect(json.executions.map((e: { execution_id: string }) => e.execution_id)).toEqual(expected);
    expect(r.stderr).toMatch(/shard 1 \(127\.0\.0\.1:\d+\/\S+\) unreachable since \d{4}-\d\d-\d\dT/);

    const human = await runCli(['list', '--older-than', '0', '--config', config]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('etl/a');
    expect(human.stderr).toMatch(/partial/);

    // ids.a lives on shard 0, ids.b on shard 1 (down): a is written, b is reported not attempted.
    const before0 = await eventsByExecution(k.shards[0]!);
    const w = await runCli(['fail', ids.a, ids.b, '--reason', 'half the cluster', '--json', '--config', config]);
    expect(w.code, show(w)).toBe(1);
    const wj = jsonOf(w);
    expect(wj.partial).toBe(true);
    expect(wj.results.map((x: any) => [x.execution_id, x.outcome])).toEqual([
      [ids.a, 'failed'],
      [ids.b, 'not_attempted'],
    ]);
    expect(wj.results[1].message).toMatch(/^shard 1 /);
    expect((await eventsByExecution(k.shards[0]!)).get(ids.a)).toBe(before0.get(ids.a)! + 2);
    // The reference follows, for the tests after this one.
    expect((await onReference(['fail', ids.a, '--reason', 'half the cluster'])).code).toBe(0);
  });

  it("reads NoETL's own NOETL_SHARDS and NOETL_CLUSTER_DSN, and never prints the password", async () => {
    const dsn = (url: string, port = '5432') => {
      const u = new URL(url);
      return `host=127.0.0.1;port=${port};user=${u.username};password=${PASSWORD};database=${u.pathname.slice(1)}`;
    };
    const config = configFile('env.json', { sources: { prod: { type: 'noetl', shards_env: 'NOETL_SHARDS', cluster_env: 'NOETL_CLUSTER_DSN' } } });
    const env = { NOETL_SHARDS: ` ${k.shardUrls.map((u) => dsn(u)).join(' , ')} ,`, NOETL_CLUSTER_DSN: dsn(k.clusterUrl) };
    const [mine, ref] = await Promise.all([
      runCli(['list', '--older-than', '0', '--include-children', '--json', '--config', config], { env }),
      onReference(['list', '--older-than', '0', '--include-children', '--json']),
    ]);
    expect(mine.code, show(mine)).toBe(0);
    expect(listed(jsonOf(mine))).toEqual(listed(jsonOf(ref)));
    const downEnv = { ...env, NOETL_SHARDS: k.shardUrls.map((u, i) => dsn(u, i === 2 ? String(closedPort) : '5432')).join(',') };
    const partial = await runCli(['list', '--older-than', '0', '--json', '--config', config], { env: downEnv });
    expect(partial.code, show(partial)).toBe(1);
    expect(jsonOf(partial).unreachable_shards.map((s: any) => s.shard)).toEqual([2]);
    const bad = await runCli(['list', '--config', config], { env: { ...env, NOETL_SHARDS: `host=127.0.0.1;user=postgres;password=${PASSWORD};sslmode=require` } });
    expect(bad.code, show(bad)).toBe(2);
    expect(bad.stderr).toMatch(/NOETL_SHARDS \(shard 0\): unknown key "sslmode"/);
    const unset = await runCli(['list', '--config', config], { env: { NOETL_SHARDS: undefined } });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/NOETL_SHARDS: not set/);
    for (const r of [mine, partial, bad, unset]) expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });
});
