/**
 * Status-table sources, health exit codes and metrics, end to end through
 * the built bin on real PostgreSQL: the three table shapes of issue 7 from a
 * config file, rows checked in the database afterwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { DAG_CONFIG, JOBS_CONFIG, RUN, RUNS_CONFIG, seedDag, seedJobs, seedRuns } from '../status-table/fixtures.js';
import { cliPath, jsonOf, runCli, show } from '../helpers/cli.js';
import { POSTGRES_URL, createTestDatabase, describePostgres, type TestDatabase } from '../helpers/db.js';
import { spawn } from 'node:child_process';

function configFor(schema: string): string {
  const body = (text: string) => text.replace(/^\s*sources:\n/m, '').replaceAll('{schema}', schema);
  return `default_source: jobs\nhealth: { long_running_minutes: 60, warning_long_running: 1, critical_long_running: 3 }\nsources:\n${[JOBS_CONFIG, RUNS_CONFIG, DAG_CONFIG].map(body).join('')}`.replace(
    /^( {2}\w+):\n( {4}type: status-table)/gm,
    `$1:\n$2\n    database_url: ${POSTGRES_URL}`,
  );
}

describePostgres('status-table sources through the bin', () => {
  let t: TestDatabase;
  let dir: string;
  let config: string;
  const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(['--config', config, ...args], { env: { NO_COLOR: '1', ...env } });

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await seedJobs(t.db, t.schema);
    await seedRuns(t.db, t.schema);
    await seedDag(t.db, t.schema);
    dir = mkdtempSync(join(tmpdir(), 'noetl-console-sources-'));
    config = join(dir, 'noetl-console.config.yaml');
    writeFileSync(config, configFor(t.schema));
  });
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('job_executions: list, show, fail with a reason, never twice; cancel is refused (no cancelled value)', async () => {
    const list = await cli(['list', '--older-than', '60', '--json']);
    expect(list.code, show(list)).toBe(0);
    const rows = jsonOf(list).executions;
    expect(rows.map((r: { execution_id: string }) => r.execution_id)).toEqual(['39', '41']);
    expect(rows[0]).toMatchObject({ path: '21', status: 'running', display: { execution_number: '5' } });
    expect(rows[0].age_seconds).toBeGreaterThanOrEqual(22 * 3600 - 5);

    const detail = await cli(['show', '39']);
    expect(detail.code, show(detail)).toBe(0);
    expect(detail.stdout).toMatch(/execution_number\s+5/);

    const failed = await cli(['fail', '39', '--reason', 'worker crashed', '--json']);
    expect(failed.code, show(failed)).toBe(0);
    expect(jsonOf(failed).results).toMatchObject([{ execution_id: '39', outcome: 'failed' }]);
    const {
      rows: [row],
    } = await t.db.query<{ status: string; completed_at: Date | null; error_message: string }>(
      `SELECT status, completed_at, error_message FROM "${t.schema}".job_executions WHERE id = 39`,
    );
    expect(row).toMatchObject({ status: 'failed', error_message: expect.stringContaining('worker crashed') });
    expect(row!.completed_at).not.toBeNull();

    const again = await cli(['fail', '39', '--json']);
    expect(again.code).toBe(3);
    expect(jsonOf(again).results[0].outcome).toBe('already_terminal');

    const cancel = await cli(['cancel', '41']);
    expect(cancel.code).toBe(2);
    expect(cancel.stderr.trim().split('\n')).toHaveLength(1);
    expect(cancel.stderr).toMatch(/cancelled/);
    const {
      rows: [still],
    } = await t.db.query<{ status: string }>(`SELECT status FROM "${t.schema}".job_executions WHERE id = 41`);
    expect(still!.status).toBe('running');
  });

  it('pipeline runs: cleanup --mark cancelled appends the reason to errors, only for stuck runs', async () => {
    const dry = await cli(['cleanup', '--source', 'runs', '--older-than', '60', '--mark', 'cancelled', '--dry-run', '--json']);
    expect(dry.code, show(dry)).toBe(0);
    expect(jsonOf(dry).execution_ids.sort()).toEqual([RUN.stuckLoad, RUN.stuckUnderwriting].sort());
    const r = await cli(['cleanup', '--source', 'runs', '--max-hours', '1', '--mark', 'cancelled', '--reason', 'process restarted', '--json']);
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r)).toMatchObject({ cancelled_count: 2, older_than_minutes: 60, mark: 'cancelled' });
    const { rows } = await t.db.query<{ run_id: string; status: string; errors: string | null }>(
      `SELECT run_id::text, status::text, errors FROM "${t.schema}".runs ORDER BY run_id`,
    );
    const by = Object.fromEntries(rows.map((x) => [x.run_id, x]));
    expect(by[RUN.stuckLoad]).toMatchObject({ status: 'CANCELLED', errors: expect.stringMatching(/^warning: SFY file missing\n.*process restarted/s) });
    expect(by[RUN.stuckUnderwriting]!.errors).toMatch(/process restarted/);
    expect(by[RUN.fresh]!.status).toBe('RUNNING');
    expect(by[RUN.failedBefore]).toMatchObject({ status: 'FAILED', errors: 'KeyError: FICO' });
  });

  it('DAG runs with nodes: last completed and stuck node; health with its exit code', async () => {
    const detail = await cli(['show', '--source', 'dag', 'exec-a', '--json']);
    expect(detail.code, show(detail)).toBe(0);
    expect(jsonOf(detail)).toMatchObject({ last_step: 'validate', stuck_step: 'calc', stuck_step_attempts: 3 });
    const health = await cli(['health', '--source', 'dag', '--json', '--long-running', '60', '--warning-long-running', '1']);
    expect(health.code).toBe(4);
    expect(jsonOf(health)).toMatchObject({ status: 'warning', metrics: { running_executions: 4, long_running_executions: 2 } });
    // Thresholds from the config file's health section when no flag is given; a flag still wins.
    const fromConfig = await cli(['health', '--source', 'dag', '--json']);
    expect(fromConfig.code).toBe(4);
    expect(jsonOf(fromConfig).thresholds).toEqual({ stuck_minutes: 5, long_running_minutes: 60, warning_long_running: 1, critical_long_running: 3 });
    const critical = await cli(['health', '--source', 'dag', '--json', '--critical-long-running', '1']);
    expect(critical.code).toBe(5);
    expect(jsonOf(critical).status).toBe('critical');
  });

  it('a config error names the file and the key, exit 2', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        sources: { jobs: { type: 'status-table', table: 'x', id: { column: 'id', type: 'integer' }, status: { column: 'status', running: [] }, started_at: 's' } },
      }),
    );
    const r = await runCli(['list', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad\.json: sources\.jobs\.status\.running/);
    const env = await runCli(['list', '--source', 'runs', '--older-than', '60', '--json'], { env: { NOETL_CONSOLE_CONFIG: config } });
    expect(env.code, show(env)).toBe(0);
  });
});

/** A free TCP port on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Prometheus text exposition, parsed back: HELP/TYPE lines and samples. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.trimEnd().split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(meta[3]).toBe('gauge');
        typed.add(meta[2]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN)$/.exec(line);
    expect(m, `not a valid sample line: ${line}`).not.toBeNull();
    expect(typed.has(m![1]!), `${m![1]} has no TYPE`).toBe(true);
    samples.set(`${m![1]}${m![2] ?? ''}`, Number(m![3]));
  }
  return samples;
}

describePostgres('metrics on NoETL through the bin', () => {
  let t: TestDatabase;
  const args = () => ['--database-url', POSTGRES_URL, '--schema', t.schema];

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    const s = new Scenario(700_000_000_000_000_000n);
    s.execution({ path: 'etl/a "quoted"\\path', startedMinutesAgo: 120.5 }).issued('load', 100);
    s.execution({ path: 'etl/a "quoted"\\path', startedMinutesAgo: 30.5 }).issued('load', 20);
    s.execution({ path: 'etl/b', startedMinutesAgo: 2.5 });
    s.execution({ path: 'etl/b', startedMinutesAgo: 300.5 }).finish('completed', 200);
    await s.apply(t.db, t.schema);
  });
  afterAll(async () => t?.close());

  it('prints the text exposition once, parsed back to the same counts as health', async () => {
    const r = await runCli(['metrics', '--older-than', '5', '--long-running', '60', ...args()]);
    expect(r.code, show(r)).toBe(0);
    const m = parseExposition(r.stdout);
    expect(m.get('noetl_console_running_executions')).toBe(3);
    expect(m.get('noetl_console_stuck_executions{threshold_seconds="300"}')).toBe(2);
    expect(m.get('noetl_console_long_running_executions{threshold_seconds="3600"}')).toBe(1);
    expect(m.get('noetl_console_running_executions_by_path{path="etl/a \\"quoted\\"\\\\path"}')).toBe(2);
    expect(m.get('noetl_console_scrape_success')).toBe(1);
    expect(m.get('noetl_console_oldest_running_seconds')).toBeGreaterThanOrEqual(120 * 60);
    const health = jsonOf(await runCli(['health', '--json', '--warning-long-running', '100', ...args()]));
    expect(health.metrics).toMatchObject({ running_executions: 3, stuck_executions: 2, long_running_executions: 1 });
  });

  it('says the read failed when the database cannot be read: scrape_success 0, exit 1', async () => {
    const r = await runCli(['metrics', '--database-url', 'postgres://nobody@127.0.0.1:1/x']);
    expect(r.code).toBe(1);
    expect(parseExposition(r.stdout).get('noetl_console_scrape_success')).toBe(0);
  });

  it('serves /metrics with --listen and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [cliPath(), 'metrics', '--listen', `127.0.0.1:${port}`, '--cache', '1', ...args()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      for (let i = 0; i < 100 && !/serving metrics/.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
      const first = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      expect(first.get('noetl_console_running_executions')).toBe(3);
      const second = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(second.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
