/**
 * Promise 6, secrets: no password appears in any output (stdout, stderr),
 * error, --help or debug log (NOETL_CONSOLE_DEBUG=1), whichever way it was
 * given: in the URL (--database-url, NOETL_DATABASE_URL, DATABASE_URL),
 * PGPASSWORD, or a .pgpass file (PGPASSFILE).
 *
 * The shared server trusts 127.0.0.1, so it never asks for a password and
 * would prove nothing about the paths that use one. This file starts a
 * private server that requires scram-sha-256 over TCP: a command that
 * succeeds here really sent the password, and a wrong one really fails.
 * Unreachable and wrong-port targets, malformed URLs carrying a password,
 * and a password pasted where it does not belong are covered too.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { Scenario } from '../fixtures/scenario.js';
import { noetlSchemaSql } from '../fixtures/noetl-schema.js';
import { startPrivateCluster, type PrivateCluster } from '../helpers/reliability-cluster.js';
import { stderrProblems, type CliResult } from '../helpers/reliability.js';
import { runCli } from '../helpers/cli.js';
import { mapLimit } from '../helpers/concurrency.js';
import { describePostgres } from '../helpers/db.js';

// Long enough that a prefix would be recognisable; with characters that need percent-encoding in a URL.
const PASSWORD = 'S3cr3t-Pa55:w0rd@with/slash%and#hash';
const WRONG = 'Wr0ng-Pa55w0rd-that-must-not-leak';
const USER = 'nc_secret_user';

let cluster: PrivateCluster;
let dir: string;
let id = '';
let writeId = '';
let runs = 0;

/** Every spelling of a secret that must never be printed. */
function spellings(secret: string): string[] {
  return [secret, encodeURIComponent(secret), secret.slice(0, 12), encodeURIComponent(secret).slice(0, 12)];
}

function leaks(r: CliResult, secrets: string[]): string[] {
  const text = `${r.stdout}\n${r.stderr}`;
  return secrets.flatMap(spellings).filter((s) => text.includes(s));
}

async function check(args: string[], env: Record<string, string | undefined>, expectCode: number | number[], secrets = [PASSWORD, WRONG]) {
  const out: { args: string[]; debug: boolean; code: number | null; leaked: string[]; problems: string[] }[] = [];
  for (const debug of [false, true]) {
    const r = await runCli(args, { spawn: true, timeoutMs: 120_000, env: { ...env, ...(debug ? { NOETL_CONSOLE_DEBUG: '1' } : {}) } });
    runs++;
    const codes = Array.isArray(expectCode) ? expectCode : [expectCode];
    // In debug mode a stack trace may follow the one-line message; otherwise exactly one line.
    const problems = codes.includes(r.code ?? -1) ? [] : [`unexpected exit: ${r.stderr.slice(0, 200)}`];
    if (!debug && r.code !== 0 && r.code !== 3) problems.push(...stderrProblems(r));
    out.push({ args, debug, code: r.code, leaked: leaks(r, secrets), problems });
  }
  return out;
}

function expectClean(results: Awaited<ReturnType<typeof check>>[]): void {
  const bad = results
    .flat()
    .filter((r) => r.leaked.length > 0 || r.problems.length > 0)
    .map(
      (r) =>
        `${r.debug ? 'NOETL_CONSOLE_DEBUG=1 ' : ''}noetl-console ${r.args.map((a) => JSON.stringify(a.slice(0, 50))).join(' ')} -> exit ${r.code}${r.leaked.length ? `, printed the password (${r.leaked.map((l) => JSON.stringify(l)).join(', ')})` : ''}${r.problems.length ? `, ${r.problems.map((p) => JSON.stringify(p)).join(', ')}` : ''}`,
    );
  expect(bad).toEqual([]);
}

beforeAll(async () => {
  cluster = await startPrivateCluster({ scram: true });
  const admin = new pg.Client(cluster.adminConfig());
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${USER} LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
    await admin.query(noetlSchemaSql('noetl'));
    await admin.query(`GRANT USAGE ON SCHEMA noetl TO ${USER};
      GRANT SELECT ON ALL TABLES IN SCHEMA noetl TO ${USER};
      GRANT INSERT ON noetl.event TO ${USER};
      GRANT UPDATE ON noetl.execution TO ${USER};
      GRANT USAGE ON ALL SEQUENCES IN SCHEMA noetl TO ${USER};`);
    const s = new Scenario();
    for (let i = 0; i < 6; i++) s.execution({ path: `secrets/${i}`, startedMinutesAgo: 100 + i }).issued('extract', 90);
    const x = s.execution({ path: 'secrets/x', startedMinutesAgo: 200 }).issued('extract', 190);
    id = x.id;
    writeId = s.execution({ path: 'secrets/w', startedMinutesAgo: 200 }).issued('extract', 190).id;
    await s.apply(admin, 'noetl');
  } finally {
    await admin.end();
  }
  dir = mkdtempSync(join(tmpdir(), 'noetl-console-secrets-'));
}, 120_000);

afterAll(() => {
  cluster?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
  console.log(`secrets: ${runs} runs (each also with NOETL_CONSOLE_DEBUG=1) against a scram-sha-256 server, no password printed`);
});

const READS = (x: () => string) => [
  ['list', '--older-than', '0'],
  ['list', '--json'],
  ['show', x()],
  ['show', x(), '--json'],
  ['health', '--json', '--warning-long-running', '1000000', '--critical-long-running', '1000000'],
  ['cleanup', '--older-than', '10', '--dry-run', '--json'],
  ['cancel', x(), '--dry-run'],
];

describePostgres('secrets: the password given in the URL', () => {
  it('works (the server required it) and is never printed, through every way of giving a URL', async () => {
    const url = cluster.url(USER, PASSWORD);
    const results = await mapLimit(
      [
        ...READS(() => id).map((args) => ({ args: [...args, '--database-url', url], env: {} })),
        ...READS(() => id).map((args) => ({ args, env: { NOETL_DATABASE_URL: url } })),
        ...READS(() => id).map((args) => ({ args, env: { DATABASE_URL: url } })),
      ],
      3,
      (c) => check(c.args, c.env, 0),
    );
    expectClean(results);
  });

  it('a write with it works and prints no password', async () => {
    expectClean([await check(['cancel', writeId, '--reason', 'secrets test', '--json'], { NOETL_DATABASE_URL: cluster.url(USER, PASSWORD) }, [0, 3])]);
  });

  it('a wrong password, a wrong port, an unreachable host, a missing database or schema: exit 1, one line, no password', async () => {
    const cases: [string, number][] = [
      [cluster.url(USER, WRONG), 1],
      [`postgres://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/postgres`, 1],
      [`postgres://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${cluster.port}/nc_no_such_db`, 1],
      [`postgres://${USER}:${encodeURIComponent(WRONG)}@127.0.0.1:${cluster.port}/nc_no_such_db`, 1],
      [`postgres://${USER}:${encodeURIComponent(PASSWORD)}@nonexistent.invalid:5432/postgres`, 1],
      [`postgres://nc_no_such_role:${encodeURIComponent(PASSWORD)}@127.0.0.1:${cluster.port}/postgres`, 1],
      [`postgresql://${USER}:${encodeURIComponent(PASSWORD)}@[::1]:1/postgres`, 1],
    ];
    const results = await mapLimit(
      cases.flatMap(([url, code]) => [
        { args: ['list', '--database-url', url], env: {}, code },
        { args: ['cancel', id], env: { NOETL_DATABASE_URL: url }, code },
      ]),
      3,
      (c) => check(c.args, c.env, c.code),
    );
    results.push(await check(['list', '--schema', 'nc_missing'], { NOETL_DATABASE_URL: cluster.url(USER, PASSWORD) }, 1));
    expectClean(results);
  });

  it('malformed URLs that carry a password: exit 2, one line, no password', async () => {
    const p = encodeURIComponent(PASSWORD);
    const urls = [
      `postgres://${USER}:${p}@127.0.0.1:99999/postgres`,
      `postgres://${USER}:${p}@[::1/postgres`,
      `http://${USER}:${p}@127.0.0.1/postgres`,
      `postgres://${USER}:${p}@127.0.0.1/postgres\u0001`,
      `postgres://${USER}:${p}@127.0.0.1:${cluster.port}/%zz`,
      `postgres://${USER}:${p}%zz@127.0.0.1:${cluster.port}/postgres`,
      `postgres://${USER}:${PASSWORD}@127.0.0.1:${cluster.port}/postgres`, // not percent-encoded at all
      `postgres://${USER}:${p}@127.0.0.1:abc/postgres`,
      `postgres://${USER}:${p}@127.0.0.1:5432:5433/postgres`,
    ];
    const results = await mapLimit(
      urls.flatMap((url) => [
        { args: ['list', '--database-url', url], env: {} },
        { args: ['cleanup', '--older-than', '10'], env: { NOETL_DATABASE_URL: url } },
        { args: ['show', id], env: { DATABASE_URL: url } },
      ]),
      3,
      (c) => check(c.args, c.env, [1, 2]),
    );
    expectClean(results);
  });
});

describePostgres('secrets: PGPASSWORD and .pgpass', () => {
  const pgEnv = () => ({ PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: USER, PGDATABASE: 'postgres' });

  it('PGPASSWORD works and is never printed; a wrong one fails with exit 1 and is not printed either', async () => {
    const ok = await mapLimit(
      READS(() => id),
      3,
      (args) => check(args, { ...pgEnv(), PGPASSWORD: PASSWORD }, 0),
    );
    const wrong = await mapLimit(READS(() => id).slice(0, 3), 3, (args) => check(args, { ...pgEnv(), PGPASSWORD: WRONG }, 1));
    const refused = await check(['list'], { ...pgEnv(), PGPORT: '1', PGPASSWORD: PASSWORD }, 1);
    const badSchema = await check(['list'], { ...pgEnv(), PGPASSWORD: PASSWORD, NOETL_SCHEMA: 'nc_missing' }, 1);
    expectClean([...ok, ...wrong, refused, badSchema]);
  });

  it('a .pgpass file (PGPASSFILE) works and its password is never printed', async () => {
    const file = join(dir, 'pgpass');
    writeFileSync(file, `127.0.0.1:${cluster.port}:postgres:${USER}:${PASSWORD.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}\n`);
    chmodSync(file, 0o600);
    const ok = await mapLimit(
      READS(() => id),
      3,
      (args) => check(args, { ...pgEnv(), PGPASSFILE: file }, 0),
    );
    const wrongFile = join(dir, 'pgpass-wrong');
    writeFileSync(wrongFile, `*:*:*:*:${WRONG}\n`);
    chmodSync(wrongFile, 0o600);
    const wrong = await check(['list'], { ...pgEnv(), PGPASSFILE: wrongFile }, 1);
    const viaUrl = await check(['list', '--json'], { NOETL_DATABASE_URL: cluster.url(USER), PGPASSFILE: file }, 0);
    expectClean([...ok, wrong, viaUrl]);
  });
});

describePostgres('secrets: help, usage errors and misplaced passwords', () => {
  it('--help (every subcommand), --version and usage errors print no password given in the environment', async () => {
    const env = { NOETL_DATABASE_URL: cluster.url(USER, PASSWORD), PGPASSWORD: PASSWORD, DATABASE_URL: cluster.url(USER, PASSWORD) };
    const results = await mapLimit(
      [
        ['--help'],
        ['--version'],
        ...['list', 'show', 'cancel', 'fail', 'cleanup', 'health', 'ui'].map((c) => [c, '--help']),
        ['list', '--bogus'],
        ['cancel', 'x'],
        ['list', '--older-than', '-1'],
      ],
      3,
      (args) => check(args, env, [0, 2]),
    );
    expectClean(results);
  });

  it('a URL with a password pasted in the wrong place is not echoed with its password', async () => {
    const url = cluster.url(USER, PASSWORD);
    const results = await mapLimit(
      [['show', url], ['cancel', url], ['list', '--schema', url], ['list', '--older-than', url], ['cleanup', '--older-than', '10', '--mark', url], [url]],
      3,
      (args) => check(args, { NOETL_DATABASE_URL: cluster.url(USER, PASSWORD) }, 2),
    );
    expectClean(results);
  });
});
