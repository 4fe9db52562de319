/**
 * Issue 13, signals. SIGTERM or SIGHUP during a write does not make it
 * invisible: the transaction in progress ends (it commits once the lock it
 * waits for is free, or rolls back on its own timeout), no further write
 * starts, and stderr says which; the exit status says it too (the command's
 * own status when the write committed and nothing was left, 128+n when
 * something was not written). Before any write the command stops at once.
 * In the console, SIGINT and SIGTERM leave the terminal as it was (normal
 * screen, cursor shown) in every state, and a write in progress is waited for.
 */
import { MARK_BATCH_EXECUTIONS } from '../../src/noetl/mark.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import { Scenario } from '../fixtures/scenario.js';
import { POSTGRES_SKIP_REASON, createTestDatabase, describePostgres, type TestDatabase } from '../helpers/db.js';
import { backendPid, connect, consoleEvents, groupByExecution, startCli, uniqueIdBase, waitForBlocked } from '../helpers/reliability.js';
import { TmuxSession, ensureBuilt } from '../tmux/tmux.js';

let t: TestDatabase;
let admin: pg.Client;
let holder: pg.Client;
let holderPid: number;
let env: Record<string, string>;
const ids: Record<string, string> = {};
const batch: string[] = [];
const sessions: TmuxSession[] = [];

beforeAll(async () => {
  if (POSTGRES_SKIP_REASON) return;
  ensureBuilt();
  t = await createTestDatabase('postgres');
  const s = new Scenario(uniqueIdBase());
  for (const name of ['commit', 'rollback', 'ui']) {
    const root = s.execution({ path: `signals/${name}`, startedMinutesAgo: 120 });
    root.issued('extract', 100);
    ids[name] = root.id;
    ids[`${name}Child`] = s.execution({ path: `signals/${name}-child`, startedMinutesAgo: 110, parent: root }).claimed('work', 90, 'gone').id;
  }
  // Two batches of cleanup (200, then 50), oldest first.
  for (let i = 0; i < MARK_BATCH_EXECUTIONS + 50; i++) batch.push(s.execution({ path: 'signals-batch/x', startedMinutesAgo: 900 - i }).issued('extract', 100).id);
  await s.apply(t.db, t.schema);
  admin = await connect();
  holder = await connect();
  holderPid = await backendPid(holder);
  env = { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema };
});

afterAll(async () => {
  if (POSTGRES_SKIP_REASON) return;
  for (const s of sessions) s.kill();
  await holder?.end().catch(() => undefined);
  await admin?.end().catch(() => undefined);
  await t?.close();
});

const written = async () => groupByExecution(await consoleEvents(admin, t.schema));
const lock = (id: string) => holder.query('SELECT pg_advisory_lock($1::bigint)', [id]);
const unlockAll = () => holder.query('SELECT pg_advisory_unlock_all()');

describePostgres('a command that gets SIGTERM or SIGHUP', () => {
  it('during a cascading cancel held on a lock: the write commits once the lock is free; stderr says so; exit 0', async () => {
    await lock(ids.commitChild!);
    const run = startCli(['cancel', ids.commit!, '--cascade', '--json', '--reason', 'sigterm'], { env, timeoutMs: 120_000 });
    await waitForBlocked(admin, holderPid, 1, 'cancel --cascade');
    run.child.kill('SIGTERM');
    // Still there, still waiting: the write is not abandoned half way.
    await new Promise((r) => setTimeout(r, 500));
    expect(run.child.exitCode).toBeNull();
    await unlockAll();
    const r = await run.done;
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('noetl-console: SIGTERM arrived during the write; it committed (reported above) and nothing else was left to write\n');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).changed_count).toBe(2);
    const w = await written();
    for (const id of [ids.commit!, ids.commitChild!]) expect(w.get(id)?.map((e) => e.meta.reason)).toEqual(['sigterm']);
  });

  it('during a write whose lock never comes: it rolls back on its timeout; stderr says so; exit 143, nothing written', async () => {
    await lock(ids.rollbackChild!);
    try {
      const run = startCli(['cancel', ids.rollback!, '--cascade', '--statement-timeout', '3'], { env, timeoutMs: 120_000 });
      await waitForBlocked(admin, holderPid, 1, 'cancel --cascade');
      run.child.kill('SIGTERM');
      const r = await run.done;
      expect(r.signal).toBeNull();
      expect(r.code).toBe(143);
      expect(r.stderr.split('\n')).toEqual([
        expect.stringMatching(/^noetl-console: statement timed out on /),
        'noetl-console: SIGTERM arrived during the write: it rolled back',
        '',
      ]);
    } finally {
      await unlockAll();
    }
    const w = await written();
    expect(w.has(ids.rollback!) || w.has(ids.rollbackChild!)).toBe(false);
  });

  it('SIGHUP during the first batch of a cleanup: that batch commits, the next is not started; exit 129', async () => {
    await lock(batch[10]!);
    const run = startCli(['cleanup', '--older-than', '10', '--path', 'signals-batch/*', '--json', '--reason', 'sighup'], { env, timeoutMs: 120_000 });
    await waitForBlocked(admin, holderPid, 1, 'cleanup');
    run.child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
    await unlockAll();
    const r = await run.done;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(129);
    const report = JSON.parse(r.stdout) as { partial: boolean; cancelled_count: number };
    expect(report).toMatchObject({ partial: true, cancelled_count: MARK_BATCH_EXECUTIONS });
    expect(r.stderr).toMatch(
      new RegExp(
        `^noetl-console: stopped by SIGHUP before the next write: it was not started; ${MARK_BATCH_EXECUTIONS} execution\\(s\\) were changed by earlier batches and stay changed: run the same command again to finish\\n`,
      ),
    );
    expect(r.stderr).toMatch(/\nnoetl-console: SIGHUP arrived during the write: it committed \(reported above\); nothing after it was written\n$/);
    const w = await written();
    const changed = batch.filter((id) => w.has(id));
    expect(changed).toEqual(batch.slice(0, MARK_BATCH_EXECUTIONS));
  });

  it('before any write (a read waiting on a table lock): stops at once, exit 143, nothing written', async () => {
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE "${t.schema}".event IN ACCESS EXCLUSIVE MODE`);
    try {
      const run = startCli(['cleanup', '--older-than', '10', '--path', 'signals/*'], { env, timeoutMs: 120_000 });
      await waitForBlocked(admin, holderPid, 1, 'cleanup reading');
      run.child.kill('SIGTERM');
      const r = await run.done;
      expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 143, signal: null, stderr: 'noetl-console: stopped by SIGTERM; nothing was written\n' });
    } finally {
      await holder.query('ROLLBACK');
    }
  });
});

describePostgres('the console (tmux) gets a signal', () => {
  const startConsole = () => {
    const tm = new TmuxSession();
    sessions.push(tm);
    tm.startInShell(['--database-url', t.url, '--schema', t.schema, '--older-than', '100', '--refresh', '1']);
    return tm;
  };
  /** Only the execution signals/ui on screen, the cursor on it. */
  const showUiRow = async (tm: TmuxSession) => {
    await tm.waitForText('live 1s');
    tm.type('/');
    tm.type('signals/ui');
    tm.keys('Enter');
    await tm.waitFor((s) => s.includes('filter "signals/ui"') && /^> .*signals\/ui /m.test(s) && !s.includes('signals-batch'), 'one row shown');
  };

  it('SIGINT while the list is shown: normal screen, cursor shown, exit 130', async () => {
    const tm = startConsole();
    await showUiRow(tm);
    expect(tm.format('#{alternate_on}')).toBe('1');
    process.kill(tm.consolePid(), 'SIGINT');
    const screen = await tm.waitForText(/EXITED \d+/);
    expect(screen).toMatch(/EXITED 130/);
    expect(screen).not.toContain('signals/ui');
    expect(tm.format('#{alternate_on}|#{cursor_flag}')).toBe('0|1');
  });

  it('SIGINT while the help is open: the same', async () => {
    const tm = startConsole();
    await showUiRow(tm);
    tm.keys('?');
    await tm.waitForText(/quit at once, from anywhere/);
    process.kill(tm.consolePid(), 'SIGINT');
    await tm.waitForText(/EXITED 130/);
    expect(tm.format('#{alternate_on}|#{cursor_flag}')).toBe('0|1');
  });

  it('SIGTERM during a cancel held on a lock: the terminal comes back at once, the write commits when the lock is free, and it says so', async () => {
    await lock(ids.ui!);
    try {
      const tm = startConsole();
      await showUiRow(tm);
      tm.keys('c');
      await tm.waitForText('will change:');
      tm.keys('Enter', 'Enter');
      await waitForBlocked(admin, holderPid, 1, 'the console write');
      process.kill(tm.consolePid(), 'SIGTERM');
      await tm.waitForText('waiting for the write in progress');
      expect(tm.format('#{alternate_on}|#{cursor_flag}')).toBe('0|1');
      await unlockAll();
      const screen = await tm.waitForText(/EXITED \d+/);
      expect(screen).toContain('noetl-console: SIGTERM during a write: it committed');
      expect(screen).toMatch(/EXITED 0/);
    } finally {
      await unlockAll();
    }
    const w = await written();
    expect(w.get(ids.ui!)).toHaveLength(1);
    expect((w.get(ids.uiChild!) ?? []).length).toBeLessThanOrEqual(1);
  });
});
