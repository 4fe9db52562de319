/**
 * Shape (a): job_executions, integer ids, timestamptz, status running /
 * completed / failed, no cancelled value: fail only, reason in a column.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { StatusTableSource } from '../../src/status-table/source.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { countingDatabase } from '../helpers/counting.js';
import { JOBS_CONFIG, markRequest, seedJobs, sourceOf } from './fixtures.js';
import { PartialMarkError } from '../../src/core/mark.js';

interface JobRow {
  id: number;
  status: string;
  completed_at: string | null;
  error_message: string | null;
  finished_after_start: boolean | null;
  finished_age_s: number | null;
}

describe.each(backends())('job_executions on %s', (backend) => {
  let t: TestDatabase;
  let source: StatusTableSource;
  const row = async (id: number): Promise<JobRow> =>
    (
      await t.db.query<JobRow>(
        `SELECT id, status, completed_at::text, error_message, completed_at >= started_at AS finished_after_start,
                extract(epoch FROM now() - completed_at)::float8 AS finished_age_s
         FROM "${t.schema}".job_executions WHERE id = $1`,
        [id],
      )
    ).rows[0]!;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
  });
  beforeEach(async () => {
    await seedJobs(t.db, t.schema);
    source = sourceOf(t.db, JOBS_CONFIG, t.schema, 'jobs');
  });
  afterAll(async () => t?.close());

  it('lists running executions older than the threshold, oldest first, with job id as path and execution number shown', async () => {
    const rows = await source.listStuck({ olderThanSeconds: 60 * 60 });
    expect(rows.map((r) => r.execution_id)).toEqual(['39', '41']);
    const stuck = rows[0]!;
    expect(stuck).toMatchObject({
      path: '21',
      state: 'running',
      status: 'running',
      display: { execution_number: '5' },
      last_event_type: 'started',
      last_step: null,
      stuck_step: null,
      source: 'status-table',
      parent_execution_id: null,
      running_children: 0,
      finished_at: null,
      diagnosis: 'running 22h',
    });
    expect(stuck).not.toHaveProperty('worker_id'); // a status table has no workers
    expect(stuck.age_seconds).toBeGreaterThanOrEqual(22 * 3600 - 5);
    expect(stuck.age_seconds).toBeLessThan(22 * 3600 + 600);
    // No updated_at column: idle is the age.
    expect(stuck.idle_seconds).toBe(stuck.age_seconds);
    expect((await source.listStuck({ olderThanSeconds: 0 })).map((r) => r.execution_id)).toEqual(['39', '41', '40']);
  });

  it('filters on the job id with a glob or a substring, and limits', async () => {
    expect((await source.listStuck({ olderThanSeconds: 0, path: '2?' })).map((r) => r.execution_id)).toEqual(['39', '41', '40']);
    expect((await source.listStuck({ olderThanSeconds: 0, path: '*3' })).map((r) => r.execution_id)).toEqual(['41']);
    expect((await source.listStuck({ olderThanSeconds: 0, path: '1' })).map((r) => r.execution_id)).toEqual(['39']);
    expect(await source.listStuck({ olderThanSeconds: 0, path: '9*' })).toEqual([]);
    expect((await source.listStuck({ olderThanSeconds: 0, limit: 1 })).map((r) => r.execution_id)).toEqual(['39']);
  });

  it('describes any row by id, finished ones with their state', async () => {
    const described = await source.describe(['38', '37', '39', '999', 'not-a-number']);
    expect(described.map((e) => [e.execution_id, e.state, e.diagnosis])).toEqual([
      ['37', 'failed', 'failed'],
      ['38', 'completed', 'completed'],
      ['39', 'running', 'running 22h'],
    ]);
    expect(described[0]!.finished_at).not.toBeNull();
    expect(described[2]!.finished_at).toBeNull();
    const detail = await source.detail('39', 20);
    expect(detail).toMatchObject({ execution: { execution_id: '39', path: '21' }, timeline: { kind: 'steps', steps: [], total: 0 }, children: [] });
    expect(await source.detail('999', 20)).toBeNull();
  });

  it('marks failed with the reason in error_message and completed_at set, then reports it already failed', async () => {
    const first = await source.mark(markRequest('fail', ['39'], 'stale: worker crashed'));
    expect(first).toEqual([{ execution_id: '39', outcome: 'failed', parent_execution_id: null, root_execution_id: '39', cascaded: false, state: null, event_id: null }]);
    const after = await row(39);
    expect(after).toMatchObject({ status: 'failed', error_message: 'stale: worker crashed', finished_after_start: true });
    expect(after.finished_age_s).toBeLessThan(600);
    const second = await source.mark(markRequest('fail', ['39', '38', '999'], 'again'));
    expect(second.map((r) => [r.execution_id, r.outcome, r.state])).toEqual([
      ['39', 'already_terminal', 'failed'],
      ['38', 'already_terminal', 'completed'],
      ['999', 'not_found', null],
    ]);
    expect((await row(39)).error_message).toBe('stale: worker crashed');
    expect((await row(38)).status).toBe('completed');
  });

  it('reports a row in a non-running status it does not know (pending) as already terminal without a state', async () => {
    const [result] = await source.mark(markRequest('fail', ['42'], 'nope'));
    expect(result).toMatchObject({ execution_id: '42', outcome: 'already_terminal', state: null });
    expect((await row(42)).status).toBe('pending');
  });

  it('refuses cancel: the table has no cancelled value', async () => {
    expect(source.actions).toEqual(['fail']);
    await expect(source.mark(markRequest('cancel', ['39'], 'x'))).rejects.toThrow(UsageError);
    await expect(source.mark(markRequest('cancel', ['39'], 'x'))).rejects.toThrow(
      'noetl-console.config.yaml: source jobs: no cancelled status value is configured (status.cancelled), so cancel is not available for this source',
    );
    expect((await row(39)).status).toBe('running');
  });

  it('dry run reports would_fail and writes nothing', async () => {
    const before = await t.db.query(`SELECT * FROM "${t.schema}".job_executions ORDER BY id`);
    const results = await source.mark(markRequest('fail', ['39', '41', '38', '7'], 'dry', { dryRun: true }));
    expect(results.map((r) => [r.execution_id, r.outcome])).toEqual([
      ['39', 'would_fail'],
      ['41', 'would_fail'],
      ['38', 'already_terminal'],
      ['7', 'not_found'],
    ]);
    expect((await t.db.query(`SELECT * FROM "${t.schema}".job_executions ORDER BY id`)).rows).toEqual(before.rows);
  });

  it('one result per row whatever the spelling of its id, in the order given', async () => {
    const results = await source.mark(markRequest('fail', ['041', '39', '41', '0039'], 'dup'));
    expect(results.map((r) => [r.execution_id, r.outcome])).toEqual([
      ['41', 'failed'],
      ['39', 'failed'],
    ]);
  });

  it('marks in batches of ids, one update statement per batch (one transaction each)', async () => {
    const values = Array.from({ length: 450 }, (_, i) => `(${1000 + i}, 99, ${i + 1}, 'running', now() - interval '2 hours')`).join(',');
    await t.db.query(`INSERT INTO "${t.schema}".job_executions (id, job_id, execution_number, status, started_at) VALUES ${values}`);
    const counting = countingDatabase(t.db);
    const counted = sourceOf(counting, JOBS_CONFIG, t.schema, 'jobs');
    await counted.context();
    const before = counting.count;
    const batches: number[] = [];
    const ids = Array.from({ length: 450 }, (_, i) => String(1000 + i));
    const results = await counted.mark(markRequest('fail', ids, 'bulk', { batchSize: 200, onBatch: (b) => batches.push(b.length) }));
    expect(batches).toEqual([200, 200, 50]);
    expect(results.every((r) => r.outcome === 'failed')).toBe(true);
    // The update per batch, each in its transaction; nothing left to classify.
    const sent = counting.statements.slice(before).map((q) => (/^(BEGIN|COMMIT)$/.test(q) ? q : /\bUPDATE\b/i.test(q) ? 'UPDATE' : q));
    expect(sent).toEqual(['BEGIN', 'UPDATE', 'COMMIT', 'BEGIN', 'UPDATE', 'COMMIT', 'BEGIN', 'UPDATE', 'COMMIT']);
    const { rows } = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${t.schema}".job_executions WHERE job_id = 99 AND status = 'failed' AND error_message = 'bulk'`,
    );
    expect(rows[0]!.n).toBe(450);
  });

  it('a batch the database refuses rolls back alone; the committed batches before it are reported', async () => {
    const values = Array.from({ length: 300 }, (_, i) => `(${2000 + i}, 98, ${i + 1}, 'running', now() - interval '2 hours')`).join(',');
    await t.db.query(`INSERT INTO "${t.schema}".job_executions (id, job_id, execution_number, status, started_at) VALUES ${values};
      CREATE FUNCTION "${t.schema}".refuse_2250() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'execution 2250 is protected'; END $$;
      CREATE TRIGGER refuse_2250 BEFORE UPDATE ON "${t.schema}".job_executions
        FOR EACH ROW WHEN (OLD.id = 2250) EXECUTE FUNCTION "${t.schema}".refuse_2250();`);
    const ids = Array.from({ length: 300 }, (_, i) => String(2000 + i));
    const error = await source.mark(markRequest('fail', ids, 'partial', { batchSize: 200 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartialMarkError);
    const partial = error as PartialMarkError;
    expect(partial.message).toContain('execution 2250 is protected');
    expect(partial.results).toHaveLength(200);
    expect(partial.results.every((r) => r.outcome === 'failed')).toBe(true);
    const { rows } = await t.db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM "${t.schema}".job_executions WHERE job_id = 98 GROUP BY status ORDER BY status`,
    );
    expect(rows).toEqual([
      { status: 'failed', n: 200 },
      { status: 'running', n: 100 },
    ]);
    // The first batch failing is a plain error: nothing was committed.
    const first = await source.mark(markRequest('fail', ['2250'], 'again')).catch((e: unknown) => e);
    expect(first).not.toBeInstanceOf(PartialMarkError);
    expect((first as Error).message).toContain('execution 2250 is protected');
  });

  it('health counts running, stuck, long-running, started in 24 h and the oldest', async () => {
    const h = await source.health(5 * 60, 60 * 60);
    expect(h).toMatchObject({ running: 3, stuck: 2, long_running: 2, live_workers: null });
    // 38, 39, 41, 40 started within 24 h; 29 and 37 before; 42 never started.
    expect(h.recent_24h).toBe(4);
    expect(h.oldest_running_seconds).toBeGreaterThanOrEqual(22 * 3600 - 5);
    expect(h.oldest_running_seconds).toBeLessThan(22 * 3600 + 600);
    await source.mark(markRequest('fail', ['39', '41', '40'], 'clear'));
    expect(await source.health(300, 3600)).toMatchObject({ running: 0, stuck: 0, long_running: 0, oldest_running_seconds: null });
  });

  it('live set re-reads the running rows and filters like list', async () => {
    const live = source.live();
    expect(await live.refresh()).toMatchObject({ kind: 'full', running: 3 });
    expect(live.runningCount).toBe(3);
    expect(live.view({ olderThanSeconds: 3600 }).map((e) => e.execution_id)).toEqual(['39', '41']);
    expect(live.view({ olderThanSeconds: 0, path: '2?' }).map((e) => e.execution_id)).toEqual(['39', '41', '40']);
    expect(live.view({ olderThanSeconds: 0, path: '3' }).map((e) => e.execution_id)).toEqual(['41']);
    await source.mark(markRequest('fail', ['39'], 'gone'));
    await live.refresh();
    expect(live.view({ olderThanSeconds: 0 }).map((e) => e.execution_id)).toEqual(['41', '40']);
    expect(live.clockMs).toBeGreaterThan(0);
  });

  it('parses integer ids', () => {
    expect(source.parseId(' 0039 ')).toBe('39');
    expect(() => source.parseId('0')).toThrow(UsageError);
    expect(() => source.parseId('abc')).toThrow(UsageError);
    expect(() => source.parseId('99999999999999999999')).toThrow(UsageError);
  });
});
