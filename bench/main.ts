/**
 * `npm run bench -- [--scale 1] [--reps 5] [--database-url URL] [--keep]`
 *
 * Builds a NoETL-shaped database on a real PostgreSQL (in a schema of its
 * own, dropped afterwards), takes every figure of issue 5 with its baseline in
 * the same run (median of --reps), prints one table and writes
 * bench/results.json. Never part of `npm test`; CI runs --scale 0.01 as a
 * smoke test of the harness.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { currentActor } from '../src/audit.js';
import type { Database, QueryResult } from '../src/db/database.js';
import { openPostgres } from '../src/db/postgres.js';
import { LiveRunningSet } from '../src/noetl/live.js';
import { markExecutions } from '../src/noetl/mark.js';
import { NoetlStore } from '../src/noetl/store.js';
import * as sql from '../src/noetl/sql.js';
import { noetlSchemaSql } from '../test/fixtures/noetl-schema.js';
import { BIG_EXECUTION_ID, generate } from './generate.js';
import { median, run, timeIt } from './measure.js';

interface Figure {
  figure: string;
  value: number;
  unit: string;
  baseline?: string;
  baseline_value?: number;
  ratio?: number;
  target?: string;
  met?: boolean;
  note?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
// Built into build/; the bin it measures is the published one in dist/.
const cli = join(here, '..', 'dist', 'cli.js');

function args() {
  const a = process.argv.slice(2);
  const get = (name: string, def: string) => {
    const i = a.indexOf(name);
    return i >= 0 && a[i + 1] ? a[i + 1]! : def;
  };
  const scale = Number(get('--scale', '1'));
  const reps = Number(get('--reps', '5'));
  if (!(scale > 0 && scale <= 10) || !(reps >= 1 && reps <= 50)) {
    process.stderr.write('bench: --scale must be in (0, 10] and --reps in [1, 50]\n');
    process.exit(2);
  }
  const url = get('--database-url', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  return { scale, reps, url, keep: a.includes('--keep'), out: get('--out', join(here, '..', 'bench', 'results.json')) };
}

/** A Database that counts the statements it sends: round trips. */
function counting(db: Database): Database & { count: number } {
  const wrapped = {
    ...db,
    count: 0,
    kind: db.kind,
    label: db.label,
    query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      wrapped.count++;
      return db.query<R>(text, params);
    },
    transaction<T>(fn: Parameters<Database['transaction']>[0]): Promise<T> {
      wrapped.count += 2; // BEGIN, COMMIT
      return db.transaction((tx) =>
        fn({
          query<R>(text: string, params?: readonly unknown[]) {
            wrapped.count++;
            return tx.query<R>(text, params);
          },
        }),
      ) as Promise<T>;
    },
    close: () => db.close(),
  };
  return wrapped;
}

/**
 * A Database that also runs EXPLAIN (ANALYZE, BUFFERS) of each read, to
 * total the database's own time and the pages it touched.
 */
function explaining(db: Database) {
  let ms = 0;
  let buffers = 0;
  const wrapped = {
    ...db,
    enabled: true,
    kind: db.kind,
    label: db.label,
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      if (!wrapped.enabled) return db.query<R>(text, params);
      const plan = await db.query<{ 'QUERY PLAN': [{ 'Execution Time': number; Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, params);
      const root = plan.rows[0]!['QUERY PLAN'][0];
      ms += root['Execution Time'];
      buffers += (root.Plan['Shared Hit Blocks'] ?? 0) + (root.Plan['Shared Read Blocks'] ?? 0);
      return db.query<R>(text, params);
    },
    reset() {
      ms = 0;
      buffers = 0;
    },
    totals: () => ({ ms, buffers }),
    close: () => db.close(),
  };
  return wrapped;
}

interface PlanNode {
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
}

/** What an engine writes in two seconds: progress on running executions, a few finishes and starts. */
async function engineTick(admin: pg.Client, s: string, tick: number): Promise<void> {
  await admin.query(`INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at, event_type, node_name, status, worker_id)
    SELECT p.id, 9000000000 + ${tick} * 1000 + row_number() OVER (), p.catalog_id, p.parent_id, now() AT TIME ZONE 'UTC',
           'command.heartbeat', 'step_' || p.last_step, 'RUNNING', p.worker
    FROM ${s}.bench_plan p WHERE p.kind IN ('fresh', 'stuck_idle') ORDER BY p.i LIMIT 50 OFFSET ${tick * 50}`);
  await admin.query(`INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at, event_type, node_name, status)
    SELECT p.id, 9100000000 + ${tick}, p.catalog_id, p.parent_id, now() AT TIME ZONE 'UTC', 'playbook.completed', 'playbook', 'COMPLETED'
    FROM ${s}.bench_plan p WHERE p.kind = 'fresh' ORDER BY p.i LIMIT 3 OFFSET ${tick * 3}`);
  await admin.query(`INSERT INTO ${s}.event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status)
    SELECT 700000000000000000 + ${tick} * 100 + g, 1, 1000, now() AT TIME ZONE 'UTC', 'playbook_started', 'playbook', 'STARTED'
    FROM generate_series(1, 3) g`);
}

const NOETL_SELECTION = (s: string) => `SELECT DISTINCT e.execution_id
  FROM ${s}.event e
  WHERE e.event_type = 'playbook.initialized'
    AND e.created_at < (now() AT TIME ZONE 'UTC') - $1::int * interval '1 minute'
    AND NOT EXISTS (SELECT 1 FROM ${s}.event t WHERE t.execution_id = e.execution_id
                    AND t.event_type IN ('playbook.completed', 'playbook.failed', 'execution.cancelled'))`;

const NAIVE_LATEST = (s: string) => `SELECT l.execution_id FROM (
    SELECT DISTINCT ON (execution_id) execution_id, event_type, created_at
    FROM ${s}.event ORDER BY execution_id, event_id DESC) l
  JOIN (SELECT execution_id, min(created_at) AS started_at FROM ${s}.event GROUP BY execution_id) f USING (execution_id)
  WHERE l.event_type NOT IN ('playbook.completed', 'playbook_completed', 'workflow.completed', 'playbook.failed',
                             'playbook_failed', 'workflow.failed', 'execution.cancelled', 'playbook.cancelled', 'playbook_cancelled')
    AND f.started_at < (now() AT TIME ZONE 'UTC') - $1::int * interval '1 minute'`;

async function main(): Promise<void> {
  const o = args();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const schema = `noetl_bench_${randomBytes(4).toString('hex')}`;
  const s = `"${schema}"`;
  const admin = new pg.Client({ connectionString: o.url, application_name: 'noetl-console-bench' });
  await admin.connect();
  const server = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  await admin.query('SET jit = off');
  const figures: Figure[] = [];
  const cliEnv = { ...process.env, NO_COLOR: '1' };
  const conn = ['--database-url', o.url, '--schema', schema];
  const emptySchema = `${schema}_empty`;
  try {
    log(`bench: building ${schema} at scale ${o.scale} on PostgreSQL ${server}`);
    const gen = await generate(admin, schema, o.scale, log);
    log(`bench: ${gen.executions} executions, ${gen.events} events, ${gen.stuck} stuck`);
    figures.push({ figure: 'generation: load (set-based SQL)', value: gen.seconds.load, unit: 's' });
    figures.push({ figure: 'generation: indexes', value: gen.seconds.index, unit: 's' });
    figures.push({ figure: 'generation: vacuum analyze', value: gen.seconds.analyze, unit: 's' });
    figures.push({ figure: 'dataset: events', value: gen.events, unit: 'rows' });
    figures.push({ figure: 'dataset: executions', value: gen.executions, unit: 'rows' });

    const db = openPostgres({ target: { kind: 'postgres', connectionString: o.url, label: 'bench' }, schema, readOnly: false, statementTimeoutMs: 600_000, connectTimeoutMs: 10_000 });
    const store = new NoetlStore(db, schema);

    // 1. list --older-than 60 --json through the bin, against NoETL's selection and the naive query.
    log('bench: figure 1, list');
    let listed = 0;
    const ours = await timeIt(o.reps, async () => {
      const r = await run(process.execPath, [cli, 'list', '--older-than', '60', '--json', ...conn], cliEnv);
      if (r.code !== 0) throw new Error(`list failed: ${r.stderr}`);
      listed = (JSON.parse(r.stdout) as { count: number }).count;
    });
    const oursSql = await timeIt(o.reps, () => store.listStuck({ olderThanSeconds: 3600 }));
    const noetl = await timeIt(o.reps, () => admin.query(NOETL_SELECTION(s), [60]));
    const naive = await timeIt(Math.min(o.reps, 3), () => admin.query(NAIVE_LATEST(s), [60]));
    const caps = await store.capabilities();
    const explain = (await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql.listStuckSql(schema, caps)}`, [3600, null, null, false, null]))
      .rows.map((r) => r['QUERY PLAN'])
      .join('\n');
    writeFileSync(join(dirname(o.out), 'explain-list.txt'), `${explain}\n`);
    figures.push({ figure: `1. list --older-than 60 --json (bin, ${listed} rows)`, value: ours.ms, unit: 'ms', baseline: "NoETL's cleanup selection", baseline_value: noetl.ms, ratio: noetl.ms / ours.ms, target: '< 300 ms and >= 5x', met: ours.ms < 300 && noetl.ms / ours.ms >= 5 });
    figures.push({ figure: '1. list, same vs naive latest-event query', value: ours.ms, unit: 'ms', baseline: 'naive latest event per execution', baseline_value: naive.ms, ratio: naive.ms / ours.ms });
    figures.push({ figure: '1. list query alone (in process)', value: oursSql.ms, unit: 'ms', baseline: "NoETL's cleanup selection", baseline_value: noetl.ms, ratio: noetl.ms / oursSql.ms });

    // Issue 8: incremental refresh vs full load, with engine writes in between.
    log('bench: incremental refresh');
    // Wall time on a plain session; database time and pages touched by
    // EXPLAIN (ANALYZE, BUFFERS) of the same statements, in separate passes.
    const explained = explaining(db);
    const live = new LiveRunningSet(new NoetlStore(explained, schema), { reconcileMs: 3_600_000 });
    const fullRuns: number[] = [];
    let fullDb = { ms: 0, buffers: 0 };
    for (let i = 0; i < o.reps; i++) {
      explained.enabled = false;
      const t = performance.now();
      await live.refresh(true);
      fullRuns.push(performance.now() - t);
    }
    explained.enabled = true;
    explained.reset();
    await live.refresh(true);
    fullDb = explained.totals();
    const incRuns: number[] = [];
    const incDb: { ms: number; buffers: number }[] = [];
    for (let i = 0; i < Math.max(o.reps, 5) * 2; i++) {
      await engineTick(admin, s, i);
      explained.enabled = i % 2 === 1;
      explained.reset();
      const t = performance.now();
      const stats = await live.refresh();
      if (stats.kind !== 'incremental') throw new Error('expected an incremental refresh');
      if (explained.enabled) incDb.push(explained.totals());
      else incRuns.push(performance.now() - t);
    }
    const fullMs = median(fullRuns);
    const incMs = median(incRuns);
    const incDbMs = median(incDb.map((d) => d.ms));
    const incBuffers = median(incDb.map((d) => d.buffers));
    figures.push({ figure: `8. incremental refresh (${live.runningCount} running)`, value: incMs, unit: 'ms', baseline: 'full load', baseline_value: fullMs, ratio: fullMs / incMs, target: '>= 20x faster', met: fullMs / incMs >= 20 });
    figures.push({ figure: '8. incremental refresh, database time', value: incDbMs, unit: 'ms', baseline: 'full load', baseline_value: fullDb.ms, ratio: fullDb.ms / incDbMs, target: '< 20 ms', met: incDbMs < 20 });
    figures.push({ figure: '8. buffers read per minute, one console (refresh 2 s)', value: incBuffers * 30, unit: 'pages', baseline: 'full query every 2 s', baseline_value: fullDb.buffers * 30, ratio: fullDb.buffers / incBuffers, target: '>= 20x lower', met: fullDb.buffers / incBuffers >= 20 });

    // 2. show of an execution with 10,000 events and 50 children.
    log('bench: figure 2, show');
    const show = await timeIt(o.reps, async () => {
      const r = await run(process.execPath, [cli, 'show', BIG_EXECUTION_ID, '--json', ...conn], cliEnv);
      if (r.code !== 0) throw new Error(`show failed: ${r.stderr}`);
    });
    figures.push({ figure: '2. show <id> (10,000 events, 50 children, bin)', value: show.ms, unit: 'ms', target: '< 200 ms', met: show.ms < 200 });

    // 3. cleanup --older-than 60 --cascade: ours through the bin vs NoETL's per-row approach (rolled back).
    log('bench: figure 3, cleanup');
    const undo = () => admin.query(`DELETE FROM ${s}.event WHERE meta->>'emitted_by' = 'noetl-console'`);
    let changed = 0;
    const cleanupRuns: number[] = [];
    for (let i = 0; i < Math.min(o.reps, 3); i++) {
      const t = performance.now();
      const r = await run(process.execPath, [cli, 'cleanup', '--older-than', '60', '--cascade', '--json', '--reason', 'bench', ...conn], cliEnv);
      cleanupRuns.push(performance.now() - t);
      if (r.code !== 0) throw new Error(`cleanup failed: ${r.stderr}`);
      changed = (JSON.parse(r.stdout) as { cancelled_count: number }).cancelled_count;
      await undo();
    }
    const counted = counting(db);
    const countedStore = new NoetlStore(counted, schema);
    const stuckNow = await countedStore.listStuck({ olderThanSeconds: 3600 });
    await markExecutions(countedStore, { action: 'cancel', ids: stuckNow.map((e) => e.execution_id), reason: 'bench', cascade: true, dryRun: false, actor: currentActor() });
    const roundTrips = counted.count;
    await undo();
    const perRow = await timeIt(1, async () => {
      const ids = (await admin.query<{ execution_id: string }>(NOETL_SELECTION(s), [60])).rows.map((r) => r.execution_id);
      await admin.query('BEGIN');
      for (const id of ids) {
        const next = await admin.query<{ id: string }>(`SELECT coalesce(max(event_id), 0) + 1 AS id FROM ${s}.event WHERE execution_id = $1`, [id]);
        await admin.query(
          `INSERT INTO ${s}.event (execution_id, catalog_id, event_id, event_type, status, created_at)
           SELECT execution_id, catalog_id, $2, 'execution.cancelled', 'CANCELLED', now() FROM ${s}.event WHERE execution_id = $1 LIMIT 1`,
          [id, next.rows[0]!.id],
        );
      }
      await admin.query('ROLLBACK');
    }, 0);
    const cleanupMs = median(cleanupRuns);
    figures.push({ figure: `3. cleanup --older-than 60 --cascade (bin, ${changed} changed)`, value: cleanupMs, unit: 'ms', baseline: "NoETL's per-row cleanup (rolled back)", baseline_value: perRow.ms, ratio: perRow.ms / cleanupMs, target: '< 10 s, batched', met: cleanupMs < 10_000 });
    figures.push({ figure: `3. cleanup round trips (${stuckNow.length} roots)`, value: roundTrips, unit: 'statements', note: 'NoETL per-row: 2 per execution' });

    // 4. Start-up.
    log('bench: figure 4, start-up');
    await admin.query(noetlSchemaSql(emptySchema));
    const bare = await timeIt(Math.max(o.reps, 10), () => run(process.execPath, ['-e', '0']));
    const version = await timeIt(Math.max(o.reps, 10), () => run(process.execPath, [cli, '--version']));
    const emptyList = await timeIt(Math.max(o.reps, 10), () => run(process.execPath, [cli, 'list', '--json', '--database-url', o.url, '--schema', emptySchema], cliEnv));
    const traceDir = mkdtempSync(join(tmpdir(), 'noetl-bench-'));
    const hook = join(traceDir, 'hook.mjs');
    writeFileSync(
      hook,
      `export async function resolve(s, c, next) { const r = await next(s, c); if (/node_modules\\/(ink|react|react-reconciler)\\//.test(r.url)) console.error('LOADED ' + r.url); return r; }\n`,
    );
    const register = join(traceDir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module'; register(${JSON.stringify(`file://${hook}`)});\n`);
    const traced = await run(process.execPath, ['--import', register, cli, 'list', '--json', '--database-url', o.url, '--schema', emptySchema], cliEnv);
    const uiLoaded = /LOADED/.test(traced.stderr);
    figures.push({ figure: '4. --version', value: version.ms, unit: 'ms', baseline: 'node -e 0', baseline_value: bare.ms, ratio: version.ms / bare.ms, target: '< 1.5x bare node', met: version.ms / bare.ms < 1.5 });
    figures.push({ figure: '4. list --json on an empty database', value: emptyList.ms, unit: 'ms', baseline: 'node -e 0', baseline_value: bare.ms, ratio: emptyList.ms / bare.ms, note: uiLoaded ? 'Ink/React LOADED' : 'Ink/React not loaded', met: !uiLoaded });

    // Figure 1 again with the two partial indexes that `doctor` recommends.
    log('bench: figure 1 with the indexes doctor recommends');
    const idxStart = performance.now();
    for (const r of sql.recommendedIndexes().filter((x) => x.name === 'event_terminal_exec' || x.name === 'event_start_exec')) {
      await admin.query(sql.createIndexSql(r, r.index, `${s}.event`, 'recursive'));
    }
    await admin.query(`VACUUM (ANALYZE) ${s}.event`);
    figures.push({ figure: 'doctor indexes: build time', value: (performance.now() - idxStart) / 1000, unit: 's' });
    const oursIdx = await timeIt(o.reps, async () => {
      const r = await run(process.execPath, [cli, 'list', '--older-than', '60', '--json', ...conn], cliEnv);
      if (r.code !== 0) throw new Error(`list failed: ${r.stderr}`);
    });
    const oursIdxSql = await timeIt(o.reps, () => store.listStuck({ olderThanSeconds: 3600 }));
    const noetlIdx = await timeIt(o.reps, () => admin.query(NOETL_SELECTION(s), [60]));
    figures.push({ figure: '1. list (bin), with doctor indexes', value: oursIdx.ms, unit: 'ms', baseline: "NoETL's cleanup selection", baseline_value: noetlIdx.ms, ratio: noetlIdx.ms / oursIdx.ms, target: '< 300 ms', met: oursIdx.ms < 300 });
    figures.push({ figure: '1. list query alone, with doctor indexes', value: oursIdxSql.ms, unit: 'ms', baseline: "NoETL's cleanup selection", baseline_value: noetlIdx.ms, ratio: noetlIdx.ms / oursIdxSql.ms });
    const explainIdx = (await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql.listStuckSql(schema, caps)}`, [3600, null, null, false, null]))
      .rows.map((r) => r['QUERY PLAN'])
      .join('\n');
    writeFileSync(join(dirname(o.out), 'explain-list-indexed.txt'), `${explainIdx}\n`);

    // 5. The interactive app at 10,000 rows (bench/ui.ts), when present.
    try {
      const { benchUi } = await import('./ui.js');
      const ui = await benchUi((line) => log(line));
      const keyFigure = (name: string, s: { median: number; p95: number }) =>
        figures.push({ figure: `5. ${name} at ${ui.rows} rows`, value: s.median, unit: 'ms', note: `p95 ${s.p95.toFixed(1)} ms`, target: '< 16 ms', met: s.p95 < 16 });
      keyFigure('cursor key → frame', ui.cursorMoveMs);
      keyFigure('filter keystroke → frame', ui.filterKeystrokeMs);
      keyFigure('key during a refresh → frame', ui.keyDuringRefreshMs);
      figures.push({ figure: '5. resident memory at 10,000 rows', value: ui.rssMb, unit: 'MB', target: '< 200 MB', met: ui.rssMb < 200 });
      figures.push({ figure: '5. one refresh cycle (incremental) at 10,000 rows', value: ui.refreshCycleMs, unit: 'ms' });
    } catch (error) {
      log(`bench: figure 5 skipped: ${(error as Error).message}`);
    }
    await db.close();
  } finally {
    if (!o.keep) {
      await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
      await admin.query(`DROP SCHEMA IF EXISTS "${emptySchema}" CASCADE`).catch(() => undefined);
    } else log(`bench: kept schema ${schema}`);
    await admin.end();
  }

  const machine = `${cpus().length} cores ${cpus()[0]?.model ?? ''}, ${Math.round(totalmem() / 2 ** 30)} GiB, PostgreSQL ${server}, Node ${process.version}`;
  const date = new Date().toISOString();
  writeFileSync(o.out, `${JSON.stringify({ scale: o.scale, reps: o.reps, machine, date, figures: figures.map((f) => ({ ...f, machine, date })) }, null, 2)}\n`);
  const fmt = (v: number | undefined, unit = '') => (v === undefined ? '' : `${v >= 100 ? Math.round(v) : v.toFixed(unit === 'ms' ? 1 : 2)}${unit ? ` ${unit}` : ''}`);
  const lines = [
    `| figure | value | baseline | ratio | target |`,
    `| --- | ---: | --- | ---: | --- |`,
    ...figures.map(
      (f) =>
        `| ${f.figure} | ${fmt(f.value, f.unit)} | ${f.baseline ? `${f.baseline}: ${fmt(f.baseline_value, f.unit)}` : ''}${f.note ? ` ${f.note}` : ''} | ${f.ratio ? `${f.ratio.toFixed(2)}x` : ''} | ${f.target ?? ''}${f.met === undefined ? '' : f.met ? ' ✓' : ' ✗'} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n\nscale ${o.scale}, median of ${o.reps}; ${machine}; ${date}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
