/**
 * The percentiles a sharded cluster takes over its shards' runs are
 * PostgreSQL's percentile_cont: the same doubles, on arrays with ties,
 * negatives, one value and many.
 */
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { percentileCont, thresholdOf } from '../../src/core/thresholds.js';
import { adminClient, describePostgres } from '../helpers/db.js';
import { prng } from '../helpers/reliability.js';

const PERCENTILES = [0, 0.01, 0.25, 0.5, 0.95, 0.99, 1];

describePostgres("percentileCont is PostgreSQL's percentile_cont", () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = await adminClient();
  });
  afterAll(async () => {
    await client?.end();
  });

  const postgres = async (values: number[], p: number) =>
    (await client.query<{ v: number }>('SELECT percentile_cont($2::float8) WITHIN GROUP (ORDER BY x)::float8 AS v FROM unnest($1::float8[]) x', [values, p])).rows[0]!.v;

  it('on random arrays', async () => {
    const next = prng(20240611);
    const arrays: number[][] = [[42], [3, 1], [5, 5, 5], [-2.5, 0, 7.25, 1e-9, 1e6]];
    for (const n of [2, 3, 7, 10, 20, 101, 1000, 4999]) {
      arrays.push(Array.from({ length: n }, () => (next() - 0.1) * 10 ** Math.floor(next() * 6)));
      // Durations with ties, in microseconds as timestamps keep them.
      arrays.push(Array.from({ length: n }, () => Math.round(next() * 20) * 30 + Math.round(next() * 3) * 0.000001));
    }
    for (const values of arrays) {
      const sorted = [...values].sort((a, b) => a - b);
      for (const p of PERCENTILES) expect(percentileCont(sorted, p), `p=${p} of ${values.length} values`).toBe(await postgres(values, p));
    }
  });

  it('thresholdOf takes the count, median, p95 and p99 of unsorted durations', async () => {
    const values = [300, 240, 360, 270, 300, 300, 330, 300, 300, 360];
    expect(thresholdOf('etl/fast', [...values])).toEqual({
      path: 'etl/fast',
      samples: 10,
      median_seconds: await postgres(values, 0.5),
      p95_seconds: await postgres(values, 0.95),
      p99_seconds: await postgres(values, 0.99),
    });
  });
});
