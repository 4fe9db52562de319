/**
 * Names that only work quoted: a Prisma-style table ("JobRun", "startedAt"),
 * reserved words as columns ("user", "order"), status values with spaces
 * and in exact case.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { StatusTableSource } from '../../src/status-table/source.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { PRISMA_CONFIG, markRequest, seedPrisma, sourceOf } from './fixtures.js';

describe.each(backends())('mixed-case and reserved names on %s', (backend) => {
  let t: TestDatabase;
  let source: StatusTableSource;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
  });
  beforeEach(async () => {
    await seedPrisma(t.db, t.schema);
    source = sourceOf(t.db, PRISMA_CONFIG, t.schema, 'prisma');
  });
  afterAll(async () => t?.close());

  it('lists through quoted names; status values match in exact case, spaces included', async () => {
    const rows = await source.listStuck({ olderThanSeconds: 0 });
    expect(rows.map((r) => [r.execution_id, r.path, r.status])).toEqual([
      ['1', 'alice', 'RUNNING'],
      ['2', 'bob', 'Queued Again'],
    ]);
    expect(rows[0]).toMatchObject({
      display: { order: '7', Status: 'RUNNING' },
      last_step: 'fetch',
      stuck_step: 'train',
      stuck_step_attempts: null,
      last_event_type: 'updated',
      diagnosis: 'stuck in step train',
    });
    expect(rows[0]!.idle_seconds).toBeGreaterThanOrEqual(200 * 60 - 5);
    expect((await source.listStuck({ olderThanSeconds: 0, idleSeconds: 3600, path: 'a*' })).map((r) => r.execution_id)).toEqual(['1']);
    expect((await source.describe(['3']))[0]).toMatchObject({ state: 'completed', status: 'running', diagnosis: 'running' });
  });

  it('marks through quoted names', async () => {
    const results = await source.mark(markRequest('fail', ['1', '2', '3', '4'], 'Prisma says no'));
    expect(results.map((r) => [r.execution_id, r.outcome, r.state])).toEqual([
      ['1', 'failed', null],
      ['2', 'failed', null],
      ['3', 'already_terminal', null],
      ['4', 'already_terminal', 'completed'],
    ]);
    const { rows } = await t.db.query<{ runId: number; Status: string; failureReason: string | null; finished: boolean }>(
      `SELECT "runId", "Status", "failureReason", "finishedAt" IS NOT NULL AS finished FROM "${t.schema}"."JobRun" ORDER BY "runId"`,
    );
    expect(rows).toEqual([
      { runId: 1, Status: 'FAILED', failureReason: 'Prisma says no', finished: true },
      { runId: 2, Status: 'FAILED', failureReason: 'Prisma says no', finished: true },
      { runId: 3, Status: 'running', failureReason: null, finished: false },
      { runId: 4, Status: 'SUCCEEDED', failureReason: null, finished: true },
    ]);
    const cancel = await source.mark(markRequest('cancel', ['1'], 'x'));
    expect(cancel[0]).toMatchObject({ outcome: 'already_terminal', state: 'failed' });
  });

  it('names the key and suggests the right case for a table or column typed in the wrong case', async () => {
    const wrongTable = sourceOf(t.db, PRISMA_CONFIG.replace('{schema}.JobRun', '{schema}.jobrun'), t.schema, 'prisma');
    await expect(wrongTable.listStuck({ olderThanSeconds: 0 })).rejects.toThrow(
      `noetl-console.config.yaml: sources.prisma.table: table "${t.schema}.jobrun" not found (did you mean "${t.schema}.JobRun"? names are case-sensitive)`,
    );
    const wrongColumn = sourceOf(t.db, PRISMA_CONFIG.replace('started_at: startedAt', 'started_at: startedat'), t.schema, 'prisma');
    const error = await wrongColumn.health(60, 60).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      `noetl-console.config.yaml: sources.prisma.started_at: column "startedat" not found in ${t.schema}.JobRun (did you mean "startedAt"? names are case-sensitive)`,
    );
  });
});
