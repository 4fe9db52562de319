/**
 * Issue 18: `undo` of a status-table batch puts back the status it replaced
 * on the rows still as it left them; rows changed since are reported and
 * left alone. Text reasons (append) and JSON reasons both record the batch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentActor, newBatch } from '../../src/audit.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { DAG_CONFIG, RUN, RUNS_CONFIG, markRequest, seedDag, seedRuns, sourceOf } from './fixtures.js';

describe.each(backends())('undo of a status-table batch on %s', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(backend);
  });
  afterAll(async () => t?.close());

  it('text reason: restores the rows still cancelled by the batch, reports the one completed since, and a second undo changes nothing', async () => {
    await seedRuns(t.db, t.schema);
    const source = sourceOf(t.db, RUNS_CONFIG, t.schema, 'runs');
    const batch = newBatch('cleanup', {});
    const closed = await source.mark(markRequest('cancel', [RUN.stuckUnderwriting, RUN.stuckLoad], 'INC-9 pool died', { batch }));
    expect(closed.map((r) => r.outcome)).toEqual(['cancelled', 'cancelled']);
    const row = async (id: string) =>
      (
        await t.db.query<{ status: string; completed_at: string | null; errors: string | null }>(
          `SELECT status::text, completed_at::text, errors FROM "${t.schema}".runs WHERE run_id = $1`,
          [id],
        )
      ).rows[0]!;
    expect((await row(RUN.stuckLoad)).errors).toContain(`batch ${batch.id}: RUNNING -> CANCELLED`);
    // The engine (or a person) completed one of them since.
    await t.db.query(`UPDATE "${t.schema}".runs SET status = 'COMPLETED' WHERE run_id = $1`, [RUN.stuckLoad]);
    await t.db.query(`UPDATE "${t.schema}".runs SET status = 'CANCELLED' WHERE run_id = $1`, [RUN.fresh]); // not the batch's

    const dry = await source.undo(batch.id, currentActor(), true);
    expect(dry!.map((r) => [r.execution_id, r.outcome, r.status])).toEqual(
      [
        [RUN.stuckUnderwriting, 'would_restore', 'CANCELLED'],
        [RUN.stuckLoad, 'changed_since', 'COMPLETED'],
      ].sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
    expect((await row(RUN.stuckUnderwriting)).status).toBe('CANCELLED');

    const done = await source.undo(batch.id, currentActor(), false);
    expect(Object.fromEntries(done!.map((r) => [r.execution_id, r.outcome]))).toEqual({ [RUN.stuckUnderwriting]: 'restored', [RUN.stuckLoad]: 'changed_since' });
    const restored = await row(RUN.stuckUnderwriting);
    expect(restored).toMatchObject({ status: 'RUNNING', completed_at: null });
    expect(restored.errors).toMatch(new RegExp(`undo of batch ${batch.id} \\(noetl-console `));
    expect((await row(RUN.stuckLoad)).status).toBe('COMPLETED');
    expect((await row(RUN.fresh)).status).toBe('CANCELLED');

    const again = await source.undo(batch.id, currentActor(), false);
    expect(again!.every((r) => r.outcome === 'changed_since')).toBe(true);
    expect((await row(RUN.stuckUnderwriting)).status).toBe('RUNNING');
    expect(await source.undo(newBatch('x', {}).id, currentActor(), false)).toEqual([]);
  });

  it('JSON reason: the batch entry carries the previous status; undo restores it', async () => {
    await seedDag(t.db, t.schema);
    const source = sourceOf(t.db, DAG_CONFIG, t.schema, 'dag');
    const batch = newBatch('console', {});
    expect((await source.mark(markRequest('fail', ['exec-a'], 'stuck', { batch })))[0]!.outcome).toBe('failed');
    const status = async () =>
      (await t.db.query<{ status: string; completed_at: string | null }>(`SELECT status, completed_at::text FROM "${t.schema}".dag_runs WHERE execution_id = 'exec-a'`)).rows[0]!;
    expect((await status()).status).toBe('failed');
    const done = await source.undo(batch.id, currentActor(), false);
    expect(done).toEqual([{ execution_id: 'exec-a', outcome: 'restored', status: 'running', previous: 'running', wrote: 'failed' }]);
    expect(await status()).toMatchObject({ status: 'running', completed_at: null });
  });
});
