/**
 * Flags declared once (commands/flags.ts): program-level options are not
 * silently swallowed when a subcommand follows, and `health` and `metrics`
 * read the same thresholds by the same precedence (flag, config, default).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCliDatabase, jsonOf, runCli, show, type CliDatabase } from '../helpers/cli.js';

/** Nothing listens there: a command that got past its flags would fail to connect (exit 1). */
const UNREACHABLE = ['--database-url', 'postgres://nobody@127.0.0.1:1/none'];

describe('program-level options before a subcommand', () => {
  it.each([
    [['--older-than', 'abc', 'list']],
    [['--older-than', '60', 'list']],
    [['--idle', '30', 'cleanup', '--older-than', '60']],
    [['--refresh', '5', 'health']],
    [['--reason', 'why', 'cancel', '5']],
    // A connection flag the subcommand does not take.
    [['--statement-timeout', '5', 'contexts']],
  ])('%j: refused, exit 2, one line, nothing connected', async (args) => {
    const r = await runCli([...args, ...UNREACHABLE]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n'), show(r)).toHaveLength(1);
    expect(r.stderr.startsWith(`noetl-console: ${args[0]} `), show(r)).toBe(true);
    expect(r.stderr).toContain(`after the subcommand`);
  });

  it('a connection flag the subcommand takes still applies before it (the program-level --config, --read-only)', async () => {
    const r = await runCli(['--read-only', ...UNREACHABLE, 'list']);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toMatch(/127\.0\.0\.1:1/);
  });

  it('the console alone still takes them (no subcommand): bad values exit 2 before connecting', async () => {
    const r = await runCli(['--older-than', 'abc', ...UNREACHABLE]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/--older-than/);
  });
});

describe('health and metrics read the same thresholds', () => {
  let d: CliDatabase;
  let dir: string;
  let config: string;

  beforeAll(async () => {
    d = await createCliDatabase('pglite', async () => undefined);
    dir = mkdtempSync(join(tmpdir(), 'noetl-console-flags-'));
    config = join(dir, 'noetl-console.config.yaml');
    writeFileSync(config, `sources:\n  main:\n    type: noetl\n    database_url: ${d.url}\n    schema: ${d.schema}\nhealth:\n  stuck_minutes: 30\n  long_running_minutes: 90\n`);
  });
  afterAll(async () => {
    await d?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const thresholdsOf = (metrics: string) => ({
    stuck: /^noetl_console_stuck_executions\{threshold_seconds="(\d+)"\}/m.exec(metrics)?.[1],
    longRunning: /^noetl_console_long_running_executions\{threshold_seconds="(\d+)"\}/m.exec(metrics)?.[1],
  });

  it("the config's health section, when no flag is given", async () => {
    const health = await runCli(['health', '--config', config, '--json']);
    expect(health.code, show(health)).toBe(0);
    expect(jsonOf(health).thresholds).toMatchObject({ stuck_minutes: 30, long_running_minutes: 90 });
    const metrics = await runCli(['metrics', '--config', config]);
    expect(metrics.code, show(metrics)).toBe(0);
    expect(thresholdsOf(metrics.stdout)).toEqual({ stuck: '1800', longRunning: '5400' });
  });

  it('a flag wins over the config', async () => {
    const health = await runCli(['health', '--config', config, '--json', '--older-than', '10', '--long-running', '20']);
    expect(jsonOf(health).thresholds).toMatchObject({ stuck_minutes: 10, long_running_minutes: 20 });
    const metrics = await runCli(['metrics', '--config', config, '--older-than', '10', '--long-running', '20']);
    expect(thresholdsOf(metrics.stdout)).toEqual({ stuck: '600', longRunning: '1200' });
  });

  it('without a config: the defaults, the same for both', async () => {
    const health = await runCli(['health', ...d.args, '--json']);
    expect(jsonOf(health).thresholds).toMatchObject({ stuck_minutes: 5, long_running_minutes: 60 });
    const metrics = await runCli(['metrics', ...d.args]);
    expect(thresholdsOf(metrics.stdout)).toEqual({ stuck: '300', longRunning: '3600' });
  });
});
