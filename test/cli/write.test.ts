/**
 * cancel, fail and cleanup end to end: the built bin as a spawned process,
 * its exit code and output, and the rows it left in the database, on PGlite
 * (an on-disk directory) and on the machine's PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentActor } from '../../src/audit.js';
import { resolveConnection } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';
import { describeDatabaseError } from '../../src/errors.js';
import { markExecutions } from '../../src/noetl/mark.js';
import { NoetlStore } from '../../src/noetl/store.js';
import { Scenario } from '../fixtures/scenario.js';
import { backends } from '../helpers/db.js';
import { ANSI, PACKAGE_VERSION, createCliDatabase, jsonOf, runCli, show, withSessionTimeZone, type CliDatabase, type CliResult, type EventRow } from '../helpers/cli.js';

const BIG_ID = '9007199254740993123'; // above 2^53

type IdName =
  'a' | 'b' | 'big' | 'p' | 'c1' | 'c2' | 'g' | 'done' | 'straggler' | 's1' | 's2' | 'dry' | 'ro' | 'cActive' | 'cOld1' | 'cOld2' | 'cYoung' | 'cp' | 'cpChild' | 'cpDone';
function oneLineError(r: CliResult, code: number, pattern: RegExp) {
  expect(r.code, show(r)).toBe(code);
  expect(r.stdout, show(r)).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, show(r)).toHaveLength(1);
  expect(lines[0]).toMatch(/^noetl-console: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe.each(backends())('cancel, fail, cleanup through the bin on %s', (backend) => {
  let d: CliDatabase;
  const ids = {} as Record<IdName, string>;
  const cli = (args: string[], opts: { env?: Record<string, string | undefined>; input?: string } = {}) => runCli([...args, ...d.args], opts);

  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      const s = new Scenario(430000000000000000n);
      s.worker('worker-live', 2);
      ids.a = s.execution({ path: 'etl/a', startedMinutesAgo: 120 }).claimed('load', 100, 'worker-live').id;
      ids.b = s.execution({ path: 'etl/b', dialect: 'rust', startedMinutesAgo: 100 }).issued('transform', 95).id;
      ids.big = s.execution({ path: 'etl/big', startedMinutesAgo: 90, id: BIG_ID }).step('one', 85).id;
      const p = s.execution({ path: 'etl/tree', startedMinutesAgo: 80 }).step('spawn', 78);
      const c1 = s.execution({ path: 'etl/tree/child', dialect: 'rust', startedMinutesAgo: 75, parent: p }).step('spawn', 74);
      ids.p = p.id;
      ids.c1 = c1.id;
      ids.c2 = s.execution({ path: 'etl/tree/child', startedMinutesAgo: 75, parent: p }).finish('completed', 60, 'completed').id;
      ids.g = s.execution({ path: 'etl/tree/grandchild', startedMinutesAgo: 70, parent: c1 }).issued('work', 69).id;
      ids.done = s.execution({ path: 'etl/done', startedMinutesAgo: 200 }).finish('completed', 190, 'completed').id;
      const straggler = s.execution({ path: 'etl/straggler', dialect: 'rust', startedMinutesAgo: 300 }).finish('cancelled', 250, 'cancelled');
      straggler.event('command_completed', 240 * 60, { node: 'late', status: 'completed', worker: 'worker-live' });
      ids.straggler = straggler.id;
      ids.s1 = s.execution({ path: 'etl/stdin', startedMinutesAgo: 50 }).id;
      ids.s2 = s.execution({ path: 'etl/stdin', dialect: 'rust', startedMinutesAgo: 50 }).id;
      ids.dry = s.execution({ path: 'etl/dry', startedMinutesAgo: 110 }).issued('x', 100).id;
      ids.ro = s.execution({ path: 'etl/read-only', startedMinutesAgo: 100 }).issued('x', 90).id;
      // For cleanup, selected with --path 'cleanup/*'.
      ids.cActive = s.execution({ path: 'cleanup/active', startedMinutesAgo: 300 }).claimed('busy', 1, 'worker-live').id;
      ids.cOld1 = s.execution({ path: 'cleanup/old', startedMinutesAgo: 200 }).issued('x', 190).id;
      ids.cOld2 = s.execution({ path: 'cleanup/old', dialect: 'rust', startedMinutesAgo: 180 }).issued('x', 170).id;
      ids.cYoung = s.execution({ path: 'cleanup/young', startedMinutesAgo: 3 }).id;
      // For cleanup --cascade, selected with --path 'sweep/*'.
      const cp = s.execution({ path: 'sweep/parent', dialect: 'rust', startedMinutesAgo: 150 }).step('fan-out', 145);
      ids.cp = cp.id;
      ids.cpChild = s.execution({ path: 'sweep/child', startedMinutesAgo: 145, parent: cp }).issued('x', 140).id;
      ids.cpDone = s.execution({ path: 'sweep/child', startedMinutesAgo: 145, parent: cp }).finish('failed', 100).id;
      await s.apply(db, schema);
    });
  });
  afterAll(async () => d?.close());

  it('dry runs write nothing: cancel, fail, cascade, cleanup', async () => {
    const before = await d.eventCount();

    const cancel = await cli(['cancel', ids.dry, '--dry-run', '--json']);
    expect(cancel.code, show(cancel)).toBe(0);
    expect(jsonOf(cancel)).toMatchObject({
      action: 'cancel',
      dry_run: true,
      changed_count: 0,
      execution_ids: [],
      results: [{ execution_id: ids.dry, outcome: 'would_cancel', event_id: null }],
    });

    const fail = await cli(['fail', ids.dry, '--dry-run']);
    expect(fail.code, show(fail)).toBe(0);
    expect(fail.stdout).toContain(`${ids.dry}  would mark failed`);
    expect(fail.stdout).toMatch(/\[DRY RUN\] Would mark failed 1 execution/);
    expect(fail.stdout).not.toMatch(ANSI);

    const cascade = await cli(['cancel', ids.p, '--cascade', '--dry-run', '--json']);
    expect(cascade.code, show(cascade)).toBe(0);
    const outcomes = Object.fromEntries(jsonOf(cascade).results.map((r: any) => [r.execution_id, r.outcome]));
    expect(outcomes).toEqual({ [ids.p]: 'would_cancel', [ids.c1]: 'would_cancel', [ids.g]: 'would_cancel', [ids.c2]: 'already_terminal' });
    // --jsonl: the same results, one a line.
    const lines = await cli(['cancel', ids.p, '--cascade', '--dry-run', '--jsonl']);
    expect(lines.code, show(lines)).toBe(0);
    expect(
      lines.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(jsonOf(cascade).results);

    const cleanup = await cli(['cleanup', '--older-than', '10', '--path', 'cleanup/*', '--dry-run', '--json']);
    expect(cleanup.code, show(cleanup)).toBe(0);
    const c = jsonOf(cleanup);
    expect(c).toMatchObject({
      cancelled_count: 3,
      execution_ids: [ids.cActive, ids.cOld1, ids.cOld2],
      message: '[DRY RUN] Would cancel 3 stuck executions older than 10 minutes',
      dry_run: true,
      older_than_minutes: 10,
      mark: 'cancelled',
    });
    expect(c.results.map((r: any) => r.outcome)).toEqual(['would_cancel', 'would_cancel', 'would_cancel']);
    const human = await cli(['cleanup', '--older-than', '10', '--path', 'cleanup/*', '--mark', 'failed', '--dry-run']);
    expect(human.code, show(human)).toBe(0);
    expect(human.stdout.trimEnd().split('\n')).toEqual([
      `${ids.cActive}  would mark failed`,
      `${ids.cOld1}  would mark failed`,
      `${ids.cOld2}  would mark failed`,
      '[DRY RUN] Would mark failed 3 stuck executions older than 10 minutes',
    ]);

    expect(await d.eventCount()).toBe(before);
  });

  it('cancel writes playbook.cancelled + execution.cancelled (in UTC from a non-UTC session); a second cancel writes nothing and exits 3', async () => {
    const before = (await d.snapshot()).of(ids.a);
    const tz = await withSessionTimeZone(d, 'America/New_York');
    let r: CliResult;
    try {
      r = await runCli(['cancel', ids.a, '--reason', 'worker pod rolled', '--json', ...tz.args], { env: { ...tz.env, TZ: 'Asia/Tokyo' } });
    } finally {
      await tz.reset();
    }
    expect(r.code, show(r)).toBe(0);
    const out = jsonOf(r);
    expect(out).toMatchObject({ action: 'cancel', dry_run: false, cascade: false, reason: 'worker pod rolled', changed_count: 1, execution_ids: [ids.a] });
    expect(out.results).toHaveLength(1);
    expect(out.results[0]).toMatchObject({ execution_id: ids.a, outcome: 'cancelled', cascaded: false, parent_execution_id: null });
    expect(out.results[0].event_id).toMatch(/^\d+$/);

    const snap = await d.snapshot();
    const after = snap.of(ids.a);
    expect(after).toHaveLength(before.length + 2);
    const [first, row] = after.filter((e) => !before.some((b) => b.event_id === e.event_id)) as [EventRow, EventRow];
    expect(row.event_id).toBe(out.results[0].event_id);
    expect(first).toMatchObject({ event_type: 'playbook.cancelled', status: 'CANCELLED', node_name: 'playbook', catalog_id: before[0]!.catalog_id });
    expect(row.parent_event_id).toBe(first.event_id);
    expect(first.parent_event_id).toBe(before.at(-1)!.event_id);
    expect(row).toMatchObject({
      execution_id: ids.a,
      event_type: 'execution.cancelled',
      status: 'CANCELLED',
      node_id: 'cancel',
      node_name: 'cancel',
      catalog_id: before[0]!.catalog_id,
      parent_execution_id: null,
      result: { status: 'CANCELLED', context: { reason: 'worker pod rolled', closed_by: 'noetl-console' } },
      error: null,
    });
    expect(row.meta).toMatchObject({
      reason: 'worker pod rolled',
      cancelled_by: 'noetl-console',
      cascade: false,
      actionable: true,
      os_user: currentActor().os_user,
      host: currentActor().host,
      console_version: PACKAGE_VERSION,
    });
    // created_at is UTC wall-clock time although the console's session was in New York.
    expect(row.age_s).toBeGreaterThan(-5);
    expect(row.age_s).toBeLessThan(300);

    const count = snap.count;
    const again = await cli(['cancel', ids.a]);
    expect(again.code, show(again)).toBe(3);
    expect(again.stdout).toContain(`${ids.a}  already finished (cancelled)`);
    expect(again.stdout).toContain('Cancelled 0 execution(s)');
    const againJson = await cli(['cancel', ids.a, '--json']);
    expect(againJson.code).toBe(3);
    expect(jsonOf(againJson)).toMatchObject({
      changed_count: 0,
      execution_ids: [],
      results: [{ execution_id: ids.a, outcome: 'already_terminal', state: 'cancelled', event_id: null }],
    });
    const end = await d.snapshot();
    expect(end.count).toBe(count);
    expect(end.closes(ids.a)).toHaveLength(1);
  });

  it('fail writes playbook.failed with a result that satisfies the CHECK and the reason as error; then cancel and fail exit 3', async () => {
    const r = await cli(['fail', ids.b, '--reason', 'worker gone', '--json']);
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r)).toMatchObject({ action: 'fail', changed_count: 1, execution_ids: [ids.b], results: [{ execution_id: ids.b, outcome: 'failed' }] });
    const snap = await d.snapshot();
    const events = snap.of(ids.b);
    const row = events.at(-1)!;
    expect(row).toMatchObject({ event_type: 'playbook.failed', status: 'FAILED', error: 'worker gone', catalog_id: events[0]!.catalog_id });
    expect(row.result).toMatchObject({ status: 'FAILED', context: expect.any(Object) });
    expect(Object.keys(row.result as object).sort()).toEqual(['context', 'status']);
    expect(row.meta).toMatchObject({ reason: 'worker gone', cancelled_by: 'noetl-console', console_version: PACKAGE_VERSION });

    const count = snap.count;
    const cancel = await cli(['cancel', ids.b, '--json']);
    expect(cancel.code, show(cancel)).toBe(3);
    expect(jsonOf(cancel).results[0]).toMatchObject({ outcome: 'already_terminal', state: 'failed' });
    const fail = await cli(['fail', ids.b]);
    expect(fail.code, show(fail)).toBe(3);
    expect(fail.stdout).toContain('already finished (failed)');
    expect(await d.eventCount()).toBe(count);
  });

  it('an id above 2^53 round-trips exactly through arguments, JSON and the database', async () => {
    const before = await d.eventCount();
    const r = await cli(['cancel', BIG_ID, '--json']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`"${BIG_ID}"`);
    expect(jsonOf(r).results[0]).toMatchObject({ execution_id: BIG_ID, outcome: 'cancelled' });
    const snap = await d.snapshot();
    expect(snap.count).toBe(before + 2);
    expect(snap.of(BIG_ID).at(-1)).toMatchObject({ execution_id: BIG_ID, event_type: 'execution.cancelled' });
    expect(snap.closes(BIG_ID)).toHaveLength(1);
    const shown = jsonOf(await cli(['show', BIG_ID, '--json']));
    expect(shown).toMatchObject({ execution_id: BIG_ID, state: 'cancelled', last_event_type: 'execution.cancelled' });
  });

  it('--cascade changes the running descendants only, never a child that already finished', async () => {
    const c2Before = (await d.snapshot()).of(ids.c2);
    const r = await cli(['cancel', ids.p, '--cascade', '--reason', 'tree stuck', '--json']);
    expect(r.code, show(r)).toBe(0);
    const out = jsonOf(r);
    expect(out.changed_count).toBe(3);
    expect([...out.execution_ids].sort()).toEqual([ids.p, ids.c1, ids.g].sort());
    expect(out.results[0]).toMatchObject({ execution_id: ids.p, outcome: 'cancelled', cascaded: false, root_execution_id: ids.p });
    const by = Object.fromEntries(out.results.map((x: any) => [x.execution_id, x]));
    expect(Object.keys(by).sort()).toEqual([ids.p, ids.c1, ids.c2, ids.g].sort());
    expect(by[ids.c1]).toMatchObject({ outcome: 'cancelled', cascaded: true, parent_execution_id: ids.p, root_execution_id: ids.p });
    expect(by[ids.g]).toMatchObject({ outcome: 'cancelled', cascaded: true, parent_execution_id: ids.c1, root_execution_id: ids.p });
    expect(by[ids.c2]).toMatchObject({ outcome: 'already_terminal', state: 'completed', cascaded: true });

    const snap = await d.snapshot();
    expect(snap.of(ids.c2).map((e) => e.event_id)).toEqual(c2Before.map((e) => e.event_id));
    for (const [id, parent] of [
      [ids.c1, ids.p],
      [ids.g, ids.c1],
    ] as const) {
      const cancels = snap.closes(id);
      expect(cancels).toHaveLength(1);
      expect(cancels[0]).toMatchObject({ event_type: 'execution.cancelled', parent_execution_id: parent });
      expect(cancels[0]!.meta).toMatchObject({ reason: 'tree stuck', cascade: true, root_execution_id: ids.p, cancelled_by: 'noetl-console' });
    }
    const root = snap.closes(ids.p);
    expect(root).toHaveLength(1);
    expect(root[0]!.meta).toMatchObject({ cascade: true, root_execution_id: ids.p });

    // The whole tree is finished now: the same command changes nothing and says so.
    const count = snap.count;
    const again = await cli(['cancel', ids.p, '--cascade']);
    expect(again.code, show(again)).toBe(3);
    expect(again.stdout).toMatch(new RegExp(`└ ${ids.g}\\s+already finished \\(cancelled\\)`));
    expect(await d.eventCount()).toBe(count);
  });

  it('`-` reads ids from standard input, one a line', async () => {
    const r = await cli(['fail', '-', '--json'], { input: `${ids.s1}\n\n   ${ids.s2}  \n# a comment\n` });
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r).results.map((x: any) => [x.execution_id, x.outcome])).toEqual([
      [ids.s1, 'failed'],
      [ids.s2, 'failed'],
    ]);
    const snap = await d.snapshot();
    expect(snap.terminal(ids.s1).map((e) => e.event_type)).toEqual(['execution.cancelled', 'playbook.failed']);
    expect(snap.closes(ids.s2).map((e) => e.event_type)).toEqual(['playbook.failed']);

    const count = snap.count;
    const mixed = await cli(['cancel', '-', '--json'], { input: `${ids.s1}\r\n123456789\r\n` });
    expect(mixed.code, show(mixed)).toBe(3);
    expect(jsonOf(mixed).results.map((x: any) => [x.execution_id, x.outcome])).toEqual([
      [ids.s1, 'already_terminal'],
      ['123456789', 'not_found'],
    ]);
    oneLineError(await cli(['cancel', '-'], { input: '' }), 2, /no execution ids on standard input/);
    oneLineError(await cli(['cancel', '-'], { input: `${ids.dry}\nnot-an-id\n` }), 2, /invalid execution id "not-an-id"/);
    oneLineError(await cli(['cancel', '-', ids.dry]), 2, /`-` must be the only id argument/);
    expect(await d.eventCount()).toBe(count);
  });

  it('named ids already finished (stragglers too) or unknown: outcomes reported, nothing written, exit 3', async () => {
    const count = await d.eventCount();
    const r = await cli(['cancel', ids.done, ids.straggler, '123456789', '--json']);
    expect(r.code, show(r)).toBe(3);
    expect(jsonOf(r).results.map((x: any) => [x.execution_id, x.outcome, x.state])).toEqual([
      [ids.done, 'already_terminal', 'completed'],
      [ids.straggler, 'already_terminal', 'cancelled'],
      ['123456789', 'not_found', null],
    ]);
    const human = await cli(['fail', ids.done, '123456789']);
    expect(human.code, show(human)).toBe(3);
    expect(human.stdout).toContain(`${ids.done}  already finished (completed)`);
    expect(human.stdout).toContain('123456789  not found');
    expect(human.stdout).not.toMatch(ANSI);
    expect(await d.eventCount()).toBe(count);
  });

  it('cleanup: NoETL-compatible JSON, --older-than-minutes, --idle, --mark failed, nothing found, --cascade', async () => {
    // --idle 30 leaves out cleanup/active (an event a minute ago); --older-than 10 leaves out cleanup/young.
    const failed = await cli(['cleanup', '--older-than-minutes', '10', '--idle', '30', '--mark', 'failed', '--path', 'cleanup/*', '--reason', 'nightly sweep', '--json']);
    expect(failed.code, show(failed)).toBe(0);
    const f = jsonOf(failed);
    expect(f).toMatchObject({
      cancelled_count: 2,
      execution_ids: [ids.cOld1, ids.cOld2],
      message: 'Marked failed 2 stuck executions older than 10 minutes',
      dry_run: false,
      older_than_minutes: 10,
      mark: 'failed',
    });
    expect(f.results).toEqual([
      expect.objectContaining({ execution_id: ids.cOld1, outcome: 'failed', parent_execution_id: null }),
      expect.objectContaining({ execution_id: ids.cOld2, outcome: 'failed', parent_execution_id: null }),
    ]);
    const afterFail = await d.snapshot();
    for (const id of [ids.cOld1, ids.cOld2]) {
      const t = afterFail.closes(id);
      expect(t).toHaveLength(1);
      expect(t[0]).toMatchObject({ event_type: 'playbook.failed', error: 'nightly sweep' });
    }
    expect(afterFail.terminal(ids.cActive)).toHaveLength(0);

    const cancelled = await cli(['cleanup', '--older-than', '10', '--path', 'cleanup/*', '--json']);
    expect(cancelled.code, show(cancelled)).toBe(0);
    const c = jsonOf(cancelled);
    expect(Object.keys(c)).toEqual(expect.arrayContaining(['cancelled_count', 'execution_ids', 'message', 'dry_run', 'older_than_minutes', 'mark', 'results']));
    expect(c).toMatchObject({ cancelled_count: 1, execution_ids: [ids.cActive], dry_run: false, older_than_minutes: 10, mark: 'cancelled' });
    expect(c.message).toMatch(/^(Successfully cancelled|Cancelled) 1 stuck executions older than 10 minutes$/);
    const afterCancel = await d.snapshot();
    expect(afterCancel.terminal(ids.cActive).map((e) => e.event_type)).toEqual(['playbook.cancelled', 'execution.cancelled']);
    expect(afterCancel.terminal(ids.cYoung)).toHaveLength(0);

    const count = afterCancel.count;
    const nothing = await cli(['cleanup', '--older-than', '10', '--path', 'cleanup/*', '--json']);
    expect(nothing.code, show(nothing)).toBe(0);
    expect(jsonOf(nothing)).toMatchObject({
      cancelled_count: 0,
      execution_ids: [],
      message: 'No stuck executions found older than 10 minutes',
      dry_run: false,
      older_than_minutes: 10,
      mark: 'cancelled',
      results: [],
    });
    const nothingDry = await cli(['cleanup', '--older-than', '10', '--path', 'cleanup/*', '--dry-run']);
    expect(nothingDry.code, show(nothingDry)).toBe(0);
    expect(nothingDry.stdout.trim()).toBe('[DRY RUN] Would cancel 0 stuck executions older than 10 minutes');
    expect(await d.eventCount()).toBe(count);

    const sweep = await cli(['cleanup', '--older-than', '2h', '--path', 'sweep/*', '--cascade', '--json']);
    expect(sweep.code, show(sweep)).toBe(0);
    const w = jsonOf(sweep);
    expect(w).toMatchObject({ cancelled_count: 2, older_than_minutes: 120, message: expect.stringMatching(/2 stuck executions older than 120 minutes$/) });
    expect([...w.execution_ids].sort()).toEqual([ids.cp, ids.cpChild].sort());
    expect(w.results).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ execution_id: ids.cp, outcome: 'cancelled', parent_execution_id: null }),
        expect.objectContaining({ execution_id: ids.cpChild, outcome: 'cancelled', parent_execution_id: ids.cp }),
        expect.objectContaining({ execution_id: ids.cpDone, outcome: 'already_terminal', parent_execution_id: ids.cp }),
      ]),
    );
    const afterSweep = await d.snapshot();
    expect(afterSweep.terminal(ids.cpDone).map((e) => e.event_type)).toEqual(['playbook.failed']);
    expect(afterSweep.closes(ids.cpChild).map((e) => e.event_type)).toEqual(['execution.cancelled']);
    expect(afterSweep.count).toBe(count + 4);
  });

  it('read-only (--read-only, NOETL_CONSOLE_READ_ONLY): write commands refused with a clear message, nothing written; reads and dry runs work', async () => {
    const count = await d.eventCount();
    for (const [args, env] of [
      [['cancel', ids.ro, '--read-only'], {}],
      [['--read-only', 'cancel', ids.ro], {}],
      [['fail', ids.ro], { NOETL_CONSOLE_READ_ONLY: '1' }],
      [['cleanup', '--older-than', '1'], { NOETL_CONSOLE_READ_ONLY: 'true' }],
    ] as const) {
      const r = await runCli([...args, ...d.args], { env });
      oneLineError(r, 2, /refused: .* read-only/);
    }
    const dry = await cli(['cancel', ids.ro, '--dry-run', '--json'], { env: { NOETL_CONSOLE_READ_ONLY: '1' } });
    expect(dry.code, show(dry)).toBe(0);
    expect(jsonOf(dry).results[0]).toMatchObject({ execution_id: ids.ro, outcome: 'would_cancel' });
    const list = await cli(['list', '--read-only', '--path', 'etl/read-only', '--json']);
    expect(list.code, show(list)).toBe(0);
    expect(jsonOf(list).executions.map((e: any) => e.execution_id)).toEqual([ids.ro]);
    expect(await d.eventCount()).toBe(count);
  });

  it('read-only: the database session itself refuses a write that gets past the command layer', async () => {
    const count = await d.eventCount();
    const options = resolveConnection({ databaseUrl: d.url, schema: d.schema }, { NOETL_CONSOLE_READ_ONLY: '1' });
    expect(options.readOnly).toBe(true);
    const db = await openDatabase(options);
    let error: unknown;
    try {
      const store = new NoetlStore(db, d.schema);
      await markExecutions(store, { action: 'cancel', ids: [ids.ro], reason: 'must not land', cascade: false, dryRun: false, actor: currentActor() }).catch((e: unknown) => {
        error = e;
      });
    } finally {
      await db.close();
    }
    expect((error as { code?: string })?.code).toBe('25006');
    expect(describeDatabaseError(error, 'x')).toMatch(/read-only/);
    const snap = await d.snapshot();
    expect(snap.count).toBe(count);
    expect(snap.terminal(ids.ro)).toHaveLength(0);
  });
});

describe.each(backends())('cancel on %s without noetl.snowflake_id()', (backend) => {
  let d: CliDatabase;
  let python: string;
  let rust: string;

  beforeAll(async () => {
    d = await createCliDatabase(
      backend,
      async (db, schema) => {
        const s = new Scenario(470000000000000000n);
        python = s.execution({ path: 'etl/old-db', startedMinutesAgo: 30 }).issued('x', 20).id;
        rust = s.execution({ path: 'etl/old-db', dialect: 'rust', startedMinutesAgo: 30 }).issued('x', 20).id;
        await s.apply(db, schema);
      },
      { withoutSnowflake: true },
    );
  });
  afterAll(async () => d?.close());

  it('writes console-generated snowflake ids (never MAX+1), one per execution', async () => {
    const start = await d.snapshot();
    const before = { [python]: start.of(python), [rust]: start.of(rust) };
    const r = await runCli(['cancel', python, rust, '--json', ...d.args]);
    expect(r.code, show(r)).toBe(0);
    const results = jsonOf(r).results as { execution_id: string; outcome: string; event_id: string }[];
    expect(results.map((x) => [x.execution_id, x.outcome])).toEqual([
      [python, 'cancelled'],
      [rust, 'cancelled'],
    ]);
    const end = await d.snapshot();
    for (const x of results) {
      const rows = end.of(x.execution_id);
      const added = rows.filter((e) => !before[x.execution_id]!.some((b) => b.event_id === e.event_id));
      expect(added).toHaveLength(2);
      expect(added[1]).toMatchObject({ event_id: x.event_id, event_type: 'execution.cancelled' });
      const max = before[x.execution_id]!.map((e) => BigInt(e.event_id)).reduce((a, b) => (a > b ? a : b));
      expect(BigInt(x.event_id)).not.toBe(max + 1n);
      expect(BigInt(x.event_id) > 2n ** 53n).toBe(true);
    }
  });
});
