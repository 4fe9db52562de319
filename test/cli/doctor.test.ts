/**
 * doctor: it reports the event table's indexes, and the statements it
 * prints, run one by one exactly as printed (each on its own, outside a
 * transaction, through a plain client), leave every recommended index valid
 * on the parent and on every partition.
 *
 * On PostgreSQL the built bin runs as a process and a failed CONCURRENTLY
 * build is real (cancelled while it waits for a writer). On PGlite the same
 * scenarios call doctor's module on one in-process database (a spawned
 * console would reopen PGlite from disk for every call, seconds each), and
 * a failed build is simulated by marking the index invalid: PGlite has one
 * session, so nothing can wait for a writer.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Queryable } from '../../src/db/database.js';
import { SCRIPT_TITLE, diagnose, fitName, MAX_NAME_BYTES, reportJson, reportLines, scriptOf } from '../../src/noetl/doctor.js';
import { recommendedIndexes, thresholdsSql } from '../../src/noetl/sql.js';
import { NoetlStore } from '../../src/noetl/store.js';
import { jsonOf, runCli, show } from '../helpers/cli.js';
import { POSTGRES_URL, backends, createTestDatabase, postgresEnabled, uniqueSchema, type Backend, type TestDatabase } from '../helpers/db.js';
import { eventually } from '../helpers/eventually.js';
import { noetlSchemaSql, type SchemaOptions } from '../fixtures/noetl-schema.js';
import { Scenario } from '../fixtures/scenario.js';
import { openPglite } from '../../src/db/pglite.js';
import { upstreamDdl, upstreamDdlSource, withUpstreamDatabase } from '../helpers/upstream-ddl.js';

interface DoctorJson {
  schema: string;
  table: { name: string; partitioned: boolean; partitions: string[]; not_handled: string[] };
  engines: string[];
  indexes: {
    name: string;
    status: 'ok' | 'missing' | 'invalid' | 'incomplete';
    present: boolean;
    existing: string | null;
    detail: string | null;
    statements: string[];
    partitions: { partition: string; index: string | null; valid: boolean }[] | null;
  }[];
  missing: string[];
}

const RECOMMENDED = recommendedIndexes();
const PYTHON_EXEC = '1000';
const RUST_EXEC = '520000000000000001';
const DEFAULT_EXEC = '900000000000000001'; // lands in the default partition

async function seedCatalog(db: Database, schema: string): Promise<void> {
  await db.query(`INSERT INTO "${schema}".catalog (catalog_id, path, version, kind) VALUES (1, 'etl/doctor', 1, 'playbook')`);
}

async function seedEvents(db: Database, schema: string, rows: [string, string, string][]): Promise<void> {
  for (const [execution, event, type] of rows) {
    await db.query(`INSERT INTO "${schema}".event (execution_id, event_id, catalog_id, event_type) VALUES ($1, $2, 1, $3)`, [execution, event, type]);
  }
}

/** Both engines' starts, in three partitions. */
async function seedBothEngines(db: Database, schema: string): Promise<void> {
  await seedCatalog(db, schema);
  await seedEvents(db, schema, [
    [PYTHON_EXEC, '1001', 'playbook.initialized'],
    [RUST_EXEC, '520000000000000002', 'playbook_started'],
    [DEFAULT_EXEC, '900000000000000002', 'playbook_started'],
    [DEFAULT_EXEC, '900000000000000003', 'playbook_completed'],
  ]);
}

/** The event table re-made as a plain table (same columns, defaults and checks). */
async function unpartition(db: Database, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await db.query(`ALTER TABLE ${s}.event RENAME TO event_partitioned`);
  await db.query(`CREATE TABLE ${s}.event (LIKE ${s}.event_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  await db.query(`DROP TABLE ${s}.event_partitioned`);
}

/**
 * One database with a NoETL schema, and doctor on it: the built bin
 * (PostgreSQL) or doctor's module in process (PGlite, see the top).
 */
interface Doctor {
  backend: Backend;
  schema: string;
  json(): Promise<DoctorJson>;
  /** The report lines (the bin: its whole default output). */
  text(): Promise<string>;
  script(): Promise<string[]>;
  /** Statements one by one, each on its own (autocommit), on a plain session. */
  run(statements: string[]): Promise<void>;
  /** Setup and checks, on the test's own session. */
  db: Database;
  close(): Promise<void>;
}

/** One in-memory PGlite for every PGlite scenario (each in a schema of its own): opening one takes seconds. */
let sharedPglite: Promise<Database> | null = null;
afterAll(async () => {
  if (sharedPglite) await (await sharedPglite).close();
});

async function pgliteDatabase(opts: SchemaOptions): Promise<TestDatabase> {
  const schema = uniqueSchema();
  sharedPglite ??= openPglite({ target: { kind: 'pglite', dataDir: 'memory', label: 'pglite' }, schema, readOnly: false, statementTimeoutMs: 15_000, connectTimeoutMs: 10_000 });
  const db = await sharedPglite;
  await db.query(noetlSchemaSql(schema, opts));
  return { backend: 'pglite', db, schema, url: 'pglite://memory', close: async () => void (await db.query(`DROP SCHEMA "${schema}" CASCADE`)) };
}

async function openDoctor(backend: Backend, seed: (db: Database, schema: string) => Promise<void>, opts: SchemaOptions = { deferIndexes: true }): Promise<Doctor> {
  const t: TestDatabase = backend === 'pglite' ? await pgliteDatabase(opts) : await createTestDatabase(backend, opts);
  try {
    await seed(t.db, t.schema);
  } catch (error) {
    await t.close();
    throw error;
  }
  const runEach = async (statements: string[], q: (s: string) => Promise<unknown>) => {
    for (const s of statements) {
      try {
        await q(s);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n  in: ${s}`, { cause: error });
      }
    }
  };
  if (backend === 'pglite') {
    const store = () => new NoetlStore(t.db, t.schema);
    return {
      backend,
      schema: t.schema,
      db: t.db,
      json: async () => JSON.parse(JSON.stringify(reportJson(await diagnose(store()), t.schema))) as DoctorJson,
      text: async () => reportLines(await diagnose(store())).join('\n'),
      script: async () => {
        const report = await diagnose(store());
        return scriptOf(report, [SCRIPT_TITLE, ...reportLines(report)]);
      },
      run: (statements) => runEach(statements, (s) => t.db.query(s)),
      close: () => t.close(),
    };
  }
  const args = ['--database-url', t.url, '--schema', t.schema];
  return {
    backend,
    schema: t.schema,
    db: t.db,
    json: () => doctorJson(args),
    text: async () => {
      const r = await runCli(['doctor', ...args]);
      expect(r.code, show(r)).toBe(0);
      return r.stdout;
    },
    script: () => doctorScript(args),
    run: (statements) => runStatements(statements, t.url),
    close: () => t.close(),
  };
}

async function doctorJson(args: string[]): Promise<DoctorJson> {
  const r = await runCli(['doctor', '--json', ...args]);
  expect(r.code, show(r)).toBe(0);
  return jsonOf<DoctorJson>(r);
}

async function doctorScript(args: string[]): Promise<string[]> {
  const r = await runCli(['doctor', '--script', ...args]);
  expect(r.code, show(r)).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout.trimEnd().split('\n');
}

/** Each statement on its own, autocommit, through a plain pg client. */
async function runStatements(statements: string[], url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'noetl-console-test' });
  await client.connect();
  try {
    for (const s of statements) {
      try {
        await client.query(s);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n  in: ${s}`, { cause: error });
      }
    }
  } finally {
    await client.end();
  }
}

/** The SQL lines of a script (comments and psql meta-commands left out); each is one whole statement. */
function statementsOf(script: string[]): string[] {
  const sql = script.filter((l) => l.trim() !== '' && !l.startsWith('--') && !l.startsWith('\\'));
  for (const l of sql) expect(l, 'one statement per line').toMatch(/^[A-Z][^\n]*;$/);
  return sql;
}

interface IndexTree {
  index: string;
  valid: boolean;
  definition: string;
  leaf_tables: number;
  valid_leaf_indexes: number;
}

/** Independent of doctor: each index on the event table, whether valid, and how many partitions have a valid index under it. */
const INDEX_TREE_SQL = (schema: string) => `
  SELECT i.relname AS index, x.indisvalid AS valid, pg_get_indexdef(i.oid) AS definition,
    (SELECT count(*)::int FROM pg_partition_tree(x.indrelid) t WHERE t.isleaf) AS leaf_tables,
    (SELECT count(*)::int FROM pg_partition_tree(i.oid) t JOIN pg_index lx ON lx.indexrelid = t.relid
      WHERE t.isleaf AND lx.indisvalid) AS valid_leaf_indexes
  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
  WHERE x.indrelid = to_regclass(quote_ident('${schema}') || '.event')`;

async function indexTree(db: Queryable, schema: string): Promise<IndexTree[]> {
  return (await db.query<IndexTree>(INDEX_TREE_SQL(schema))).rows;
}

function expectAllValid(report: DoctorJson): void {
  expect(report.missing).toEqual([]);
  for (const ix of report.indexes) {
    expect(ix, ix.name).toMatchObject({ status: 'ok', present: true, statements: [] });
    if (report.table.partitioned) {
      expect(ix.partitions!.length, ix.name).toBe(report.table.partitions.length);
      for (const p of ix.partitions!) expect(p, `${ix.name} on ${p.partition}`).toMatchObject({ valid: true, index: expect.any(String) });
    }
  }
}

/** A failed CREATE INDEX CONCURRENTLY: an invalid index is left behind, as after a cancelled or crashed build. */
async function failedBuild(d: Doctor, table: string, statement: string): Promise<void> {
  if (d.backend === 'pglite') {
    await d.db.query(statement);
    const name = /EXISTS ("[^"]+")/.exec(statement)![1]!;
    const schema = table.split('.')[0]!;
    await d.db.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass($1)`, [`${schema}.${name}`]);
    return;
  }
  const blocker = new pg.Client({ connectionString: POSTGRES_URL });
  const builder = new pg.Client({ connectionString: POSTGRES_URL });
  const watcher = new pg.Client({ connectionString: POSTGRES_URL });
  await Promise.all([blocker.connect(), builder.connect(), watcher.connect()]);
  try {
    // A writer's open transaction: the build records its (invalid) index, then waits for it.
    await blocker.query('BEGIN');
    await blocker.query(`LOCK TABLE ${table} IN ROW EXCLUSIVE MODE`);
    const pid = (await builder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const build = builder.query(statement).then(
      () => null,
      (error: Error) => error,
    );
    await eventually('the concurrent build to wait for the writer', async () => {
      const { rows } = await watcher.query<{ w: string | null }>('SELECT wait_event_type AS w FROM pg_stat_activity WHERE pid = $1', [pid]);
      return rows[0]?.w === 'Lock';
    });
    await watcher.query('SELECT pg_cancel_backend($1)', [pid]);
    expect((await build)?.message).toMatch(/canceling statement/);
  } finally {
    await blocker.query('ROLLBACK').catch(() => undefined);
    await Promise.all([blocker.end(), builder.end(), watcher.end()]);
  }
}

const idx = (name: string) => RECOMMENDED.find((r) => r.name === name)!;
const simulated = (backend: Backend) => (backend === 'pglite' ? ' (a failed build simulated: PGlite has one session)' : '');

describe('doctor: name fitting', () => {
  it('keeps names within 63 bytes, deterministically, and distinct for long names with a common prefix', () => {
    expect(fitName('idx_event_exec_type_event_p0')).toBe('idx_event_exec_type_event_p0');
    const a = fitName(`idx_event_terminal_exec_${'x'.repeat(50)}_a`);
    const b = fitName(`idx_event_terminal_exec_${'x'.repeat(50)}_b`);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(a).not.toBe(b);
    expect(fitName(`idx_event_terminal_exec_${'x'.repeat(50)}_a`)).toBe(a);
    const multibyte = fitName(`idx_${'é'.repeat(40)}`);
    expect(Buffer.byteLength(multibyte)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(multibyte).toMatch(/^idx_é+_[0-9a-f]{8}$/);
  });
});

for (const backend of backends()) {
  describe(`doctor on ${backend}${backend === 'pglite' ? " (doctor's module in process)" : ' (the built bin)'}`, () => {
    describe('the NoETL-shaped fixture (range-partitioned, a default partition) without the recommended indexes', () => {
      let d: Doctor;
      beforeAll(async () => {
        d = await openDoctor(backend, seedBothEngines);
      });
      afterAll(() => d?.close());

      it('reports every index missing and the engines it sees, prints a script that works, then reports nothing missing', async () => {
        const before = await d.json();
        expect(before.table).toEqual({
          name: `"${d.schema}"."event"`,
          partitioned: true,
          partitions: ['event_default', 'event_p0', 'event_p1', 'event_p2'].map((p) => `"${d.schema}"."${p}"`),
          not_handled: [],
        });
        expect(before.engines).toEqual(['python', 'rust']);
        expect(before.indexes.map((i) => [i.name, i.status, i.present])).toEqual(RECOMMENDED.map((r) => [r.name, 'missing', false]));

        const text = await d.text();
        expect(text).toContain('engines: python (playbook.initialized), rust (playbook_started)');
        expect(text).toContain(`event table: "${d.schema}"."event" (partitioned, 4 partition(s))`);
        expect(text.match(/^missing /gm)).toHaveLength(RECOMMENDED.length);

        const script = await d.script();
        expect(script[0]).toBe('-- noetl-console doctor');
        expect(script).toContain('-- engines: python (playbook.initialized), rust (playbook_started)');
        expect(script).toContain('\\set ON_ERROR_STOP on');
        const statements = statementsOf(script);
        // PostgreSQL refuses CONCURRENTLY on the partitioned parent; the script never asks for it.
        expect(statements.filter((s) => s.includes('CONCURRENTLY') && s.includes(` ON "${d.schema}"."event" `))).toEqual([]);
        for (const r of RECOMMENDED) {
          expect(statements.filter((s) => s.startsWith(`CREATE INDEX IF NOT EXISTS "${r.index}" ON ONLY "${d.schema}"."event" (`))).toHaveLength(1);
          expect(statements.filter((s) => s.startsWith(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "${r.index}_event_`))).toHaveLength(4);
          expect(statements.filter((s) => s.startsWith(`ALTER INDEX "${d.schema}"."${r.index}" ATTACH PARTITION `))).toHaveLength(4);
        }
        expect(statements).toContain(
          `CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_event_start_exec_event_p1" ON "${d.schema}"."event_p1" (execution_id) INCLUDE (created_at, catalog_id, parent_execution_id) WHERE event_type IN ('playbook.started', 'playbook_started');`,
        );
        expect(statements).toContain(
          `CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_event_completed_at_event_p1" ON "${d.schema}"."event_p1" (created_at) INCLUDE (execution_id) WHERE event_type IN ('playbook.completed', 'playbook_completed', 'workflow.completed');`,
        );
        // --json carries the same statements, per index and in script order.
        expect(before.missing).toEqual(statements.filter((s) => !/^(RE)?SET /.test(s)));
        expect(before.indexes.flatMap((i) => i.statements).sort()).toEqual([...before.missing].sort());

        await d.run(statements);

        expectAllValid(await d.json());
        const tree = await indexTree(d.db, d.schema);
        for (const r of RECOMMENDED) {
          const t = tree.find((x) => x.index === r.index);
          expect(t, r.index).toMatchObject({ valid: true, leaf_tables: 4, valid_leaf_indexes: 4 });
          expect(t!.definition).toContain(` ON ONLY ${d.schema}.event USING btree (${r.keys.join(', ')})`);
        }
        const after = await d.text();
        if (backend === 'postgres') expect(after).toContain('All recommended indexes are present and valid.');
        expect(after.match(/^ok /gm)).toHaveLength(RECOMMENDED.length);
        expect(await d.script()).toContain('-- Nothing to do: every recommended index is present and valid.');
      });
    });

    describe('a parent index left INVALID with some partitions attached', () => {
      let d: Doctor;
      beforeAll(async () => {
        d = await openDoctor(backend, seedBothEngines);
      });
      afterAll(() => d?.close());

      it(`prints only the missing parts: no new parent, nothing for an attached partition, a rebuild for the failed ones${simulated(backend)}`, async () => {
        const s = `"${d.schema}"`;
        const r = idx('event_terminal_exec');
        const where = `WHERE event_type IN (${r.predicateTypes.map((t) => `'${t}'`).join(', ')})`;
        const cic = (p: string) => `CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_event_terminal_exec_${p}" ON ${s}."${p}" (execution_id) ${where}`;
        await d.db.query(`CREATE INDEX idx_event_terminal_exec ON ONLY ${s}.event (execution_id) ${where}`);
        await d.db.query(cic('event_p0'));
        await d.db.query(`ALTER INDEX ${s}.idx_event_terminal_exec ATTACH PARTITION ${s}.idx_event_terminal_exec_event_p0`);
        await failedBuild(d, `${s}.event_p1`, cic('event_p1'));
        await failedBuild(d, `${s}.event_p2`, cic('event_p2'));
        // psql without ON_ERROR_STOP goes on after a failed build: the invalid index gets attached.
        await d.db.query(`ALTER INDEX ${s}.idx_event_terminal_exec ATTACH PARTITION ${s}.idx_event_terminal_exec_event_p2`);

        const report = await d.json();
        const terminal = report.indexes.find((i) => i.name === 'event_terminal_exec')!;
        expect(terminal).toMatchObject({ status: 'incomplete', present: false, existing: 'idx_event_terminal_exec' });
        expect(terminal.detail).toContain('1 of 4 partitions');
        const q = (name: string) => `${s}."${name}"`;
        expect(terminal.statements).toEqual([
          `${cic('event_default')};`,
          `ALTER INDEX ${q('idx_event_terminal_exec')} ATTACH PARTITION ${q('idx_event_terminal_exec_event_default')};`,
          `DROP INDEX CONCURRENTLY IF EXISTS ${q('idx_event_terminal_exec_event_p1')};`,
          `${cic('event_p1')};`,
          `ALTER INDEX ${q('idx_event_terminal_exec')} ATTACH PARTITION ${q('idx_event_terminal_exec_event_p1')};`,
          `REINDEX INDEX CONCURRENTLY ${q('idx_event_terminal_exec_event_p2')};`,
          `ALTER INDEX ${q('idx_event_terminal_exec')} ATTACH PARTITION ${q('idx_event_terminal_exec_event_p2')};`,
        ]);
        expect(report.indexes.filter((i) => i.name !== 'event_terminal_exec').map((i) => i.status)).toEqual(['missing', 'missing', 'missing', 'missing', 'missing']);
        expect(await d.text()).toMatch(/^incomplete event_terminal_exec /m);

        await d.run(statementsOf(await d.script()));
        expectAllValid(await d.json());
        const t = (await indexTree(d.db, d.schema)).find((x) => x.index === 'idx_event_terminal_exec');
        expect(t).toMatchObject({ valid: true, leaf_tables: 4, valid_leaf_indexes: 4 });
      });
    });

    describe('partitions with long names, quoted names in another schema, and sub-partitions', () => {
      let d: Doctor;
      const other = uniqueSchema('nc_other');
      beforeAll(async () => {
        d = await openDoctor(backend, async (db, schema) => {
          const s = `"${schema}"`;
          const long = 'event_partition_for_the_quarter_starting_2027_q1_standard';
          await db.query(`CREATE TABLE ${s}.${long}_a PARTITION OF ${s}.event FOR VALUES FROM (600000000000000000) TO (610000000000000000)`);
          await db.query(`CREATE TABLE ${s}.${long}_b PARTITION OF ${s}.event FOR VALUES FROM (610000000000000000) TO (620000000000000000)`);
          await db.query(`CREATE SCHEMA "${other}"`);
          await db.query(`CREATE TABLE "${other}"."Event ""Q"" 2027" PARTITION OF ${s}.event FOR VALUES FROM (620000000000000000) TO (630000000000000000)`);
          await db.query(`CREATE TABLE ${s}.event_p3 PARTITION OF ${s}.event FOR VALUES FROM (630000000000000000) TO (650000000000000000) PARTITION BY RANGE (execution_id)`);
          await db.query(`CREATE TABLE ${s}.event_p3a PARTITION OF ${s}.event_p3 FOR VALUES FROM (630000000000000000) TO (640000000000000000)`);
          await db.query(`CREATE TABLE ${s}.event_p3b PARTITION OF ${s}.event_p3 DEFAULT`);
        });
      });
      afterAll(async () => {
        await d?.db.query(`DROP SCHEMA IF EXISTS "${other}" CASCADE`).catch(() => undefined);
        await d?.close();
      });

      it('names each index within 63 bytes, quotes every identifier, indexes sub-partitions, and the script leaves all valid', async () => {
        const before = await d.json();
        expect(before.table.partitions).toHaveLength(9); // p0-p2, default, two long names, the quoted one, p3a, p3b
        expect(before.table.partitions).toContain(`"${other}"."Event ""Q"" 2027"`);
        expect(before.engines).toEqual([]);
        expect(await d.text()).toContain('engines: none seen (no playbook.initialized or playbook_started event)');

        const statements = statementsOf(await d.script());
        const names = statements.flatMap((s) => [...s.matchAll(/"((?:[^"]|"")+)"/g)].map((m) => m[1]!.replace(/""/g, '"')));
        for (const n of names) expect(Buffer.byteLength(n), n).toBeLessThanOrEqual(MAX_NAME_BYTES);
        const terminalBuilds = statements.filter((s) => s.startsWith('CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_event_terminal_exec'));
        expect(terminalBuilds).toHaveLength(9); // every leaf, not the sub-partitioned event_p3
        expect(new Set(terminalBuilds.map((s) => /EXISTS ("(?:[^"]|"")+")/.exec(s)![1])).size).toBe(9);
        const where = `WHERE event_type IN (${idx('event_terminal_exec')
          .predicateTypes.map((t) => `'${t}'`)
          .join(', ')})`;
        expect(statements).toContain(`CREATE INDEX IF NOT EXISTS "idx_event_terminal_exec_event_p3" ON ONLY "${d.schema}"."event_p3" (execution_id) ${where};`);
        expect(statements).toContain(`ALTER INDEX "${d.schema}"."idx_event_terminal_exec_event_p3" ATTACH PARTITION "${d.schema}"."idx_event_terminal_exec_event_p3a";`);
        expect(statements).toContain(`ALTER INDEX "${d.schema}"."idx_event_terminal_exec" ATTACH PARTITION "${other}"."idx_event_terminal_exec_Event ""Q"" 2027";`);
        // A sub-partition's index is attached to its parent's after its own partitions' indexes.
        const attachP3 = statements.indexOf(`ALTER INDEX "${d.schema}"."idx_event_terminal_exec" ATTACH PARTITION "${d.schema}"."idx_event_terminal_exec_event_p3";`);
        expect(attachP3).toBeGreaterThan(
          statements.indexOf(`ALTER INDEX "${d.schema}"."idx_event_terminal_exec_event_p3" ATTACH PARTITION "${d.schema}"."idx_event_terminal_exec_event_p3a";`),
        );

        await d.run(statements);
        expectAllValid(await d.json());
        const tree = await indexTree(d.db, d.schema);
        for (const r of RECOMMENDED)
          expect(
            tree.find((x) => x.index === r.index),
            r.index,
          ).toMatchObject({ valid: true, leaf_tables: 9, valid_leaf_indexes: 9 });
      });
    });

    describe('an unpartitioned event table', () => {
      let d: Doctor;
      beforeAll(async () => {
        d = await openDoctor(backend, async (db, schema) => {
          await unpartition(db, schema);
          await seedCatalog(db, schema);
          await seedEvents(db, schema, [[RUST_EXEC, '520000000000000002', 'playbook_started']]);
        });
      });
      afterAll(() => d?.close());

      it(`keeps CREATE INDEX CONCURRENTLY, and reports an invalid leftover with its DROP and rebuild${simulated(backend)}`, async () => {
        const s = `"${d.schema}"`;
        const before = await d.json();
        expect(before.table).toMatchObject({ partitioned: false, partitions: [] });
        expect(before.engines).toEqual(['rust']);
        const statements = statementsOf(await d.script());
        const creates = statements.filter((x) => !/^(RE)?SET /.test(x));
        expect(creates).toHaveLength(RECOMMENDED.length);
        RECOMMENDED.forEach((r, i) => expect(creates[i]!.startsWith(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "${r.index}" ON "${d.schema}"."event" (`), creates[i]).toBe(true));
        await d.run(statements);
        expectAllValid(await d.json());

        // A build that failed half-way leaves an invalid index of the right shape.
        await d.db.query(`DROP INDEX ${s}.idx_event_created_at`);
        await failedBuild(d, `${s}.event`, `CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_event_created_at" ON ${s}.event (created_at)`);
        const broken = await d.json();
        const created = broken.indexes.find((i) => i.name === 'event_created_at')!;
        expect(created).toMatchObject({ status: 'invalid', present: false, existing: 'idx_event_created_at' });
        expect(created.statements).toEqual([
          `DROP INDEX CONCURRENTLY IF EXISTS ${s}."idx_event_created_at";`,
          `CREATE INDEX CONCURRENTLY IF NOT EXISTS "idx_event_created_at" ON ${s}."event" (created_at);`,
        ]);
        const text = await d.text();
        expect(text).toMatch(/^invalid +event_created_at /m);
        expect(text).toContain('idx_event_created_at is invalid (left by a failed CONCURRENTLY build)');

        await d.run(statementsOf(await d.script()));
        expectAllValid(await d.json());
      });
    });

    describe("NoETL's own indexes, then doctor's script", () => {
      let d: Doctor;
      beforeAll(async () => {
        d = await openDoctor(
          backend,
          async (db, schema) => {
            // Completions in every partition (p0, p1, p2, default): each partition's plan is its own.
            for (const base of [1000n, 540000000000000000n, 560000000000000000n, 900000000000000000n]) {
              const s = new Scenario(base);
              for (let i = 0; i < 2; i++) {
                s.execution({ path: 'etl/done', dialect: i % 2 ? 'rust' : 'python', startedMinutesAgo: 100 + i * 60 }).finish('completed', 90 + i * 60);
              }
              s.execution({ path: 'etl/done', startedMinutesAgo: 700 }).finish('cancelled', 100);
              s.execution({ path: 'etl/running', startedMinutesAgo: 30 }).issued('extract', 29);
              await s.apply(db, schema);
            }
          },
          {},
        );
      });
      afterAll(() => d?.close());

      it('the learned-thresholds query reads the window of completions index-only through idx_event_completed_at', async () => {
        await d.run(statementsOf(await d.script()));
        expectAllValid(await d.json());
        await d.db.query(`VACUUM (ANALYZE) "${d.schema}".event`);
        // Planner costs on a few rows say little: with sequential scans off it still has to prove the index serves the predicate.
        const plan = await d.db.transaction(async (q) => {
          await q.query('SET LOCAL enable_seqscan = off');
          return (await q.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${thresholdsSql(d.schema)}`, [14])).rows.map((r) => r['QUERY PLAN']).join('\n');
        });
        const scans = plan.match(/Index Only Scan using idx_event_completed_at_event_\w+/g) ?? [];
        expect(new Set(scans).size, plan).toBe(4); // each partition's
        expect(plan).not.toMatch(/Bitmap Heap Scan|Seq Scan/);
        const rows = (await d.db.query<{ path: string; samples: number }>(thresholdsSql(d.schema), [14])).rows;
        expect(rows.map((r) => [r.path, r.samples])).toEqual([['etl/done', 8]]);
      });
    });
  });
}

const psqlAvailable = spawnSync('psql', ['--version']).status === 0;
const ddl = postgresEnabled() ? upstreamDdl() : null;
const upstreamTitle = !postgresEnabled()
  ? "doctor on NoETL's own DDL: skipped, PostgreSQL is not among NOETL_TEST_BACKENDS"
  : ddl === null
    ? `doctor on NoETL's own DDL: skipped, ${upstreamDdlSource()}`
    : `doctor on NoETL's own DDL (${upstreamDdlSource()})`;

describe(upstreamTitle, () => {
  it.skipIf(ddl === null)(
    `finds NoETL's indexes, prints the three it lacks, and its script ${psqlAvailable ? '(run by psql -f)' : '(run by a pg client: no psql here)'} leaves nothing missing`,
    async () => {
      await withUpstreamDatabase(async (url) => {
        const args = ['--database-url', url, '--schema', 'noetl'];
        const before = await doctorJson(args);
        expect(before.table.partitioned).toBe(true);
        expect(before.table.partitions.length).toBeGreaterThan(3);
        expect(before.engines).toEqual([]);
        const status = Object.fromEntries(before.indexes.map((i) => [i.name, i.status]));
        expect(status).toEqual({
          event_exec_type: 'ok',
          event_parent_exec: 'ok',
          event_created_at: 'ok',
          event_terminal_exec: 'missing',
          event_start_exec: 'missing',
          event_completed_at: 'missing',
        });

        const script = await doctorScript(args);
        if (psqlAvailable) {
          const dir = mkdtempSync(join(tmpdir(), 'noetl-console-doctor-'));
          try {
            const file = join(dir, 'doctor.sql');
            writeFileSync(file, `${script.join('\n')}\n`);
            const run = spawnSync('psql', ['-X', '-q', '-d', url, '-f', file], { encoding: 'utf8' });
            expect(run.status, run.stderr).toBe(0);
            expect(run.stderr).toBe('');
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        } else await runStatements(statementsOf(script), url);
        expectAllValid(await doctorJson(args));
      });
    },
  );
});
