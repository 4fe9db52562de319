/**
 * Promise 3, server restart. A real `pg_ctl restart -m fast` while consoles
 * are in the middle of their work, on a private PostgreSQL server started
 * for this file (test/helpers/reliability-cluster.ts): restarting the shared
 * server would break the test files running in parallel, and a private
 * server makes the restart real rather than simulated.
 *
 * While the server restarts, a cancel --cascade waits inside its INSERT
 * (its foreign-key check queues behind a table lock), a fail waits for an
 * execution lock, and list and show wait to read. All exit 1 with one line,
 * nothing is written; a console started while the server is down exits 1
 * (connection refused); after the restart the same commands work.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { Scenario } from '../fixtures/scenario.js';
import { noetlSchemaSql } from '../fixtures/noetl-schema.js';
import { startPrivateCluster, type PrivateCluster } from '../helpers/reliability-cluster.js';
import { backendPid, consoleEvents, startCli, stderrProblems, waitForBlocked, type CliResult } from '../helpers/reliability.js';
import { eventually } from '../helpers/eventually.js';
import { describePostgres } from '../helpers/db.js';

let cluster: PrivateCluster;
const ids: Record<string, string> = {};

async function admin(): Promise<pg.Client> {
  const c = new pg.Client({ ...cluster.adminConfig(), application_name: 'noetl-console-reliability' });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** The console's closes (one per execution it changed). */
async function consoleEventCount(): Promise<number> {
  const c = await admin();
  try {
    return (await consoleEvents(c, 'noetl')).length;
  } finally {
    await c.end();
  }
}

function expectFailure(r: CliResult, message: RegExp, what: string): void {
  expect({ what, code: r.code, stdout: r.stdout, problems: stderrProblems(r) }).toEqual({ what, code: 1, stdout: '', problems: [] });
  expect(r.stderr, what).toMatch(message);
}

beforeAll(async () => {
  cluster = await startPrivateCluster();
  const c = await admin();
  try {
    await c.query(noetlSchemaSql('noetl'));
    const s = new Scenario();
    for (const name of ['A', 'B', 'C']) {
      const root = s.execution({ path: `restart/${name}`, startedMinutesAgo: 90 });
      root.issued('extract', 80);
      ids[name] = root.id;
      ids[`${name}c`] = s.execution({ path: 'restart/child', startedMinutesAgo: 85, parent: root }).issued('work', 70).id;
    }
    await s.apply(c, 'noetl');
  } finally {
    await c.end();
  }
}, 120_000);

afterAll(() => {
  cluster?.destroy();
});

describePostgres('server restart (private server)', () => {
  it('consoles in the middle of a write or a read exit 1 with one line and write nothing; after the restart they work', async () => {
    const env = { NOETL_DATABASE_URL: cluster.url() };
    const holder = await admin();
    const holderPid = await backendPid(holder);
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [ids.B]);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE noetl.catalog IN ACCESS EXCLUSIVE MODE');

    const commands = [
      ['cancel', ids.A!, ids.C!, '--cascade', '--json'], // waits in its INSERT (foreign-key check on catalog)
      ['fail', ids.B!, '--cascade'], // waits for the execution lock
      ['list', '--older-than', '0'], // waits to read (joins catalog)
      ['show', ids.A!], // waits to read
    ];
    const runs = commands.map((args) => startCli(args, { env, timeoutMs: 60_000 }));
    // Polled from another session: pg_stat_activity is a snapshot inside the holder's transaction.
    const watcher = await admin();
    // list reads the learned thresholds beside its listing: two sessions of its own.
    const blocked = await waitForBlocked(watcher, holderPid, commands.length + 1, 'cancel, fail, list (listing and thresholds), show');
    const { rows } = await watcher.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE pid = ANY($1::int[])', [blocked]);
    // The close statement, known by its fallback ids (pg_stat_activity keeps only the first 1 kB).
    expect(rows.some((r) => /fallback1/.test(r.query))).toBe(true);
    await watcher.end();

    cluster.restart();
    const results = await Promise.all(runs.map((r) => r.done));
    results.forEach((r, i) => expectFailure(r, /closed the session|lost the connection|terminat/i, commands[i]!.join(' ')));
    expect(await consoleEventCount()).toBe(0);
    await holder.end().catch(() => undefined);
    console.log(`restart: messages:\n  ${[...new Set(results.map((r) => r.stderr.trim()))].join('\n  ')}`);

    // While the server is down: connection refused, exit 1.
    cluster.stop();
    try {
      for (const args of [['list'], ['cancel', ids.A!]]) {
        expectFailure(await startCli(args, { env }).done, /cannot connect|connection refused/, `${args[0]} while the server is down`);
      }
    } finally {
      cluster.start();
    }

    // Recovered: the same commands work, each execution changed once.
    const again = await startCli(commands[0]!, { env }).done;
    expect(again.code).toBe(0);
    const j = JSON.parse(again.stdout) as { changed_count: number };
    expect(j.changed_count).toBe(4);
    const fail = await startCli(commands[1]!, { env }).done;
    expect(fail.code).toBe(0);
    await eventually('six console events', async () => (await consoleEventCount()) === 6);
    const list = await startCli(['list', '--older-than', '0', '--json'], { env }).done;
    expect(JSON.parse(list.stdout)).toMatchObject({ count: 0 });
    console.log(`restart: ${commands.length} consoles cut by a server restart, 2 refused while it was down; afterwards 6 executions changed once`);
  }, 120_000);
});
