/**
 * `noetl-console demo` as data for the subcommands: an on-disk PGlite
 * database and a PostgreSQL schema, refusals that write nothing, --force, and
 * the simulator resuming on demo data written by an earlier process.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, cliPath, jsonOf, runCli, show } from '../helpers/cli.js';
import { POSTGRES_URL, adminClient, describePostgres, uniqueSchema } from '../helpers/db.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'noetl-console-demo-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Stuck executions the demo seeds (older than the default 5 minutes, children under their parents). */
const SEEDED_STUCK = 12;

describe('demo on PGlite', () => {
  it('without a terminal and without a target: exit 2, one line naming --data-dir and --seed-into', async () => {
    const r = await runCli(['demo']);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/needs a terminal.*--data-dir DIR.*--seed-into URL/);
  });

  it('--data-dir writes a database that --database-url pglite:///DIR opens; a second run is refused, --force replaces it', async () => {
    const dir = join(tempDir(), 'demo');
    const seeded = await runCli(['demo', '--data-dir', dir], { timeoutMs: 240_000 });
    expect(seeded.code, show(seeded)).toBe(0);
    const url = `pglite://${dir}`;
    expect(seeded.stdout).toContain(`noetl-console list --database-url ${url}\n`);
    const sample = /noetl-console show (\d+) /.exec(seeded.stdout)![1]!;

    const list = jsonOf(await runCli(['list', '--json', '--database-url', url], { timeoutMs: 120_000 }));
    expect(list.count).toBe(SEEDED_STUCK);
    expect(list.executions[0].execution_id).toBe(sample);
    const diagnoses = new Set(list.executions.map((e: { diagnosis: string }) => e.diagnosis.replace(/ \(.*| \d.*/, '')));
    for (const d of ['never claimed', 'worker dead', 'failed step, no recovery', 'waiting on']) expect(diagnoses).toContain(d);

    const cancel = await runCli(['cancel', sample, '--reason', 'tried the demo', '--json', '--database-url', url], { timeoutMs: 120_000 });
    expect(jsonOf(cancel).counts).toEqual({ cancelled: 1 });

    const again = await runCli(['demo', '--data-dir', dir], { timeoutMs: 120_000 });
    expect(again.code, show(again)).toBe(2);
    expect(again.stderr).toMatch(/already has schema noetl \(demo data with \d+ events\): nothing written; --force/);
    expect(jsonOf(await runCli(['list', '--json', '--database-url', url], { timeoutMs: 120_000 })).count).toBe(SEEDED_STUCK - 1);

    const forced = await runCli(['demo', '--data-dir', dir, '--force'], { timeoutMs: 240_000 });
    expect(forced.code, show(forced)).toBe(0);
    expect(jsonOf(await runCli(['list', '--json', '--database-url', url], { timeoutMs: 120_000 })).count).toBe(SEEDED_STUCK);
  }, 900_000);

  it('refuses a directory that holds something else, and bad flags: exit 2, nothing written', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'mine\n');
    mkdirSync(join(dir, 'sub'));
    for (const [args, message] of [
      [['--data-dir', dir, '--force'], /is not empty and holds no PGlite database/],
      [['--data-dir', dir, '--seed-into', POSTGRES_URL], /--data-dir and --seed-into: choose one/],
      [['--force'], /--force replaces the demo schema in --data-dir or --seed-into/],
      [['--data-dir', join(dir, 'new'), '--schema', 'bad-name'], /--schema: not a valid schema name/],
      [['--seed-into', 'mysql://x@y/z'], /--seed-into: unsupported scheme/],
    ] as const) {
      const r = await runCli(['demo', ...args]);
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'sub']);
  });
});

describePostgres('demo --seed-into PostgreSQL', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    const admin = await adminClient();
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await admin.end();
  });
  const events = async (schema: string) => {
    const admin = await adminClient();
    try {
      return Number((await admin.query(`SELECT count(*) AS n FROM "${schema}".event`)).rows[0].n);
    } finally {
      await admin.end();
    }
  };

  it('seeds a schema list reads; refuses an existing one (demo data or not) unless --force', async () => {
    const schema = uniqueSchema('nc_demo');
    schemas.push(schema);
    const seeded = await runCli(['demo', '--seed-into', POSTGRES_URL, '--schema', schema]);
    expect(seeded.code, show(seeded)).toBe(0);
    expect(seeded.stdout).toContain(`--schema ${schema}`);
    const list = jsonOf(await runCli(['list', '--json', '--database-url', POSTGRES_URL, '--schema', schema]));
    expect(list.count).toBe(SEEDED_STUCK);
    const count = await events(schema);

    const again = await runCli(['demo', '--seed-into', POSTGRES_URL, '--schema', schema]);
    expect(again.code, show(again)).toBe(2);
    expect(again.stderr).toContain(`already has schema ${schema} (demo data with ${count} events): nothing written`);
    expect(await events(schema)).toBe(count);

    const other = uniqueSchema('nc_demo');
    schemas.push(other);
    const admin = await adminClient();
    await admin.query(`CREATE SCHEMA "${other}"; CREATE TABLE "${other}".event (x int); INSERT INTO "${other}".event VALUES (1)`);
    await admin.end();
    for (const extra of [[], ['--simulate']]) {
      const r = await runCli(['demo', '--seed-into', POSTGRES_URL, '--schema', other, ...extra]);
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toContain(`already has schema ${other} (a schema with 1 events): nothing written; --force drops it`);
    }
    expect(await events(other)).toBe(1);
    const forced = await runCli(['demo', '--seed-into', POSTGRES_URL, '--schema', other, '--force']);
    expect(forced.code, show(forced)).toBe(0);
    expect(await events(other)).toBe(count);
  });

  it('--simulate resumes on demo data written by an earlier process, until SIGTERM', async () => {
    const schema = uniqueSchema('nc_demo');
    schemas.push(schema);
    expect((await runCli(['demo', '--seed-into', POSTGRES_URL, '--schema', schema])).code).toBe(0);
    const before = await events(schema);
    const running = () => runCli(['list', '--json', '--older-than', '0', '--database-url', POSTGRES_URL, '--schema', schema]).then(jsonOf);
    const runningBefore = (await running()).count;
    const child = spawn(process.execPath, [cliPath(), 'demo', '--seed-into', POSTGRES_URL, '--schema', schema, '--simulate'], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      for (let i = 0; i < 600 && (await events(schema)) <= before; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await events(schema)).toBeGreaterThan(before);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain(`resuming the demo data in`);
    // New executions are listed with the seeded ones, their paths from the catalog.
    const all = await running();
    expect(all.count).toBeGreaterThan(runningBefore);
    expect(all.executions.every((e: { path: string }) => e.path !== '' && e.path !== null)).toBe(true);
  });
});
