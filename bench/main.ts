/**
 * `npm run bench -- [--events 1000000] [--running 2600] [--reps 5] [--only list,snapshot,refresh,...]
 *                    [--database-url URL] [--schema NAME] [--keep]`
 *
 * Builds a NoETL-shaped database on a real PostgreSQL (a schema of its own,
 * dropped afterwards; a named --schema is reused when it exists and kept), and
 * takes every figure with its baseline interleaved in one block (A B, B A, ...,
 * medians of --reps rounds after a warm-up round) so that the machine's load
 * falls on both alike; prints one table and writes bench/results.json.
 * --events picks the history size with the same running set. Never part of
 * `npm test`; CI runs --scale 0.01 as a smoke test of the harness.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { currentActor } from '../src/audit.js';
import type { Database, QueryResult } from '../src/db/database.js';
import { openPostgres } from '../src/db/postgres.js';
import { LiveRunningSet } from '../src/noetl/live.js';
import { useSnapshot } from '../src/noetl/snapshot.js';
import { markExecutions } from '../src/noetl/mark.js';
import { NoetlStore } from '../src/noetl/store.js';
import * as sql from '../src/noetl/sql.js';
import { noetlSchemaSql } from '../test/fixtures/noetl-schema.js';
import { WHOLE_RANGE, planCuts, rangesOf } from '../src/noetl/chunks.js';
import { CHUNK_ROWS } from '../src/noetl/store.js';
import { ALL_TERMINAL_TYPES, START_TYPES, TERMINAL_TYPES, sqlList } from '../src/noetl/vocabulary.js';
import { BIG_EXECUTION_ID, generate } from './generate.js';
import { countingDatabase } from '../test/helpers/counting.js';
import { interleave, median, run, runCounting } from './measure.js';

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

// `--only generate` builds (or checks) the history and measures nothing.
const BLOCKS = ['list', 'snapshot', 'json', 'refresh', 'show', 'cleanup', 'startup', 'ui', 'thresholds', 'generate'] as const;

function args() {
  const a = process.argv.slice(2);
  const get = (name: string, def: string) => {
    const i = a.indexOf(name);
    return i >= 0 && a[i + 1] ? a[i + 1]! : def;
  };
  // --scale s (kept for CI): s x 9.5M events and s x 2,600 running; --events picks the history alone.
  const scale = a.includes('--scale') ? Number(get('--scale', '1')) : null;
  const events = Number(get('--events', String(scale === null ? 1_000_000 : Math.round(9_500_000 * scale))));
  const running = Number(get('--running', String(scale === null ? 2600 : Math.max(20, Math.round(2600 * scale)))));
  const reps = Number(get('--reps', '5'));
  const only = get('--only', BLOCKS.filter((b) => b !== 'generate').join(',')).split(',');
  if (
    !(events >= 1000 && events <= 200_000_000) ||
    !(running >= 1) ||
    !(reps >= 1 && reps <= 50) ||
    (scale !== null && !(scale > 0 && scale <= 20)) ||
    only.some((b) => !(BLOCKS as readonly string[]).includes(b))
  ) {
    process.stderr.write(`bench: --events in [1000, 2e8], --running >= 1, --reps in [1, 50], --only of ${BLOCKS.join(',')}\n`);
    process.exit(2);
  }
  const url = get('--database-url', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  const schema = get('--schema', '');
  return {
    scale,
    events,
    running,
    reps,
    url,
    only: new Set(only),
    // A named schema is reused when it exists (and kept): generate once, measure many times.
    schema: schema || `noetl_bench_${randomBytes(4).toString('hex')}`,
    keep: a.includes('--keep') || schema !== '',
    out: get('--out', join(here, '..', 'bench', 'results.json')),
  };
}

/** A Database that records how long each statement took (the longest one is what meets statement_timeout). */
function timing(db: Database): Database & { longest: number; reset(): void } {
  const wrapped = {
    ...db,
    kind: db.kind,
    label: db.label,
    longest: 0,
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const t = performance.now();
      try {
        return await db.query<R>(text, params);
      } finally {
        wrapped.longest = Math.max(wrapped.longest, performance.now() - t);
      }
    },
    reset() {
      wrapped.longest = 0;
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

/**
 * Engine writes between two runs of the bin: heartbeats on running
 * executions, one finish, three new starts. Random ids, so that blocks and
 * repeated runs on a kept schema never collide.
 */
async function runTick(admin: pg.Client, s: string): Promise<void> {
  await admin.query(`INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at, event_type, node_name, status, worker_id)
    SELECT p.id, 9200000000 + (random() * 1e12)::bigint, p.catalog_id, p.parent_id, now() AT TIME ZONE 'UTC', 'command.heartbeat', 'step_' || p.last_step, 'RUNNING', p.worker
    FROM ${s}.bench_plan p WHERE p.kind IN ('fresh', 'stuck_idle') ORDER BY random() LIMIT 50`);
  await admin.query(`INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at, event_type, node_name, status)
    SELECT p.id, 9300000000 + (random() * 1e12)::bigint, p.catalog_id, p.parent_id, now() AT TIME ZONE 'UTC', 'playbook.completed', 'playbook', 'COMPLETED'
    FROM ${s}.bench_plan p WHERE p.kind = 'fresh' ORDER BY random() LIMIT 1`);
  await admin.query(`INSERT INTO ${s}.event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status)
    SELECT 720000000000000000 + (random() * 1e15)::bigint, 1, 1000, now() AT TIME ZONE 'UTC', 'playbook_started', 'playbook', 'STARTED'
    FROM generate_series(1, 3) g`);
}

const NOETL_SELECTION = (s: string) => `SELECT DISTINCT e.execution_id
  FROM ${s}.event e
  WHERE e.event_type = 'playbook.initialized'
    AND e.created_at < (now() AT TIME ZONE 'UTC') - $1::int * interval '1 minute'
    AND NOT EXISTS (SELECT 1 FROM ${s}.event t WHERE t.execution_id = e.execution_id
                    AND t.event_type IN ('playbook.completed', 'playbook.failed', 'execution.cancelled'))`;

/** What a DBA would write for both dialects: every start with no terminal event of any spelling. */
const HAND_ANTI_JOIN = (s: string) => `SELECT DISTINCT st.execution_id
  FROM ${s}.event st
  WHERE st.event_type IN (${sqlList(START_TYPES)})
    AND st.created_at < (now() AT TIME ZONE 'UTC') - $1::int * interval '1 minute'
    AND NOT EXISTS (SELECT 1 FROM ${s}.event t WHERE t.execution_id = st.execution_id AND t.event_type IN (${sqlList(ALL_TERMINAL_TYPES)}))`;

/** The baseline of the thresholds figure: the query one writes first. $1 = days. */
const GROUPED_THRESHOLDS = (s: string) => `SELECT c.path, count(*)::int AS samples,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY x.seconds) AS median_s,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY x.seconds) AS p95_s,
    percentile_cont(0.99) WITHIN GROUP (ORDER BY x.seconds) AS p99_s
  FROM (
    SELECT min(e.catalog_id) AS catalog_id,
      extract(epoch FROM max(e.created_at) FILTER (WHERE e.event_type IN (${sqlList(TERMINAL_TYPES.completed)}))
        - min(e.created_at) FILTER (WHERE e.event_type IN (${sqlList(START_TYPES)}))) AS seconds,
      max(e.created_at) FILTER (WHERE e.event_type IN (${sqlList(TERMINAL_TYPES.completed)})) AS finished_at
    FROM ${s}.event e
    WHERE e.event_type IN (${sqlList([...START_TYPES, ...TERMINAL_TYPES.completed])})
    GROUP BY e.execution_id
  ) x JOIN ${s}.catalog c ON c.catalog_id = x.catalog_id
  WHERE x.finished_at >= (now() AT TIME ZONE 'UTC') - $1::int * interval '1 day' AND x.seconds >= 0
  GROUP BY c.path`;

async function main(): Promise<void> {
  const o = args();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const schema = o.schema;
  const s = `"${schema}"`;
  const admin = new pg.Client({ connectionString: o.url, application_name: 'noetl-console-bench' });
  await admin.connect();
  const server = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  await admin.query('SET jit = off');
  const figures: Figure[] = [];
  const cliEnv = { ...process.env, NO_COLOR: '1' };
  const conn = ['--database-url', o.url, '--schema', schema];
  const emptySchema = `${schema}_empty`;
  const pair = (figure: string, a: { ms: number }, baseline: string, b: { ms: number }, extra: Partial<Figure> = {}): Figure => ({
    figure,
    value: a.ms,
    unit: 'ms',
    baseline,
    baseline_value: b.ms,
    ratio: b.ms / a.ms,
    ...extra,
  });
  const bin = async (...argv: string[]) => {
    const r = await run(process.execPath, [cli, ...argv], cliEnv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  try {
    const exists = (await admin.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [`${s}.bench_plan`])).rows[0]!.ok;
    if (!exists) {
      log(`bench: building ${schema} with about ${o.events} events and ${o.running} running on PostgreSQL ${server}`);
      const gen = await generate(admin, schema, { events: o.events, running: o.running }, log);
      figures.push({ figure: 'generation: load (set-based SQL)', value: gen.seconds.load, unit: 's' });
      figures.push({ figure: 'generation: indexes', value: gen.seconds.index, unit: 's' });
      figures.push({ figure: 'generation: vacuum analyze', value: gen.seconds.analyze, unit: 's' });
    } else {
      log(`bench: reusing ${schema}`);
      // Figure 1 is measured first without doctor's indexes.
      for (const r of sql.recommendedIndexes())
        if (r.name === 'event_terminal_exec' || r.name === 'event_start_exec') await admin.query(`DROP INDEX IF EXISTS ${s}.${sql.quoteIdent(r.index)}`);
    }
    const counts = (
      await admin.query<{ events: string; executions: string; running: string }>(`SELECT
      (SELECT count(*) FROM ${s}.event)::text AS events, (SELECT count(*) FROM ${s}.bench_plan)::text AS executions,
      (SELECT count(*) FROM ${s}.bench_plan WHERE kind LIKE 'stuck%' OR kind = 'fresh')::text AS running`)
    ).rows[0]!;
    const events = Number(counts.events);
    log(`bench: ${counts.executions} executions, ${events} events, ${counts.running} running`);
    figures.push({ figure: 'dataset: events', value: events, unit: 'rows' });
    figures.push({ figure: 'dataset: executions', value: Number(counts.executions), unit: 'rows' });
    figures.push({ figure: 'dataset: running executions (planned)', value: Number(counts.running), unit: 'rows' });
    const size = `${(events / 1e6).toFixed(2)}M events`;

    const db = openPostgres({
      target: { kind: 'postgres', connectionString: o.url, label: 'bench' },
      schema,
      readOnly: false,
      statementTimeoutMs: 600_000,
      connectTimeoutMs: 10_000,
    });
    const timed = timing(db);
    const store = new NoetlStore(timed, schema);
    const caps = await store.capabilities();
    const hourListing = sql.listStuckSql(schema, caps, { olderThanSeconds: 3600 }, WHOLE_RANGE);
    const chunks = rangesOf(planCuts(caps.eventLeaves, CHUNK_ROWS)).length;

    // 1. The full load at this history size: list through the bin (chunked), the listing in process chunked
    // and as one statement, NoETL's own selection and the DBA's anti-join; then again with doctor's indexes.
    const listBlock = async (label: string) => {
      log(`bench: figure 1, list ${label}`);
      let listed = 0;
      let longestChunk = 0;
      let longestWhole = 0;
      const r = await interleave(
        [
          // --fresh: the full load (a snapshot in the user's cache would answer instead; figure 9 measures that).
          ['bin', async () => (listed = (JSON.parse(await bin('list', '--older-than', '60', '--json', '--fresh', ...conn)) as { count: number }).count)],
          [
            'chunked',
            async () => {
              timed.reset();
              await store.listStuckRows({ olderThanSeconds: 3600 });
              longestChunk = Math.max(longestChunk, timed.longest);
            },
          ],
          [
            'whole',
            async () => {
              timed.reset();
              await store.listStuckRows({ olderThanSeconds: 3600 }, { ranges: [WHOLE_RANGE] });
              longestWhole = Math.max(longestWhole, timed.longest);
            },
          ],
          ['noetl', () => admin.query(NOETL_SELECTION(s), [60])],
          ['hand', () => admin.query(HAND_ANTI_JOIN(s), [60])],
        ],
        o.reps,
      );
      for (const [name, x] of Object.entries(r)) log(`  ${name}: ${x.runs.map((v) => v.toFixed(0)).join(' ')} ms`);
      figures.push(pair(`1. list --older-than 60 --json (bin, ${listed} rows, ${size}) ${label}`, r.bin!, "NoETL's cleanup selection", r.noetl!));
      figures.push(pair(`1. list, bin ${label}`, r.bin!, 'hand-written anti-join (both dialects)', r.hand!));
      figures.push(pair(`1. full load in ${chunks} chunk(s), in process ${label}`, r.chunked!, 'one statement', r.whole!));
      figures.push({
        figure: `1. longest statement of the full load ${label}`,
        value: longestChunk,
        unit: 'ms',
        baseline: 'one statement',
        baseline_value: longestWhole,
        ratio: longestWhole / longestChunk,
        target: 'under the 15 s statement timeout',
        met: longestChunk < 15_000,
      });
    };
    if (o.only.has('list')) {
      await listBlock('(NoETL indexes)');
      const explain = (await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${hourListing.text}`, hourListing.values)).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
      writeFileSync(join(dirname(o.out), 'explain-list.txt'), `${explain}\n`);
    }

    // Issue 15 item 2: the run after a full load, from the saved running set, against the full load; engine writes before each run.
    if (o.only.has('snapshot')) {
      log('bench: snapshot run');
      const cache = mkdtempSync(join(tmpdir(), 'noetl-console-bench-cache-'));
      try {
        const filter = { olderThanSeconds: 3600 };
        const snapOptions = { fresh: false, maxAgeMs: 24 * 3_600_000, sourceName: 'noetl', target: 'bench', dir: cache, minEvents: 0 };
        const snapStore = new NoetlStore(db, schema);
        const snapshot = useSnapshot(snapStore, snapOptions);
        await snapStore.listStuckRows(filter);
        let rows = 0;
        const r = await interleave(
          [
            ['full', async () => (rows = (await store.listStuckRows(filter)).length)],
            [
              'snapshot',
              async () => {
                await snapStore.listStuckRows(filter);
                if (snapshot.outcome !== 'revalidated') throw new Error(`expected a revalidated snapshot, got ${snapshot.outcome}`);
              },
            ],
          ],
          o.reps,
          // Engine writes between runs (not timed): the snapshot has something to revalidate.
          { between: () => runTick(admin, s) },
        );
        for (const [name, x] of Object.entries(r)) log(`  ${name}: ${x.runs.map((v) => v.toFixed(0)).join(' ')} ms`);
        // Database time (EXPLAIN ANALYZE of every statement), in a pass of its own.
        const explained = explaining(db);
        const fullStore = new NoetlStore(explained, schema);
        const snapExplained = new NoetlStore(explained, schema);
        useSnapshot(snapExplained, snapOptions);
        const fullDb: number[] = [];
        const snapDb: number[] = [];
        for (let i = 0; i < o.reps; i++) {
          await runTick(admin, s);
          explained.reset();
          await snapExplained.listStuckRows(filter);
          snapDb.push(explained.totals().ms);
          explained.reset();
          await fullStore.listStuckRows(filter);
          fullDb.push(explained.totals().ms);
        }
        const snapMs = median(snapDb);
        const fullMs = median(fullDb);
        log(`  database time: snapshot ${snapDb.map((v) => v.toFixed(0)).join(' ')} ms, full ${fullDb.map((v) => v.toFixed(0)).join(' ')} ms`);
        figures.push(
          pair(`9. list from the snapshot, in process (${rows} rows, ${size})`, r.snapshot!, 'full load (chunked)', r.full!, {
            target: '>= 10x faster at 10M',
            met: r.full!.ms / r.snapshot!.ms >= 10,
          }),
        );
        figures.push({
          figure: `9. snapshot run, database time (${size})`,
          value: snapMs,
          unit: 'ms',
          baseline: 'full load',
          baseline_value: fullMs,
          ratio: fullMs / snapMs,
          target: 'flat within 2x from 1M to 10M',
        });
        // The bin: a run from the saved snapshot against one with --fresh (its own cache directory).
        const binEnv = { ...cliEnv, XDG_CACHE_HOME: cache, NOETL_CONSOLE_SNAPSHOT_MIN_EVENTS: '0' };
        const binRun = async (...argv: string[]) => {
          const out = await run(process.execPath, [cli, ...argv], binEnv);
          if (out.code !== 0) throw new Error(`${argv.join(' ')} failed: ${out.stderr}`);
        };
        await binRun('list', '--older-than', '60', '--json', ...conn);
        const b = await interleave(
          [
            ['fresh', () => binRun('list', '--older-than', '60', '--json', '--fresh', ...conn)],
            ['snapshot', () => binRun('list', '--older-than', '60', '--json', ...conn)],
          ],
          o.reps,
          { between: () => runTick(admin, s) },
        );
        for (const [name, x] of Object.entries(b)) log(`  bin ${name}: ${x.runs.map((v) => v.toFixed(0)).join(' ')} ms`);
        figures.push(pair(`9. list --older-than 60 --json (bin) from the snapshot (${size})`, b.snapshot!, 'list --fresh (bin, full load)', b.fresh!));
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    }

    // Issue 15: `list --json` of the stuck set against psql running the listing statement, both into a byte-counting sink.
    if (o.only.has('json')) {
      log('bench: list --json against psql');
      // One cache directory for every bin run: the snapshot case reads what the --fresh runs saved, and the
      // learned thresholds (read beside the listing) come from its cache after the warm-up, as for a user.
      const cache = mkdtempSync(join(tmpdir(), 'noetl-console-bench-json-'));
      try {
        const filter = { olderThanSeconds: 3600 };
        // The statement the bin runs for these rows when it reads the history (one range: psql runs it whole).
        const listing = sql.listStuckSql(schema, caps, filter, WHOLE_RANGE);
        const literal = (v: unknown) => (v === null ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`);
        const psqlOf = (statement: { text: string; values: unknown[] }) => [
          '-X',
          '-q',
          '-A',
          '-t',
          '-v',
          'ON_ERROR_STOP=1',
          '-c',
          // The bin's sessions run with jit off (src/db/session.ts): psql runs the statement the same way.
          'SET jit = off',
          '-c',
          `PREPARE listing AS ${statement.text}`,
          '-c',
          `EXECUTE listing(${statement.values.map(literal).join(', ')})`,
          o.url,
        ];
        const psqlArgs = psqlOf(listing);
        // What the bin's --fresh reads (the snapshot keeps every running execution), as one statement.
        const psqlWholeSetArgs = psqlOf(sql.listStuckSql(schema, caps, { olderThanSeconds: 0, includeChildren: true }, WHOLE_RANGE));
        const binEnv = { ...cliEnv, XDG_CACHE_HOME: cache, NOETL_CONSOLE_SNAPSHOT_MIN_EVENTS: '0' };
        const listArgs = ['list', '--older-than', '60', ...conn];
        const counted = async (cmd: string, argv: string[], env: NodeJS.ProcessEnv) => {
          const r = await runCounting(cmd, argv, env);
          if (r.code !== 0 || r.bytes === 0) throw new Error(`${cmd} ${argv.slice(0, 3).join(' ')} failed: ${r.stderr}`);
          return r.bytes;
        };
        // Untimed: both sides list the same executions, in the same order (and the first --fresh run saves the snapshot).
        const binIds = (
          JSON.parse((await run(process.execPath, [cli, ...listArgs, '--json', '--fresh'], binEnv)).stdout) as { executions: { execution_id: string }[] }
        ).executions.map((e) => e.execution_id);
        const psqlIds = (await run('psql', psqlArgs)).stdout
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split('|')[0]);
        if (psqlIds.join() !== binIds.join()) throw new Error(`psql listed ${psqlIds.length} executions, the bin ${binIds.length}: not the same`);
        const listed = binIds.length;
        const bytes: Record<string, number> = {};
        const r = await interleave(
          [
            ['fresh', async () => (bytes.fresh = await counted(process.execPath, [cli, ...listArgs, '--json', '--fresh'], binEnv))],
            ['psql', async () => (bytes.psql = await counted('psql', psqlArgs, process.env))],
            ['jsonl', async () => (bytes.jsonl = await counted(process.execPath, [cli, ...listArgs, '--jsonl', '--fresh'], binEnv))],
            ['snapshot', async () => (bytes.snapshot = await counted(process.execPath, [cli, ...listArgs, '--json'], binEnv))],
            // No snapshot at all (as below a million events): the bin runs this listing, in chunks.
            [
              'listing',
              async () => (bytes.listing = await counted(process.execPath, [cli, ...listArgs, '--json'], { ...binEnv, NOETL_CONSOLE_SNAPSHOT_MIN_EVENTS: '999999999999' })),
            ],
            ['psqlWholeSet', async () => (bytes.psqlWholeSet = await counted('psql', psqlWholeSetArgs, process.env))],
          ],
          o.reps,
        );
        for (const [name, x] of Object.entries(r)) log(`  ${name}: ${x.runs.map((v) => v.toFixed(0)).join(' ')} ms, ${bytes[name]} bytes`);
        const mb = (n: number | undefined) => `${((n ?? 0) / 1e6).toFixed(1)} MB`;
        const vsPsql = (figure: string, a: { ms: number }, extra: Partial<Figure> = {}) =>
          pair(figure, a, `psql, the listing statement (one statement, jit off, -At, ${mb(bytes.psql)})`, r.psql!, { ratio: a.ms / r.psql!.ms, ...extra });
        figures.push(
          vsPsql(`15. list --older-than 60 --json --fresh (bin, ${listed} rows, ${mb(bytes.fresh)}, ${chunks} chunk(s), ${size})`, r.fresh!, {
            target: '<= 1.3x psql at >= 20,000 rows',
            // A scaled-down run (CI's smoke test) lists a few rows: start-up, not output, and no verdict.
            met: listed >= 20_000 ? r.fresh!.ms / r.psql!.ms <= 1.3 : undefined,
            // What each side reads: the bin's full load is the snapshot's (every running execution, children too).
            note: `(psql: this listing, whole id range; bin: the running set of every age in ${chunks} chunk(s), saved, then filtered)`,
          }),
        );
        figures.push(vsPsql(`15. list --older-than 60 --jsonl --fresh (bin, ${mb(bytes.jsonl)})`, r.jsonl!));
        figures.push(vsPsql('15. list --older-than 60 --json from the snapshot (bin)', r.snapshot!));
        figures.push(vsPsql(`15. list --older-than 60 --json without a snapshot (bin, this listing in ${chunks} chunk(s))`, r.listing!));
        figures.push(
          pair(
            `15. list --older-than 60 --json --fresh (bin)`,
            r.fresh!,
            `psql, the --fresh load's statement (every running execution, ${mb(bytes.psqlWholeSet)})`,
            r.psqlWholeSet!,
            {
              ratio: r.fresh!.ms / r.psqlWholeSet!.ms,
            },
          ),
        );
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    }

    // Issue 19: the learned-threshold query (a pass over the window's completions) against the
    // obvious one (every start and completion grouped by execution, then the window).
    if (o.only.has('thresholds')) {
      log('bench: learned thresholds');
      let paths = 0;
      let samples = 0;
      const r = await interleave(
        [
          [
            'query',
            async () => {
              const rows = (await admin.query<{ samples: number }>(sql.thresholdsSql(schema), [14])).rows;
              paths = rows.length;
              samples = rows.reduce((n, x) => n + x.samples, 0);
            },
          ],
          ['grouped', () => admin.query(GROUPED_THRESHOLDS(s), [14])],
        ],
        o.reps,
      );
      for (const [name, x] of Object.entries(r)) log(`  ${name}: ${x.runs.map((v) => v.toFixed(0)).join(' ')} ms`);
      figures.push(pair(`19. learned thresholds, 14 days (${paths} paths, ${samples} runs, ${size})`, r.query!, 'every start and completion grouped by execution', r.grouped!));
      const explain = (await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql.thresholdsSql(schema)}`, [14])).rows.map((x) => x['QUERY PLAN']).join('\n');
      writeFileSync(join(dirname(o.out), 'explain-thresholds.txt'), `${explain}\n`);
    }

    // Issue 8: incremental refresh vs full load, with engine writes in between, interleaved.
    if (o.only.has('refresh')) {
      log('bench: incremental refresh');
      // Wall time on a plain session; database time and pages touched by
      // EXPLAIN (ANALYZE, BUFFERS) of the same statements, in a separate pass.
      const explained = explaining(db);
      explained.enabled = false;
      const live = new LiveRunningSet(new NoetlStore(explained, schema), { reconcileMs: 3_600_000 });
      await live.refresh(true);
      let tick = 0;
      const r = await interleave(
        [
          ['full', () => live.refresh(true)],
          [
            'incremental',
            async () => {
              await engineTick(admin, s, tick++);
              const t = performance.now();
              const stats = await live.refresh();
              if (stats.kind !== 'incremental') throw new Error('expected an incremental refresh');
              return performance.now() - t;
            },
          ],
        ],
        Math.max(o.reps, 5),
      );
      explained.enabled = true;
      explained.reset();
      await live.refresh(true);
      const fullDb = explained.totals();
      const incDb: { ms: number; buffers: number }[] = [];
      for (let i = 0; i < Math.max(o.reps, 5); i++) {
        await engineTick(admin, s, tick++);
        explained.reset();
        await live.refresh();
        incDb.push(explained.totals());
      }
      const incDbMs = median(incDb.map((d) => d.ms));
      const incBuffers = median(incDb.map((d) => d.buffers));
      // The incremental case includes one engine tick (a few small inserts) in its wall time.
      figures.push(
        pair(`8. incremental refresh incl. one engine tick (${live.runningCount} running)`, r.incremental!, 'full load', r.full!, {
          target: '>= 20x faster',
          met: r.full!.ms / r.incremental!.ms >= 20,
        }),
      );
      figures.push({
        figure: '8. incremental refresh, database time',
        value: incDbMs,
        unit: 'ms',
        baseline: 'full load',
        baseline_value: fullDb.ms,
        ratio: fullDb.ms / incDbMs,
        target: '< 20 ms',
        met: incDbMs < 20,
      });
      figures.push({
        figure: '8. buffers read per minute, one console (refresh 2 s)',
        value: incBuffers * 30,
        unit: 'pages',
        baseline: 'full load every 2 s',
        baseline_value: fullDb.buffers * 30,
        ratio: fullDb.buffers / incBuffers,
        target: '>= 20x lower',
        met: fullDb.buffers / incBuffers >= 20,
      });
    }

    // 2. show of an execution with 10,000 events and 50 children, against the same through --json piped.
    if (o.only.has('show')) {
      log('bench: figure 2, show');
      const r = await interleave(
        [
          ['show', () => bin('show', BIG_EXECUTION_ID, ...conn)],
          ['version', () => bin('--version')],
        ],
        o.reps,
      );
      figures.push(pair('2. show <id> (10,000 events, 50 children, bin)', r.show!, 'start-up alone (--version)', r.version!, { target: '< 200 ms', met: r.show!.ms < 200 }));
    }

    // 3. cleanup --older-than 60 --cascade through the bin vs NoETL's per-row approach (rolled back), interleaved, undone after each.
    if (o.only.has('cleanup')) {
      log('bench: figure 3, cleanup');
      const undo = () => admin.query(`DELETE FROM ${s}.event WHERE meta->>'emitted_by' = 'noetl-console'`);
      let changed = 0;
      const r = await interleave(
        [
          [
            'ours',
            async () =>
              (changed = (JSON.parse(await bin('cleanup', '--older-than', '60', '--cascade', '--json', '--reason', 'bench', ...conn)) as { cancelled_count: number })
                .cancelled_count),
          ],
          [
            'perRow',
            async () => {
              const ids = (await admin.query<{ execution_id: string }>(NOETL_SELECTION(s), [60])).rows.map((x) => x.execution_id);
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
            },
          ],
        ],
        Math.min(o.reps, 3),
        { between: undo },
      );
      const counted = countingDatabase(db);
      const countedStore = new NoetlStore(counted, schema);
      const stuckNow = await countedStore.listStuck({ olderThanSeconds: 3600 });
      await markExecutions(countedStore, { action: 'cancel', ids: stuckNow.map((e) => e.execution_id), reason: 'bench', cascade: true, dryRun: false, actor: currentActor() });
      await undo();
      figures.push(
        pair(`3. cleanup --older-than 60 --cascade (bin, ${changed} changed)`, r.ours!, "NoETL's per-row cleanup (rolled back)", r.perRow!, {
          target: '< 10 s, batched',
          met: r.ours!.ms < 10_000,
        }),
      );
      figures.push({ figure: `3. cleanup round trips (${stuckNow.length} roots)`, value: counted.count, unit: 'statements', note: 'NoETL per-row: 2 per execution' });
    }

    // 4. Start-up against bare node, interleaved.
    if (o.only.has('startup')) {
      log('bench: figure 4, start-up');
      await admin.query(noetlSchemaSql(emptySchema));
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
      const r = await interleave(
        [
          ['bare', () => run(process.execPath, ['-e', '0'])],
          ['version', () => bin('--version')],
          ['help', () => bin('list', '--help')],
          ['empty', () => bin('list', '--json', '--database-url', o.url, '--schema', emptySchema)],
        ],
        Math.max(o.reps, 15),
      );
      figures.push(
        pair('4. --version', r.version!, 'node -e 0', r.bare!, { ratio: r.version!.ms / r.bare!.ms, target: '< 1.5x bare node', met: r.version!.ms / r.bare!.ms < 1.5 }),
      );
      figures.push(pair('4. list --help', r.help!, 'node -e 0', r.bare!, { ratio: r.help!.ms / r.bare!.ms }));
      figures.push(
        pair('4. list --json on an empty database', r.empty!, 'node -e 0', r.bare!, {
          ratio: r.empty!.ms / r.bare!.ms,
          note: uiLoaded ? 'Ink/React LOADED' : 'Ink/React not loaded',
          met: !uiLoaded,
        }),
      );
    }

    // Figure 1 again with the two partial indexes that `doctor` recommends.
    if (o.only.has('list')) {
      const idxStart = performance.now();
      for (const r of sql.recommendedIndexes().filter((x) => x.name === 'event_terminal_exec' || x.name === 'event_start_exec')) {
        await admin.query(sql.createIndexSql(r, r.index, `${s}.event`, 'recursive'));
      }
      await admin.query(`VACUUM (ANALYZE) ${s}.event`);
      figures.push({ figure: 'doctor indexes: build time', value: (performance.now() - idxStart) / 1000, unit: 's' });
      await listBlock("(with doctor's 2 indexes)");
      const explainIdx = (await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${hourListing.text}`, hourListing.values)).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
      writeFileSync(join(dirname(o.out), 'explain-list-indexed.txt'), `${explainIdx}\n`);
    }

    // 5. The interactive app at 50,000 rows (bench/ui.ts), bounded by its own timeout.
    if (o.only.has('ui')) {
      try {
        // A scaled-down run (CI's smoke test) scales the UI's rows too; 50,000 otherwise.
        if (o.scale !== null) process.env.NOETL_BENCH_UI_ROWS ??= String(Math.max(500, Math.round(50_000 * o.scale)));
        const { benchUi } = await import('./ui.js');
        const ui = await benchUi((line) => log(line));
        const keyFigure = (name: string, st: { median: number; p95: number }) =>
          figures.push({ figure: `5. ${name} at ${ui.rows} rows`, value: st.median, unit: 'ms', note: `p95 ${st.p95.toFixed(1)} ms`, target: '< 16 ms', met: st.p95 < 16 });
        keyFigure('cursor key → frame', ui.cursorMoveMs);
        keyFigure('filter keystroke → frame', ui.filterKeystrokeMs);
        keyFigure('key during a refresh → frame', ui.keyDuringRefreshMs);
        figures.push({ figure: `5. resident memory at ${ui.rows} rows`, value: ui.rssMb, unit: 'MB', target: '< 300 MB', met: ui.rssMb < 300 });
        figures.push({ figure: `5. one refresh cycle (incremental) at ${ui.rows} rows`, value: ui.refreshCycleMs, unit: 'ms' });
      } catch (error) {
        log(`bench: figure 5 failed: ${(error as Error).message}`);
        figures.push({ figure: '5. interactive app', value: 0, unit: '', note: `failed: ${(error as Error).message.slice(0, 200)}`, met: false });
      }
    }
    await db.close();
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${emptySchema}" CASCADE`).catch(() => undefined);
    if (!o.keep) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    else log(`bench: kept schema ${schema} (pass --schema ${schema} to reuse it)`);
    await admin.end();
  }

  const machine = `${cpus().length} cores ${cpus()[0]?.model ?? ''}, ${Math.round(totalmem() / 2 ** 30)} GiB, PostgreSQL ${server}, Node ${process.version}`;
  const date = new Date().toISOString();
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`;
  writeFileSync(
    o.out,
    `${JSON.stringify({ command, events: o.events, running: o.running, reps: o.reps, machine, date, figures: figures.map((f) => ({ ...f, machine, date })) }, null, 2)}\n`,
  );
  const fmt = (v: number | undefined, unit = '') => (v === undefined ? '' : `${v >= 100 ? Math.round(v) : v.toFixed(unit === 'ms' ? 1 : 2)}${unit ? ` ${unit}` : ''}`);
  const lines = [
    `| figure | value | baseline | ratio | target |`,
    `| --- | ---: | --- | ---: | --- |`,
    ...figures.map(
      (f) =>
        `| ${f.figure} | ${fmt(f.value, f.unit)} | ${f.baseline ? `${f.baseline}: ${fmt(f.baseline_value, f.unit)}` : ''}${f.note ? ` ${f.note}` : ''} | ${f.ratio ? `${f.ratio.toFixed(2)}x` : ''} | ${f.target ?? ''}${f.met === undefined ? '' : f.met ? ' ✓' : ' ✗'} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n\n${command}; median of ${o.reps} interleaved rounds; ${machine}; ${date}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
