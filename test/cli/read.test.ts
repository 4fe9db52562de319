/**
 * list, show and health end to end: the built bin as a spawned process, on
 * PGlite (an on-disk directory) and on the machine's PostgreSQL.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { backends } from '../helpers/db.js';
import { ANSI, ISO_UTC, createCliDatabase, jsonOf, runCli, runCliOnTty, show, ttyAvailable, withSessionTimeZone, type CliDatabase, type CliResult } from '../helpers/cli.js';

const BIG_ID = '9007199254740993123'; // above 2^53: a JavaScript number would end in ...3000
const EVIL_PATH = 'etl/\u001b[31mevil\u001b[0m\u202e';
const EVIL_STEP = '\u001b]0;pwned\u0007step';
const LIST_KEYS = [
  'execution_id',
  'path',
  'started_at',
  'age_seconds',
  'last_event_at',
  'last_event_type',
  'idle_seconds',
  'last_step',
  'stuck_step',
  'worker_id',
  'worker_alive',
  'parent_execution_id',
  'running_children',
  'diagnosis',
  // The path's learned threshold (README, Learned thresholds and policies).
  'typical_seconds',
  'p95_seconds',
  'ratio',
].sort();

/**
 * The seeded ages (minutes ago) of every execution. Ages in the output are
 * checked against them with a margin that covers the time since seeding but
 * not a session TimeZone mistake (hours).
 */
const STARTED = {
  lowercase: 150,
  never: 120,
  dead: 90,
  parent: 75,
  childRunning: 70,
  childDone: 70,
  big: 40,
  evil: 2,
  fresh: 1,
  lowerDone: 200,
  rustFailed: 200,
  stragglerPy: 300,
  stragglerRust: 300,
} as const;
type Name = keyof typeof STARTED;

function expectAge(seconds: unknown, minutesAgo: number, what: string) {
  expect(typeof seconds, what).toBe('number');
  expect(seconds as number, what).toBeGreaterThanOrEqual(minutesAgo * 60 - 5);
  expect(seconds as number, what).toBeLessThanOrEqual(minutesAgo * 60 + 900);
}

function expectTimeAgo(iso: unknown, minutesAgo: number, what: string) {
  expect(iso, what).toMatch(ISO_UTC);
  expectAge((Date.now() - Date.parse(iso as string)) / 1000, minutesAgo, what);
}

function expectPlain(r: CliResult) {
  expect(r.stdout, show(r)).not.toMatch(ANSI);
  expect(r.stderr, show(r)).not.toMatch(ANSI);
}

describe.each(backends())('list, show, health through the bin on %s', (backend) => {
  let d: CliDatabase;
  const ids = {} as Record<Name, string>;
  let shiftedAt = 0;
  const cli = (args: string[], env?: Record<string, string | undefined>) => runCli([...args, ...d.args], { env });
  /** Worker heartbeats go stale after 90 s: make worker-live fresh before asserting on it. */
  const refreshHeartbeats = () => d.use((db) => db.query(`UPDATE "${d.schema}".runtime SET heartbeat = now() WHERE name = 'worker-live'`));

  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      const s = new Scenario(420000000000000000n);
      s.worker('worker-live', 2).worker('worker-dead', 3600);
      // Running, lowercase statuses throughout (as some writers do).
      const lc = s.execution({ path: 'etl/lowercase', startedMinutesAgo: STARTED.lowercase });
      lc.event('step.enter', 140 * 60, { node: 'fetch', status: 'running' });
      lc.event('command.issued', 139 * 60, { node: 'fetch', status: 'pending' });
      ids.lowercase = lc.id;
      ids.never = s.execution({ path: 'etl/never', startedMinutesAgo: STARTED.never }).step('extract', 110).issued('load', 100).id;
      ids.dead = s.execution({ path: 'etl/dead', dialect: 'rust', startedMinutesAgo: STARTED.dead }).claimed('transform', 80, 'worker-dead').id;
      const parent = s.execution({ path: 'etl/parent', startedMinutesAgo: STARTED.parent }).step('spawn', 72, 'worker-live');
      ids.parent = parent.id;
      ids.childRunning = s.execution({ path: 'etl/child', dialect: 'rust', startedMinutesAgo: STARTED.childRunning, parent }).issued('work', 65).id;
      ids.childDone = s.execution({ path: 'etl/child', startedMinutesAgo: STARTED.childDone, parent }).finish('completed', 50, 'completed').id;
      ids.big = s.execution({ path: 'etl/big', startedMinutesAgo: STARTED.big, id: BIG_ID }).claimed('transform', 2, 'worker-live').id;
      ids.fresh = s.execution({ path: 'etl/fresh', dialect: 'rust', startedMinutesAgo: STARTED.fresh }).id;
      // Terminal control sequences in data must never reach the terminal.
      ids.evil = s.execution({ path: EVIL_PATH, startedMinutesAgo: STARTED.evil }).issued(EVIL_STEP, 1).id;
      ids.lowerDone = s.execution({ path: 'etl/lower-done', startedMinutesAgo: STARTED.lowerDone }).step('a', 195).finish('completed', 190, 'completed').id;
      ids.rustFailed = s.execution({ path: 'etl/rust-failed', dialect: 'rust', startedMinutesAgo: STARTED.rustFailed }).finish('failed', 180, 'failed').id;
      // Stragglers: events after the terminal one must not bring an execution back.
      const py = s.execution({ path: 'etl/straggler', startedMinutesAgo: STARTED.stragglerPy }).finish('cancelled', 250);
      py.event('command.completed', 240 * 60, { node: 'late', status: 'completed', worker: 'worker-dead' });
      py.event('step.exit', 239 * 60, { node: 'late', status: 'completed' });
      ids.stragglerPy = py.id;
      const rs = s.execution({ path: 'etl/straggler', dialect: 'rust', startedMinutesAgo: STARTED.stragglerRust }).finish('completed', 280);
      rs.event('command_heartbeat', 10 * 60, { node: 'late', worker: 'worker-dead' });
      ids.stragglerRust = rs.id;
      await s.apply(db, schema);
    });
    shiftedAt = Date.now();
  });
  afterAll(async () => d?.close());
  // The fixture's ages hold whatever the wall clock did since it was seeded (a loaded machine
  // can take minutes to get here): every timestamp moves forward by the time that passed.
  beforeEach(async () => {
    const seconds = (Date.now() - shiftedAt) / 1000;
    shiftedAt = Date.now();
    await d.use(async (db) => {
      const s = `"${d.schema}"`;
      const by = (col: string) => `${col} = ${col} + $1::float8 * interval '1 second'`;
      await db.query(`UPDATE ${s}.event SET ${['created_at', 'event_time', 'ingest_time'].map(by).join(', ')}`, [seconds]);
      await db.query(`UPDATE ${s}.execution SET ${['start_time', 'end_time', 'created_at', 'updated_at'].map(by).join(', ')}`, [seconds]);
      await db.query(`UPDATE ${s}.runtime SET ${['heartbeat', 'created_at'].map(by).join(', ')}`, [seconds]);
      await db.query(`UPDATE ${s}.command SET ${['claimed_at', 'started_at', 'completed_at', 'created_at', 'updated_at'].map(by).join(', ')}`, [seconds]);
    });
  });

  it('list --json: stuck executions of both dialects, oldest first, documented keys, ids as strings, UTC times', async () => {
    await refreshHeartbeats();
    const r = await cli(['list', '--json']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toBe('');
    expectPlain(r);
    // The id above 2^53 is printed exactly, as a string.
    expect(r.stdout).toContain(`"execution_id":"${BIG_ID}"`);
    // Not a terminal: compact, one line.
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    const out = jsonOf(r);
    const rows = out.executions as Record<string, any>[];
    // Default --older-than 5: not the fresh one, no finished one (stragglers included), no child of a running parent.
    expect(rows.map((e) => e.execution_id)).toEqual([ids.lowercase, ids.never, ids.dead, ids.parent, ids.big]);
    expect(out.count).toBe(5);
    expect(out.older_than_minutes).toBe(5);
    for (const e of rows) {
      expect(Object.keys(e).sort()).toEqual(LIST_KEYS);
      expect(typeof e.execution_id).toBe('string');
      expect(e.execution_id).toMatch(/^[1-9]\d*$/);
      expect(e.parent_execution_id).toBeNull();
      expect(e.last_event_at).toMatch(ISO_UTC);
      expect(typeof e.idle_seconds).toBe('number');
      expect(typeof e.diagnosis).toBe('string');
      expect(e.diagnosis.length).toBeGreaterThan(0);
    }
    const by = Object.fromEntries(rows.map((e) => [e.execution_id, e]));
    for (const name of ['lowercase', 'never', 'dead', 'parent', 'big'] as const) {
      expectAge(by[ids[name]].age_seconds, STARTED[name], `${name} age`);
      expectTimeAgo(by[ids[name]].started_at, STARTED[name], `${name} started_at`);
    }

    const never = by[ids.never];
    expect(never).toMatchObject({ path: 'etl/never', last_event_type: 'command.issued', last_step: 'extract', stuck_step: 'load' });
    expect(never.diagnosis).toMatch(/^never claimed/);
    expectAge(never.idle_seconds, 100, 'never idle');
    expectTimeAgo(never.last_event_at, 100, 'never last event');

    const dead = by[ids.dead]; // Rust dialect
    expect(dead).toMatchObject({ path: 'etl/dead', last_event_type: 'command_claimed', stuck_step: 'transform', worker_id: 'worker-dead', worker_alive: false });
    expect(dead.diagnosis).toBe('worker dead');

    const big = by[BIG_ID];
    expect(big).toMatchObject({ path: 'etl/big', worker_id: 'worker-live', worker_alive: true, stuck_step: 'transform', running_children: 0 });

    expect(by[ids.parent]).toMatchObject({ path: 'etl/parent', running_children: 1, last_step: 'spawn' });
    expect(by[ids.lowercase]).toMatchObject({ path: 'etl/lowercase', stuck_step: 'fetch' });
  });

  it('list filters: --older-than 0 --include-children, --idle, --path glob and substring, --limit, unit suffixes', async () => {
    const all = jsonOf(await cli(['list', '--older-than', '0', '--include-children', '--json'])).executions as any[];
    expect(all.map((e) => e.execution_id)).toEqual([ids.lowercase, ids.never, ids.dead, ids.parent, ids.childRunning, ids.big, ids.evil, ids.fresh]);
    const child = all.find((e) => e.execution_id === ids.childRunning);
    expect(child).toMatchObject({ parent_execution_id: ids.parent, path: 'etl/child', stuck_step: 'work' });
    expect(child.diagnosis).toMatch(/^never claimed/);

    const idle = jsonOf(await cli(['list', '--older-than', '0', '--idle', '95', '--json'])).executions as any[];
    expect(idle.map((e) => e.execution_id)).toEqual([ids.lowercase, ids.never]);

    const glob = jsonOf(await cli(['list', '--older-than', '1h', '--path', 'etl/*e*d', '--json'])).executions as any[];
    expect(glob.map((e) => e.execution_id)).toEqual([ids.dead]);
    const substring = jsonOf(await cli(['list', '--older-than', '0', '--path', 'BIG', '--json'])).executions as any[];
    expect(substring.map((e) => e.execution_id)).toEqual([BIG_ID]);

    const limited = await cli(['list', '--older-than', '30m', '--limit', '2', '--json']);
    expect(jsonOf(limited).executions.map((e: any) => e.execution_id)).toEqual([ids.lowercase, ids.never]);

    const none = await cli(['list', '--older-than', '1d', '--json']);
    expect(none.code).toBe(0);
    expect(jsonOf(none)).toMatchObject({ executions: [], count: 0, older_than_minutes: 1440 });
  });

  it('list without --json: a plain table (no colour off a terminal), and a plain line when nothing is stuck', async () => {
    const r = await cli(['list']);
    expect(r.code, show(r)).toBe(0);
    expectPlain(r);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^EXECUTION\s+PATH\s+AGE\s+IDLE\s+STEP\s+DIAGNOSIS/);
    expect(lines).toHaveLength(6);
    expect(lines[1]).toContain(ids.lowercase);
    expect(lines[5]).toContain(BIG_ID);
    expect(r.stdout).toContain('etl/never');
    expect(r.stdout).toMatch(/never claimed/);
    expect(r.stdout).toMatch(/2h00m|2h01m|2h0\dm/); // age of etl/never

    const none = await cli(['list', '--older-than', '1d']);
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe('No stuck executions.');
  });

  it('list --jsonl: the --json rows, one a line, same order; --json with --jsonl is refused', async () => {
    await refreshHeartbeats();
    const [lines, json] = await Promise.all([cli(['list', '--jsonl']), cli(['list', '--json'])]);
    expect(lines.code, show(lines)).toBe(0);
    expect(lines.stderr).toBe('');
    const rows = lines.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const expected = (jsonOf(json).executions as Record<string, unknown>[]).map(({ age_seconds: _a, idle_seconds: _i, ...rest }) => rest);
    expect(rows.map(({ age_seconds: _a, idle_seconds: _i, ...rest }) => rest)).toEqual(expected);
    expect(lines.stdout).toContain(`{"execution_id":"${BIG_ID}"`);
    const empty = await cli(['list', '--jsonl', '--older-than', '1d']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
    const both = await cli(['list', '--json', '--jsonl']);
    expect(both.code).toBe(2);
    expect(both.stderr.trim()).toBe('noetl-console: --json and --jsonl: pick one');
    expect(both.stdout).toBe('');
  });

  it('show --json: state, derived fields, timeline with exact ids, child tree; stragglers and lowercase statuses', async () => {
    const r = await cli(['show', BIG_ID, '--json', '--events', '3']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`"execution_id":"${BIG_ID}"`);
    const big = jsonOf(r);
    expect(big).toMatchObject({ execution_id: BIG_ID, state: 'running', path: 'etl/big', finished_at: null, stuck_step: 'transform' });
    expectTimeAgo(big.started_at, STARTED.big, 'big started_at');
    expect(big.events).toHaveLength(3);
    const dbEvents = await d.events(BIG_ID);
    expect(big.total_events).toBe(dbEvents.length);
    // Newest first, event ids exactly as stored (all above 2^53).
    expect(big.events.map((e: any) => e.event_id)).toEqual(
      dbEvents
        .slice(-3)
        .reverse()
        .map((e) => e.event_id),
    );
    for (const e of big.events) {
      expect(typeof e.event_id).toBe('string');
      expect(e.created_at).toMatch(ISO_UTC);
    }
    expect(big.events[0]).toMatchObject({ event_type: 'command.claimed', node_name: 'transform', worker_id: 'worker-live' });
    expectTimeAgo(big.events[0].created_at, 2, 'latest event');

    const parent = jsonOf(await cli(['show', ids.parent, '--json']));
    expect(parent).toMatchObject({ execution_id: ids.parent, state: 'running', running_children: 1, total_children: 2 });
    expect(parent.children).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ execution_id: ids.childRunning, parent_execution_id: ids.parent, depth: 1, state: 'running', path: 'etl/child' }),
        expect.objectContaining({ execution_id: ids.childDone, parent_execution_id: ids.parent, depth: 1, state: 'completed' }),
      ]),
    );
    expect(parent.children).toHaveLength(2);

    // The latest terminal event decides, whatever straggles in after it.
    const py = jsonOf(await cli(['show', ids.stragglerPy, '--json']));
    expect(py).toMatchObject({ state: 'cancelled', last_event_type: 'step.exit', diagnosis: 'cancelled' });
    expectTimeAgo(py.finished_at, 250, 'straggler finished_at');
    const rs = jsonOf(await cli(['show', ids.stragglerRust, '--json']));
    expect(rs).toMatchObject({ state: 'completed', last_event_type: 'command_heartbeat' });
    // Lowercase statuses: the event type decides.
    expect(jsonOf(await cli(['show', ids.lowerDone, '--json'])).state).toBe('completed');
    expect(jsonOf(await cli(['show', ids.rustFailed, '--json'])).state).toBe('failed');
  });

  it('show without --json: a readable summary, timeline and child tree; an unknown id exits 3', async () => {
    const r = await cli(['show', ids.parent]);
    expect(r.code, show(r)).toBe(0);
    expectPlain(r);
    expect(r.stdout).toContain(`Execution ${ids.parent}  RUNNING`);
    expect(r.stdout).toMatch(/Playbook\s+etl\/parent/);
    expect(r.stdout).toMatch(/Children\s+1 running of 2/);
    expect(r.stdout).toContain('Child executions (2)');
    expect(r.stdout).toMatch(new RegExp(`${ids.childRunning}\\s+RUNNING`));
    expect(r.stdout).toMatch(new RegExp(`${ids.childDone}\\s+COMPLETED`));
    expect(r.stdout).toMatch(/playbook\.initialized/);

    const missing = await cli(['show', '123456789']);
    expect(missing.code, show(missing)).toBe(3);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trim().split('\n')).toEqual(['noetl-console: execution 123456789 not found']);
    const missingJson = await cli(['show', '123456789', '--json']);
    expect(missingJson.code).toBe(3);
    expect(jsonOf(missingJson)).toEqual({ execution_id: '123456789', state: 'not_found' });
  });

  it('escape sequences stored in paths and step names are shown escaped, never sent to the terminal; JSON keeps them exactly', async () => {
    const table = await cli(['list', '--older-than', '0', '--path', 'evil']);
    expect(table.code, show(table)).toBe(0);
    expect(table.stdout).toContain(ids.evil);
    expect(table.stdout).toContain('\\x1b[31mevil');
    expect(table.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    const detail = await cli(['show', ids.evil]);
    expect(detail.code, show(detail)).toBe(0);
    expect(detail.stdout).toContain('\\x1b]0;pwned\\x07step');
    expect(detail.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    const json = jsonOf(await cli(['list', '--older-than', '0', '--path', 'evil', '--json']));
    expect(json.executions).toHaveLength(1);
    expect(json.executions[0]).toMatchObject({ execution_id: ids.evil, path: EVIL_PATH, stuck_step: EVIL_STEP });
  });

  it('health --json and human: running, stuck, long-running, started in 24 h, oldest, live workers', async () => {
    await refreshHeartbeats();
    const r = await cli(['health', '--json']);
    expect(r.code, show(r)).toBe(0);
    const h = jsonOf(r);
    expect(Object.keys(h).sort()).toEqual(['metrics', 'status', 'thresholds']);
    expect(h.metrics).toMatchObject({
      running_executions: 8,
      stuck_executions: 6,
      long_running_executions: 5,
      recent_executions_24h: Object.keys(STARTED).length,
      live_workers: 1,
    });
    expectAge(h.metrics.oldest_running_seconds, STARTED.lowercase, 'oldest running');
    expect(h.metrics.timestamp).toMatch(ISO_UTC);
    expect(Math.abs(Date.parse(h.metrics.timestamp) - Date.now())).toBeLessThan(120_000);
    expect(h.thresholds).toEqual({ stuck_minutes: 5, long_running_minutes: 60, warning_long_running: 5, critical_long_running: 20 });
    expect(h.status).toBe('healthy');

    const warn = jsonOf(await cli(['health', '--long-running', '30', '--json']));
    expect(warn.metrics.long_running_executions).toBe(6);
    expect(warn.status).toBe('warning');

    const human = await cli(['health']);
    expect(human.code).toBe(0);
    expectPlain(human);
    expect(human.stdout).toMatch(/^Status\s+healthy$/m);
    expect(human.stdout).toMatch(/^Running\s+8$/m);
    expect(human.stdout).toMatch(/^Stuck \(>5m\)\s+6$/m);
    expect(human.stdout).toMatch(/^Long-running \(>1h00m\)\s+5$/m);
    expect(human.stdout).toMatch(/^Live workers\s+1$/m);
  });

  it('computes ages in UTC when the session TimeZone (and the process TZ) is not UTC', async () => {
    await refreshHeartbeats();
    const tz = await withSessionTimeZone(d, 'America/New_York');
    try {
      const env = { ...tz.env, TZ: 'Asia/Tokyo' };
      const list = jsonOf(await runCli(['list', '--json', ...tz.args], { env }));
      expect(list.executions.map((e: any) => e.execution_id)).toEqual([ids.lowercase, ids.never, ids.dead, ids.parent, ids.big]);
      for (const e of list.executions) {
        const name = (Object.keys(ids) as Name[]).find((n) => ids[n] === e.execution_id)!;
        expectAge(e.age_seconds, STARTED[name], `${name} age under a New York session`);
        expectTimeAgo(e.started_at, STARTED[name], `${name} started_at under a New York session`);
      }
      expectAge(list.executions[1].idle_seconds, 100, 'idle under a New York session');
      expect(list.executions[4].worker_alive).toBe(true);

      const big = jsonOf(await runCli(['show', BIG_ID, '--json', ...tz.args], { env }));
      expectTimeAgo(big.events[0].created_at, 2, 'event time under a New York session');
      const stragglerRun = jsonOf(await runCli(['show', ids.stragglerPy, '--json', ...tz.args], { env }));
      expectTimeAgo(stragglerRun.finished_at, 250, 'finished_at under a New York session');

      const health = jsonOf(await runCli(['health', '--json', ...tz.args], { env }));
      expect(health.metrics).toMatchObject({ running_executions: 8, stuck_executions: 6, long_running_executions: 5, live_workers: 1 });
      expect(health.metrics.recent_executions_24h).toBe(Object.keys(STARTED).length);
      expectAge(health.metrics.oldest_running_seconds, STARTED.lowercase, 'oldest under a New York session');
    } finally {
      await tz.reset();
    }
  });

  it('connects from NOETL_DATABASE_URL / DATABASE_URL / PG* and NOETL_SCHEMA; flags win over the environment', async () => {
    const expected = [ids.lowercase, ids.never, ids.dead, ids.parent, ids.big];
    const viaEnv = await runCli(['list', '--json'], { env: { NOETL_DATABASE_URL: d.url, NOETL_SCHEMA: d.schema } });
    expect(viaEnv.code, show(viaEnv)).toBe(0);
    expect(jsonOf(viaEnv).executions.map((e: any) => e.execution_id)).toEqual(expected);

    const flagsWin = await runCli(['list', '--json', '--database-url', d.url, '--schema', d.schema], {
      env: { NOETL_DATABASE_URL: 'postgres://nobody:S3cretPw@127.0.0.1:1/x', NOETL_SCHEMA: 'no_such_schema' },
    });
    expect(flagsWin.code, show(flagsWin)).toBe(0);
    expect(jsonOf(flagsWin).executions.map((e: any) => e.execution_id)).toEqual(expected);

    if (backend === 'postgres') {
      const viaDatabaseUrl = await runCli(['list', '--json'], { env: { DATABASE_URL: d.url, NOETL_SCHEMA: d.schema } });
      expect(jsonOf(viaDatabaseUrl).executions.map((e: any) => e.execution_id)).toEqual(expected);
      const u = new URL(d.url);
      const viaPg = await runCli(['list', '--json', '--schema', d.schema], {
        env: { PGHOST: u.hostname, PGPORT: u.port || '5432', PGUSER: decodeURIComponent(u.username), PGDATABASE: u.pathname.slice(1) },
      });
      expect(viaPg.code, show(viaPg)).toBe(0);
      expect(jsonOf(viaPg).executions.map((e: any) => e.execution_id)).toEqual(expected);
    }
  });

  // Needs util-linux `script` for a pseudo-terminal: without it the test is skipped, and says so.
  it.skipIf(!ttyAvailable())('colour only on a terminal: never with NO_COLOR, --no-color (before or after the subcommand), or --json', async () => {
    // Off a terminal (every other test here pipes stdout) output is always plain; here on one.
    const tty = await runCliOnTty(['health', ...d.args]);
    expect(tty.code, show(tty)).toBe(0);
    expect(tty.stdout).toMatch(ANSI); // the check below can see colour when there is some
    for (const [args, env] of [
      [['health', ...d.args], { NO_COLOR: '1' }],
      [['health', '--no-color', ...d.args], {}],
      [['--no-color', 'health', ...d.args], {}],
      [['list', '--json', ...d.args], {}],
    ] as const) {
      const r = await runCliOnTty(args, { env });
      expect(r.code, `${args.join(' ')}\n${show(r)}`).toBe(0);
      expect(r.stdout, `${args.join(' ')} ${JSON.stringify(env)}`).not.toMatch(ANSI);
    }
  });
});

describe.each(backends())('diagnosis of the worker on %s', (backend) => {
  let d: CliDatabase;
  const ids = {} as Record<'waiting' | 'between' | 'claimed', string>;
  let by: Record<string, Record<string, any>>;

  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      const s = new Scenario(425000000000000000n);
      s.worker('w-gone', 3600).worker('w-up', 0);
      // Its last step ran on a worker that has since gone; now it waits on a child that a live worker runs.
      const waiting = s.execution({ path: 'diag/waiting', startedMinutesAgo: 60 }).step('spawn', 55, 'w-gone');
      s.execution({ path: 'diag/child', startedMinutesAgo: 55, parent: waiting }).claimed('work', 0, 'w-up');
      ids.waiting = waiting.id;
      // Finished a step on a worker that has gone, and nothing since.
      ids.between = s.execution({ path: 'diag/between', startedMinutesAgo: 60 }).step('a', 50, 'w-gone').id;
      // Its current step is claimed by a worker that has gone: this one is "worker dead".
      ids.claimed = s.execution({ path: 'diag/claimed', startedMinutesAgo: 60 }).claimed('b', 50, 'w-gone').id;
      await s.apply(db, schema);
    });
    const r = await runCli(['list', '--json', ...d.args]);
    if (r.code !== 0) throw new Error(show(r));
    by = Object.fromEntries(jsonOf(r).executions.map((e: any) => [e.execution_id, e]));
  });
  afterAll(async () => d?.close());

  it('a step claimed by a worker without a fresh heartbeat: worker dead', () => {
    expect(Object.keys(by).sort()).toEqual([ids.waiting, ids.between, ids.claimed].sort());
    expect(by[ids.claimed]).toMatchObject({ worker_id: 'w-gone', worker_alive: false, stuck_step: 'b', diagnosis: 'worker dead' });
    expect(by[ids.waiting]!.running_children).toBe(1);
  });

  // worker_id is the latest worker on any event; it says nothing once its step finished.
  it('blames a dead worker only for a step it still holds', () => {
    expect(by[ids.waiting]!.diagnosis).toBe('waiting on 1 child');
    expect(by[ids.between]!.diagnosis).not.toBe('worker dead');
  });
});
