/**
 * Promise 1, concurrency: 8 console processes (the spawned bin) run cleanup,
 * cancel and fail over overlapping sets of 500 executions at once, while a
 * simulated engine, taking no lock, keeps finishing some of the same
 * executions. See test/helpers/reliability-concurrency.ts for what each
 * count means; `npm run soak` runs the same round for N minutes.
 */
import { expect, it } from 'vitest';
import { formatRound, runConcurrencyRound } from '../helpers/reliability-concurrency.js';
import { describePostgres } from '../helpers/db.js';

describePostgres('concurrency: 8 consoles and an unlocked engine on 500 executions', () => {
  it('writes exactly one console terminal event per execution, none on finished ones, and reports each execution once per process', async () => {
    const report = await runConcurrencyRound({ executions: 500, processes: 8 });
    console.log(formatRound(report));
    expect(report.executions).toBe(500);
    expect(report.perProcess).toHaveLength(8);
    expect(report.queuedAtGate).toBe(8); // all eight really contended for the same locks at once
    expect(report.reportErrors).toEqual([]);
    expect(report.duplicates).toBe(0);
    expect(report.lost).toBe(0);
    expect(report.preFinishedTouched).toBe(0);
    expect(report.provableStaleWrites).toBe(0);
    // Every execution ends with exactly one terminal event written by us, or
    // none because the engine finished it first.
    expect(report.consoleEvents + report.engineEvents.total - report.unlockedEngineRaces).toBe(report.executions);
    // The consoles did overlap: more changes were attempted than executions exist.
    const attempted = Object.values(report.outcomes).reduce((a, b) => a + b, 0);
    expect(attempted).toBeGreaterThan(report.executions);
  }, 300_000);
});
