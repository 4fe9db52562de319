/**
 * The config checked against the catalog on first use: every mismatch is a
 * UsageError naming the file and the config key, and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { JOBS_CONFIG, RUNS_CONFIG, markRequest, seedJobs, seedRuns, sourceOf } from './fixtures.js';

describe.each(backends())('config against the catalog on %s', (backend) => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
    await seedJobs(t.db, t.schema);
    await seedRuns(t.db, t.schema);
    await t.db.query(`CREATE TABLE "${t.schema}".job_steps (execution_id text, step text, status text);
      CREATE TABLE "${t.schema}".job_steps_uuid (execution_id uuid, step text, status text)`);
  });
  afterAll(async () => t?.close());

  const firstUseError = async (yaml: string, name: string): Promise<string> => {
    const source = sourceOf(t.db, yaml, t.schema, name);
    const error = await source.mark(markRequest('fail', name === 'jobs' ? ['39'] : ['8f14e45f-ceea-4e67-a0f1-6a1d2c3b4e5f'], 'x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  };
  const jobs = (from: string, to: string) => {
    expect(JOBS_CONFIG).toContain(from);
    return JOBS_CONFIG.replace(from, to);
  };
  const F = 'noetl-console.config.yaml: sources.jobs.';

  it('a missing table, or schema', async () => {
    expect(await firstUseError(jobs('{schema}.job_executions', '{schema}.job_execution'), 'jobs')).toBe(`${F}table: table "${t.schema}.job_execution" not found`);
    expect(await firstUseError(jobs('{schema}.job_executions', 'nowhere.job_executions'), 'jobs')).toBe(`${F}table: table "nowhere.job_executions" not found`);
    // Other schemas of the shared database may hold a job_executions too: ours must be among the suggestions.
    expect(await firstUseError(jobs('{schema}.job_executions', 'job_executions'), 'jobs')).toMatch(
      new RegExp(`^${F.replace(/\./g, '\\.')}table: table "job_executions" not found on the search_path \\(did you mean [^)]*"${t.schema}\\.job_executions"`),
    );
  });

  it('a missing column, named by its key', async () => {
    expect(await firstUseError(jobs('display: [execution_number]', 'display: [execution_number, attempt]'), 'jobs')).toBe(
      `${F}display[1]: column "attempt" not found in ${t.schema}.job_executions`,
    );
    expect(await firstUseError(jobs('reason: { column: error_message }', 'reason: { column: error }'), 'jobs')).toBe(
      `${F}reason.column: column "error" not found in ${t.schema}.job_executions`,
    );
    expect(await firstUseError(jobs('label: job_id', 'label: Job_Id'), 'jobs')).toBe(
      `${F}label: column "Job_Id" not found in ${t.schema}.job_executions (did you mean "job_id"? names are case-sensitive)`,
    );
  });

  it('columns of the wrong type', async () => {
    expect(await firstUseError(jobs('started_at: started_at', 'started_at: error_message'), 'jobs')).toBe(
      `${F}started_at: column "error_message" is text; expected timestamp with or without time zone`,
    );
    expect(await firstUseError(jobs('type: integer', 'type: uuid'), 'jobs')).toBe(`${F}id.type: uuid does not fit column "id" of type integer (expected uuid)`);
    expect(await firstUseError(jobs('reason: { column: error_message }', 'reason: { append_to: job_id }'), 'jobs')).toBe(
      `${F}reason.append_to: column "job_id" is integer; expected text or varchar`,
    );
    expect(await firstUseError(jobs('reason: { column: error_message }', 'reason: { json_column: error_message, key: reason }'), 'jobs')).toBe(
      `${F}reason.json_column: column "error_message" is text; expected json or jsonb`,
    );
  });

  it('a steps table whose execution id cannot match the id', async () => {
    const steps = (table: string) => `${JOBS_CONFIG}    steps: { table: {schema}.${table}, execution_id: execution_id, step_id: step, status: status }\n`;
    expect(await firstUseError(steps('job_steps_uuid'), 'jobs')).toBe(`${F}steps.execution_id: column "execution_id" is uuid, which does not match id.type integer`);
    expect(await firstUseError(steps('job_steps'), 'jobs')).toBe(`${F}steps.execution_id: column "execution_id" is text, which does not match id.type integer`);
    expect(await firstUseError(steps('no_steps'), 'jobs')).toBe(`${F}steps.table: table "${t.schema}.no_steps" not found`);
  });

  it('status values that an enum does not have', async () => {
    const runs = RUNS_CONFIG.replace('running: RUNNING', 'running: running');
    expect(await firstUseError(runs, 'runs')).toBe(
      `noetl-console.config.yaml: sources.runs.status.running: "running" is not a value of ${t.schema}.runstatus (values: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED)`,
    );
    const cancelled = RUNS_CONFIG.replace('cancelled: CANCELLED', 'cancelled: CANCELED');
    expect(await firstUseError(cancelled, 'runs')).toMatch(/^noetl-console\.config\.yaml: sources\.runs\.status\.cancelled: "CANCELED" is not a value of /);
  });

  it('wrote nothing on the way', async () => {
    const { rows } = await t.db.query<{ status: string; error_message: string | null }>(`SELECT status, error_message FROM "${t.schema}".job_executions WHERE id = 39`);
    expect(rows[0]).toEqual({ status: 'running', error_message: null });
  });

  it('a fixed config works after a failed check (the check is retried, not cached)', async () => {
    const source = sourceOf(t.db, jobs('{schema}.job_executions', '{schema}.later_jobs'), t.schema, 'jobs');
    await expect(source.listStuck({ olderThanSeconds: 0 })).rejects.toThrow(UsageError);
    await t.db.query(`CREATE TABLE "${t.schema}".later_jobs (LIKE "${t.schema}".job_executions)`);
    await expect(source.listStuck({ olderThanSeconds: 0 })).resolves.toEqual([]);
  });
});
