/**
 * cleanup's write phase (issue 15, item 3) against the DBA's single
 * INSERT ... SELECT, on the same stuck executions, interleaved A B, B A:
 * medians and the ratio, the statements each run sent, and the most advisory
 * locks one transaction held. Both are undone after every run.
 *
 * The DBA's statement closes the same executions (the selection and its
 * running descendants) with one terminal row each: event_id one past the
 * newest, catalog and parent from the first event. Ours writes two rows each,
 * chained, under per-execution locks, re-checked, with the projection.
 *
 *   node build.mjs --dev && node build/cleanup-write.js --events 1000000 --running 7800 --reps 7
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { currentActor } from '../src/audit.js';
import { openPostgres } from '../src/db/postgres.js';
import { isChange, markExecutions } from '../src/noetl/mark.js';
import { NoetlStore } from '../src/noetl/store.js';
import { generate } from './generate.js';
import { counting, interleave } from './measure.js';

const argv = process.argv.slice(2);
const get = (name: string, def: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const events = Number(get('--events', '1000000'));
const running = Number(get('--running', '7800'));
const reps = Number(get('--reps', '7'));
const batch = argv.includes('--batch') ? Number(get('--batch', '0')) : undefined;
const url = get('--database-url', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const log = (line: string) => process.stderr.write(`${line}\n`);

const DBA = (s: string) => `INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at, event_type, node_name, status, meta)
  SELECT x.id, l.event_id + 1, f.catalog_id, f.parent_execution_id, now() AT TIME ZONE 'UTC', 'execution.cancelled', 'playbook', 'CANCELLED',
         '{"emitted_by": "dba"}'::jsonb
  FROM unnest($1::bigint[]) x(id)
  JOIN LATERAL (SELECT e.catalog_id, e.parent_execution_id FROM ${s}.event e WHERE e.execution_id = x.id ORDER BY e.event_id LIMIT 1) f ON true
  JOIN LATERAL (SELECT e.event_id FROM ${s}.event e WHERE e.execution_id = x.id ORDER BY e.event_id DESC LIMIT 1) l ON true`;

async function main() {
  const schema = `noetl_bench_cw_${randomBytes(4).toString('hex')}`;
  const s = `"${schema}"`;
  const admin = new pg.Client({ connectionString: url, application_name: 'noetl-console-bench' });
  await admin.connect();
  const db = openPostgres({ target: { kind: 'postgres', connectionString: url, label: 'bench' }, schema, readOnly: false, statementTimeoutMs: 600_000, connectTimeoutMs: 10_000 });
  try {
    log(`cleanup-write: building ${schema}: ${events} events, ${running} running`);
    const gen = await generate(admin, schema, { events, running }, log);
    const store = new NoetlStore(db, schema);
    const roots = (await store.listStuck({ olderThanSeconds: 3600, includeChildren: true })).map((e) => e.execution_id);
    const request = { action: 'cancel' as const, ids: roots, reason: 'bench', cascade: true, actor: currentActor(), batchSize: batch };
    const plan = await markExecutions(store, { ...request, dryRun: true });
    const written = plan.filter((r) => r.outcome === 'would_cancel').map((r) => r.execution_id);
    log(`cleanup-write: ${gen.events} events; ${roots.length} stuck selected, ${written.length} to close with their descendants`);
    const undo = () => admin.query(`DELETE FROM ${s}.event WHERE meta->>'emitted_by' IN ('noetl-console', 'dba')`);

    // The statements and the advisory locks of one run, outside the timing.
    const counted = counting(db);
    let maxLocks = 0;
    const countedStore = new NoetlStore(counted, schema);
    const check = await markExecutions(countedStore, { ...request, dryRun: false, onBatch: (b) => (maxLocks = Math.max(maxLocks, b.length)) });
    await undo();
    const dba = await admin.query(DBA(s), [written]);
    await undo();
    if (check.filter((r) => isChange(r.outcome)).length !== written.length || dba.rowCount !== written.length) throw new Error('the two writes closed different sets');

    let closed = 0;
    const r = await interleave(
      [
        ['console', async () => (closed = (await markExecutions(store, { ...request, dryRun: false })).filter((x) => isChange(x.outcome)).length)],
        ['dba', () => admin.query(DBA(s), [written])],
      ],
      reps,
      { between: undo },
    );
    const figures = {
      events: gen.events,
      selected: roots.length,
      closed,
      console_ms: Math.round(r.console!.ms),
      dba_insert_select_ms: Math.round(r.dba!.ms),
      ratio: Number((r.console!.ms / r.dba!.ms).toFixed(2)),
      target: '<= 1.5',
      console_statements: counted.count,
      most_executions_in_one_transaction: maxLocks,
      console_runs_ms: r.console!.runs.map(Math.round),
      dba_runs_ms: r.dba!.runs.map(Math.round),
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    await db.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  log(`cleanup-write: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
