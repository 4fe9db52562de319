/**
 * Shape (c): DAG executions with a node table: last completed node, the
 * node it is stuck in (attempts, error), idle from updated_at and node
 * activity, the reason merged into a jsonb error column.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { StatusTableSource } from '../../src/status-table/source.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { DAG_CONFIG, markRequest, seedDag, sourceOf } from './fixtures.js';

describe.each(backends())('DAG runs and nodes on %s', (backend) => {
  let t: TestDatabase;
  let source: StatusTableSource;
  const runRow = async (id: string) =>
    (
      await t.db.query<{ status: string; error: unknown; finished: boolean }>(
        `SELECT status, error, completed_at IS NOT NULL AS finished FROM "${t.schema}".dag_runs WHERE execution_id = $1`,
        [id],
      )
    ).rows[0]!;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
  });
  beforeEach(async () => {
    await seedDag(t.db, t.schema);
    source = sourceOf(t.db, DAG_CONFIG, t.schema, 'dag');
  });
  afterAll(async () => t?.close());

  it('lists running executions with the last completed node and the node they are stuck in', async () => {
    const rows = await source.listStuck({ olderThanSeconds: 30 * 60 });
    expect(rows.map((r) => r.execution_id)).toEqual(['exec-c', 'exec-a', 'exec-b', 'exec-e']);
    const [c, a, b, e] = rows;
    expect(a).toMatchObject({
      path: 'scope3-report',
      last_step: 'validate',
      stuck_step: 'calc',
      stuck_step_attempts: 3,
      stuck_step_error: 'TimeoutError: emissions factor API 504',
      last_event_type: 'node.running',
      diagnosis: 'stuck in node calc (attempt 3)',
    });
    // Idle since calc started (150 min ago), later than updated_at (165 min).
    expect(a!.idle_seconds).toBeGreaterThanOrEqual(150 * 60 - 5);
    expect(a!.idle_seconds).toBeLessThan(150 * 60 + 600);
    expect(c).toMatchObject({ last_step: 'validate', stuck_step: null, diagnosis: 'stalled after node validate' });
    expect(b).toMatchObject({ stuck_step: 'intake', stuck_step_attempts: 1, diagnosis: 'stuck in node intake (attempt 1)' });
    expect(b!.idle_seconds).toBeLessThan(600);
    expect(e).toMatchObject({ last_step: null, stuck_step: null, last_event_type: 'started', diagnosis: 'no node started' });
  });

  it('filters on idle time (updated_at and node activity) and on the DAG id', async () => {
    expect((await source.listStuck({ olderThanSeconds: 0, idleSeconds: 60 * 60 })).map((r) => r.execution_id)).toEqual(['exec-c', 'exec-a']);
    expect((await source.listStuck({ olderThanSeconds: 0, idleSeconds: 30 * 60 })).map((r) => r.execution_id)).toEqual(['exec-c', 'exec-a', 'exec-e']);
    expect((await source.listStuck({ olderThanSeconds: 0, path: 'scope3-*' })).map((r) => r.execution_id)).toEqual(['exec-c', 'exec-a']);
    expect((await source.listStuck({ olderThanSeconds: 0, path: 'SCOPE1' })).map((r) => r.execution_id)).toEqual(['exec-b']);
    const live = source.live();
    await live.refresh();
    expect(live.view({ olderThanSeconds: 0, idleSeconds: 60 * 60 }).map((r) => r.execution_id)).toEqual(['exec-c', 'exec-a']);
    expect(live.view({ olderThanSeconds: 0, path: 'scope3-*' }).map((r) => r.execution_id)).toEqual(['exec-c', 'exec-a']);
  });

  it('shows the nodes as the timeline, latest first, with attempts and errors', async () => {
    const d = await source.detail('exec-a', 50);
    expect(d).not.toBeNull();
    const steps = (t: NonNullable<typeof d>['timeline']) => {
      if (t.kind !== 'steps') throw new Error(`a status table's timeline is its steps, got ${t.kind}`);
      return t;
    };
    const t = steps(d!.timeline);
    expect(t.noun).toBe('node');
    expect(t.total).toBe(4);
    expect(d!.children).toEqual([]);
    expect(t.steps.map((e) => [e.step_id, e.status, e.error])).toEqual([
      ['calc', 'running', 'TimeoutError: emissions factor API 504'],
      ['validate', 'completed', null],
      ['intake', 'completed', null],
      ['report', 'pending', null],
    ]);
    expect(t.steps[0]).toMatchObject({ attempts: 3, finished_at: null, duration_seconds: null });
    expect(t.steps[1]).toMatchObject({ attempts: 1, duration_seconds: 600 });
    expect(t.steps[3]).toMatchObject({ started_at: null, finished_at: null });

    const limited = steps((await source.detail('exec-a', 2))!.timeline);
    expect(limited.steps.map((e) => e.step_id)).toEqual(['calc', 'validate']);
    expect(limited.total).toBe(4);
    const none = steps((await source.detail('exec-a', 0))!.timeline);
    expect(none.steps).toEqual([]);
    expect(none.total).toBe(4);

    const done = await source.detail('exec-d', 50);
    expect(done!.execution).toMatchObject({ state: 'completed', last_step: 'report', stuck_step: null, diagnosis: 'completed' });
  });

  it('merges the reason into the jsonb error: new object, existing object, array, other value', async () => {
    const results = await source.mark(markRequest('cancel', ['exec-a', 'exec-b', 'exec-c', 'exec-e', 'exec-d', 'nope'], 'Stuck run cleanup'));
    expect(results.map((r) => [r.execution_id, r.outcome, r.state])).toEqual([
      ['exec-a', 'cancelled', null],
      ['exec-b', 'cancelled', null],
      ['exec-c', 'cancelled', null],
      ['exec-e', 'cancelled', null],
      ['exec-d', 'already_terminal', 'completed'],
      ['nope', 'not_found', null],
    ]);
    const audit = { action: 'cancel', by: expect.any(String), host: expect.any(String), version: expect.any(String), at: expect.stringMatching(/Z$/) };
    const a = await runRow('exec-a');
    expect(a).toMatchObject({ status: 'cancelled', finished: true });
    expect(a.error).toEqual({ message: 'Stuck run cleanup', noetl_console: audit });
    expect((await runRow('exec-b')).error).toEqual({ code: 17, message: 'Stuck run cleanup', noetl_console: audit });
    expect((await runRow('exec-c')).error).toEqual([{ code: 1 }, { message: 'Stuck run cleanup', noetl_console: audit }]);
    expect((await runRow('exec-e')).error).toEqual(['legacy text', { message: 'Stuck run cleanup', noetl_console: audit }]);
    expect(await runRow('exec-d')).toMatchObject({ status: 'completed', error: null });
    // Nodes are the orchestrator's: left as they were.
    const { rows } = await t.db.query<{ status: string }>(`SELECT status FROM "${t.schema}".dag_nodes WHERE execution_id = 'exec-a' AND node_id = 'calc'`);
    expect(rows[0]!.status).toBe('running');
  });

  it('cascade changes nothing more: there are no children', async () => {
    expect(source.hasChildren).toBe(false);
    const results = await source.mark(markRequest('fail', ['exec-a'], 'with cascade', { cascade: true }));
    expect(results).toEqual([expect.objectContaining({ execution_id: 'exec-a', outcome: 'failed', cascaded: false })]);
    expect((await runRow('exec-a')).status).toBe('failed');
    expect((await runRow('exec-c')).status).toBe('running');
  });

  it('parses text ids', () => {
    expect(source.parseId('exec-a')).toBe('exec-a');
    expect(() => source.parseId('')).toThrow(UsageError);
    expect(() => source.parseId('bad\u001b[31mid')).toThrow(UsageError);
    expect(() => source.parseId('x'.repeat(201))).toThrow(UsageError);
  });
});
