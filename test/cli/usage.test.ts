/**
 * Bad input exits 2 before anything is written, an unreachable database
 * exits 1 without showing the password, --help documents the exit codes and
 * --version prints package.json's version: the built bin, spawned.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { mapLimit } from '../helpers/concurrency.js';
import { backends, POSTGRES_URL } from '../helpers/db.js';
import { PACKAGE_VERSION, createCliDatabase, runCli, show, type CliDatabase, type CliResult } from '../helpers/cli.js';

const PASSWORD = 'S3cretPw';

/** Exit `code`, nothing on stdout, exactly one `noetl-console: ...` line on stderr, no stack trace. */
function expectOneLineFailure(r: CliResult, code: number, what: string) {
  const context = `${what}\n${show(r)}`;
  expect(r.code, context).toBe(code);
  expect(r.stdout, context).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, context).toHaveLength(1);
  expect(r.stderr.endsWith('\n'), context).toBe(true);
  expect(lines[0], context).toMatch(/^noetl-console: \S/);
  expect(r.stderr, context).not.toMatch(/^\s+at |\bError:|unexpected error|node:internal/m);
}

describe.each(backends())('bad input on %s: exit 2, one line, nothing written', (backend) => {
  let d: CliDatabase;
  let running: string;
  let other: string;

  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      const s = new Scenario(450000000000000000n);
      running = s.execution({ path: 'etl/running', startedMinutesAgo: 120 }).issued('x', 100).id;
      other = s.execution({ path: 'etl/other', dialect: 'rust', startedMinutesAgo: 90 }).id;
      await s.apply(db, schema);
    });
  });
  afterAll(async () => d?.close());

  it('every bad flag, id, schema, URL and environment variable', async () => {
    const missingDir = join(tmpdir(), `noetl-console-no-such-dir-${process.pid}`, 'data');
    const db = () => d.args;
    const url = () => ['--database-url', d.url];
    // [what, args, env, pattern of the one line]; each write command targets running executions,
    // so a missed validation would show up in the row count.
    const cases: [string, () => string[], Record<string, string>, RegExp][] = [
      ['unknown flag', () => ['cancel', running, '--bogus', ...db()], {}, /unknown option '--bogus'/],
      ['unknown flag with a suggestion', () => ['list', '--jsn', ...db()], {}, /unknown option '--jsn' \(Did you mean --json\?\)/],
      ['unknown command', () => ['cancle', running, ...db()], {}, /unknown command 'cancle'/],
      ['missing flag value', () => ['cleanup', ...db(), '--older-than'], {}, /argument missing/],
      ['non-numeric minutes', () => ['list', '--older-than', 'abc', ...db()], {}, /--older-than: expected a non-negative number/],
      ['negative minutes', () => ['cleanup', '--older-than', '-5', ...db()], {}, /--older-than: expected a non-negative number/],
      ['negative minutes, = form', () => ['list', '--older-than=-5', ...db()], {}, /--older-than: expected a non-negative number/],
      ['exponent minutes', () => ['list', '--idle', '1e3', ...db()], {}, /--idle: expected/],
      ['cleanup --older-than 0', () => ['cleanup', '--older-than', '0', ...db()], {}, /--older-than: must be at least 1m/],
      ['cleanup --older-than-minutes 0', () => ['cleanup', '--older-than-minutes', '0', ...db()], {}, /--older-than-minutes: must be at least 1m/],
      ['cleanup --older-than 30s', () => ['cleanup', '--older-than', '30s', ...db()], {}, /--older-than: must be at least 1m/],
      ['cleanup minutes not whole', () => ['cleanup', '--older-than', '1.5', ...db()], {}, /--older-than: must be a whole number of minutes/],
      ['cleanup without --older-than', () => ['cleanup', ...db()], {}, /--older-than <minutes> is required/],
      ['cleanup with both spellings', () => ['cleanup', '--older-than', '5', '--older-than-minutes', '5', ...db()], {}, /give one/],
      ['cleanup --mark', () => ['cleanup', '--older-than', '5', '--mark', 'deleted', ...db()], {}, /--mark: expected cancelled or failed/],
      ['empty --reason', () => ['fail', running, '--reason', '', ...db()], {}, /--reason: must not be empty/],
      ['id not a number', () => ['cancel', 'abc', ...db()], {}, /invalid execution id "abc": expected a positive integer/],
      ['id zero', () => ['cancel', '0', ...db()], {}, /invalid execution id "0"/],
      ['id negative', () => ['fail', '-5', ...db()], {}, /invalid execution id "-5"|unknown option '-5'/],
      ['a good id and a bad one', () => ['cancel', running, other, '12.5', ...db()], {}, /invalid execution id "12.5"/],
      ['id beyond bigint', () => ['cancel', '99999999999999999999', ...db()], {}, /invalid execution id/],
      ['show id not a number', () => ['show', 'x1', ...db()], {}, /invalid execution id "x1"/],
      ['show with two ids', () => ['show', running, other, ...db()], {}, /too many arguments for 'show'/],
      ['list with an argument', () => ['list', running, ...db()], {}, /too many arguments for 'list'/],
      ['cancel without ids', () => ['cancel', ...db()], {}, /missing required argument 'ids'/],
      ['--limit 0', () => ['list', '--limit', '0', ...db()], {}, /--limit: expected a whole number from 1/],
      ['--events not a number', () => ['show', running, '--events', 'x', ...db()], {}, /--events: expected a whole number/],
      ['empty --path', () => ['cleanup', '--older-than', '5', '--path', '', ...db()], {}, /--path/],
      ['bad --long-running', () => ['health', '--long-running', 'soon', ...db()], {}, /--long-running: expected/],
      ['bad --statement-timeout', () => ['cancel', running, '--statement-timeout', 'abc', ...db()], {}, /--statement-timeout: expected a non-negative number of seconds/],
      ['--statement-timeout too large', () => ['cancel', running, '--statement-timeout', '30d', ...db()], {}, /--statement-timeout: "30d" is too large/],
      ['bad schema name', () => ['cancel', running, ...url(), '--schema', 'bad-name'], {}, /--schema: "bad-name" is not a valid schema name/],
      ['bad NOETL_SCHEMA', () => ['cleanup', '--older-than', '1', ...url()], { NOETL_SCHEMA: 'x;drop' }, /NOETL_SCHEMA: "x;drop" is not a valid schema name/],
      ['malformed URL', () => ['cancel', running, '--database-url', 'not a url', '--schema', d.schema], {}, /--database-url: not a valid URL/],
      ['URL of another scheme', () => ['cancel', running, '--database-url', 'mysql://u@h/db', '--schema', d.schema], {}, /unsupported scheme "mysql:"/],
      ['URL with port 0', () => ['cancel', running, '--database-url', 'postgres://u@127.0.0.1:0/db', '--schema', d.schema], {}, /invalid port "0"/],
      ['URL with a broken escape', () => ['cancel', running, '--database-url', `postgres://u:${PASSWORD}%zz@127.0.0.1/db`, '--schema', d.schema], {}, /malformed percent-escape/],
      ['pglite URL of a directory without a database', () => ['list', '--database-url', `pglite://${missingDir}`, '--schema', d.schema], {}, /no PGlite database in/],
      ['malformed NOETL_DATABASE_URL', () => ['cancel', running, '--schema', d.schema], { NOETL_DATABASE_URL: 'postgres//nohost' }, /NOETL_DATABASE_URL: not a valid URL/],
      ['bad PGPORT', () => ['cancel', running, '--schema', d.schema], { PGHOST: '127.0.0.1', PGPORT: 'abc' }, /PGPORT: not a port number/],
      ['PGPORT out of range', () => ['cancel', running, '--schema', d.schema], { PGHOST: '127.0.0.1', PGPORT: '70000' }, /PGPORT: not a port number/],
      ['bad NOETL_CONSOLE_READ_ONLY', () => ['cancel', running, ...db()], { NOETL_CONSOLE_READ_ONLY: 'maybe' }, /NOETL_CONSOLE_READ_ONLY: expected 1 or 0/],
      ['the interactive console without a terminal', () => [...db()], {}, /needs a terminal/],
    ];
    const before = await d.eventCount();
    const results = await mapLimit(cases, 4, ([, args, env]) => runCli(args(), { env }));
    expect(existsSync(missingDir), 'a mistyped pglite directory is not created').toBe(false);
    results.forEach((r, i) => {
      const [what, , , pattern] = cases[i]!;
      expectOneLineFailure(r, 2, what);
      expect(r.stderr, `${what}\n${show(r)}`).toMatch(pattern);
      expect(r.stderr, what).not.toContain(PASSWORD);
    });
    expect(await d.eventCount()).toBe(before);
  });

  it('a schema without NoETL tables is an operational error (exit 1) naming the schema', async () => {
    const r = await runCli(['list', '--database-url', d.url, '--schema', 'no_such_schema']);
    expectOneLineFailure(r, 1, 'missing schema');
    expect(r.stderr).toMatch(/schema "no_such_schema" .* has no NoETL event\/catalog tables \(is --schema right\?\)/);
  });

  if (backend === 'postgres') {
    it('a server that answers but has no such database: exit 1 without the password', async () => {
      const url = new URL(POSTGRES_URL);
      url.password = PASSWORD;
      url.pathname = '/no_such_database_for_noetl_console';
      const r = await runCli(['list', '--database-url', url.toString(), '--schema', 'noetl']);
      expectOneLineFailure(r, 1, 'no such database');
      expect(r.stderr).toMatch(/database does not exist/);
      expect(r.stderr).not.toContain(PASSWORD);
    });
  }
});

describe('operational failures: exit 1, one line, never the password', () => {
  it('an unreachable database, by URL, by NOETL_DATABASE_URL and by PG* variables', async () => {
    const unreachable = `postgres://user:${PASSWORD}@127.0.0.1:1/x`;
    const cases: [string, string[], Record<string, string>][] = [
      ['--database-url', ['list', '--database-url', unreachable], {}],
      ['--database-url, write, --json', ['cancel', '5', '--json', '--database-url', unreachable], {}],
      ['cleanup', ['cleanup', '--older-than', '5', '--database-url', unreachable], {}],
      ['NOETL_DATABASE_URL', ['health'], { NOETL_DATABASE_URL: unreachable }],
      ['DATABASE_URL, escaped password', ['show', '5'], { DATABASE_URL: 'postgresql://user:S3c%40retPw@127.0.0.1:1/x' }],
      ['PG* variables', ['list', '--json'], { PGHOST: '127.0.0.1', PGPORT: '1', PGUSER: 'user', PGPASSWORD: PASSWORD, PGDATABASE: 'x' }],
      ['PG* variables, write', ['fail', '5'], { PGHOST: '127.0.0.1', PGPORT: '1', PGPASSWORD: PASSWORD }],
    ];
    const results = await mapLimit(cases, 4, ([, args, env]) => runCli(args, { env }));
    results.forEach((r, i) => {
      const [what] = cases[i]!;
      expectOneLineFailure(r, 1, what);
      expect(r.stderr, what).toMatch(/cannot connect to 127\.0\.0\.1:1\/\w+: connection refused/);
      for (const secret of [PASSWORD, 'S3c@retPw', 'S3c%40retPw']) {
        expect(r.stdout + r.stderr, what).not.toContain(secret);
      }
    });
  });
});

describe('--help and --version', () => {
  it('--help documents the commands, the connection and every exit code; so does each command', async () => {
    const r = await runCli(['--help']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toBe('');
    for (const command of ['list', 'show', 'cancel', 'fail', 'complete', 'cleanup', 'history', 'verify', 'undo', 'rerun', 'health'])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    expect(r.stdout).toMatch(/NOETL_DATABASE_URL/);
    expect(r.stdout).toMatch(/Exit codes:/);
    for (const code of ['0', '1', '2', '3']) expect(r.stdout).toMatch(new RegExp(`^\\s+${code}\\s+\\S`, 'm'));

    for (const args of [
      ['cancel', '--help'],
      ['help', 'cleanup'],
      ['list', '-h'],
    ]) {
      const sub = await runCli(args);
      expect(sub.code, show(sub)).toBe(0);
      expect(sub.stdout, args.join(' ')).toMatch(/Exit codes:/);
      expect(sub.stdout, args.join(' ')).toMatch(/^\s+3\s+cancel\/fail\/complete finished/m);
    }
    const cleanup = await runCli(['cleanup', '--help']);
    expect(cleanup.stdout).toMatch(/--older-than-minutes/);
  });

  it("--version prints package.json's version", async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).toBe(`${PACKAGE_VERSION}\n`);
      expect(r.stderr).toBe('');
    }
  });
});
