/**
 * Issue 13, bounded everything: the console behind a fault-injecting TCP
 * proxy (test/helpers/fault-proxy.ts) on the real server. A link that stops
 * relaying without closing, a COMMIT whose answer never comes, a link that
 * stalls for good right after the COMMIT, a slow link. Every command ends on
 * its own (killAfterMs is only a safety net: a kill fails the test), says
 * what happened in one line, and leaves no lock held: a second console on a
 * direct connection always proceeds. (The console and metrics --listen are in
 * dead-link-console.test.ts.)
 *
 * With --statement-timeout 1 the deadline is 3 s and an idle transaction on
 * the server ends after 2 s (src/db/session.ts).
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import { Scenario } from '../fixtures/scenario.js';
import { POSTGRES_SKIP_REASON, createTestDatabase, describePostgres, type TestDatabase } from '../helpers/db.js';
import { FaultProxy, writeCommit, type RuleAction } from '../helpers/fault-proxy.js';
import { connect, consoleEvents, startCli, stderrProblems, uniqueIdBase, type CliResult } from '../helpers/reliability.js';

let t: TestDatabase;
let admin: pg.Client;
let proxy: FaultProxy;
const ids: Record<string, string> = {};
const FAST = ['--statement-timeout', '1'];
/** A safety net far above any deadline here: a command killed by it failed to end on its own. */
const KILL_AFTER = 60_000;

beforeAll(async () => {
  if (POSTGRES_SKIP_REASON) return;
  t = await createTestDatabase('postgres');
  const s = new Scenario(uniqueIdBase());
  for (const name of ['read', 'stall', 'commit', 'reset', 'unknown', 'slow']) {
    const root = s.execution({ path: `dead-link/${name}`, startedMinutesAgo: 120 });
    root.issued('extract', 100);
    ids[name] = root.id;
    ids[`${name}Child`] = s.execution({ path: `dead-link/${name}-child`, startedMinutesAgo: 110, parent: root }).claimed('work', 90, 'worker-gone').id;
  }
  await s.apply(t.db, t.schema);
  admin = await connect();
});

afterAll(async () => {
  if (POSTGRES_SKIP_REASON) return;
  await proxy?.close();
  await admin?.end().catch(() => undefined);
  await t?.close();
});

afterEach(async () => {
  await proxy?.close();
});

async function startProxy(rule?: (chunk: string, before: string) => RuleAction): Promise<Record<string, string>> {
  proxy = await FaultProxy.start();
  if (rule) proxy.rule = rule;
  return { NOETL_DATABASE_URL: proxy.url(t.url), NOETL_SCHEMA: t.schema };
}

const direct = () => ({ NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema });

function expectOneLineFailure(r: CliResult, message: RegExp, what: string): void {
  expect({ what, code: r.code, signal: r.signal, problems: stderrProblems(r) }).toEqual({ what, code: 1, signal: null, problems: [] });
  expect(r.stderr, what).toMatch(message);
}

async function eventsFor(id: string) {
  return (await consoleEvents(admin, t.schema)).filter((e) => e.execution_id === id);
}

describePostgres('a link that stops relaying without closing', () => {
  it('list, show, health and cleanup --dry-run end at the deadline with one line, exit 1', async () => {
    // The session's first transaction goes out; nothing comes back, nothing more goes.
    const env = await startProxy((chunk) => (chunk.includes('BEGIN ISOLATION') ? 'forward-then-stall' : 'forward'));
    const commands = [
      ['list', '--older-than', '0', ...FAST],
      ['show', ids.read!, ...FAST],
      ['health', '--json', ...FAST],
      ['cleanup', '--older-than', '10', '--dry-run', ...FAST],
      ['cancel', ids.read!, '--dry-run', ...FAST],
    ];
    const results = await Promise.all(commands.map((args) => startCli(args, { env, timeoutMs: KILL_AFTER }).done));
    results.forEach((r, i) => expectOneLineFailure(r, /no answer from 127\.0\.0\.1:\d+\/test within 3 s .*the connection was dropped/, commands[i]!.join(' ')));
    expect(await consoleEvents(admin, t.schema)).toEqual([]);
  });

  it('cancel --cascade stalled inside its write: exit 1, nothing written; a second console proceeds at once the server ends the idle transaction', async () => {
    const env = await startProxy((chunk) => (chunk.includes('INSERT INTO') ? 'forward-then-stall' : 'forward'));
    const r = await startCli(['cancel', ids.stall!, '--cascade', '--reason', 'stalled', ...FAST], { env, timeoutMs: KILL_AFTER }).done;
    expectOneLineFailure(r, /no answer from .* within 3 s/, 'cancel stalled in its INSERT');
    expect(r.stderr).toMatch(/no COMMIT was sent: nothing was written/);
    // The stalled session held the executions' locks; the server ends it, so another console gets them.
    const second = await startCli(['cancel', ids.stall!, '--cascade', '--json', '--reason', 'second'], { env: direct(), timeoutMs: KILL_AFTER }).done;
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).changed_count).toBe(2);
    for (const id of [ids.stall!, ids.stallChild!]) expect((await eventsFor(id)).map((e) => e.meta.reason)).toEqual(['second']);
  });
});

describePostgres('a COMMIT whose answer never comes', () => {
  it('the answer is lost (the link stalls after the COMMIT): re-read on a new connection, reported committed, exit 0', async () => {
    const env = await startProxy(writeCommit);
    const r = await startCli(['cancel', ids.commit!, '--cascade', '--json', '--reason', 'lost answer', ...FAST], { env, timeoutMs: KILL_AFTER }).done;
    expect(r.stderr).toMatch(/^noetl-console: the answer to the COMMIT on 127\.0\.0\.1:\d+\/test was lost; re-read on a new connection: committed\n$/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { changed_count: number; execution_ids: string[] };
    expect(report.execution_ids.sort()).toEqual([ids.commit!, ids.commitChild!].sort());
    for (const id of [ids.commit!, ids.commitChild!]) expect(await eventsFor(id)).toHaveLength(1);
  });

  it('the connection is reset right after the COMMIT: the same, committed once', async () => {
    const env = await startProxy((chunk, before) => (writeCommit(chunk, before) === 'forward' ? 'forward' : 'forward-then-reset'));
    const r = await startCli(['fail', ids.reset!, '--json', '--reason', 'reset', ...FAST], { env, timeoutMs: KILL_AFTER }).done;
    expect(r.stderr).toMatch(/re-read on a new connection: committed/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).execution_ids).toEqual([ids.reset]);
    expect(await eventsFor(ids.reset!)).toHaveLength(1);
  });

  it('every connection stalls right after the COMMIT: "unknown", exit 1; a re-run finds it done and writes nothing twice', async () => {
    const env = await startProxy((chunk, before) => (writeCommit(chunk, before) === 'forward' ? 'forward' : 'forward-then-stall-all'));
    const r = await startCli(['cancel', ids.unknown!, '--cascade', '--reason', 'unknown', ...FAST], { env, timeoutMs: KILL_AFTER }).done;
    expectOneLineFailure(r, /^noetl-console: unknown: the COMMIT on .* was not answered and its outcome could not be re-read/, 'cancel, then the link dies');
    expect(r.stdout).toBe('');
    proxy.heal();
    const again = await startCli(['cancel', ids.unknown!, '--cascade', '--json', '--reason', 'again', ...FAST], { env, timeoutMs: KILL_AFTER }).done;
    expect(again.stderr).toBe('');
    // The first one did commit (the server had the COMMIT): the re-run says so and writes nothing.
    expect(again.code).toBe(3);
    expect(JSON.parse(again.stdout).results[0]).toMatchObject({ execution_id: ids.unknown, outcome: 'already_terminal', state: 'cancelled' });
    for (const id of [ids.unknown!, ids.unknownChild!]) expect((await eventsFor(id)).map((e) => e.meta.reason)).toEqual(['unknown']);
  });
});

describePostgres('a slow link', () => {
  it('list, show and cancel work, every chunk 20 ms late each way', async () => {
    const env = await startProxy();
    proxy.delayMs = 20;
    const list = await startCli(['list', '--older-than', '0', '--json'], { env, timeoutMs: KILL_AFTER }).done;
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { executions: { execution_id: string }[] }).executions.map((e) => e.execution_id)).toContain(ids.slow);
    const show = await startCli(['show', ids.slow!, '--json'], { env, timeoutMs: KILL_AFTER }).done;
    expect(show.code).toBe(0);
    const cancel = await startCli(['cancel', ids.slow!, '--cascade', '--json'], { env, timeoutMs: KILL_AFTER }).done;
    expect(cancel.stderr).toBe('');
    expect(cancel.code).toBe(0);
    expect(JSON.parse(cancel.stdout).changed_count).toBe(2);
  });
});
