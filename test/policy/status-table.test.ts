import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Policy } from '../../src/policy.js';
import { thresholdMap, withHistory } from '../../src/core/thresholds.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { JOBS_CONFIG, seedJobs, sourceOf } from '../status-table/fixtures.js';

describe.each(backends())('learned thresholds of a status table on %s', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(backend);
    await seedJobs(t.db, t.schema);
  });
  afterAll(async () => t?.close());

  it('per label, from completed rows only: the configured completed values, else whatever is not running, failed or cancelled', async () => {
    for (const yaml of [JOBS_CONFIG, JOBS_CONFIG.replace('      completed: [completed]\n', '')]) {
      const source = sourceOf(t.db, yaml, t.schema, 'jobs');
      const rows = await source.thresholds(14);
      // Job 21 completed in 30 and 5 minutes; its failed run does not count; jobs 22-24 never finished.
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ path: '21', samples: 2, median_seconds: 1050 });
      expect(rows[0]!.p95_seconds).toBeCloseTo(1725, 0);
      const map = thresholdMap(rows);
      const running = withHistory(await source.listStuck({ olderThanSeconds: 60 }), map, 2);
      const stuck = running.find((e) => e.execution_id === '39')!;
      expect(stuck.history).toMatchObject({ typical_seconds: 1050, p95_seconds: 1725 });
      expect(stuck.history!.ratio).toBeGreaterThan(40); // 22 h against a 29-minute p95
      // The label is the match: job 21 by its ratio, job 23 (no history) by older_than.
      const policy = new Policy([{ match: '*', older_than: 3 * 3600, ratio: 3, min_history: 2, action: 'fail' }]);
      expect(policy.stuck(running, map).map((j) => [j.execution.execution_id, j.verdict.basis])).toEqual([['39', 'ratio']]);
    }
  });

  it('none without a finished_at column', async () => {
    const source = sourceOf(t.db, JOBS_CONFIG.replace('    finished_at: completed_at\n', ''), t.schema, 'jobs');
    expect(await source.thresholds(14)).toEqual([]);
  });
});
