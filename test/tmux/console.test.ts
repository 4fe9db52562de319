import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { noetlSchemaSql } from '../fixtures/noetl-schema.js';
import { POSTGRES_URL, adminClient, createTestDatabase, describePostgres, eventsOf, type TestDatabase } from '../helpers/db.js';
import { openPostgres } from '../../src/db/postgres.js';
import { seedIncident, seedList } from '../ui/seed.js';
import { closesOf } from '../helpers/closes.js';
import { TmuxSession, ensureBuilt } from './tmux.js';

const sessions: TmuxSession[] = [];
const session = () => {
  const s = new TmuxSession();
  sessions.push(s);
  return s;
};
const tail = (id: string) => id.slice(-6);
const cursorLine = (screen: string) => screen.split('\n').find((l) => l.startsWith('>'));

beforeAll(() => ensureBuilt());
afterAll(() => {
  for (const s of sessions) s.kill();
});

describePostgres('the console in tmux at 80x24 on PostgreSQL', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    // The incident tests seed schemas of their own beside the file's.
    for (const extra of ['_inc', '_stray']) await t?.db.query(`DROP SCHEMA IF EXISTS "${t.schema}${extra}" CASCADE`).catch(() => undefined);
    await t?.close();
  });

  it('filters by age, marks two, cancels them with cascade, and writes the events', async () => {
    const ids = await seedList(t.db, t.schema);
    const tm = session();
    tm.start(['--database-url', POSTGRES_URL, '--schema', t.schema, '--refresh', '1']);
    let screen = await tm.waitForText(tail(ids.delta));
    const u = new URL(POSTGRES_URL);
    const label = `${u.hostname}${u.port ? `:${u.port}` : ''}/${u.pathname.slice(1)}`.replace(/[.]/g, '\\.');
    expect(screen).toMatch(new RegExp(`read-write  live 1s \\d\\d:\\d\\d:\\d\\d  ${label}  schema nc_`));
    expect(screen.split('\n').every((l) => [...l].length <= 80)).toBe(true);

    tm.keys('3');
    screen = await tm.waitFor((s) => s.includes('age≥1h00m') && !s.includes(tail(ids.charlie)), 'age filter 1h');
    for (const id of [ids.hotel, ids.golf, ids.alpha, ids.bravo, ids.parent]) expect(screen).toContain(tail(id));
    expect(screen).toContain('shown 5');

    tm.keys('j', 'j', 'Space', 'j', 'Space');
    await tm.waitForText('marked 2');
    tm.keys('c');
    screen = await tm.waitForText('will change:');
    expect(screen).toContain('Cancel 2 + 1 running child = 3');
    expect(screen).toMatch(/etl\/alpha\s+2h00m\s+will cancel/);
    expect(screen).toMatch(/etl\/parent\s+1h10m\s+will cancel/);
    expect(screen).toMatch(/└ …\d+ etl\/child\s+1h05m\s+will cancel/);
    expect(screen).toContain('> Reason:');
    tm.keys('Enter', 'Enter');
    screen = await tm.waitForText('Cancel done');
    expect(screen).toContain('3 cancelled, 1 already finished');

    for (const id of [ids.alpha, ids.parent, ids.child]) {
      const cancels = (await eventsOf(t.db, t.schema, id)).filter((e) => e.event_type === 'execution.cancelled');
      expect(cancels).toHaveLength(1);
      expect(cancels[0]!.meta).toMatchObject({ cancelled_by: 'noetl-console', cascade: true, reason: expect.stringContaining('stuck') });
    }
    for (const id of [ids.childDone, ids.bravo, ids.hotel]) {
      expect((await eventsOf(t.db, t.schema, id)).some((e) => e.event_type === 'execution.cancelled')).toBe(false);
    }

    tm.keys('Escape');
    // alpha leaves the list; parent had the cursor, so it stays in place, shown as finished.
    screen = await tm.waitFor((s) => s.includes('? help') && !s.includes(tail(ids.alpha)), 'the list without alpha');
    expect(cursorLine(screen)).toMatch(new RegExp(`${tail(ids.parent)} etl/parent .*gone: cancelled`));
    expect(screen).toContain('shown 3');
    tm.keys('q');
    await tm.waitFor(() => !tm.alive(), 'the console to quit');
  });

  /** Every close the console wrote in the schema: execution id → reason. */
  const consoleCloses = async (schema: string) => {
    const { rows } = await t.db.query<{ execution_id: string }>(`SELECT DISTINCT execution_id::text FROM "${schema}".event`);
    const out = new Map<string, string>();
    for (const { execution_id } of rows) {
      const closes = closesOf(await eventsOf(t.db, schema, execution_id)).filter((e) => e.meta?.emitted_by === 'noetl-console');
      if (closes.length) out.set(execution_id, String(closes.at(-1)!.meta?.reason));
    }
    return out;
  };
  const REASON = 'INC-7 worker pool died';

  it('replays the incident: / nightly_batch Enter a c <reason> Enter 60 Enter closes exactly the 60', async () => {
    const schema = `${t.schema}_inc`;
    await t.db.query(noetlSchemaSql(schema));
    const inc = await seedIncident(t.db, schema);
    const tm = session();
    tm.start(['--database-url', POSTGRES_URL, '--schema', schema, '--refresh', '1']);
    await tm.waitForText('shown 33');
    // The 8 keys, besides the filter and the reason text.
    tm.keys('/');
    tm.type('nightly_batch');
    tm.keys('Enter', 'a', 'c');
    let screen = await tm.waitForText('Cancel 30 + 30 running children = 60');
    expect(screen).toContain('> Reason:');
    expect(screen.split('\n').every((l) => [...l].length <= 80)).toBe(true);
    tm.type(REASON);
    tm.keys('Enter', '6', '0', 'Enter');
    screen = await tm.waitForText('Cancel done');
    expect(screen).toContain('60 cancelled');
    const closed = await consoleCloses(schema);
    expect([...closed.keys()].sort()).toEqual([...inc.parents, ...inc.children].sort());
    expect(new Set(closed.values())).toEqual(new Set([REASON]));
    tm.keys('Escape');
    await tm.waitFor((s) => s.includes('? help') && /shown 0 · marked 0 · stuck 3 /.test(s), 'the list again');
    tm.keys('q');
    await tm.waitFor(() => !tm.alive(), 'the console to quit');
  });

  it('a stray mark made before the filter shows the warning line, first', async () => {
    const schema = `${t.schema}_stray`;
    await t.db.query(noetlSchemaSql(schema));
    const inc = await seedIncident(t.db, schema);
    const tm = session();
    tm.start(['--database-url', POSTGRES_URL, '--schema', schema, '--refresh', '1']);
    let screen = await tm.waitForText('shown 33');
    const stray = inc.others.find((id) => cursorLine(screen)?.includes(tail(id)))!;
    expect(stray).toBeDefined();
    tm.keys('Space', '/');
    tm.type('nightly_batch');
    tm.keys('Enter', 'a', 'c');
    screen = await tm.waitForText('Cancel 31 + 30 running children = 61');
    const lines = screen.split('\n');
    const warning = lines.findIndex((l) => l.includes('1 marked outside the filter: '));
    expect(warning).toBeGreaterThan(0);
    expect(lines[warning]).toContain(tail(stray));
    expect(lines[warning + 1]).toContain(tail(stray));
    tm.keys('Escape');
    await tm.waitForText('nothing written');
    expect((await consoleCloses(schema)).size).toBe(0);
    // y puts the full id on the clipboard with OSC 52; tmux keeps it as a paste buffer.
    tm.clipboardOn();
    tm.keys('y');
    const copied = await tm.waitForText(/copied \d+/);
    const id = /copied (\d+)/.exec(copied)![1]!;
    expect(cursorLine(copied)).toContain(tail(id));
    await tm.waitFor(() => tm.pasteBuffer() === id, 'the id in the tmux buffer');
    tm.keys('q');
    await tm.waitFor(() => !tm.alive(), 'the console to quit');
  });

  it('shows only ASCII under LANG=C, and Ctrl-C exits 130', async () => {
    await seedList(t.db, t.schema).catch(() => undefined);
    const tm = session();
    tm.startInShell(['--database-url', POSTGRES_URL, '--schema', t.schema, '--refresh', '1'], 80, 24, { LANG: 'C', LC_ALL: '' });
    const screen = await tm.waitForText('? help');
    await tm.waitForText('stuck');
    expect(tm.screen()).toMatch(/age>=5m \| idle any/);
    expect(tm.screen()).not.toMatch(/[^\x00-\x7f]/);
    void screen;
    tm.keys('C-c');
    await tm.waitForText('EXITED 130');
  });

  it('shows the banner when its connection is killed and the server refuses it, then recovers', async () => {
    const dbName = `nc_e2e_${randomBytes(4).toString('hex')}`;
    const admin = await adminClient();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = POSTGRES_URL.replace(/\/[^/]*$/, `/${dbName}`);
    const own = openPostgres({
      target: { kind: 'postgres', connectionString: url, label: dbName },
      schema: 'noetl',
      readOnly: false,
      statementTimeoutMs: 15_000,
      connectTimeoutMs: 10_000,
    });
    try {
      await own.query(noetlSchemaSql('noetl'));
      const ids = await seedList(own, 'noetl');
      await own.close();
      const kill = async () =>
        (
          await admin.query<{ pid: number }>(
            // MATERIALIZED: the filter must run before pg_terminate_backend, never after.
            `WITH console AS MATERIALIZED (
               SELECT pid FROM pg_stat_activity WHERE application_name = 'noetl-console' AND datname = $1)
             SELECT pid FROM console WHERE pg_terminate_backend(pid)`,
            [dbName],
          )
        ).rowCount ?? 0;

      const tm = session();
      tm.start(['--database-url', url, '--refresh', '0.5']);
      await tm.waitForText(tail(ids.delta));
      tm.keys('j', 'j');
      await tm.waitFor((s) => cursorLine(s)?.includes(tail(ids.alpha)) ?? false, 'cursor on alpha');

      // A plain kill: the pool reconnects on the next refresh.
      expect(await kill()).toBeGreaterThan(0);
      await tm.waitFor(() => true, 'a moment');
      const stamp = (s: string) => /live 0\.5s (\d\d:\d\d:\d\d)/.exec(s)?.[1];
      const before = stamp(tm.screen());
      await tm.waitFor((s) => stamp(s) !== undefined && stamp(s) !== before, 'a refresh after the kill', 10_000);

      // Killed and refused: the banner, with the last data kept.
      await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
      await kill();
      let screen = await tm.waitForText(/disconnected, retrying in \d+s, data as of \d\d:\d\d:\d\d/);
      expect(screen).toContain(tail(ids.hotel));
      expect(cursorLine(screen)).toContain(tail(ids.alpha));
      tm.keys('c');
      await tm.waitForText('disconnected: cannot cancel');

      await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
      tm.keys('j');
      screen = await tm.waitFor((s) => !s.includes('disconnected') && s.includes(tail(ids.hotel)), 'recovery', 30_000);
      expect(cursorLine(screen)).toContain(tail(ids.bravo));
      expect(screen).not.toMatch(/Error|at .*\.js:\d+/);
      expect(tm.alive()).toBe(true);
      tm.keys('q');
      await tm.waitFor(() => !tm.alive(), 'the console to quit');
    } finally {
      await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`).catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    }
  });
});
void pg;
