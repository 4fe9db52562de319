/**
 * `list` (SQL) and the console's live set (rows in memory) select the same
 * rows under every filter: both read the one definition of each term
 * (src/core/filter.ts). A running row with no started_at has no age: it is
 * listed only when every running row is asked for, by both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StuckFilter } from '../../src/core/filter.js';
import type { StatusTableSource } from '../../src/status-table/source.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { agoTz, sourceOf } from './fixtures.js';

const CONFIG = `
sources:
  runs:
    type: status-table
    table: {schema}.runs
    id: { column: id, type: integer }
    status: { column: status, running: [running], failed: failed }
    started_at: started_at
    updated_at: updated_at
    label: name
`;

const FILTERS: StuckFilter[] = [
  { olderThanSeconds: 0 },
  { olderThanSeconds: 3600 },
  { olderThanSeconds: 0, idleSeconds: 3600 },
  { olderThanSeconds: 60, idleSeconds: 30 * 60 },
  { olderThanSeconds: 0, path: 'nightly*' },
  { olderThanSeconds: 60, path: 'HOURLY' },
  { olderThanSeconds: 0, limit: 2 },
];

describe.each(backends())('the stuck filter on a status table, SQL and live set alike, on %s', (backend) => {
  let t: TestDatabase;
  let source: StatusTableSource;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
    const s = `"${t.schema}"`;
    await t.db.query(`CREATE TABLE ${s}.runs (id integer PRIMARY KEY, name text, status text NOT NULL, started_at timestamptz, updated_at timestamptz)`);
    await t.db.query(`INSERT INTO ${s}.runs VALUES
      (1, 'nightly_load', 'running', ${agoTz(120)}, ${agoTz(90)}),
      (2, 'nightly_export', 'running', NULL, ${agoTz(180)}),
      (3, 'hourly_sync', 'running', ${agoTz(10)}, ${agoTz(5)}),
      (4, 'hourly_sync', 'running', ${agoTz(300)}, NULL),
      (5, 'nightly_load', 'failed', ${agoTz(600)}, ${agoTz(500)})`);
    source = sourceOf(t.db, CONFIG, t.schema, 'runs');
  });
  afterAll(async () => t?.close());

  it('lists what the live set shows, for every filter', async () => {
    const live = source.live();
    await live.refresh();
    for (const filter of FILTERS) {
      const listed = (await source.listStuck(filter)).map((e) => e.execution_id);
      expect(
        live.view(filter).map((e) => e.execution_id),
        JSON.stringify(filter),
      ).toEqual(listed);
      expect(live.count(filter), JSON.stringify(filter)).toBe(listed.length);
    }
  });

  it('leaves a row without a start out of an age threshold, in both', async () => {
    const live = source.live();
    await live.refresh();
    expect((await source.listStuck({ olderThanSeconds: 3600 })).map((e) => e.execution_id)).toEqual(['4', '1']);
    expect(live.view({ olderThanSeconds: 3600 }).map((e) => e.execution_id)).toEqual(['4', '1']);
    expect(live.view({ olderThanSeconds: 0 }).map((e) => e.execution_id)).toContain('2');
  });
});
