/**
 * The full load right after a big cleanup (issue 13, item 8): with the
 * statistics as the cleanup left them, then after the console's own ANALYZE
 * of the partitions it wrote (src/noetl/statistics.ts). The two states come
 * one after the other (an ANALYZE cannot be undone), each measured `--reps`
 * times: medians, the ratio, and the plan's buffers.
 *
 *   node build.mjs --dev && node build/after-cleanup.js --scale 0.5 --reps 5
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { currentActor } from '../src/audit.js';
import { openPostgres } from '../src/db/postgres.js';
import { WHOLE_RANGE } from '../src/noetl/chunks.js';
import { LiveRunningSet } from '../src/noetl/live.js';
import { markExecutions } from '../src/noetl/mark.js';
import { analyzeWritten } from '../src/noetl/statistics.js';
import { NoetlStore } from '../src/noetl/store.js';
import * as sql from '../src/noetl/sql.js';
import { generate } from './generate.js';
import { timeIt } from './measure.js';

const argv = process.argv.slice(2);
const get = (name: string, def: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const scale = Number(get('--scale', '0.5'));
const reps = Number(get('--reps', '5'));
const url = get('--database-url', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main() {
  const schema = `noetl_bench_ac_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url, application_name: 'noetl-console-bench' });
  await admin.connect();
  // Autovacuum would re-analyze during the measure: the point is the window before it does.
  await admin.query('SET jit = off');
  const db = openPostgres({ target: { kind: 'postgres', connectionString: url, label: 'bench' }, schema, readOnly: false, statementTimeoutMs: 600_000, connectTimeoutMs: 10_000 });
  try {
    log(`after-cleanup: building ${schema} at scale ${scale}`);
    const gen = await generate(admin, schema, { events: Math.round(9_500_000 * scale), running: Math.max(20, Math.round(2600 * scale)) }, log);
    await admin.query(`ALTER TABLE "${schema}".event_default SET (autovacuum_enabled = off)`).catch(() => undefined);
    for (const t of (
      await admin.query<{ t: string }>(`SELECT c.oid::regclass::text AS t FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`, [
        `"${schema}".event`,
      ])
    ).rows) {
      await admin.query(`ALTER TABLE ${t.t} SET (autovacuum_enabled = off)`);
    }
    log(`after-cleanup: ${gen.events} events, ${gen.stuck} stuck`);
    const store = new NoetlStore(db, schema);
    const fullLoad = () => new LiveRunningSet(store).refresh(true);
    const caps = await store.capabilities();
    const listing = sql.listStuckSql(schema, caps, { olderThanSeconds: 300, includeChildren: true }, WHOLE_RANGE);
    const buffers = async () => {
      const plan = await admin.query<{ 'QUERY PLAN': [{ Plan: { 'Shared Hit Blocks'?: number; 'Shared Read Blocks'?: number } }] }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${listing.text}`,
        listing.values,
      );
      const p = plan.rows[0]!['QUERY PLAN'][0].Plan;
      return (p['Shared Hit Blocks'] ?? 0) + (p['Shared Read Blocks'] ?? 0);
    };

    const before = await timeIt(reps, fullLoad);
    const stuck = await store.listStuck({ olderThanSeconds: 300, includeChildren: true });
    const results = await markExecutions(store, {
      action: 'cancel',
      ids: stuck.map((e) => e.execution_id),
      reason: 'bench',
      cascade: true,
      dryRun: false,
      actor: currentActor(),
      batchSize: 1000,
    });
    const closed = results.filter((r) => r.outcome === 'cancelled').length;
    const stale = await timeIt(reps, fullLoad);
    const staleBuffers = await buffers();
    const report = await analyzeWritten(store, results);
    const fresh = await timeIt(reps, fullLoad);
    const freshBuffers = await buffers();
    const figures = {
      events: gen.events,
      closed,
      analyzed: report?.analyzed ?? [],
      full_load_before_cleanup_ms: Math.round(before.ms),
      full_load_stale_statistics_ms: Math.round(stale.ms),
      full_load_after_console_analyze_ms: Math.round(fresh.ms),
      ratio_stale_to_analyzed: Number((stale.ms / fresh.ms).toFixed(2)),
      list_buffers_stale: staleBuffers,
      list_buffers_analyzed: freshBuffers,
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    await db.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  log(`after-cleanup: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
