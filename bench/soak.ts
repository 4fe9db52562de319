/**
 * Soak mode of the concurrency test (issue 6): run the concurrency round of
 * test/reliability/concurrency.test.ts again and again for N minutes, each
 * round on a fresh schema, and print the counts of every round and the
 * totals. Exit 1 if anything was lost, duplicated, written on an execution
 * finished before our lock, or misreported.
 *
 *   node build/soak.js [--minutes 10] [--executions 500] [--processes 8] [--seed N]
 *
 * Needs the built bin (dist/cli.js) and PostgreSQL at NOETL_TEST_POSTGRES_URL
 * (default postgres://postgres@127.0.0.1:5432/test).
 */
import { formatRound, runConcurrencyRound, type RoundReport } from '../test/helpers/reliability-concurrency.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[`SOAK_${name.toUpperCase()}`];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`soak: --${name} expects a positive number, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}

const minutes = flag('minutes', 10);
const executions = Math.floor(flag('executions', 500));
const processes = Math.floor(flag('processes', 8));
const firstSeed = Math.floor(flag('seed', Math.floor(Math.random() * 2 ** 30) + 1));
const deadline = Date.now() + minutes * 60_000;

const totals = {
  rounds: 0,
  executions: 0,
  processRuns: 0,
  consoleEvents: 0,
  engineEvents: 0,
  engineWhileQueued: 0,
  engineDuring: 0,
  outcomes: {} as Record<string, number>,
  duplicates: 0,
  lost: 0,
  finishedBeforeLockTouched: 0,
  provableStaleWrites: 0,
  unlockedEngineRaces: 0,
  sameInstantRaces: 0,
  reportErrors: 0,
};

function add(r: RoundReport): void {
  totals.rounds++;
  totals.executions += r.executions;
  totals.processRuns += r.processes;
  totals.consoleEvents += r.consoleEvents;
  totals.engineEvents += r.engineEvents.total;
  totals.engineWhileQueued += r.engineEvents.whileQueued;
  totals.engineDuring += r.engineEvents.during;
  for (const [k, v] of Object.entries(r.outcomes)) totals.outcomes[k] = (totals.outcomes[k] ?? 0) + v;
  totals.duplicates += r.duplicates;
  totals.lost += r.lost;
  totals.finishedBeforeLockTouched += r.preFinishedTouched;
  totals.provableStaleWrites += r.provableStaleWrites;
  totals.unlockedEngineRaces += r.unlockedEngineRaces;
  totals.sameInstantRaces += r.unlockedEngineRaces - r.engineWroteAfterConsole;
  totals.reportErrors += r.reportErrors.length;
}

const bad = () => totals.duplicates + totals.lost + totals.finishedBeforeLockTouched + totals.provableStaleWrites + totals.reportErrors;

process.stdout.write(`soak: ${minutes} min of concurrency rounds, ${executions} executions x ${processes} consoles, first seed ${firstSeed}\n`);
let stop = false;
process.on('SIGINT', () => {
  stop = true;
  process.stdout.write('soak: interrupted, finishing this round\n');
});
while (!stop && (totals.rounds === 0 || Date.now() < deadline)) {
  const r = await runConcurrencyRound({ executions, processes, seed: firstSeed + totals.rounds });
  add(r);
  process.stdout.write(`\nround ${totals.rounds}\n${formatRound(r)}\n`);
  for (const e of r.reportErrors.slice(0, 20)) process.stdout.write(`  ERROR ${e}\n`);
}
process.stdout.write(`\nsoak totals: ${JSON.stringify(totals, null, 2)}\n`);
process.stdout.write(bad() === 0 ? 'soak: OK, nothing lost or duplicated\n' : `soak: FAILED, ${bad()} problem(s)\n`);
process.exitCode = bad() === 0 ? 0 : 1;
