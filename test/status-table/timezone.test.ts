/**
 * A session TimeZone other than UTC changes nothing: ages and thresholds
 * come from epochs, and finished times are written as now() (timestamptz)
 * or UTC wall-clock time (timestamp without time zone).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { StatusTableSource } from '../../src/status-table/source.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { FILE, JOBS_CONFIG, RUN, RUNS_CONFIG, markRequest, seedJobs, seedRuns, sessionWithTimeZone, sourcesFrom } from './fixtures.js';

// Offsets that are not whole hours, on both sides of UTC.
describe.each(backends().flatMap((b) => [[b, 'Asia/Kathmandu'] as const, [b, 'America/St_Johns'] as const]))('on %s in TimeZone %s', (backend, timeZone) => {
  let t: TestDatabase;
  let session: { db: Database; close(): Promise<void> };
  let runs: StatusTableSource;
  let jobs: StatusTableSource;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
    session = await sessionWithTimeZone(t, timeZone);
  });
  beforeEach(async () => {
    await seedRuns(t.db, t.schema);
    await seedJobs(t.db, t.schema);
    runs = new StatusTableSource(session.db, 'runs', sourcesFrom(RUNS_CONFIG, t.schema).runs!, FILE);
    jobs = new StatusTableSource(session.db, 'jobs', sourcesFrom(JOBS_CONFIG, t.schema).jobs!, FILE);
  });
  afterAll(async () => {
    await session?.close();
    await t?.close();
  });

  it('the session really is in that zone', async () => {
    const { rows } = await session.db.query<{ tz: string }>(`SELECT current_setting('TimeZone') AS tz`);
    expect(rows[0]!.tz).toBe(timeZone);
  });

  it('ages and thresholds on timestamp without time zone', async () => {
    const rows = await runs.listStuck({ olderThanSeconds: 2 * 3600 });
    expect(rows.map((r) => r.execution_id)).toEqual([RUN.stuckUnderwriting]);
    expect(rows[0]!.age_seconds).toBeGreaterThanOrEqual(3 * 3600 - 5);
    expect(rows[0]!.age_seconds).toBeLessThan(3 * 3600 + 600);
    expect(Math.abs(Date.parse(rows[0]!.started_at) + rows[0]!.age_seconds * 1000 - Date.now())).toBeLessThan(600_000);
    expect(await runs.health(60 * 60, 2 * 60 * 60)).toMatchObject({ running: 3, stuck: 2, long_running: 1, recent_24h: 5 });
  });

  it('ages and thresholds on timestamptz', async () => {
    expect((await jobs.listStuck({ olderThanSeconds: 3600 })).map((r) => r.execution_id)).toEqual(['39', '41']);
    const h = await jobs.health(300, 3600);
    expect(h).toMatchObject({ running: 3, stuck: 2, long_running: 2, recent_24h: 4 });
    expect(h.oldest_running_seconds).toBeGreaterThanOrEqual(22 * 3600 - 5);
    expect(h.oldest_running_seconds).toBeLessThan(22 * 3600 + 600);
  });

  it('writes finished times as UTC wall clock (timestamp) and as now() (timestamptz)', async () => {
    await runs.mark(markRequest('fail', [RUN.stuckLoad], 'tz'));
    const { rows } = await t.db.query<{ skew: number }>(
      `SELECT extract(epoch FROM completed_at - (now() AT TIME ZONE 'UTC'))::float8 AS skew FROM "${t.schema}".runs WHERE run_id = $1`,
      [RUN.stuckLoad],
    );
    expect(Math.abs(rows[0]!.skew)).toBeLessThan(600);
    const [described] = await runs.describe([RUN.stuckLoad]);
    expect(Math.abs(Date.parse(described!.finished_at!) - Date.now())).toBeLessThan(600_000);
    // The appended line's time is UTC too.
    const { rows: errors } = await t.db.query<{ errors: string }>(`SELECT errors FROM "${t.schema}".runs WHERE run_id = $1`, [RUN.stuckLoad]);
    const stamp = /, (\S+Z)\)$/.exec(errors[0]!.errors)![1]!;
    expect(Math.abs(Date.parse(stamp) - Date.now())).toBeLessThan(600_000);

    await jobs.mark(markRequest('fail', ['39'], 'tz'));
    const { rows: job } = await t.db.query<{ skew: number }>(`SELECT extract(epoch FROM completed_at - now())::float8 AS skew FROM "${t.schema}".job_executions WHERE id = 39`);
    expect(Math.abs(job[0]!.skew)).toBeLessThan(600);
  });
});
