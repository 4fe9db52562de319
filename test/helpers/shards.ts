/**
 * A sharded NoETL cluster on the test server, laid out as NoETL's Rust server
 * keeps one: N shard databases, each holding the event/command/execution rows
 * of the executions xxhash64 routes to it, and a cluster database holding the
 * catalog and runtime tables. Beside it, a reference database with every row
 * in one schema: what the console shows on one database is what it must show
 * on the cluster.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Database } from '../../src/db/database.js';
import { openPostgres } from '../../src/db/postgres.js';
import { loadShardRouter } from '../../src/noetl/shard-route.js';
import { noetlSchemaSql } from '../fixtures/noetl-schema.js';
import type { Scenario } from '../fixtures/scenario.js';
import { POSTGRES_URL } from './db.js';

export const SCHEMA = 'noetl';

export interface ShardCluster {
  shardUrls: string[];
  clusterUrl: string;
  referenceUrl: string;
  /** A session on each shard, the cluster database and the reference database. */
  shards: Database[];
  cluster: Database;
  reference: Database;
  /** The shard NoETL routes an id to. */
  shardOf(id: string): number;
  drop(): Promise<void>;
}

/** A config file in `dir` naming the cluster as source `prod` (its shards, or `shards` in their place). */
export function clusterConfig(k: ShardCluster, dir: string, shards: readonly string[] = k.shardUrls): string {
  const file = join(dir, `cluster-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify({ sources: { prod: { type: 'noetl', shards, cluster_url: k.clusterUrl } } }));
  return file;
}

export function urlOf(database: string): string {
  const u = new URL(POSTGRES_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

function open(url: string): Database {
  return openPostgres({ target: { kind: 'postgres', connectionString: url, label: url }, schema: SCHEMA, readOnly: false, statementTimeoutMs: 15_000, connectTimeoutMs: 10_000 });
}

/** An id at or above `from` that NoETL routes to `shard` of `count`. */
export async function idOnShard(shard: number, count: number, from: bigint): Promise<string> {
  const route = await loadShardRouter();
  for (let id = from; ; id += 1n) if (route(String(id), count) === shard) return String(id);
}

/**
 * Create the databases (names prefixed `prefix`), each seeded by its own
 * `build()` (a Scenario is written once): the shards keep their executions'
 * rows, the cluster database the catalog and the runtime.
 */
export async function createShardCluster(
  prefix: string,
  count: number,
  build: () => Scenario,
  /** Where an execution's rows go, when not where the hash routes them (a misplaced execution). */
  misplaced: ReadonlyMap<string, number> = new Map(),
): Promise<ShardCluster> {
  const tag = `${prefix}_${randomBytes(4).toString('hex')}`;
  const names = [...Array.from({ length: count }, (_, i) => `${tag}_s${i}`), `${tag}_cluster`, `${tag}_ref`];
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    for (const name of names) await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const dbs = names.map((n) => open(urlOf(n)));
  const route = await loadShardRouter();
  const s = `"${SCHEMA}"`;
  for (const db of dbs) {
    await db.query(noetlSchemaSql(SCHEMA));
    await build().apply(db, SCHEMA);
  }
  const { rows } = await dbs[count + 1]!.query<{ id: string }>(`SELECT DISTINCT execution_id::text AS id FROM ${s}.event`);
  for (let i = 0; i < count; i++) {
    const mine = rows.map((r) => r.id).filter((id) => (misplaced.get(id) ?? route(id, count)) === i);
    for (const table of ['event', 'command', 'execution']) await dbs[i]!.query(`DELETE FROM ${s}.${table} WHERE execution_id <> ALL($1::bigint[])`, [mine]);
    // No foreign key spans two databases: a shard's rows name catalog rows of the cluster database.
    await dbs[i]!.query(`DO $$ DECLARE r record; BEGIN
      FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
               WHERE contype = 'f' AND conparentid = 0 AND connamespace = '${SCHEMA}'::regnamespace LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
      END LOOP; END $$`);
    await dbs[i]!.query(`DELETE FROM ${s}.catalog; DELETE FROM ${s}.runtime`);
  }
  // The cluster database: the cluster-wide tables only.
  await dbs[count]!.query(`DROP TABLE ${s}.event, ${s}.command, ${s}.execution CASCADE`);
  return {
    shardUrls: names.slice(0, count).map(urlOf),
    clusterUrl: urlOf(names[count]!),
    referenceUrl: urlOf(names[count + 1]!),
    shards: dbs.slice(0, count),
    cluster: dbs[count]!,
    reference: dbs[count + 1]!,
    shardOf: (id) => route(id, count),
    async drop() {
      await Promise.all(dbs.map((db) => db.close().catch(() => undefined)));
      const again = new pg.Client({ connectionString: POSTGRES_URL });
      await again.connect();
      try {
        for (const name of names) await again.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await again.end();
      }
    },
  };
}
