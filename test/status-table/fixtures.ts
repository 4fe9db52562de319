/**
 * Real shapes of status tables (see issue 7 and its seeds), their configs,
 * and rows placed relative to the database clock.
 */
import pg from 'pg';
import { currentActor } from '../../src/audit.js';
import { parseConfig, type StatusTableConfig } from '../../src/config-file.js';
import type { Database, QueryResult, Queryable } from '../../src/db/database.js';
import { StatusTableSource } from '../../src/status-table/source.js';
import { POSTGRES_URL, type Backend, type TestDatabase } from '../helpers/db.js';
import type { MarkRequest } from '../../src/core/mark.js';

export const FILE = 'noetl-console.config.yaml';

/** Sources from a YAML config text, through the real parser; {schema} is replaced. */
export function sourcesFrom(yaml: string, schema: string): Record<string, StatusTableConfig> {
  const config = parseConfig(yaml.replaceAll('{schema}', schema), FILE);
  return config.sources as Record<string, StatusTableConfig>;
}

export function sourceOf(db: Database, yaml: string, schema: string, name: string): StatusTableSource {
  return new StatusTableSource(db, name, sourcesFrom(yaml, schema)[name]!, FILE);
}

export function markRequest(action: 'fail' | 'cancel', ids: string[], reason: string, extra: Partial<MarkRequest> = {}): MarkRequest {
  return { action, ids, reason, cascade: false, dryRun: false, actor: currentActor(), ...extra };
}

/** `now() - interval` in the column's convention: absolute for timestamptz, UTC wall clock otherwise. */
export const agoTz = (minutes: number) => `now() - interval '${minutes} minutes'`;
export const agoUtc = (minutes: number) => `(now() AT TIME ZONE 'UTC') - interval '${minutes} minutes'`;

// ---------------------------------------------------------------- (a) job_executions

export const JOBS_CONFIG = `
sources:
  jobs:
    type: status-table
    table: {schema}.job_executions
    id: { column: id, type: integer }
    status:
      column: status
      running: [running]
      failed: failed
      completed: [completed]
    started_at: started_at
    finished_at: completed_at
    label: job_id
    display: [execution_number]
    reason: { column: error_message }
`;

/** job_executions as in the stale-execution report (seed 002); execution #5 of job 21 stuck for 22 h. */
export async function seedJobs(db: Queryable, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await db.query(`DROP TABLE IF EXISTS ${s}.job_executions;
    CREATE TABLE ${s}.job_executions (
      id serial PRIMARY KEY,
      job_id integer NOT NULL,
      execution_number integer NOT NULL,
      status varchar(20) NOT NULL DEFAULT 'pending',
      started_at timestamptz,
      completed_at timestamptz,
      error_message text
    );
    CREATE INDEX ON ${s}.job_executions (status);
    INSERT INTO ${s}.job_executions (id, job_id, execution_number, status, started_at, completed_at) VALUES
      (29, 21, 1, 'completed', ${agoTz(26 * 60)}, ${agoTz(26 * 60 - 30)}),
      (37, 21, 3, 'failed',    ${agoTz(25 * 60)}, ${agoTz(25 * 60 - 5)}),
      (38, 21, 4, 'completed', ${agoTz(22 * 60 + 10)}, ${agoTz(22 * 60 + 5)}),
      (39, 21, 5, 'running',   ${agoTz(22 * 60)}, NULL),
      (41, 23, 1, 'running',   ${agoTz(120)}, NULL),
      (40, 22, 1, 'running',   ${agoTz(3)}, NULL),
      (42, 24, 1, 'pending',   NULL, NULL);`);
}

// ---------------------------------------------------------------- (b) pipeline runs

export const RUNS_CONFIG = `
sources:
  runs:
    type: status-table
    table: {schema}.runs
    id: { column: run_id, type: uuid }
    status:
      column: status
      running: RUNNING
      failed: FAILED
      cancelled: CANCELLED
      completed: [COMPLETED]
    started_at: started_at
    finished_at: completed_at
    label: input_file_path
    display: [last_phase]
    reason: { append_to: errors }
`;

export const RUN = {
  stuckUnderwriting: '8f14e45f-ceea-4e67-a0f1-6a1d2c3b4e5f',
  stuckLoad: '1c9f0e2a-7b3d-4d5e-9f8a-0b1c2d3e4f50',
  fresh: '2d0a1b3c-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  completed: '3e1b2c4d-5f60-4b7c-9d8e-0f1a2b3c4d5e',
  failedBefore: '4f2c3d5e-6071-4c8d-ae9f-1a2b3c4d5e6f',
  missing: '5a3d4e6f-7182-4d9e-bfa0-2b3c4d5e6f70',
} as const;

/**
 * The loan pipeline's runs (seed 004): SQLAlchemy-style, so an enum of
 * upper-case names and timestamps without time zone holding UTC.
 */
export async function seedRuns(db: Queryable, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await db.query(`DROP TABLE IF EXISTS ${s}.runs; DROP TYPE IF EXISTS ${s}.runstatus;
    CREATE TYPE ${s}.runstatus AS ENUM ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED');
    CREATE TABLE ${s}.runs (
      run_id uuid PRIMARY KEY,
      status ${s}.runstatus NOT NULL DEFAULT 'PENDING',
      started_at timestamp without time zone,
      completed_at timestamp without time zone,
      last_phase varchar(64),
      errors text,
      input_file_path text
    );
    INSERT INTO ${s}.runs (run_id, status, started_at, completed_at, last_phase, errors, input_file_path) VALUES
      ('${RUN.stuckUnderwriting}', 'RUNNING', ${agoUtc(180)}, NULL, 'underwriting', NULL, 'tapes/2025-08/Tape20Loans.xlsx'),
      ('${RUN.stuckLoad}', 'RUNNING', ${agoUtc(90)}, NULL, 'load_input_files', 'warning: SFY file missing', 'tapes/2025-07/Tape20Loans.xlsx'),
      ('${RUN.fresh}', 'RUNNING', ${agoUtc(2)}, NULL, 'load_reference_data', NULL, 'prime/2025-08/PRIME.csv'),
      ('${RUN.completed}', 'COMPLETED', ${agoUtc(300)}, ${agoUtc(280)}, 'save_db', NULL, 'tapes/2025-06/Tape20Loans.xlsx'),
      ('${RUN.failedBefore}', 'FAILED', ${agoUtc(400)}, ${agoUtc(390)}, 'comap', 'KeyError: FICO', 'tapes/2025-05/Tape20Loans.xlsx');`);
}

// ---------------------------------------------------------------- (c) DAG runs and nodes

export const DAG_CONFIG = `
sources:
  dag:
    type: status-table
    table: {schema}.dag_runs
    id: { column: execution_id, type: text }
    status: { column: status, running: [running], failed: failed, cancelled: cancelled, completed: [completed] }
    started_at: started_at
    finished_at: completed_at
    updated_at: updated_at
    label: dag_id
    reason: { json_column: error, key: message }
    steps:
      table: {schema}.dag_nodes
      execution_id: execution_id
      step_id: node_id
      status: status
      started_at: started_at
      finished_at: completed_at
      attempts: attempt_count
      error: error
      noun: node
`;

/** An orchestrator's executions and node traces (seed 003). */
export async function seedDag(db: Queryable, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await db.query(`DROP TABLE IF EXISTS ${s}.dag_nodes; DROP TABLE IF EXISTS ${s}.dag_runs;
    CREATE TABLE ${s}.dag_runs (
      execution_id text PRIMARY KEY,
      dag_id text NOT NULL,
      status text NOT NULL,
      started_at timestamptz NOT NULL,
      completed_at timestamptz,
      updated_at timestamptz,
      error jsonb
    );
    CREATE TABLE ${s}.dag_nodes (
      execution_id text NOT NULL REFERENCES ${s}.dag_runs,
      node_id text NOT NULL,
      status text NOT NULL,
      started_at timestamptz,
      completed_at timestamptz,
      attempt_count integer NOT NULL DEFAULT 0,
      error text,
      PRIMARY KEY (execution_id, node_id)
    );
    INSERT INTO ${s}.dag_runs VALUES
      ('exec-a', 'scope3-report', 'running', ${agoTz(180)}, NULL, ${agoTz(165)}, NULL),
      ('exec-b', 'scope1-calc', 'running', ${agoTz(50)}, NULL, ${agoTz(1)}, '{"code": 17}'),
      ('exec-c', 'scope3-report', 'running', ${agoTz(300)}, NULL, ${agoTz(280)}, '[{"code": 1}]'),
      ('exec-d', 'scope2-calc', 'completed', ${agoTz(500)}, ${agoTz(480)}, ${agoTz(480)}, NULL),
      ('exec-e', 'intake-only', 'running', ${agoTz(40)}, NULL, NULL, '"legacy text"');
    INSERT INTO ${s}.dag_nodes VALUES
      ('exec-a', 'intake',   'completed', ${agoTz(180)}, ${agoTz(170)}, 1, NULL),
      ('exec-a', 'validate', 'completed', ${agoTz(170)}, ${agoTz(160)}, 1, NULL),
      ('exec-a', 'calc',     'running',   ${agoTz(150)}, NULL, 3, 'TimeoutError: emissions factor API 504'),
      ('exec-a', 'report',   'pending',   NULL, NULL, 0, NULL),
      ('exec-b', 'intake',   'running',   ${agoTz(1)}, NULL, 1, NULL),
      ('exec-c', 'intake',   'completed', ${agoTz(300)}, ${agoTz(290)}, 1, NULL),
      ('exec-c', 'validate', 'completed', ${agoTz(290)}, ${agoTz(280)}, 2, 'retried: schema drift'),
      ('exec-d', 'intake',   'completed', ${agoTz(500)}, ${agoTz(490)}, 1, NULL),
      ('exec-d', 'report',   'skipped',   ${agoTz(490)}, ${agoTz(480)}, 0, NULL);`);
}

// ---------------------------------------------------------------- Prisma-style names that need quoting

export const PRISMA_CONFIG = `
sources:
  prisma:
    type: status-table
    table: {schema}.JobRun
    id: { column: runId, type: integer }
    status: { column: Status, running: [RUNNING, "Queued Again"], failed: FAILED, cancelled: CANCELED }
    started_at: startedAt
    finished_at: finishedAt
    updated_at: heartbeatAt
    label: user
    display: [order, Status]
    reason: { column: failureReason }
    steps:
      table: {schema}.JobStep
      execution_id: runId
      step_id: name
      status: State
      started_at: startedAt
      done: [DONE]
      running: [ACTIVE]
`;

/** A table an ORM created with mixed-case names and reserved words ("user", "order"). */
export async function seedPrisma(db: Queryable, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await db.query(`DROP TABLE IF EXISTS ${s}."JobStep"; DROP TABLE IF EXISTS ${s}."JobRun";
    CREATE TABLE ${s}."JobRun" (
      "runId" integer PRIMARY KEY,
      "Status" text NOT NULL,
      "startedAt" timestamp(3) without time zone NOT NULL,
      "finishedAt" timestamp(3) without time zone,
      "heartbeatAt" timestamp(3) without time zone,
      "user" text,
      "order" integer,
      "failureReason" text
    );
    CREATE TABLE ${s}."JobStep" ("runId" integer, "name" text, "State" text, "startedAt" timestamp(3));
    INSERT INTO ${s}."JobRun" VALUES
      (1, 'RUNNING', ${agoUtc(240)}, NULL, ${agoUtc(200)}, 'alice', 7, NULL),
      (2, 'Queued Again', ${agoUtc(100)}, NULL, ${agoUtc(1)}, 'bob', 8, NULL),
      (3, 'running', ${agoUtc(100)}, NULL, NULL, 'carol', 9, NULL),
      (4, 'SUCCEEDED', ${agoUtc(500)}, ${agoUtc(450)}, NULL, 'dave', 10, NULL);
    INSERT INTO ${s}."JobStep" VALUES (1, 'fetch', 'DONE', ${agoUtc(230)}), (1, 'train', 'ACTIVE', ${agoUtc(210)});`);
}

// ---------------------------------------------------------------- sessions

/** One session on which `SET TimeZone` holds for every query (PGlite is one session already). */
export async function sessionWithTimeZone(t: TestDatabase, timeZone: string): Promise<{ db: Database; close(): Promise<void> }> {
  if (t.backend === 'pglite') {
    await t.db.query(`SET TimeZone = '${timeZone}'`);
    return { db: t.db, close: async () => void (await t.db.query('RESET TimeZone')) };
  }
  const client = new pg.Client({ connectionString: POSTGRES_URL, application_name: 'noetl-console' });
  await client.connect();
  await client.query(`SET TimeZone = '${timeZone}'`);
  return { db: singleClientDatabase(client, 'postgres'), close: () => client.end() };
}

export function singleClientDatabase(client: pg.Client, kind: Backend): Database {
  const query = async <R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
    const res = await client.query(text, params as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  };
  return {
    kind,
    label: 'test session',
    query,
    async transaction(fn) {
      await client.query('BEGIN');
      try {
        const result = await fn({ query });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    },
    close: () => client.end(),
  };
}
