/**
 * Promise 2, crash safety: SIGKILL the console in the middle of a
 * `cleanup --cascade` (and a `cancel - --cascade`) of 1,000 executions with
 * children and grandchildren. Every execution family (a root with its
 * running descendants) is either fully changed or untouched; running the
 * same command again finishes the rest and changes nothing twice.
 * (`fail - --cascade` is killed the same way, so both write actions are covered.)
 *
 * "In the middle" is made deterministic without a batch-size knob: a second
 * session holds an advisory lock on a root of the second batch, so the
 * console commits its first batch, then waits for that lock; we kill it
 * there. A second kill lands wherever it lands (right after the next commit
 * is seen), and the invariant must hold either way.
 */
import { afterEach, expect, it } from 'vitest';
import type pg from 'pg';
import { Scenario, type ExecutionBuilder } from '../fixtures/scenario.js';
import { createTestDatabase, type TestDatabase, describePostgres } from '../helpers/db.js';
import { backendPid, connect, consoleEvents, groupByExecution, prng, shuffle, startCli, uniqueIdBase, waitForBlocked, type CliResult } from '../helpers/reliability.js';
import { eventually } from '../helpers/eventually.js';

interface Family {
  root: string;
  /** Running descendants at the start (children and grandchildren). */
  running: string[];
  /** Descendants already finished before we start: never touched. */
  finished: string[];
}

/**
 * 1,000 executions: 500 roots (oldest first by index), 250 running children,
 * 125 running grandchildren, 125 children that already completed.
 */
function thousand(base: bigint) {
  const s = new Scenario(base);
  const roots: ExecutionBuilder[] = [];
  const families: Family[] = [];
  for (let i = 0; i < 500; i++) {
    const root = s.execution({ path: `crash/root-${i % 5}`, dialect: i % 4 === 3 ? 'rust' : 'python', startedMinutesAgo: 900 - i });
    root.issued('extract', 60);
    roots.push(root);
    families.push({ root: root.id, running: [], finished: [] });
  }
  for (let i = 0; i < 250; i++) {
    const child = s.execution({ path: 'crash/child', startedMinutesAgo: 50, parent: roots[i]! });
    child.issued('work', 40);
    families[i]!.running.push(child.id);
    if (i < 125) {
      const grandchild = s.execution({ path: 'crash/grandchild', dialect: 'rust', startedMinutesAgo: 45, parent: child });
      grandchild.issued('deep', 40);
      families[i]!.running.push(grandchild.id);
    }
  }
  for (let i = 250; i < 375; i++) {
    const done = s.execution({ path: 'crash/child-done', startedMinutesAgo: 50, parent: roots[i]! }).finish('completed', 30);
    families[i]!.finished.push(done.id);
  }
  return { s, roots, families };
}

/** Family-level view of the console's writes: all-or-nothing, never twice. */
async function inspect(admin: pg.Client, schema: string, families: Family[]) {
  const events = await consoleEvents(admin, schema);
  const by = groupByExecution(events);
  let changedFamilies = 0;
  let untouchedFamilies = 0;
  const torn: string[] = [];
  const twice = [...by.entries()].filter(([, rows]) => rows.length > 1).map(([id]) => id);
  const touchedFinished = families.flatMap((f) => f.finished).filter((id) => by.has(id));
  for (const f of families) {
    const members = [f.root, ...f.running];
    const changed = members.filter((id) => by.has(id)).length;
    if (changed === members.length) changedFamilies++;
    else if (changed === 0) untouchedFamilies++;
    else torn.push(`${f.root}: ${changed}/${members.length} changed`);
  }
  return { events: events.length, changedFamilies, untouchedFamilies, torn, twice, touchedFinished, by };
}

async function killWhenBlocked(admin: pg.Client, holder: pg.Client, lockId: string, args: string[], env: Record<string, string>, stdin?: string) {
  const holderPid = await backendPid(holder);
  await holder.query('SELECT pg_advisory_lock($1::bigint)', [lockId]);
  const run = startCli(args, { env, ...(stdin !== undefined ? { input: stdin } : {}), timeoutMs: 120_000 });
  const early = run.done.then(() => 'exited' as const);
  let pids: number[] = [];
  try {
    const first = await Promise.race([waitForBlocked(admin, holderPid, 1, args.join(' ')), early]);
    if (first === 'exited') throw new Error(`the console exited before reaching the lock: ${(await run.done).stderr}`);
    pids = first;
    run.child.kill('SIGKILL');
    const result = await run.done;
    return { result, pids };
  } finally {
    await holder.query('SELECT pg_advisory_unlock_all()');
    // The orphaned server session gets the lock, finds its client gone and rolls back.
    await eventually('the killed console session to end', async () => {
      const { rows } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])', [pids]);
      return rows.length === 0;
    });
  }
}

describePostgres('crash safety: SIGKILL in the middle of a 1,000-execution cleanup --cascade', () => {
  let t: TestDatabase | null = null;
  const clients: pg.Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.end().catch(() => undefined);
    await t?.close();
    t = null;
  });

  it('leaves every family fully changed or untouched; reruns finish the rest and change nothing twice', async () => {
    t = await createTestDatabase('postgres');
    const { s, roots, families } = thousand(uniqueIdBase());
    await s.apply(t.db, t.schema);
    const admin = await connect();
    const holder = await connect();
    clients.push(admin, holder);
    const env = { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema };
    const totalRunning = families.reduce((n, f) => n + 1 + f.running.length, 0);
    expect(totalRunning + families.reduce((n, f) => n + f.finished.length, 0)).toBe(1000);

    // Kill 1: deterministic, while waiting for a lock on a root of the second batch (index 250).
    const args = ['cleanup', '--older-than', '10', '--cascade', '--json', '--reason', 'crash test'];
    const kill1 = await killWhenBlocked(admin, holder, roots[250]!.id, args, env);
    expect(kill1.result.signal).toBe('SIGKILL');
    const after1 = await inspect(admin, t.schema, families);
    console.log(`crash: kill 1 (blocked on a lock in batch 2): ${after1.changedFamilies} families changed, ${after1.untouchedFamilies} untouched, ${after1.events} console events`);
    expect(after1.torn).toEqual([]);
    expect(after1.twice).toEqual([]);
    expect(after1.touchedFinished).toEqual([]);
    expect(after1.changedFamilies).toBeGreaterThan(0); // the first batch committed...
    expect(after1.untouchedFamilies).toBeGreaterThan(0); // ...and the kill landed before the end
    // The changed families are exactly the oldest ones (a prefix in the order the cleanup took them).
    const changedIdx = families.map((f, i) => (after1.by.has(f.root) ? i : -1)).filter((i) => i >= 0);
    expect(changedIdx).toEqual(changedIdx.map((_, i) => i));

    // Kill 2: wherever it lands, right after the rerun's next commit is seen (or after it ended).
    const run2 = startCli([...args.slice(0, -1), 'crash test rerun'], { env, timeoutMs: 120_000 });
    let ended = false;
    void run2.done.then(() => (ended = true));
    await eventually(
      'a commit of the rerun',
      async () => {
        if (ended) return true;
        return (await consoleEvents(admin, t!.schema)).length > after1.events;
      },
      { timeoutMs: 60_000, intervalMs: 2 },
    );
    run2.child.kill('SIGKILL');
    const r2 = await run2.done;
    await eventually('the killed rerun session to end', async () => {
      const { rows } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'noetl-console' AND query LIKE $1 AND state <> 'idle'`, [`%"${t!.schema}"%`]);
      return rows.length === 0;
    });
    const after2 = await inspect(admin, t.schema, families);
    console.log(`crash: kill 2 (${r2.signal ?? `exit ${r2.code}`}): ${after2.changedFamilies} families changed, ${after2.untouchedFamilies} untouched`);
    expect(after2.torn).toEqual([]);
    expect(after2.twice).toEqual([]);
    expect(after2.changedFamilies).toBeGreaterThanOrEqual(after1.changedFamilies);

    // Run 3 to completion: finishes exactly the rest.
    const r3 = await startCli(args, { env }).done;
    expect(r3.stderr).toBe('');
    expect(r3.code).toBe(0);
    const j3 = JSON.parse(r3.stdout) as { results: { execution_id: string; outcome: string }[]; cancelled_count: number };
    const after3 = await inspect(admin, t.schema, families);
    expect(after3.torn).toEqual([]);
    expect(after3.twice).toEqual([]);
    expect(after3.touchedFinished).toEqual([]);
    expect(after3.changedFamilies).toBe(500);
    expect(after3.events).toBe(totalRunning);
    expect(j3.cancelled_count).toBe(totalRunning - after2.events);
    expect(j3.results.filter((r) => r.outcome === 'cancelled')).toHaveLength(totalRunning - after2.events);

    // Run 4: nothing left, nothing written.
    const r4 = await startCli(args, { env }).done;
    expect(r4.code).toBe(0);
    expect(JSON.parse(r4.stdout)).toMatchObject({ cancelled_count: 0, message: expect.stringMatching(/^No stuck executions found/) });
    expect((await consoleEvents(admin, t.schema)).length).toBe(totalRunning);
    console.log(
      `crash: cleanup killed twice, rerun changed ${j3.cancelled_count}; ${totalRunning} running executions changed exactly once, ${families.flatMap((f) => f.finished).length} finished children untouched`,
    );
  }, 180_000);

  it('fail - --cascade of 500 roots from stdin: SIGKILL mid-run, rerun exits 3 for the already cancelled ones and changes nothing twice', async () => {
    t = await createTestDatabase('postgres');
    const { s, roots, families } = thousand(uniqueIdBase());
    await s.apply(t.db, t.schema);
    const admin = await connect();
    const holder = await connect();
    clients.push(admin, holder);
    const env = { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema };
    const totalRunning = families.reduce((n, f) => n + 1 + f.running.length, 0);
    const order = shuffle(
      roots.map((r) => r.id),
      prng(42),
    );
    const stdin = `${order.join('\n')}\n`;
    const args = ['fail', '-', '--cascade', '--json', '--reason', 'crash cancel'];

    // Lock a root that the second batch of this order contains.
    const kill = await killWhenBlocked(admin, holder, order[300]!, args, env, stdin);
    expect(kill.result.signal).toBe('SIGKILL');
    const after = await inspect(admin, t.schema, families);
    console.log(`crash: fail - --cascade killed: ${after.changedFamilies} families changed, ${after.untouchedFamilies} untouched`);
    expect(after.torn).toEqual([]);
    expect(after.twice).toEqual([]);
    expect(after.changedFamilies).toBeGreaterThan(0);
    expect(after.untouchedFamilies).toBeGreaterThan(0);

    const rerun: CliResult = await startCli(args, { env, input: stdin }).done;
    expect(rerun.code).toBe(3); // some named ids were already failed by the killed run
    const j = JSON.parse(rerun.stdout) as { changed_count: number; counts: Record<string, number> };
    const final = await inspect(admin, t.schema, families);
    expect(final.torn).toEqual([]);
    expect(final.twice).toEqual([]);
    expect(final.touchedFinished).toEqual([]);
    expect(final.events).toBe(totalRunning);
    expect(j.changed_count).toBe(totalRunning - after.events);
    expect(j.counts.already_terminal).toBe(after.events + families.flatMap((f) => f.finished).length);
  }, 180_000);
});
