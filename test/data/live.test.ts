/**
 * The incremental refresh must equal a full load: after random sequences of
 * engine writes (starts of both dialects, progress, stragglers, terminal
 * events, children, late rows, cancels by other consoles, heartbeats), the
 * live set's view equals `list` run from scratch, for several filters, and
 * so does the full load read in random execution_id chunks, and the load
 * from a running-set snapshot revalidated each round (snapshot.ts), with
 * starts committed late inside its margin; a snapshot copied from another
 * database is refused.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentActor } from '../../src/audit.js';
import { rangesOf } from '../../src/noetl/chunks.js';
import { LiveRunningSet } from '../../src/noetl/live.js';
import { markExecutions } from '../../src/noetl/mark.js';
import { toExecution } from '../../src/noetl/model.js';
import { thresholdMap, withHistory } from '../../src/core/thresholds.js';
import { MARGIN_MS, useSnapshot, type SnapshotOptions } from '../../src/noetl/snapshot.js';
import { NoetlStore } from '../../src/noetl/store.js';
import { Scenario, type ExecutionBuilder } from '../fixtures/scenario.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { prng } from '../helpers/reliability.js';
import type { NoetlExecution } from '../../src/core/execution.js';
import type { StuckFilter } from '../../src/core/filter.js';

const FILTERS: StuckFilter[] = [
  { olderThanSeconds: 0, includeChildren: true },
  { olderThanSeconds: 5 * 60 },
  { olderThanSeconds: 60 * 60, idleSeconds: 10 * 60 },
  { olderThanSeconds: 60, path: 'etl/a*', includeChildren: true },
  { olderThanSeconds: 0, limit: 7 },
];

const PATHS = ['etl/alpha', 'etl/beta', 'etl/ALPHA-2', 'ml/train', 'etl/a_b%c'];
const WORKERS = ['w-1', 'w-2', 'w-3'];

// Times stay half a minute off every whole-minute threshold, so that the
// live view and the full load (read milliseconds apart) cannot straddle one.
const minutesAgo = (rnd: () => number, max: number) => Math.floor(rnd() * max) + 0.5;

function comparable(e: NoetlExecution) {
  const { age_seconds, idle_seconds, worker_heartbeat_age_seconds: _heartbeat, ...rest } = e;
  return { ...rest, age: Math.round(age_seconds / 10), idle: idle_seconds === null ? null : Math.round(idle_seconds / 10) };
}

describe.each(backends())('incremental refresh equals a full load on %s', (backend) => {
  let t: TestDatabase;
  let store: NoetlStore;
  const dir = mkdtempSync(join(tmpdir(), 'noetl-console-snapshot-'));
  // Every size of history uses the snapshot here (minEvents 0); the margin is the real one.
  const snapshotOptions: SnapshotOptions = { fresh: false, maxAgeMs: 3_600_000, sourceName: 'noetl', target: 'test', dir, minEvents: 0 };
  beforeAll(async () => {
    t = await createTestDatabase(backend);
    store = new NoetlStore(t.db, t.schema);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t?.close();
  });

  it('after random engine writes', async () => {
    const seed = Number(process.env.NOETL_TEST_SEED ?? Date.now() % 100000);
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const scenario = new Scenario(BigInt(600_000_000_000_000_000) + BigInt(Math.floor(rnd() * 1e9)) * 1000n);
    const running: ExecutionBuilder[] = [];
    const finished: ExecutionBuilder[] = [];
    for (const w of WORKERS) scenario.worker(w, rnd() < 0.5 ? 10 : 3600);
    const start = (startedMinutesAgo: number) => {
      const parent = running.length && rnd() < 0.3 ? pick(running) : undefined;
      const ex = scenario.execution({ path: pick(PATHS), dialect: rnd() < 0.5 ? 'python' : 'rust', startedMinutesAgo, parent });
      if (rnd() < 0.5) ex.step('extract', Math.max(0, startedMinutesAgo - 1), pick(WORKERS));
      if (rnd() < 0.3) ex.issued('load', Math.max(0, startedMinutesAgo - 2));
      else if (rnd() < 0.5) ex.claimed('load', Math.max(0, startedMinutesAgo - 2), pick(WORKERS));
      running.push(ex);
    };
    for (let i = 0; i < 25; i++) start(minutesAgo(rnd, 180));
    await scenario.apply(t.db, t.schema);

    // The live set re-reads as far back as a snapshot does, so that a late start inside the margin is fair to both.
    const live = new LiveRunningSet(store, { marginMs: MARGIN_MS, reconcileMs: 3_600_000 });
    expect((await live.refresh()).kind).toBe('full');
    const viaSnapshot = new NoetlStore(t.db, t.schema);
    const snapshot = useSnapshot(viaSnapshot, snapshotOptions);
    await viaSnapshot.listStuckRows(FILTERS[0]!);
    expect(snapshot.outcome).toBe('full:missing');
    let incremental = 0;
    let compared = 0;
    const ops: Record<string, number> = {};
    for (let round = 0; round < 30; round++) {
      for (let k = 0, n = 1 + Math.floor(rnd() * 4); k < n; k++) {
        const op = pick(['start', 'start', 'progress', 'progress', 'finish', 'straggler', 'late', 'late-start', 'cancel', 'heartbeat'] as const);
        ops[op] = (ops[op] ?? 0) + 1;
        // An engine stamps a start when it writes it: within the margin.
        if (op === 'start') start(rnd() < 0.5 ? 0.5 : 1.5);
        // A start committed now, stamped well before the previous round's clock but inside the margin.
        else if (op === 'late-start') start(MARGIN_MS / 60_000 - 1.5 + rnd());
        else if (op === 'progress' && running.length) {
          const ex = pick(running);
          if (rnd() < 0.5) ex.claimed(`step-${round}`, 0, pick(WORKERS));
          else ex.event(ex.dialect === 'python' ? 'command.heartbeat' : 'command_heartbeat', 0, { node: 'load', worker: pick(WORKERS) });
        } else if (op === 'finish' && running.length) {
          const ex = running.splice(Math.floor(rnd() * running.length), 1)[0]!;
          ex.finish(pick(['completed', 'failed', 'cancelled'] as const), 0, rnd() < 0.5 ? 'completed' : undefined);
          finished.push(ex);
        } else if (op === 'straggler' && finished.length) {
          pick(finished).event('command.heartbeat', 0, { node: 'late', worker: pick(WORKERS) });
        } else if (op === 'late' && running.length) {
          // Committed now, stamped up to a minute ago (inside the margin).
          pick(running).event('step.exit', 30 + Math.floor(rnd() * 30), { node: 'late-step', status: 'COMPLETED' });
        } else if (op === 'cancel' && running.length) {
          await scenario.apply(t.db, t.schema);
          const ex = pick(running);
          await markExecutions(store, {
            action: rnd() < 0.5 ? 'cancel' : 'fail',
            ids: [ex.id],
            reason: 'other console',
            cascade: rnd() < 0.5,
            dryRun: false,
            actor: currentActor(),
          });
        } else if (op === 'heartbeat') {
          scenario.worker(pick(WORKERS), rnd() < 0.5 ? 5 : 3600);
        }
      }
      await scenario.apply(t.db, t.schema);
      const stats = await live.refresh();
      if (stats.kind === 'incremental') incremental++;
      // One filter a round, at random, is also read in random chunks (all of them would double the test's time).
      const chunkedFilter = pick(FILTERS);
      for (const filter of FILTERS) {
        // The full load, derived at the live set's clock so that ages compare exactly.
        const full = (await store.listStuckRows(filter)).map((r) => toExecution({ ...r, now_ms: live.clockMs }));
        expect(live.view(filter).map(comparable), `seed ${seed}, round ${round}, filter ${JSON.stringify(filter)}`).toEqual(full.map(comparable));
        compared++;
        if (filter !== chunkedFilter) continue;
        // Judged by learned thresholds where the row is derived (the console's view) as a command judges a listed row.
        const history = thresholdMap(
          PATHS.filter(() => rnd() < 0.7).map((path, i) => ({ path, samples: 3 + 2 * i, median_seconds: 600 * (i + 1), p95_seconds: 1200 * (i + 1), p99_seconds: 1800 * (i + 1) })),
        );
        expect(live.view(filter, history).map(comparable), `seed ${seed}, round ${round}, with thresholds`).toEqual(withHistory(full, history).map(comparable));
        // The same full load read in random execution_id chunks, some empty, some of one execution.
        const ids = [...running, ...finished].map((e) => BigInt(e.id));
        const cuts = Array.from({ length: Math.floor(rnd() * 6) }, () => (rnd() < 0.3 ? pick(ids) + (rnd() < 0.5 ? 1n : 0n) : pick(ids) + BigInt(Math.floor(rnd() * 2000) - 1000)));
        const chunked = (await store.listStuckRows(filter, { ranges: rangesOf(cuts), parallel: 1 + Math.floor(rnd() * 3) })).map((r) =>
          toExecution({ ...r, now_ms: live.clockMs }),
        );
        expect(chunked.map(comparable), `seed ${seed}, round ${round}, cuts ${cuts.join(',')}, filter ${JSON.stringify(filter)}`).toEqual(full.map(comparable));
      }
      // The run after: the saved running set revalidated, then filtered like the full load read right after it
      // (apart from the loop above, so that the live view and its full loads stay milliseconds apart).
      for (const filter of FILTERS) {
        const revalidated = await viaSnapshot.listStuckRows(filter);
        expect(snapshot.outcome).toBe('revalidated');
        const full = await store.listStuckRows(filter);
        const at = revalidated[0]?.now_ms ?? full[0]?.now_ms ?? 0;
        expect(
          revalidated.map((r) => comparable(toExecution({ ...r, now_ms: at }))),
          `seed ${seed}, round ${round}, snapshot, filter ${JSON.stringify(filter)}`,
        ).toEqual(full.map((r) => comparable(toExecution({ ...r, now_ms: at }))));
      }
    }
    expect(incremental).toBe(30);
    // The console's ctrl-r (refresh(true)) reads the whole history whatever the snapshot holds.
    await viaSnapshot.listStuckRows(FILTERS[0]!, { fresh: true });
    expect(snapshot.outcome).toBe('full:fresh');
    await viaSnapshot.listStuckRows(FILTERS[0]!);
    expect(snapshot.outcome).toBe('revalidated');

    // Another database's snapshot, copied under this one's name (a copied cache directory): refused, full load.
    const other = await createTestDatabase(backend);
    try {
      const elsewhere = new Scenario(BigInt(700_000_000_000_000_000));
      elsewhere.execution({ path: 'etl/elsewhere', startedMinutesAgo: 30 });
      await elsewhere.apply(other.db, other.schema);
      const otherStore = new NoetlStore(other.db, other.schema);
      const otherDir = mkdtempSync(join(dir, 'other-'));
      const refused = useSnapshot(otherStore, { ...snapshotOptions, dir: otherDir });
      // Its own snapshot first (to learn its file's name), then this database's in its place.
      await otherStore.listStuckRows(FILTERS[0]!);
      const [otherFile] = readdirSync(otherDir).filter((f) => f.endsWith('.json'));
      const [ours] = readdirSync(dir).filter((f) => f.endsWith('.json'));
      copyFileSync(join(dir, ours!), join(otherDir, otherFile!));
      const rows = await otherStore.listStuckRows(FILTERS[0]!);
      expect(refused.outcome).toBe('full:foreign');
      expect(rows.map((r) => r.path)).toEqual(['etl/elsewhere']);
      expect((await otherStore.listStuckRows(FILTERS[0]!)).map((r) => r.path)).toEqual(['etl/elsewhere']);
      expect(refused.outcome).toBe('revalidated');
    } finally {
      await other.close();
    }
    console.log(`live equivalence on ${backend}: seed ${seed}, ${compared} comparisons, ops ${JSON.stringify(ops)}, ${live.runningCount} running at the end`);
  }, 240_000);
});
