/**
 * cleanup's write phase (issue 15, item 3) against the DBA's single
 * INSERT ... SELECT, on the same stuck executions, interleaved A B, B A:
 * medians and the ratio, the statements each run sent, and the most advisory
 * locks one transaction held. Both are undone after every run.
 *
 * The DBA's statement closes the same executions (the selection and its
 * running descendants, ids given) with no lock and no re-check, in two
 * spellings: the same two rows as ours (vocabulary.ts CLOSE_ROWS: chained
 * event ids and created_at, catalog, parent and tenant from the first event,
 * the meta), and the least a DBA might write, one terminal row each. Ours
 * also reads the descendants, locks each execution, re-reads its state under
 * the lock and closes the projection. `--batch 500,1000` measures several
 * batch sizes in the same block.
 *
 *   node build.mjs --dev && node build/cleanup-write.js --events 1000000 --running 7800 --reps 7
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { currentActor } from '../src/audit.js';
import type { Database } from '../src/db/database.js';
import { openPostgres } from '../src/db/postgres.js';
import { MARK_BATCH_EXECUTIONS, markExecutions } from '../src/noetl/mark.js';
import { NoetlStore } from '../src/noetl/store.js';
import { generate } from './generate.js';
import { countingDatabase } from '../test/helpers/counting.js';
import { interleave } from './measure.js';
import { isChange } from '../src/core/mark.js';

const argv = process.argv.slice(2);
const get = (name: string, def: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const events = Number(get('--events', '1000000'));
const running = Number(get('--running', '7800'));
const reps = Number(get('--reps', '7'));
const batches = get('--batch', String(MARK_BATCH_EXECUTIONS)).split(',').map(Number);
const url = get('--database-url', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const log = (line: string) => process.stderr.write(`${line}\n`);

/** The same two rows as the console's close (cancel), in one statement. */
const DBA_SAME_ROWS = (s: string) => `INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, parent_event_id, prev_event_id,
    tenant_id, organization_id, created_at, event_type, node_id, node_name, status, result, meta)
  SELECT x.id, l.event_id + k.n, f.catalog_id, f.parent_execution_id, l.event_id + k.n - 1, l.event_id + k.n - 1,
         f.tenant_id, f.organization_id, now() AT TIME ZONE 'UTC' + (k.n - 1) * interval '1 microsecond',
         CASE k.n WHEN 1 THEN 'playbook.cancelled' ELSE 'execution.cancelled' END,
         CASE k.n WHEN 1 THEN 'playbook' ELSE 'cancel' END, CASE k.n WHEN 1 THEN 'playbook' ELSE 'cancel' END, 'CANCELLED',
         jsonb_build_object('status', 'CANCELLED', 'context', jsonb_build_object('reason', 'bench')),
         jsonb_build_object('emitted_by', 'dba', 'reason', 'bench')
  FROM unnest($1::bigint[]) x(id)
  JOIN LATERAL (SELECT e.catalog_id, e.parent_execution_id, e.tenant_id, e.organization_id FROM ${s}.event e
                WHERE e.execution_id = x.id ORDER BY e.event_id LIMIT 1) f ON true
  JOIN LATERAL (SELECT e.event_id FROM ${s}.event e WHERE e.execution_id = x.id ORDER BY e.event_id DESC LIMIT 1) l ON true
  CROSS JOIN (VALUES (1), (2)) k(n)`;

/** The least a DBA might write: one terminal row each. */
const DBA_ONE_ROW = (s: string) => `INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at, event_type, node_name, status, meta)
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
    const request = { action: 'cancel' as const, ids: roots, reason: 'bench', cascade: true, actor: currentActor(), batchSize: batches[0] };
    const plan = await markExecutions(store, { ...request, dryRun: true });
    const written = plan.filter((r) => r.outcome === 'would_cancel').map((r) => r.execution_id);
    log(`cleanup-write: ${gen.events} events; ${roots.length} stuck selected, ${written.length} to close with their descendants`);
    const undo = () => admin.query(`DELETE FROM ${s}.event WHERE meta->>'emitted_by' IN ('noetl-console', 'dba')`);

    // The statements and the advisory locks of one run, outside the timing.
    const counted = countingDatabase(db);
    let maxLocks = 0;
    const countedStore = new NoetlStore(counted, schema);
    const check = await markExecutions(countedStore, { ...request, dryRun: false, onBatch: (b) => (maxLocks = Math.max(maxLocks, b.length)) });
    await undo();
    const dba = await admin.query(DBA_SAME_ROWS(s), [written]);
    await undo();
    if (check.filter((r) => isChange(r.outcome)).length !== written.length || dba.rowCount !== 2 * written.length) throw new Error('the two writes closed different sets');

    if (argv.includes('--profile')) {
      // Where one run's time goes, by statement kind (a run outside the timing).
      const spent = new Map<string, number>();
      const timed =
        <Q extends { query: Database['query'] }>(q: Q): Database['query'] =>
        async (text, params) => {
          const t = performance.now();
          try {
            return await q.query(text, params);
          } finally {
            const kind = /pg_advisory_xact_lock/.test(text) ? 'lock' : /WITH RECURSIVE/.test(text) ? 'descendants' : /INSERT INTO/.test(text) ? 'write' : 'other';
            spent.set(kind, (spent.get(kind) ?? 0) + performance.now() - t);
          }
        };
      const profiled: Database = { ...db, query: timed(db), transaction: (fn) => db.transaction((tx) => fn({ query: timed(tx) })) };
      const t = performance.now();
      await markExecutions(new NoetlStore(profiled, schema), { ...request, dryRun: false });
      log(`cleanup-write: profile ${Math.round(performance.now() - t)} ms: ${JSON.stringify(Object.fromEntries([...spent].map(([k, v]) => [k, Math.round(v)])))}`);
      await undo();
    }

    let closed = 0;
    const r = await interleave(
      [
        ...batches.map(
          (size) =>
            [
              `console_batch_${size}`,
              async () => (closed = (await markExecutions(store, { ...request, batchSize: size, dryRun: false })).filter((x) => isChange(x.outcome)).length),
            ] as const,
        ),
        ['dba_same_rows', () => admin.query(DBA_SAME_ROWS(s), [written])],
        ['dba_one_row', () => admin.query(DBA_ONE_ROW(s), [written])],
      ],
      reps,
      { between: undo },
    );
    const same = r.dba_same_rows!.ms;
    const figures = {
      events: gen.events,
      selected: roots.length,
      closed,
      dba_same_rows_ms: Math.round(same),
      dba_one_row_ms: Math.round(r.dba_one_row!.ms),
      ...Object.fromEntries(
        batches.map((size) => {
          const ours = r[`console_batch_${size}`]!.ms;
          return [
            `console_batch_${size}`,
            { ms: Math.round(ours), ratio_to_same_rows: Number((ours / same).toFixed(2)), ratio_to_one_row: Number((ours / r.dba_one_row!.ms).toFixed(2)) },
          ];
        }),
      ),
      target: 'ratio <= 1.5',
      console_statements: counted.count,
      most_executions_in_one_transaction: maxLocks,
      runs_ms: Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.runs.map(Math.round)])),
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    await db.close();
    if (argv.includes('--keep')) log(`cleanup-write: kept ${schema}`);
    else await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  log(`cleanup-write: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
