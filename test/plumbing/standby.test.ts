/**
 * Issue 13: the console on a hot standby (a second server started here with
 * pg_basebackup -R from the test server, stopped after). Reads work; every
 * write says "this server is a read-only replica" in one line, exit 1,
 * nothing written; the console's header says "replica (read-only)".
 *
 * Without the server binaries the suite is skipped with the reason in its
 * name, except under CI=true, where that is a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { POSTGRES_SKIP_REASON, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { connect, consoleEvents, startCli, stderrProblems, uniqueIdBase } from '../helpers/reliability.js';
import { caughtUp, standbyMissing, startStandby, type Standby } from '../helpers/standby.js';
import { TmuxSession, ensureBuilt } from '../tmux/tmux.js';

const missing = POSTGRES_SKIP_REASON ?? standbyMissing();

if (missing && !POSTGRES_SKIP_REASON && process.env.CI === 'true') {
  describe('on a hot standby', () => {
    it('needs the PostgreSQL server binaries under CI', () => {
      throw new Error(`${missing}: the standby tests cannot run, and under CI=true that fails the run`);
    });
  });
}

describe.skipIf(missing !== null)(`on a hot standby${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let t: TestDatabase;
  let standby: Standby;
  const ids: Record<string, string> = {};
  let env: Record<string, string>;
  const tmux = new TmuxSession();

  beforeAll(async () => {
    ensureBuilt();
    t = await createTestDatabase('postgres');
    const s = new Scenario(uniqueIdBase());
    const root = s.execution({ path: 'standby/root', startedMinutesAgo: 120 });
    root.issued('extract', 100);
    ids.root = root.id;
    ids.child = s.execution({ path: 'standby/child', startedMinutesAgo: 100, parent: root }).id;
    await s.apply(t.db, t.schema);
    standby = await startStandby();
    await caughtUp(standby);
    env = { NOETL_DATABASE_URL: standby.url(), NOETL_SCHEMA: t.schema };
  }, 300_000);

  afterAll(async () => {
    tmux.kill();
    await standby?.stop();
    await t?.close();
  });

  it('reads work: list and show', async () => {
    const list = await startCli(['list', '--older-than', '0', '--json'], { env, timeoutMs: 60_000 }).done;
    expect(list.stderr).toBe('');
    expect((JSON.parse(list.stdout) as { executions: { execution_id: string }[] }).executions.map((e) => e.execution_id)).toContain(ids.root);
    const show = await startCli(['show', ids.root!, '--json'], { env, timeoutMs: 60_000 }).done;
    expect(show.code).toBe(0);
  });

  it('cancel, fail and cleanup say "this server is a read-only replica", exit 1, nothing written', async () => {
    for (const args of [
      ['cancel', ids.root!, '--cascade'],
      ['fail', ids.child!, '--json'],
      ['cleanup', '--older-than', '10'],
    ]) {
      const r = await startCli(args, { env, timeoutMs: 60_000 }).done;
      expect({ args, code: r.code, stdout: r.stdout, problems: stderrProblems(r) }).toEqual({ args, code: 1, stdout: '', problems: [] });
      expect(r.stderr).toMatch(/^noetl-console: this server is a read-only replica \(127\.0\.0\.1:\d+\/test\): writes go to the primary\n$/);
    }
    // A dry run only reads: it works.
    const dry = await startCli(['cancel', ids.root!, '--dry-run', '--json'], { env, timeoutMs: 60_000 }).done;
    expect(dry.code).toBe(0);
    const admin = await connect();
    try {
      expect(await consoleEvents(admin, t.schema)).toEqual([]);
    } finally {
      await admin.end();
    }
  });

  it('the console\'s header says "replica (read-only)"', async () => {
    tmux.start(['--database-url', standby.url(), '--schema', t.schema, '--older-than', '0', '--refresh', '1']);
    const screen = await tmux.waitFor((s) => s.includes('replica (read-only)') && s.includes('standby/root'), 'the header and the list');
    expect(screen).not.toContain('read-write');
    tmux.keys('q');
    await tmux.waitFor(() => !tmux.alive(), 'the console to quit');
  });
});
