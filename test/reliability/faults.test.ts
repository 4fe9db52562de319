/**
 * Promise 3, connection faults on the shared server: the server terminating
 * the console's session (pg_terminate_backend) while it waits for an
 * execution lock, while it waits to read, and in the middle of its INSERT;
 * and a lock held by another session for longer than --statement-timeout.
 * Every subcommand exits 1 with one clear line on stderr and writes nothing;
 * once the faults are gone the same commands work and change each execution
 * exactly once. (The server restart is in restart.test.ts, on a private
 * server, so that it cannot disturb files running in parallel.)
 *
 * The console's sessions are found by application_name = 'noetl-console'
 * AND waiting on our lock holder (directly or behind another console), so
 * consoles of other test files are never touched.
 */
import { MARK_BATCH_EXECUTIONS } from '../../src/noetl/mark.js';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import { Scenario } from '../fixtures/scenario.js';
import { createTestDatabase, type TestDatabase, describePostgres } from '../helpers/db.js';
import { backendPid, connect, consoleEvents, countEvents, startCli, stderrProblems, terminate, uniqueIdBase, waitForBlocked, type CliResult } from '../helpers/reliability.js';

let t: TestDatabase;
let admin: pg.Client;
let holder: pg.Client;
let holderPid: number;
let env: Record<string, string>;
const ids: Record<string, string> = {};
let baseline = 0;
let faults = 0;
const big: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase('postgres');
  const s = new Scenario(uniqueIdBase());
  for (const name of ['A', 'B', 'C', 'D']) {
    const root = s.execution({ path: `faults/${name}`, dialect: name === 'B' ? 'rust' : 'python', startedMinutesAgo: 120 });
    root.issued('extract', 100);
    ids[name] = root.id;
    const child = s.execution({ path: `faults/${name}-child`, startedMinutesAgo: 110, parent: root });
    child.claimed('work', 90, 'worker-dead');
    ids[`${name}c`] = child.id;
  }
  ids.done = s.execution({ path: 'faults/done', startedMinutesAgo: 120 }).finish('completed', 60).id;
  // A cleanup big enough for several batches (oldest first): roots 0..299.
  for (let i = 0; i < MARK_BATCH_EXECUTIONS + 200; i++) big.push(s.execution({ path: `faults-big/${i % 3}`, startedMinutesAgo: 600 - i }).issued('extract', 100).id);
  await s.apply(t.db, t.schema);
  admin = await connect();
  holder = await connect();
  holderPid = await backendPid(holder);
  env = { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema };
  baseline = await countEvents(admin, t.schema);
});

afterAll(async () => {
  await holder?.end().catch(() => undefined);
  await admin?.end().catch(() => undefined);
  await t?.close();
});

afterEach(async () => {
  await holder.query('ROLLBACK').catch(() => undefined);
  await holder.query('SELECT pg_advisory_unlock_all()');
});

/** exit 1, nothing on stdout, one clean line on stderr matching `message`. */
const messages = new Set<string>();
function expectOperationalFailure(r: CliResult, message: RegExp, what: string): void {
  messages.add(r.stderr.trim().replace(/\d{6,}/g, 'N'));
  expect({ what, code: r.code, signal: r.signal, stdout: r.stdout, problems: stderrProblems(r) }).toEqual({ what, code: 1, signal: null, stdout: '', problems: [] });
  expect(r.stderr, what).toMatch(message);
}

async function expectNothingWritten(): Promise<void> {
  expect(await consoleEvents(admin, t.schema)).toEqual([]);
  expect(await countEvents(admin, t.schema)).toBe(baseline);
}

/** Start the commands, wait until all of them wait behind the holder, terminate their sessions. */
async function terminateWhileBlocked(commands: string[][], expectQuery?: RegExp) {
  // A long statement timeout: on a loaded machine the last console may start seconds after the
  // first, and the first must still be waiting (not timed out) when the sessions are terminated.
  const runs = commands.map((args) => startCli([...args, '--statement-timeout', '120'], { env, timeoutMs: 150_000 }));
  const blocked = await waitForBlocked(admin, holderPid, commands.length, commands.map((c) => c[0]).join(', '));
  if (expectQuery) {
    const { rows } = await admin.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE pid = ANY($1::int[])', [blocked]);
    for (const r of rows) expect(r.query).toMatch(expectQuery);
  }
  await terminate(admin, blocked);
  faults += blocked.length;
  return Promise.all(runs.map((r) => r.done));
}

describePostgres('connection faults: the session terminated by the server', () => {
  it('while cancel, fail and cleanup wait for an execution lock: exit 1, nothing written', async () => {
    await holder.query('SELECT pg_advisory_lock(id) FROM unnest($1::bigint[]) AS id', [[ids.Ac, ids.Cc]]);
    const commands = [
      ['cancel', ids.A!, ids.B!, '--cascade', '--reason', 'fault'],
      ['fail', ids.C!, '--cascade', '--json'],
      ['cleanup', '--older-than', '10', '--cascade', '--path', 'faults/*'],
    ];
    const results = await terminateWhileBlocked(commands, /pg_advisory_xact_lock/);
    results.forEach((r, i) => expectOperationalFailure(r, /closed the session|lost the connection/, commands[i]!.join(' ')));
    await expectNothingWritten();
  });

  it('while list, show, health, cleanup and cancel wait to read (table lock): exit 1', async () => {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE "${t.schema}".event IN ACCESS EXCLUSIVE MODE`);
    const commands = [
      ['list', '--older-than', '0'],
      ['show', ids.A!],
      ['health', '--json'],
      ['cleanup', '--older-than', '10', '--dry-run'],
      ['cancel', ids.D!, '--cascade'],
    ];
    const results = await terminateWhileBlocked(commands);
    results.forEach((r, i) => expectOperationalFailure(r, /closed the session|lost the connection/, commands[i]!.join(' ')));
    await holder.query('ROLLBACK');
    await expectNothingWritten();
  });

  /** The close statement (sql.ts markSql with write), as pg_stat_activity shows its start. */
  const WRITE_STATEMENT = /fallback1/;

  it('in the middle of the INSERT (table locked against writes): exit 1, no partial write', async () => {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE "${t.schema}".event IN SHARE MODE`);
    const commands = [
      ['cancel', ids.A!, ids.B!, '--cascade', '--json'],
      ['fail', ids.C!, ids.D!],
    ];
    // Both got their execution locks and re-read the state: they wait in the write statement itself
    // (pg_stat_activity keeps its first 1 kB, so it is known by its fallback ids, not by INSERT).
    const results = await terminateWhileBlocked(commands, WRITE_STATEMENT);
    results.forEach((r, i) => expectOperationalFailure(r, /closed the session|lost the connection/, commands[i]!.join(' ')));
    await holder.query('ROLLBACK');
    await expectNothingWritten();
  });
});

describePostgres('connection faults: a lock held longer than --statement-timeout', () => {
  const timeout = ['--statement-timeout', '0.5'];

  it('an execution lock held by another session: cancel, fail, cleanup exit 1 with a timeout message, nothing written', async () => {
    await holder.query('SELECT pg_advisory_lock(id) FROM unnest($1::bigint[]) AS id', [[ids.B, ids.Bc]]);
    const commands = [
      ['cancel', ids.A!, ids.B!, '--cascade', ...timeout],
      ['fail', ids.B!, '--json', ...timeout],
      ['cleanup', '--older-than', '10', '--cascade', '--path', 'faults/*', '--json', ...timeout],
      ['cleanup', '--older-than', '10', '--path', 'faults/*', '--mark', 'failed', '--include-children', ...timeout],
    ];
    for (const args of commands) {
      expectOperationalFailure(await startCli(args, { env }).done, /statement timed out.*(lock|timeout)/, args.join(' '));
      faults++;
    }
    await expectNothingWritten();
  });

  it('the event table locked against writes: the INSERT times out, nothing written', async () => {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE "${t.schema}".event IN SHARE MODE`);
    for (const args of [
      ['fail', ids.C!, '--cascade', ...timeout],
      ['cancel', ids.A!, ids.D!, '--json', ...timeout],
    ]) {
      expectOperationalFailure(await startCli(args, { env }).done, /statement timed out/, args.join(' '));
      faults++;
    }
    await holder.query('ROLLBACK');
    await expectNothingWritten();
  });

  it('the event table locked against reads: list, show, health time out with exit 1', async () => {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE "${t.schema}".event IN ACCESS EXCLUSIVE MODE`);
    for (const args of [
      ['list', '--older-than', '0', ...timeout],
      ['show', ids.A!, '--json', ...timeout],
      ['health', ...timeout],
    ]) {
      expectOperationalFailure(await startCli(args, { env }).done, /statement timed out/, args.join(' '));
      faults++;
    }
    await holder.query('ROLLBACK');
    await expectNothingWritten();
  });
});

describePostgres('a fault in a later batch of a large cleanup', () => {
  it('earlier batches stay committed, whole; the failure says how many executions were already changed', async () => {
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [big[MARK_BATCH_EXECUTIONS + 50]]);
    const r = await startCli(['cleanup', '--older-than', '10', '--path', 'faults-big/*', '--json', '--reason', 'big', ...['--statement-timeout', '0.5']], { env }).done;
    faults++;
    // The report of the batches that committed is on stdout, marked partial; the one line on stderr.
    const report = JSON.parse(r.stdout) as { partial?: boolean; cancelled_count: number };
    expect(report.partial).toBe(true);
    expectOperationalFailure({ ...r, stdout: '' }, /statement timed out/, `cleanup of ${big.length} with a lock in batch 2`);
    const written = (await consoleEvents(admin, t.schema)).filter((e) => e.meta.reason === 'big').map((e) => e.execution_id);
    // Each batch is one transaction: a prefix of whole batches is committed, the rest untouched.
    expect(written.length % MARK_BATCH_EXECUTIONS).toBe(0);
    expect(new Set(written)).toEqual(new Set(big.slice(0, written.length)));
    console.log(`faults: a statement timeout in batch 2 of a ${big.length}-execution cleanup left ${written.length} executions changed; the operator saw only: ${r.stderr.trim()}`);
    // Those changes must not be silent: the one line (or the report on stdout) says how many were changed.
    expect(report.cancelled_count).toBe(written.length);
    if (written.length > 0) expect(r.stderr).toMatch(new RegExp(`\\b${written.length}\\b`));
  });
});

describePostgres('after the faults', () => {
  it('the same commands succeed and change each running execution exactly once', async () => {
    const r = await startCli(['cleanup', '--older-than', '10', '--cascade', '--path', 'faults/*', '--json', '--reason', 'recovered'], { env }).done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = (await consoleEvents(admin, t.schema)).filter((e) => e.meta.reason !== 'big');
    const running = ['A', 'Ac', 'B', 'Bc', 'C', 'Cc', 'D', 'Dc'].map((k) => ids[k]!).sort();
    expect(events.map((e) => e.execution_id).sort()).toEqual(running);
    expect(events.every((e) => e.meta.reason === 'recovered')).toBe(true);
    console.log(
      `faults: ${faults} console sessions failed by termination or statement timeout; ${events.length} executions changed once afterwards; messages:\n  ${[...messages].join('\n  ')}`,
    );
  });
});
