/**
 * Promise 5, hostile data: playbook paths, step names, workers, statuses,
 * event types, errors and meta holding terminal escape sequences (CSI, OSC
 * title and hyperlink), C0 and C1 controls, bidi overrides, very long
 * strings, and (in a SQL_ASCII database made for the test) invalid UTF-8.
 *
 * Human output of list and show must carry no raw control character a
 * terminal could act on (ESC, other C0 but newline, DEL, C1) and no bidi
 * override, with bounded line lengths. JSON output must parse, carry no raw
 * control character either, and give back exactly the stored values (the
 * timeline's `error` is documented as cut to 2,000 characters).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { Scenario } from '../fixtures/scenario.js';
import { noetlSchemaSql } from '../fixtures/noetl-schema.js';
import { createTestDatabase, POSTGRES_URL, type TestDatabase, describePostgres } from '../helpers/db.js';
import { connect, controlCodePoints, hasBidiControls, hasControlBytes, uniqueIdBase, uniqueName } from '../helpers/reliability.js';
import { runCli, type CliResult } from '../helpers/cli.js';

const ESC = '\u001b';
const H = {
  csi: `${ESC}[2J${ESC}[31mRED${ESC}[0m${ESC}[1A`,
  osc: `${ESC}]0;pwned-title\u0007`,
  link: `${ESC}]8;;http://evil.example/${ESC}\\click${ESC}]8;;${ESC}\\`,
  c1: '\u009b31m C1 \u009d0;t\u009c \u0085',
  bidi: 'invoice\u202egnp.exe\u202c \u2066x\u2069',
  ctrl: 'a\rb\bc\u007fd\u0007\u000b\u000c',
  lines: 'line1\nline2\r\nline3\tTab',
  astral: '\u{1F600} \u{1D518}\u{1D52B}',
};
const ALL = Object.values(H).join(' | ');

let t: TestDatabase;
let admin: pg.Client;
const ids: Record<string, string> = {};
const stored = {
  path: `hostile/${ALL} ${'P'.repeat(1500)}`,
  step: `step ${ALL} ${'S'.repeat(10_000)}`,
  worker: `worker ${H.csi}${H.osc}`,
  status: `RUNNING${H.csi}`,
  eventType: `command.weird${H.csi}`,
  error: `boom ${ALL} ${'E'.repeat(100_000)}`,
  meta: {
    emitted_by: 'noetl-console',
    action: 'cancel',
    cancelled_by: 'noetl-console',
    reason: `r ${ALL}`,
    os_user: `u${H.osc}`,
    host: `h${H.link}`,
    console_version: `v${H.c1}`,
    [`key${H.csi}`]: [H.bidi, { deep: H.ctrl }],
  },
};

function env() {
  return { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema };
}

function expectSafeHuman(r: CliResult, what: string): void {
  expect(r.code, `${what}: ${r.stderr}`).toBe(0);
  expect(hasControlBytes(r.stdoutBytes, { allowNewline: true }), `${what}: raw control characters on stdout`).toBe(false);
  expect(hasBidiControls(r.stdout), `${what}: bidi controls on stdout`).toBe(false);
  const longest = Math.max(...r.stdout.split('\n').map((l) => l.length));
  expect(longest, `${what}: longest line`).toBeLessThanOrEqual(2000);
}

beforeAll(async () => {
  t = await createTestDatabase('postgres');
  admin = await connect();
  const s = new Scenario(uniqueIdBase());
  const x = s.execution({ path: stored.path, startedMinutesAgo: 120 });
  x.step(stored.step, 100, stored.worker);
  x.event(stored.eventType, 90 * 60, { node: stored.step, status: stored.status, worker: stored.worker, error: stored.error, meta: stored.meta });
  x.claimed(stored.step, 80, stored.worker);
  ids.x = x.id;
  ids.child = s.execution({ path: `${stored.path} child`, startedMinutesAgo: 110, parent: x }).issued(`child ${H.csi}`, 100).id;
  ids.plain = s.execution({ path: 'hostile/plain', startedMinutesAgo: 60 }).issued('extract', 50).id;
  await s.apply(t.db, t.schema);
});

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await t?.close();
});

describePostgres('hostile data in a UTF-8 database', () => {
  it('list (human) shows it safely', async () => {
    expectSafeHuman(await runCli(['list', '--older-than', '0', '--include-children'], { env: env() }), 'list');
  });

  it('show (human) shows it safely: fields, timeline, errors, audit meta, child tree', async () => {
    const r = await runCli(['show', ids.x!, '--events', '1000'], { env: env() });
    expectSafeHuman(r, 'show');
    expect(r.stdout).toContain('\\x1b[2J'); // escaped, visible
    expectSafeHuman(await runCli(['show', ids.child!], { env: env() }), 'show child');
  });

  it('a reason with escape sequences written by the console itself is shown safely', async () => {
    const reason = `incident ${H.csi}${H.osc}${H.c1}${H.bidi}`;
    const c = await runCli(['cancel', ids.plain!, '--reason', reason], { env: env() });
    expect(c.code, c.stderr).toBe(0);
    expect(hasControlBytes(c.stdoutBytes, { allowNewline: true })).toBe(false);
    const { rows } = await admin.query<{ meta: { reason: string } }>(`SELECT meta FROM "${t.schema}".event WHERE execution_id = $1 AND meta->>'emitted_by' = 'noetl-console'`, [
      ids.plain,
    ]);
    expect(rows[0]!.meta.reason).toBe(reason); // stored as given
    const r = await runCli(['show', ids.plain!], { env: env() });
    expectSafeHuman(r, 'show after cancel');
    expect(r.stdout).toContain('incident');
  });

  it('list --json and show --json parse back to the stored values', async () => {
    const list = await runCli(['list', '--older-than', '0', '--include-children', '--json'], { env: env() });
    expect(list.code, list.stderr).toBe(0);
    const rows = (JSON.parse(list.stdout) as { executions: Record<string, unknown>[] }).executions;
    const x = rows.find((e) => e.execution_id === ids.x)!;
    expect(x.path).toBe(stored.path);
    expect(x.stuck_step).toBe(stored.step);
    expect(x.last_step).toBe(stored.step);
    expect(x.worker_id).toBe(stored.worker);
    expect(rows.find((e) => e.execution_id === ids.child)!.path).toBe(`${stored.path} child`);

    const show = await runCli(['show', ids.x!, '--events', '1000', '--json'], { env: env() });
    expect(show.code, show.stderr).toBe(0);
    const detail = JSON.parse(show.stdout) as {
      path: string;
      events: { event_type: string; node_name: string; status: string; worker_id: string; error: string | null; meta: unknown }[];
      children: { path: string }[];
    };
    expect(detail.path).toBe(stored.path);
    expect(detail.children[0]!.path).toBe(`${stored.path} child`);
    const weird = detail.events.find((e) => e.event_type === stored.eventType)!;
    expect(weird).toBeDefined();
    expect(weird.node_name).toBe(stored.step);
    expect(weird.status).toBe(stored.status);
    expect(weird.worker_id).toBe(stored.worker);
    expect(weird.meta).toEqual(stored.meta);
    const { rows: cut } = await admin.query<{ e: string }>(`SELECT left(error, 2000) AS e FROM "${t.schema}".event WHERE execution_id = $1 AND error IS NOT NULL`, [ids.x]);
    expect(weird.error).toBe(cut[0]!.e); // the timeline cuts errors at 2,000 characters
    expect(stored.error.startsWith(weird.error!)).toBe(true);
  });

  it('metrics escapes the paths in its labels as list does: no raw control or bidi character, one valid line a sample', async () => {
    const r = await runCli(['metrics', '--older-than', '0', '--top', '1000'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(hasControlBytes(r.stdoutBytes, { allowNewline: true }), 'metrics: raw control characters on stdout').toBe(false);
    expect(hasBidiControls(r.stdout), 'metrics: bidi controls on stdout').toBe(false);
    const value = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
    const sample = new RegExp(`^[a-z_]+(\\{[a-z_]+=${value}(,[a-z_]+=${value})*\\})? \\S+$`);
    for (const line of r.stdout.trimEnd().split('\n')) if (!line.startsWith('#')) expect(line).toMatch(sample);
    const paths = r.stdout.split('\n').filter((l) => l.startsWith('noetl_console_running_executions_by_path{'));
    expect(paths.some((l) => l.includes('path="hostile/\\\\x1b[2J\\\\x1b[31mRED'))).toBe(true); // ESC as \x1b text, its backslash escaped
    expect(paths.filter((l) => l.includes('path="hostile/\\\\x1b'))).toHaveLength(2); // the root and its child: a series each, never merged or cut
    expect(new Set(paths.map((l) => l.replace(/ \S+$/, ''))).size).toBe(paths.length); // no label set twice
  });

  it('JSON output carries no raw control character a terminal would act on (ESC, C0, DEL, C1)', async () => {
    for (const args of [
      ['list', '--older-than', '0', '--include-children', '--json'],
      ['show', ids.x!, '--events', '1000', '--json'],
    ]) {
      const r = await runCli(args, { env: env() });
      expect(r.code).toBe(0);
      expect(r.stdoutBytes.includes(0x1b), `${args[0]} --json: raw ESC`).toBe(false);
      expect(controlCodePoints(r.stdout), `${args[0]} --json: raw C0/DEL/C1 controls`).toEqual([]);
    }
  });
});

describePostgres('invalid UTF-8 (a SQL_ASCII database made for the test)', () => {
  const dbName = uniqueName('nc_ascii');
  let ascii: pg.Client | null = null;
  let url = '';
  // Bytes: invalid UTF-8 (0xff, 0xfe, a lone continuation byte, a truncated sequence), ESC sequences, a raw C1 byte.
  const bytes = {
    path: Buffer.concat([Buffer.from('ascii/'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(`${ESC}[2J${ESC}]0;t\u0007`), Buffer.from([0x9b, 0x33, 0x31, 0x6d, 0xe2, 0x82])]),
    step: Buffer.concat([Buffer.from('step-'), Buffer.from([0xc3, 0x28, 0xa0, 0xa1]), Buffer.from(`${ESC}[31m`)]),
    error: Buffer.concat([Buffer.from('err '), Buffer.from([0xf0, 0x28, 0x8c, 0x28]), Buffer.from(`${ESC}[5m`)]),
  };
  const decoded = (b: Buffer) => b.toString('utf8'); // what any UTF-8 client reads: U+FFFD for each bad sequence
  let id = '';

  beforeAll(async () => {
    await admin.query(`CREATE DATABASE "${dbName}" ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
    const u = new URL(POSTGRES_URL);
    u.pathname = `/${dbName}`;
    url = u.toString();
    ascii = new pg.Client({ connectionString: url });
    await ascii.connect();
    await ascii.query(noetlSchemaSql('noetl'));
    const s = new Scenario();
    const x = s.execution({ path: 'placeholder', startedMinutesAgo: 90 });
    x.claimed('placeholder-step', 60, 'worker');
    x.event('command.failed', 50 * 60, { node: 'placeholder-step', error: 'placeholder', status: 'FAILED' });
    id = x.id;
    await s.apply(ascii, 'noetl');
    await ascii.query(`UPDATE noetl.catalog SET path = convert_from($1::bytea, 'SQL_ASCII')`, [bytes.path]);
    await ascii.query(`UPDATE noetl.event SET node_name = convert_from($1::bytea, 'SQL_ASCII') WHERE node_name = 'placeholder-step'`, [bytes.step]);
    await ascii.query(`UPDATE noetl.event SET error = convert_from($1::bytea, 'SQL_ASCII') WHERE error = 'placeholder'`, [bytes.error]);
    const { rows } = await ascii.query<{ p: Buffer }>(`SELECT convert_to(path, 'SQL_ASCII') AS p FROM noetl.catalog`);
    expect(Buffer.compare(rows[0]!.p, bytes.path)).toBe(0); // really stored as raw bytes
  });

  afterAll(async () => {
    await ascii?.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
  });

  it('list and show (human) show it safely', async () => {
    const e = { NOETL_DATABASE_URL: url };
    expectSafeHuman(await runCli(['list', '--older-than', '0'], { env: e }), 'list (SQL_ASCII)');
    expectSafeHuman(await runCli(['show', id], { env: e }), 'show (SQL_ASCII)');
  });

  it('list --json and show --json are valid JSON equal to what a UTF-8 client reads', async () => {
    const e = { NOETL_DATABASE_URL: url };
    const list = await runCli(['list', '--older-than', '0', '--json'], { env: e });
    expect(list.code, list.stderr).toBe(0);
    const row = (JSON.parse(list.stdout) as { executions: Record<string, unknown>[] }).executions[0]!;
    expect(row.path).toBe(decoded(bytes.path));
    expect(row.stuck_step).toBe(decoded(bytes.step));
    const show = await runCli(['show', id, '--json'], { env: e });
    expect(show.code, show.stderr).toBe(0);
    const detail = JSON.parse(show.stdout) as { path: string; events: { error: string | null }[] };
    expect(detail.path).toBe(decoded(bytes.path));
    expect(detail.events.some((ev) => ev.error === decoded(bytes.error))).toBe(true);
    expect(list.stdoutBytes.includes(0x1b)).toBe(false);
    expect(show.stdoutBytes.includes(0x1b)).toBe(false);
  });
});
