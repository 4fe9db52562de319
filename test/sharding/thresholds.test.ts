/**
 * Learned thresholds on a sharded cluster: the same finished runs on one
 * database and spread over two shards give the same count, median, p95 and
 * p99 per path (the percentiles of the union, not of each shard); a shard
 * that does not answer fails the read; `list --json` on the cluster carries
 * each row's ratio.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConnectionOptions } from '../../src/config.js';
import type { Threshold } from '../../src/core/thresholds.js';
import type { Database } from '../../src/db/database.js';
import { openPostgres } from '../../src/db/postgres.js';
import { ShardedNoetlSource } from '../../src/noetl/sharded.js';
import { NoetlSource } from '../../src/noetl/source.js';
import { runsSql } from '../../src/noetl/sql.js';
import { addHistories, type HistoryIds } from '../fixtures/histories.js';
import { Scenario } from '../fixtures/scenario.js';
import { jsonOf, runCli, show } from '../helpers/cli.js';
import { describePostgres } from '../helpers/db.js';
import { prng } from '../helpers/reliability.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { SCHEMA, clusterConfig, createShardCluster, type ShardCluster } from '../helpers/shards.js';

const BASE = 613000000000000000n;

describePostgres('learned thresholds on a sharded cluster', () => {
  let k: ShardCluster;
  let ids: HistoryIds;
  let clusterDb: Database;
  let dir: string;
  let closedPort: number;

  const options = (url: string): ConnectionOptions => ({
    target: { kind: 'postgres', connectionString: url, label: new URL(url).host + new URL(url).pathname },
    schema: SCHEMA,
    readOnly: true,
    statementTimeoutMs: 5000,
    connectTimeoutMs: 2000,
  });
  const byPath = (rows: Threshold[]) => [...rows].sort((a, b) => a.path.localeCompare(b.path));

  beforeAll(async () => {
    k = await createShardCluster('thr', 2, () => {
      const s = new Scenario(BASE);
      ids = addHistories(s);
      // More paths, durations to the microsecond, some tied, in both dialects.
      const next = prng(613);
      for (const [path, runs] of [
        ['load/many', 101],
        ['load/some', 17],
        ['load/two', 2],
        ['load/one', 1],
      ] as const) {
        for (let i = 0; i < runs; i++) {
          const end = 30 + next() * 13 * 1440;
          const minutes = next() < 0.2 ? 10 : next() * 90;
          s.execution({ path, dialect: next() < 0.5 ? 'rust' : 'python', startedMinutesAgo: end + minutes }).finish('completed', end);
        }
      }
      return s;
    });
    clusterDb = openPostgres(options(k.clusterUrl));
    dir = mkdtempSync(join(tmpdir(), 'thr-shards-'));
    const probe = await FaultProxy.start();
    closedPort = probe.port;
    await probe.close();
  }, 120_000);

  afterAll(async () => {
    await clusterDb?.close();
    await k?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('equal the thresholds of one database holding every run, and each shard holds some of them', async () => {
    for (const shard of k.shards) expect((await shard.query(runsSql(SCHEMA), [14])).rows.length).toBeGreaterThan(20);
    const sharded = new ShardedNoetlSource(clusterDb, SCHEMA, 'prod', k.shardUrls.map(options));
    try {
      const [mine, one] = await Promise.all([sharded.thresholds(14), new NoetlSource(k.reference, SCHEMA).thresholds(14)]);
      expect(mine.map((t) => [t.path, t.samples])).toEqual(
        expect.arrayContaining([
          ['etl/fast', 10],
          ['load/many', 101],
        ]),
      );
      expect(byPath(mine).map((t) => [t.path, t.samples])).toEqual(byPath(one).map((t) => [t.path, t.samples]));
      byPath(one).forEach((t, i) => {
        const m = byPath(mine)[i]!;
        for (const key of ['median_seconds', 'p95_seconds', 'p99_seconds'] as const) expect(m[key], `${t.path} ${key}`).toBeCloseTo(t[key], 6);
      });
    } finally {
      await sharded.close();
    }
  });

  it('a shard that does not answer fails the read, naming it, and leaves the shards the listing saw alone', async () => {
    const down = options(k.shardUrls[1]!.replace(/:\d+\//, `:${closedPort}/`));
    const sharded = new ShardedNoetlSource(clusterDb, SCHEMA, 'prod', [options(k.shardUrls[0]!), down]);
    try {
      await expect(sharded.thresholds(14)).rejects.toThrow(/^shard 1 did not answer \(cannot connect to .*: connection refused\): thresholds need every shard$/);
      expect(sharded.unreachable()).toEqual([]);
    } finally {
      await sharded.close();
    }
  });

  it("list --json on the cluster carries each row's typical duration, p95 and ratio, as on one database", async () => {
    const config = clusterConfig(k, dir);
    const [mine, one] = await Promise.all([
      runCli(['list', '--older-than', '20', '--json', '--config', config]),
      runCli(['list', '--older-than', '20', '--json', '--database-url', k.referenceUrl, '--schema', SCHEMA]),
    ]);
    expect(mine.code, show(mine)).toBe(0);
    expect(one.code, show(one)).toBe(0);
    expect(mine.stderr).not.toMatch(/learned thresholds/);
    const rows = (r: typeof mine) => new Map((jsonOf(r).executions as any[]).map((e) => [e.execution_id, e]));
    const [m, o] = [rows(mine), rows(one)];
    expect([...m.keys()].sort()).toEqual([ids.fast, ids.slow, ids.fresh, ids.misc].sort());
    for (const id of m.keys())
      expect({ typical: m.get(id).typical_seconds, p95: m.get(id).p95_seconds }).toEqual({ typical: o.get(id).typical_seconds, p95: o.get(id).p95_seconds });
    expect(m.get(ids.fast).typical_seconds).toBe(300);
    expect(m.get(ids.fast).ratio).toBeGreaterThan(4);
    expect(m.get(ids.fast).ratio).toBeLessThan(4.5);
    expect(m.get(ids.slow).ratio).toBeLessThan(0.5);
    expect(m.get(ids.misc).ratio).toBeNull();
  });
});
