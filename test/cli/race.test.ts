/**
 * Races, locks and lost sessions: only a real PostgreSQL has a second
 * session (PGlite is one session in one process), so these run there only.
 */
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { resolveConnection } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';
import { POSTGRES_URL, adminClient, describePostgres } from '../helpers/db.js';
import { eventually } from '../helpers/eventually.js';
import { closesOf, createCliDatabase, jsonOf, runCli, show, type CliDatabase, type CliResult } from '../helpers/cli.js';

type IdName = 'one' | 'mixed' | 'root' | 'child' | 'childDone' | 'grandchild' | 'waiter' | 'timeout' | 'killed';

describePostgres('races and locks through the bin on PostgreSQL', () => {
  let d: CliDatabase;
  const ids = {} as Record<IdName, string>;
  const cli = (args: string[]) => runCli([...args, ...d.args]);
  const terminalCount = async (id: string) => closesOf(await d.events(id)).length;

  /** The backend pid of a noetl-console session waiting for the advisory lock of execution `id`. */
  const waitingConsole = (admin: pg.Client, id: string) =>
    eventually(`a noetl-console session waiting on the lock of ${id}`, async () => {
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objsubid = 1
           AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint
           AND a.application_name = 'noetl-console'`,
        [id],
      );
      return rows[0]?.pid;
    });

  /** Another session holding execution `id`'s lock, as a second console inside its transaction would. */
  async function holdLock(id: string): Promise<pg.Client> {
    const admin = await adminClient();
    await admin.query('BEGIN');
    await admin.query('SELECT pg_advisory_xact_lock($1::bigint)', [id]);
    return admin;
  }

  beforeAll(async () => {
    d = await createCliDatabase('postgres', async (db, schema) => {
      const s = new Scenario(460000000000000000n);
      ids.one = s.execution({ path: 'race/one', startedMinutesAgo: 60 }).issued('x', 50).id;
      ids.mixed = s.execution({ path: 'race/mixed', dialect: 'rust', startedMinutesAgo: 60 }).issued('x', 50).id;
      const root = s.execution({ path: 'race/tree', startedMinutesAgo: 60 }).step('a', 55);
      const child = s.execution({ path: 'race/tree/child', dialect: 'rust', startedMinutesAgo: 55, parent: root }).step('b', 50);
      ids.root = root.id;
      ids.child = child.id;
      ids.childDone = s.execution({ path: 'race/tree/child', startedMinutesAgo: 55, parent: root }).finish('completed', 40, 'Completed').id;
      ids.grandchild = s.execution({ path: 'race/tree/grandchild', startedMinutesAgo: 50, parent: child }).issued('c', 45).id;
      ids.waiter = s.execution({ path: 'race/waiter', startedMinutesAgo: 60 }).issued('x', 50).id;
      ids.timeout = s.execution({ path: 'race/timeout', startedMinutesAgo: 60 }).issued('x', 50).id;
      ids.killed = s.execution({ path: 'race/killed', startedMinutesAgo: 60 }).issued('x', 50).id;
      await s.apply(db, schema);
    });
  });
  afterAll(async () => d?.close());

  it('20 concurrent cancel processes on one execution leave exactly one terminal event', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => cli(['cancel', ids.one, '--json'])));
    const winners = results.filter((r) => r.code === 0);
    const losers = results.filter((r) => r.code === 3);
    expect(winners, results.map(show).join('\n---\n')).toHaveLength(1);
    expect(losers).toHaveLength(19);
    expect(jsonOf(winners[0]!).results[0]).toMatchObject({ execution_id: ids.one, outcome: 'cancelled' });
    for (const r of losers) expect(jsonOf(r).results[0]).toMatchObject({ execution_id: ids.one, outcome: 'already_terminal', state: 'cancelled' });
    expect(await terminalCount(ids.one)).toBe(1);
  });

  it('10 cancel and 10 fail processes racing on one execution: one terminal event, of the winner', async () => {
    const actions = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'fail' : 'cancel'));
    const results = await Promise.all(actions.map((a) => cli([a, ids.mixed, '--json'])));
    const winners = results.map((r, i) => [r, actions[i]] as const).filter(([r]) => r.code === 0);
    expect(winners, results.map(show).join('\n---\n')).toHaveLength(1);
    expect(results.filter((r) => r.code === 3)).toHaveLength(19);
    const events = closesOf(await d.events(ids.mixed));
    expect(events).toHaveLength(1);
    expect(events[0]!.event_type).toBe(winners[0]![1] === 'cancel' ? 'execution.cancelled' : 'playbook.failed');
  });

  it('concurrent cascades over one tree: every running node once, the finished child never', async () => {
    const runs = [...Array.from({ length: 8 }, () => ['cancel', ids.root, '--cascade']), ...Array.from({ length: 4 }, () => ['fail', ids.child, '--cascade'])];
    const results = await Promise.all(runs.map((args) => cli([...args, '--json'])));
    for (const r of results) expect([0, 3], show(r)).toContain(r.code);
    for (const id of [ids.root, ids.child, ids.grandchild]) expect(await terminalCount(id), id).toBe(1);
    expect(await terminalCount(ids.childDone)).toBe(1); // its own completion only
    expect((await d.events(ids.childDone)).at(-1)!.event_type).toBe('playbook.completed');
  });

  it('waits for another console that holds the lock, then re-checks: already finished, nothing written (application_name set)', async () => {
    const admin = await holdLock(ids.waiter);
    let pending: Promise<CliResult> | null = null;
    try {
      pending = cli(['cancel', ids.waiter, '--json']);
      await waitingConsole(admin, ids.waiter);
      // While the console waits, the holder finishes the execution and commits.
      await admin.query(
        `INSERT INTO "${d.schema}".event (execution_id, event_id, catalog_id, created_at, event_type, node_id, node_name, status)
         SELECT execution_id, max(event_id) + 1, min(catalog_id), now() AT TIME ZONE 'UTC', 'playbook.completed', 'playbook', 'playbook', 'COMPLETED'
         FROM "${d.schema}".event WHERE execution_id = $1::bigint GROUP BY execution_id`,
        [ids.waiter],
      );
      await admin.query('COMMIT');
      const r = await pending;
      expect(r.code, show(r)).toBe(3);
      expect(jsonOf(r).results[0]).toMatchObject({ execution_id: ids.waiter, outcome: 'already_terminal', state: 'completed' });
      expect(await terminalCount(ids.waiter)).toBe(1);
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
      await admin.end();
      await pending?.catch(() => undefined);
    }
  });

  it('a lock held past --statement-timeout: exit 1 with one line, nothing written', async () => {
    const admin = await holdLock(ids.timeout);
    try {
      const r = await cli(['cancel', ids.timeout, '--statement-timeout', '1', '--json']);
      expect(r.code, show(r)).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^noetl-console: statement timed out on .*--statement-timeout/);
    } finally {
      await admin.query('ROLLBACK');
      await admin.end();
    }
    expect(await terminalCount(ids.timeout)).toBe(0);
  });

  it('a session terminated mid-command: exit 1 with one line, nothing written', async () => {
    const admin = await holdLock(ids.killed);
    let pending: Promise<CliResult> | null = null;
    try {
      pending = cli(['cancel', ids.killed]);
      const pid = await waitingConsole(admin, ids.killed);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const r = await pending;
      expect(r.code, show(r)).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^noetl-console: (the server closed the session|lost the connection) /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
      await admin.end();
      await pending?.catch(() => undefined);
    }
    expect(await terminalCount(ids.killed)).toBe(0);
  });
});

describePostgres('session settings on PostgreSQL', () => {
  async function sessionSettings(databaseUrl: string) {
    const options = resolveConnection({ databaseUrl, schema: 'noetl', readOnly: true, statementTimeout: '7' }, {});
    const db = await openDatabase(options);
    try {
      const { rows } = await db.query<{ app: string; ro: string; timeout: string; lock: string; idle: string }>(
        `SELECT current_setting('application_name') AS app, current_setting('transaction_read_only') AS ro,
                current_setting('statement_timeout') AS timeout, current_setting('lock_timeout') AS lock,
                current_setting('idle_in_transaction_session_timeout') AS idle`,
      );
      return rows[0];
    } finally {
      await db.close();
    }
  }

  it('every transaction is named noetl-console, has the timeouts and, with --read-only, is read-only', async () => {
    expect(await sessionSettings(POSTGRES_URL)).toEqual({ app: 'noetl-console', ro: 'on', timeout: '7s', lock: '7s', idle: '7s' });
  });

  // node-postgres would send a URL's own statement_timeout or options as start-up settings against
  // the console's: refused before anything connects; other options pass; its name is the console's.
  it("refuses a URL or PGOPTIONS that sets a timeout or read-only; passes other options; keeps its name over the URL's", async () => {
    for (const [key, value] of [
      ['statement_timeout', '0'],
      ['lock_timeout', '0'],
      ['idle_in_transaction_session_timeout', '0'],
      ['options', '-c statement_timeout=0'],
      ['options', '--default-transaction-read-only=off'],
      ['options', '-cdefault_transaction_isolation=serializable'],
    ]) {
      const url = new URL(POSTGRES_URL);
      url.searchParams.set(key!, value!);
      expect(() => resolveConnection({ databaseUrl: url.toString(), readOnly: true }, {}), `${key}=${value}`).toThrow(
        / is refused: the console sets read-only and the timeouts itself/,
      );
    }
    expect(() => resolveConnection({}, { PGOPTIONS: '-c statement_timeout=0' })).toThrow(/PGOPTIONS: the setting "statement_timeout" is refused/);
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('application_name', 'something-else');
    url.searchParams.set('options', '-c search_path=public');
    expect(await sessionSettings(url.toString())).toEqual({ app: 'noetl-console', ro: 'on', timeout: '7s', lock: '7s', idle: '7s' });
  });
});
