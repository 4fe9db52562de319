/**
 * Smoke tests of the real bin (dist/cli.js as a process): what only a
 * process shows. Start-up (--version before anything loads), the exit status
 * the shell sees, EPIPE when the reader goes away, standard input that is a
 * pipe, and a read and a write end to end. Every other CLI assertion runs the
 * same run(argv, io) in process (test/helpers/cli.ts); signals, terminals and
 * secrets have their own spawned tests (test/reliability/signals.test.ts,
 * secrets.test.ts, runCliOnTty).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { PACKAGE_VERSION, cliEnv, cliPath, createCliDatabase, jsonOf, runCli, show, type CliDatabase } from '../helpers/cli.js';
import { releasePgliteEngines } from '../../src/db/pglite.js';

const bin = (args: string[], opts: Parameters<typeof runCli>[1] = {}) => runCli(args, { ...opts, spawn: true });
const oneLine = (stderr: string) => stderr.trim().split('\n').length === 1 && stderr.startsWith('noetl-console: ');

describe('the real bin', () => {
  let d: CliDatabase;
  let stuck: string;
  let other: string;

  beforeAll(async () => {
    d = await createCliDatabase('pglite', async (db, schema) => {
      const s = new Scenario(430000000000000000n);
      stuck = s.execution({ path: 'smoke/stuck', startedMinutesAgo: 120 }).issued('load', 100).id;
      other = s.execution({ path: 'smoke/other', startedMinutesAgo: 90 }).issued('load', 80).id;
      await s.apply(db, schema);
    });
  });
  afterAll(async () => {
    await d?.close();
  });

  it('--version: the version, exit 0', async () => {
    const r = await bin(['--version']);
    expect(r, show(r)).toMatchObject({ code: 0, stdout: `${PACKAGE_VERSION}\n`, stderr: '' });
  });

  it('--help: the usage with the exit codes, exit 0', async () => {
    const r = await bin(['--help']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toMatch(/Exit codes:/);
  });

  it('an unknown command, a bad value, a program-level option before a subcommand: exit 2, one line', async () => {
    for (const args of [['lsit'], ['list', '--older-than', 'abc', ...d.args], ['--older-than', '60', 'list', ...d.args]]) {
      const r = await bin(args);
      expect(r.code, show(r)).toBe(2);
      expect(oneLine(r.stderr), show(r)).toBe(true);
      expect(r.stdout).toBe('');
    }
  });

  it('an unreachable database: exit 1, one line, never the password', async () => {
    const r = await bin(['list', '--database-url', 'postgres://user:Sm0keS3cret@127.0.0.1:1/x']);
    expect(r.code, show(r)).toBe(1);
    expect(oneLine(r.stderr), show(r)).toBe(true);
    expect(r.stderr + r.stdout).not.toContain('Sm0keS3cret');
  });

  it('the console without a terminal: exit 2, one line', async () => {
    const r = await bin([...d.args]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/needs a terminal/);
  });

  it('list --json reads the database, exit 0', async () => {
    const r = await bin(['list', '--json', '--older-than', '60', ...d.args]);
    expect(r.code, show(r)).toBe(0);
    expect(
      jsonOf(r)
        .executions.map((e: { execution_id: string }) => e.execution_id)
        .sort(),
    ).toEqual([stuck, other].sort());
  });

  it('show of an unknown id: exit 3', async () => {
    const r = await bin(['show', '5', ...d.args]);
    expect(r.code, show(r)).toBe(3);
    expect(r.stderr).toMatch(/not found/);
  });

  it('cancel with ids on a piped standard input writes, exit 0; again, exit 3', async () => {
    const r = await bin(['cancel', '-', '--reason', 'smoke', '--json', ...d.args], { input: `${stuck}\n` });
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r).results).toMatchObject([{ execution_id: stuck, outcome: 'cancelled' }]);
    expect((await d.snapshot()).closes(stuck)).toHaveLength(1);
    const again = await bin(['cancel', stuck, '--reason', 'smoke', ...d.args]);
    expect(again.code, show(again)).toBe(3);
  });

  it('a reader that goes away (EPIPE): no stack trace, the exit status of the command', async () => {
    // `noetl-console list | true`: the read end is closed before the bin writes.
    await releasePgliteEngines();
    const child = spawn(process.execPath, [cliPath(), 'list', '--older-than', '0', ...d.args], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
