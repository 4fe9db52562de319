/**
 * `node build.mjs --dev && node build/bench-shards.js [--scale 1] [--shards 4] [--reps 7] [--database-url URL] [--keep]`
 *
 * `list` on a sharded cluster against one database with the same running set,
 * in one run: one database of bench/generate.ts's dataset (10M events at
 * scale 1), and N shard databases holding the same executions split as NoETL
 * routes them (xxhash64 % N), plus a cluster database with the catalog and the
 * runtime. Timed interleaved (one A, one B, ...), medians and ratios, and
 * where the sharded time goes: the shards' own queries (in parallel), the
 * completion from the cluster and the other shards, the merge. Also the bin,
 * end to end. Never part of `npm test`; the databases are dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { ConnectionOptions } from '../src/config.js';
import { openPostgres } from '../src/db/postgres.js';
import { loadShardRouter } from '../src/noetl/shard-route.js';
import { ShardedNoetlSource } from '../src/noetl/sharded.js';
import { NoetlStore } from '../src/noetl/store.js';
import { generate } from './generate.js';
import { median, run } from './measure.js';
import type { StuckFilter } from '../src/core/filter.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist', 'cli.js');
const SCHEMA = 'noetl';

function args() {
  const a = process.argv.slice(2);
  const get = (name: string, def: string) => {
    const i = a.indexOf(name);
    return i >= 0 && a[i + 1] ? a[i + 1]! : def;
  };
  return {
    scale: Number(get('--scale', '1')),
    shards: Number(get('--shards', '4')),
    reps: Number(get('--reps', '7')),
    url: get('--database-url', process.env.NOETL_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'),
    keep: a.includes('--keep'),
  };
}

const urlOf = (base: string, database: string) => {
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
};

async function main(): Promise<void> {
  const o = args();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const tag = `bench_shards_${randomBytes(3).toString('hex')}`;
  const names = { one: `${tag}_one`, cluster: `${tag}_cluster`, shards: Array.from({ length: o.shards }, (_, i) => `${tag}_s${i}`) };
  const all = [names.one, names.cluster, ...names.shards];
  const admin = new pg.Client({ connectionString: o.url, application_name: 'noetl-console-bench' });
  await admin.connect();
  const route = await loadShardRouter();
  const dir = mkdtempSync(join(tmpdir(), 'bench-shards-'));
  try {
    for (const name of all) await admin.query(`CREATE DATABASE "${name}"`);
    const build = async (name: string, keep: (id: string) => boolean) => {
      const c = new pg.Client({ connectionString: urlOf(o.url, name) });
      await c.connect();
      try {
        await c.query('SET jit = off');
        return await generate(c, SCHEMA, { events: Math.round(9_500_000 * o.scale), running: Math.max(20, Math.round(2600 * o.scale)) }, () => undefined, keep);
      } finally {
        await c.end();
      }
    };
    log(`bench: one database at scale ${o.scale}`);
    const one = await build(names.one, () => true);
    log(`bench:   ${one.events} events, ${one.executions} executions`);
    const perShard = [];
    for (let i = 0; i < o.shards; i++) {
      const g = await build(names.shards[i]!, (id) => route(id, o.shards) === i);
      // As in NoETL: no catalog or runtime rows on a shard (the cluster database has them), no cross-database keys.
      const c = new pg.Client({ connectionString: urlOf(o.url, names.shards[i]!) });
      await c.connect();
      await c.query(`DO $$ DECLARE r record; BEGIN
        FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
                 WHERE contype = 'f' AND conparentid = 0 AND connamespace = '${SCHEMA}'::regnamespace LOOP
          EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
        END LOOP; END $$`);
      await c.query(`DELETE FROM ${SCHEMA}.catalog; DELETE FROM ${SCHEMA}.runtime; ANALYZE ${SCHEMA}.catalog; ANALYZE ${SCHEMA}.runtime`);
      await c.end();
      perShard.push(g.events);
      log(`bench:   shard ${i}: ${g.events} events, ${g.executions} executions`);
    }
    await build(names.cluster, () => false);

    const options = (name: string): ConnectionOptions => ({
      target: { kind: 'postgres', connectionString: urlOf(o.url, name), label: name },
      schema: SCHEMA,
      readOnly: true,
      statementTimeoutMs: 600_000,
      connectTimeoutMs: 10_000,
    });
    const oneDb = openPostgres(options(names.one));
    const oneStore = new NoetlStore(oneDb, SCHEMA);
    const clusterDb = openPostgres(options(names.cluster));
    const sharded = new ShardedNoetlSource(clusterDb, SCHEMA, 'bench', names.shards.map(options));
    const raw = names.shards.map((n) => new NoetlStore(openPostgres(options(n)), SCHEMA));
    // Older than an hour: the databases were generated minutes apart, and the dataset's fresh
    // executions (started minutes before generation) must not cross the threshold in one only.
    const filter: StuckFilter = { olderThanSeconds: 3600, includeChildren: false };
    for (const f of [filter, { olderThanSeconds: 0, includeChildren: true }]) {
      // Every running one: the same set (the fresh ones' order depends on when each database was built).
      const ordered = f.olderThanSeconds > 0;
      const ids = async (src: { listStuck(f: StuckFilter): Promise<{ execution_id: string }[]> }) => {
        const list = (await src.listStuck(f)).map((e) => e.execution_id);
        return ordered ? list : list.sort();
      };
      const a = await ids(oneStore);
      const b = await ids(sharded);
      const same = a.length === b.length && a.every((id, i) => id === b[i]);
      log(
        `bench: older than ${f.olderThanSeconds} s${f.includeChildren ? ' with children' : ''}: ${a.length} on one database, ${b.length} on the shards, ${same ? `the same${ordered ? ', in the same order' : ''}` : 'DIFFERENT'}`,
      );
      if (!same) throw new Error('the sharded list differs from the one database');
    }
    const stuck = (await oneStore.listStuck(filter)).length;

    const config = join(dir, 'c.json');
    writeFileSync(config, JSON.stringify({ sources: { prod: { type: 'noetl', shards: names.shards.map((n) => urlOf(o.url, n)), cluster_url: urlOf(o.url, names.cluster) } } }));
    const env = { ...process.env, NO_COLOR: '1' };
    const bin = async (args: string[]) => {
      const t = performance.now();
      const r = await run(process.execPath, [cli, ...args], env);
      if (r.code !== 0) throw new Error(`${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
      return performance.now() - t;
    };
    const samples: Record<string, number[]> = { one: [], sharded: [], shardSql: [], binOne: [], binSharded: [] };
    const time = async (key: string, fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      samples[key]!.push(performance.now() - t);
    };
    // Warm-up, then interleaved: one database, shards (whole), shards (their queries alone), and the bin both ways.
    await oneStore.listStuck(filter);
    await sharded.listStuck(filter);
    for (let r = 0; r < o.reps; r++) {
      await time('one', () => oneStore.listStuck(filter));
      await time('sharded', () => sharded.listStuck(filter));
      await time('shardSql', () => Promise.all(raw.map((s) => s.listStuckRows(filter))));
      await time('binOne', () => bin(['list', '--json', '--older-than', '60', '--database-url', urlOf(o.url, names.one), '--schema', SCHEMA]));
      await time('binSharded', () => bin(['list', '--json', '--older-than', '60', '--config', config]));
    }
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<string, number>;
    const slowest: number[] = [];
    for (const s of raw) {
      const t = performance.now();
      await s.listStuckRows(filter);
      slowest.push(performance.now() - t);
    }
    const lines = [
      `list --older-than 60 (${stuck} stuck of ${one.executions} executions); ${o.shards} shards of ${perShard.join(' / ')} events vs one database of ${one.events}`,
      `  one database, in-process          ${m.one!.toFixed(1)} ms`,
      `  ${o.shards} shards, in-process            ${m.sharded!.toFixed(1)} ms   ratio ${(m.sharded! / m.one!).toFixed(2)}`,
      `    of which the shards' queries    ${m.shardSql!.toFixed(1)} ms (in parallel; each alone, one after the other: ${slowest.map((x) => x.toFixed(0)).join(' / ')} ms)`,
      `    the rest (by difference)        ${(m.sharded! - m.shardSql!).toFixed(1)} ms (paths from the cluster catalog, heartbeats, parents and children on other shards)`,
      `  bin end to end, one database      ${m.binOne!.toFixed(0)} ms`,
      `  bin end to end, ${o.shards} shards        ${m.binSharded!.toFixed(0)} ms   ratio ${(m.binSharded! / m.binOne!).toFixed(2)}`,
      `median of ${o.reps}, interleaved; scale ${o.scale}; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); ${new Date().toISOString()}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    await Promise.all([oneDb.close(), clusterDb.close(), sharded.close(), ...raw.map((s) => s.db.close())]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (!o.keep) for (const name of all) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
