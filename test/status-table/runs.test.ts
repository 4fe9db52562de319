/**
 * Shape (b): the loan pipeline's runs, UUID ids, an upper-case enum status,
 * timestamps without time zone (UTC), reason appended to the errors text.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { StatusTableSource } from '../../src/status-table/source.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RUN, RUNS_CONFIG, markRequest, seedRuns, sourceOf } from './fixtures.js';

interface RunRow {
  status: string;
  errors: string | null;
  completed_at: string | null;
  /** completed_at minus UTC now, seconds: near 0 when written as UTC. */
  skew_s: number | null;
}

describe.each(backends())('pipeline runs on %s', (backend) => {
  let t: TestDatabase;
  let source: StatusTableSource;
  const run = async (id: string): Promise<RunRow> =>
    (
      await t.db.query<RunRow>(
        `SELECT status::text, errors, completed_at::text,
                extract(epoch FROM completed_at - (now() AT TIME ZONE 'UTC'))::float8 AS skew_s
         FROM "${t.schema}".runs WHERE run_id = $1`,
        [id],
      )
    ).rows[0]!;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
  });
  beforeEach(async () => {
    await seedRuns(t.db, t.schema);
    source = sourceOf(t.db, RUNS_CONFIG, t.schema, 'runs');
  });
  afterAll(async () => t?.close());

  it('lists stuck runs with the input file as path and the last phase shown', async () => {
    const rows = await source.listStuck({ olderThanSeconds: 60 * 60 });
    expect(rows.map((r) => r.execution_id)).toEqual([RUN.stuckUnderwriting, RUN.stuckLoad]);
    expect(rows[0]).toMatchObject({
      path: 'tapes/2025-08/Tape20Loans.xlsx',
      state: 'running',
      status: 'RUNNING',
      display: { last_phase: 'underwriting' },
      diagnosis: 'running 3h',
    });
    expect(rows[0]!.age_seconds).toBeGreaterThanOrEqual(3 * 3600 - 5);
    expect(rows[0]!.age_seconds).toBeLessThan(3 * 3600 + 600);
    expect((await source.listStuck({ olderThanSeconds: 60 * 60, path: 'tapes/2025-07/*' })).map((r) => r.execution_id)).toEqual([RUN.stuckLoad]);
    expect((await source.listStuck({ olderThanSeconds: 0, path: 'PRIME' })).map((r) => r.execution_id)).toEqual([RUN.fresh]);
  });

  it('marks failed and cancelled, appending one line per mark to the errors text', async () => {
    const results = await source.mark(markRequest('fail', [RUN.stuckLoad], 'Process restarted during run'));
    expect(results.map((r) => [r.execution_id, r.outcome])).toEqual([[RUN.stuckLoad, 'failed']]);
    const failed = await run(RUN.stuckLoad);
    expect(failed.status).toBe('FAILED');
    const lines = failed.errors!.split('\n');
    expect(lines[0]).toBe('warning: SFY file missing');
    expect(lines[1]).toMatch(/^Process restarted during run \(noetl-console \S+, [^@\s]+@\S+, \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\)$/);
    expect(lines).toHaveLength(2);
    expect(Math.abs(failed.skew_s!)).toBeLessThan(600);

    const cancelled = await source.mark(markRequest('cancel', [RUN.stuckUnderwriting.toUpperCase()], 'operator cancelled'));
    expect(cancelled).toEqual([expect.objectContaining({ execution_id: RUN.stuckUnderwriting, outcome: 'cancelled' })]);
    const row = await run(RUN.stuckUnderwriting);
    expect(row.status).toBe('CANCELLED');
    expect(row.errors).toMatch(/^operator cancelled \(noetl-console /);
    expect(row.errors).not.toContain('\n');
  });

  it('reports finished and unknown runs, with the state the enum value stands for', async () => {
    await source.mark(markRequest('cancel', [RUN.stuckUnderwriting], 'first'));
    const results = await source.mark(markRequest('fail', [RUN.stuckUnderwriting, RUN.completed, RUN.failedBefore, RUN.missing], 'second'));
    expect(results.map((r) => [r.execution_id, r.outcome, r.state])).toEqual([
      [RUN.stuckUnderwriting, 'already_terminal', 'cancelled'],
      [RUN.completed, 'already_terminal', 'completed'],
      [RUN.failedBefore, 'already_terminal', 'failed'],
      [RUN.missing, 'not_found', null],
    ]);
    expect((await run(RUN.failedBefore)).errors).toBe('KeyError: FICO');
    expect((await run(RUN.stuckUnderwriting)).errors).not.toContain('second');
  });

  it('dry run writes nothing', async () => {
    const before = (await t.db.query(`SELECT * FROM "${t.schema}".runs ORDER BY run_id`)).rows;
    const results = await source.mark(markRequest('cancel', [RUN.stuckLoad, RUN.completed], 'dry', { dryRun: true }));
    expect(results.map((r) => r.outcome)).toEqual(['would_cancel', 'already_terminal']);
    expect((await t.db.query(`SELECT * FROM "${t.schema}".runs ORDER BY run_id`)).rows).toEqual(before);
  });

  it('shows a run with its fields and no steps', async () => {
    const d = await source.detail(RUN.failedBefore, 10);
    expect(d).not.toBeNull();
    expect(d!.execution).toMatchObject({ state: 'failed', status: 'FAILED', display: { last_phase: 'comap' }, diagnosis: 'FAILED' });
    expect(Math.round((Date.parse(d!.execution.finished_at!) - Date.parse(d!.execution.started_at)) / 1000)).toBe(10 * 60);
    expect(d!.timeline).toMatchObject({ kind: 'steps', steps: [], total: 0 });
  });

  it('parses UUIDs to their canonical form', () => {
    expect(source.parseId(' 8F14E45F-CEEA-4E67-A0F1-6A1D2C3B4E5F ')).toBe(RUN.stuckUnderwriting);
    expect(source.parseId('8f14e45fceea4e67a0f16a1d2c3b4e5f')).toBe(RUN.stuckUnderwriting);
    expect(() => source.parseId('8f14e45f-ceea-4e67-a0f1')).toThrow(UsageError);
    expect(() => source.parseId('39')).toThrow('invalid id "39": expected a UUID');
  });

  it('health on timestamps without time zone', async () => {
    expect(await source.health(60 * 60, 2 * 60 * 60)).toMatchObject({ running: 3, stuck: 2, long_running: 1, recent_24h: 5 });
  });
});
