/**
 * The full load read in execution_id chunks equals the unchunked one: cuts
 * planned from the planner's statistics over a partitioned event table, and
 * random cuts, for several filters (limit included).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ID, MIN_ID, WHOLE_RANGE, planCuts, rangesOf } from '../../src/noetl/chunks.js';
import { NoetlStore, type LoadProgress } from '../../src/noetl/store.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { prng } from '../helpers/reliability.js';
import type { StuckFilter } from '../../src/core/filter.js';

describe('chunk planning', () => {
  it('cuts histograms into chunks of about chunkRows, with open ends', () => {
    const histogram = `{${Array.from({ length: 101 }, (_, i) => 1000 + i * 10).join(',')}}`;
    const cuts = planCuts([{ rows: 10_000, bound: null, histogram }], 2_500);
    expect(cuts.length).toBe(3);
    const ranges = rangesOf(cuts);
    expect(ranges[0]!.lo).toBe(MIN_ID.toString());
    expect(ranges.at(-1)!.hi).toBe(MAX_ID.toString());
    for (let i = 1; i < ranges.length; i++) expect(BigInt(ranges[i]!.lo)).toBe(BigInt(ranges[i - 1]!.hi) + 1n);
  });

  it('slices a partition without a histogram by its bounds, and leaves an unknown table whole', () => {
    const bound = "FOR VALUES FROM ('500000000000000000') TO ('600000000000000000')";
    const cuts = planCuts([{ rows: 4_000_000, bound, histogram: null }], 1_000_000);
    expect(cuts.map(String)).toEqual(['525000000000000000', '550000000000000000', '575000000000000000']);
    expect(planCuts([{ rows: -1, bound: null, histogram: null }], 1_000)).toEqual([]);
    expect(planCuts([{ rows: 5_000_000, bound: 'DEFAULT', histogram: null }], 1_000)).toEqual([]);
    expect(rangesOf([])).toEqual([WHOLE_RANGE]);
  });
});

const FILTERS: StuckFilter[] = [
  { olderThanSeconds: 0, includeChildren: true },
  { olderThanSeconds: 30 * 60 },
  { olderThanSeconds: 60 * 60, idleSeconds: 20 * 60 },
  { olderThanSeconds: 0, path: 'etl/a*', includeChildren: true },
  { olderThanSeconds: 0, limit: 17 },
  { olderThanSeconds: 10 * 60, limit: 1, includeChildren: true },
];

describe.each(backends())('full load in chunks on %s', (backend) => {
  let t: TestDatabase;
  const seed = Number(process.env.NOETL_TEST_SEED ?? Date.now() % 100000);
  beforeAll(async () => {
    t = await createTestDatabase(backend);
    const s = `"${t.schema}"`;
    await t.db.query(`INSERT INTO ${s}.catalog (catalog_id, path, version, kind)
      SELECT 10 + g, (ARRAY['etl/alpha', 'etl/beta', 'ml/train'])[1 + g % 3] || '-' || g, 1, 'Playbook' FROM generate_series(0, 5) g`);
    // 3,000 executions spread over every partition (p0 below 5e17, p1, p2, default above 6e17), both dialects,
    // a third finished in one of the spellings, one in seven a child of the one before, stragglers after finishes.
    await t.db.query(`INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at, event_type, node_name, status)
      WITH x AS (
        SELECT i, 400000000000000000 + i * 100000000000000 AS id,
               (i * 7919 + ${seed}) % 1000 AS h, (i * 104729 + ${seed}) % 300 AS minutes
        FROM generate_series(0, 2999) i
      )
      SELECT x.id, ev.k, 10 + x.i % 6, CASE WHEN x.i % 7 = 3 THEN x.id - 100000000000000 END,
             (now() AT TIME ZONE 'UTC') - (x.minutes + 0.5 - ev.k) * interval '1 minute', ev.type, ev.node, 'RUNNING'
      FROM x CROSS JOIN LATERAL (
        SELECT 1 AS k, CASE WHEN x.i % 2 = 0 THEN 'playbook.initialized' ELSE 'playbook_started' END AS type, 'playbook' AS node
        UNION ALL SELECT 2, CASE WHEN x.h % 5 = 0 THEN 'command.issued' ELSE 'step.exit' END, 'step-' || x.h % 4
        UNION ALL SELECT 3, (ARRAY['playbook.completed', 'playbook_failed', 'execution.cancelled', 'playbook_cancelled', 'workflow.completed'])[1 + x.h % 5], 'playbook'
          WHERE x.h < 333
        UNION ALL SELECT 4, 'command.heartbeat', 'late' WHERE x.h < 40
      ) ev`);
    await t.db.query(`ANALYZE ${s}.event`);
  });
  afterAll(async () => t?.close());

  it('planned from statistics and at random cuts, equals the unchunked load', async () => {
    const rnd = prng(seed);
    const store = new NoetlStore(t.db, t.schema);
    const caps = await store.capabilities();
    expect(caps.eventLeaves.length).toBe(4);
    let chunks = 0;
    for (const filter of FILTERS) {
      const whole = await store.listStuckRows(filter, { ranges: [WHOLE_RANGE] });
      const comparable = (rows: typeof whole) => rows.map((r) => ({ ...r, now_ms: 0 }));
      expect(whole.length, JSON.stringify(filter)).toBeGreaterThan(0);
      const seen: LoadProgress[] = [];
      const planned = await store.listStuckRows(filter, { chunkRows: 400, onProgress: (p) => seen.push(p) });
      expect(comparable(planned), `seed ${seed}, ${JSON.stringify(filter)}`).toEqual(comparable(whole));
      expect(seen.at(-1)!.done).toBe(seen.at(-1)!.total);
      chunks = seen[0]!.total;
      const cuts = Array.from(
        { length: 1 + Math.floor(rnd() * 12) },
        () => 400000000000000000n + BigInt(Math.floor(rnd() * 3100)) * 100000000000000n + BigInt(Math.floor(rnd() * 3) - 1),
      );
      const random = await store.listStuckRows(filter, { ranges: rangesOf(cuts), parallel: 1 + Math.floor(rnd() * 3) });
      expect(comparable(random), `seed ${seed}, cuts ${cuts.join(',')}, ${JSON.stringify(filter)}`).toEqual(comparable(whole));
    }
    // About 9,000 events at 400 a chunk: the plan really cuts.
    expect(chunks).toBeGreaterThan(8);
    // Without a chunk size the default applies: a history this small is one statement.
    const one: LoadProgress[] = [];
    await store.listStuckRows(FILTERS[0]!, { onProgress: (p) => one.push(p) });
    expect(one).toEqual([]);
  });
});
