/**
 * Learned thresholds and policies, end to end through the bin on both
 * backends, with histories built in the fixture: a playbook that usually
 * takes 5 minutes, one that usually takes an hour, one with no history.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releasePgliteEngines } from '../../src/db/pglite.js';
import { seedHistories, type HistoryIds } from '../fixtures/histories.js';
import { backends } from '../helpers/db.js';
import { cliEnv, cliPath, createCliDatabase, jsonOf, runCli, show, type CliDatabase } from '../helpers/cli.js';

const POLICY = `sources:
  main: { type: noetl }
thresholds: { days: 14, min_history: 5 }
policies:
  - name: new-playbooks
    match: "etl/new*"
    older_than: 1h
    action: report
  - name: everything
    match: "*"
    older_than: 20m
    ratio: 3
    action: cancel
`;

describe.each(backends())('learned thresholds and policies on %s', (backend) => {
  let d: CliDatabase;
  let ids: HistoryIds;
  let dir: string;
  let config: string;
  const cli = (args: string[]) => runCli([...args, '--config', config, ...d.args], { timeoutMs: 120_000 });

  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      ids = await seedHistories(db, schema);
    });
    dir = mkdtempSync(join(tmpdir(), 'noetl-console-policy-'));
    config = join(dir, 'policy.yaml');
    writeFileSync(config, POLICY);
  }, 120_000);
  afterAll(async () => {
    await d?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("list --json carries each row's typical duration, p95 and ratio; no history is null; ratio>3 filters", async () => {
    const r = await cli(['list', '--older-than', '20', '--json']);
    expect(r.code, show(r)).toBe(0);
    const rows = new Map((jsonOf(r).executions as any[]).map((e) => [e.execution_id, e]));
    expect(rows.size).toBe(4);
    const fast = rows.get(ids.fast);
    expect(fast.typical_seconds).toBe(300);
    expect(fast.p95_seconds).toBeGreaterThanOrEqual(340); // p95 of 4..6 minutes
    expect(fast.p95_seconds).toBeLessThanOrEqual(360);
    expect(fast.ratio).toBeGreaterThan(4);
    expect(fast.ratio).toBeLessThan(4.5);
    const slow = rows.get(ids.slow);
    expect(slow.typical_seconds).toBe(3600);
    expect(slow.ratio).toBeLessThan(0.5);
    for (const id of [ids.fresh, ids.misc]) expect(rows.get(id)).toMatchObject({ typical_seconds: null, p95_seconds: null, ratio: null });

    const filtered = await cli(['list', '--older-than', '0', '--filter', 'ratio>3', '--json']);
    expect(filtered.code, show(filtered)).toBe(0);
    expect((jsonOf(filtered).executions as any[]).map((e) => e.execution_id)).toEqual([ids.fast]);

    const human = await cli(['list', '--older-than', '20']);
    expect(human.code, show(human)).toBe(0);
    const line = (id: string) => human.stdout.split('\n').find((l) => l.startsWith(id)) ?? '';
    expect(human.stdout).toContain('RATIO');
    expect(line(ids.fast)).toMatch(/4\.\dx p95/);
    expect(line(ids.misc)).toContain('no history');
  }, 240_000);

  it('list --policy: the 5-minute playbook at 25 minutes is flagged, the hour-long one is not; the first matching rule judges; no history falls back to older_than', async () => {
    const r = await cli(['list', '--policy', '--json']);
    expect(r.code, show(r)).toBe(0);
    const rows = new Map((jsonOf(r).executions as any[]).map((e) => [e.execution_id, e]));
    expect([...rows.keys()].sort()).toEqual([ids.fast, ids.misc].sort());
    expect(rows.get(ids.fast).policy).toMatchObject({ rule: 2, name: 'everything', action: 'cancel', basis: 'ratio' });
    // Under 3 x p95 (about 18 minutes) the flagging ratio starts.
    expect(rows.get(ids.fast).policy.threshold_seconds).toBeLessThan(25 * 60);
    expect(rows.get(ids.misc).policy).toMatchObject({ rule: 2, basis: 'older_than', threshold_seconds: 1200 });
    // etl/new would be stuck under rule 2 (older_than 20m), but rule 1 matches it first (older_than 1h).
    expect(rows.has(ids.fresh)).toBe(false);
    expect(rows.has(ids.slow)).toBe(false);
  }, 120_000);

  it('health and metrics count what each rule judges stuck', async () => {
    const h = await cli(['health', '--policy', '--json']);
    expect(h.code, show(h)).toBe(0);
    expect(jsonOf(h).policy).toEqual({
      stuck_executions: 2,
      rules: [
        { rule: 1, name: 'new-playbooks', action: 'report', stuck: 0 },
        { rule: 2, name: 'everything', action: 'cancel', stuck: 2 },
      ],
    });
    const m = await cli(['metrics', '--policy']);
    expect(m.code, show(m)).toBe(0);
    expect(m.stdout).toContain('noetl_console_policy_stuck_executions{rule="1",name="new-playbooks",action="report"} 0');
    expect(m.stdout).toContain('noetl_console_policy_stuck_executions{rule="2",name="everything",action="cancel"} 2');
  }, 120_000);

  it('cleanup --policy --dry-run shows the plan rule by rule and writes nothing; then cleanup --policy closes what it showed', async () => {
    const before = await d.eventCount();
    const dry = await cli(['cleanup', '--policy', '--dry-run', '--json']);
    expect(dry.code, show(dry)).toBe(0);
    const plan = jsonOf(dry);
    expect(plan.rules.map((x: any) => [x.rule, x.name, x.count])).toEqual([
      [1, 'new-playbooks', 0],
      [2, 'everything', 2],
    ]);
    expect([...plan.execution_ids].sort()).toEqual([ids.fast, ids.misc].sort());
    expect(plan.results.find((x: any) => x.execution_id === ids.fast)).toMatchObject({ outcome: 'would_cancel', policy: { rule: 2, basis: 'ratio' } });
    expect(await d.eventCount()).toBe(before);

    const human = await cli(['cleanup', '--policy', '--dry-run']);
    expect(human.code, show(human)).toBe(0);
    expect(human.stdout).toMatch(/rule 1 new-playbooks .*nothing/);
    expect(human.stdout).toMatch(/rule 2 everything .*2 execution/);

    const run = await cli(['cleanup', '--policy', '--reason', 'policy test', '--max-affected', '5', '--json']);
    expect(run.code, show(run)).toBe(0);
    const out = jsonOf(run);
    expect([...out.execution_ids].sort()).toEqual([ids.fast, ids.misc].sort());
    const snap = await d.snapshot();
    for (const id of [ids.fast, ids.misc]) expect(snap.closes(id), id).toHaveLength(1);
    for (const id of [ids.slow, ids.fresh]) expect(snap.closes(id), id).toHaveLength(0);
    // Nothing left to judge stuck: a second pass changes nothing.
    const again = await cli(['cleanup', '--policy', '--json']);
    expect(jsonOf(again).changed_count).toBe(0);
  }, 240_000);
});

describe.each(backends())('bad policy files and sweep on %s', (backend) => {
  let d: CliDatabase;
  let ids: HistoryIds;
  let dir: string;
  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      ids = await seedHistories(db, schema);
    });
    dir = mkdtempSync(join(tmpdir(), 'noetl-console-policy-'));
  }, 120_000);
  afterAll(async () => {
    await d?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('a bad policy file exits 2 naming the key, before connecting', async () => {
    const cases: [string, string][] = [
      ['policies:\n  - match: "*"\n    older_than: 10m\n    action: delete\n', 'policies[0].action: expected cancel, fail or report'],
      ['policies:\n  - match: "*"\n    action: cancel\n', 'policies[0].older_than: required'],
      [
        'policies:\n  - match: "*"\n    older_than: 10m\n    action: cancel\n  - match: "*"\n    older_than: 10m\n    ratio: -1\n    action: cancel\n',
        'policies[1].ratio: expected a number of times the p95',
      ],
      ['policies:\n  - match: "*"\n    older_than: soon\n    action: cancel\n', 'policies[0].older_than'],
      ['policies:\n  - match: "*"\n    older_than: 10m\n    action: cancel\n    colour: red\n', 'policies[0].colour: unknown key'],
      ['policies: []\n', 'policies: expected at least one rule'],
      ['thresholds: { days: 0 }\n', 'thresholds.days: expected a number of days from 1 to 365'],
    ];
    for (const [i, [text, words]] of cases.entries()) {
      const file = write(`bad-${i}.yaml`, `sources:\n  main: { type: noetl }\n${text}`);
      const r = await runCli(['list', '--policy', '--config', file, '--database-url', 'postgres://nobody@127.0.0.1:1/none']);
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr, show(r)).toContain(words);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    const none = write('none.yaml', 'sources:\n  main: { type: noetl }\n');
    const r = await runCli(['cleanup', '--policy', '--config', none, ...d.args]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain('--policy: the config file has no policies');
    const mixed = await runCli(['cleanup', '--policy', '--older-than', '10', '--config', write('ok.yaml', POLICY), ...d.args]);
    expect(mixed.code, show(mixed)).toBe(2);
    expect(mixed.stderr).toContain('--older-than');
  }, 240_000);

  it('sweep runs a pass, logs JSON lines, and stops cleanly on SIGTERM', async () => {
    const config = write('sweep.yaml', POLICY);
    // A process of its own must find the PGlite directory closed (test/helpers/cli.ts keeps engines open).
    await releasePgliteEngines();
    const child = spawn(process.execPath, [cliPath(), 'sweep', '--policy', '--interval', '1h', '--reason', 'sweep test', '--config', config, ...d.args], {
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (t: string) => {
        stdout += t;
        if (stdout.split('\n').some((l) => l.includes('"event":"pass"'))) resolve();
      });
      child.on('close', () => reject(new Error(`sweep exited before a pass\nstdout: ${stdout}\nstderr: ${stderr}`)));
    });
    child.kill('SIGTERM');
    expect(await exited, `stdout: ${stdout}\nstderr: ${stderr}`).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual(['start', 'pass', 'stop']);
    const pass = lines[1];
    expect(pass).toMatchObject({ pass: 1, ok: true, dry_run: false });
    expect([...pass.changed].sort()).toEqual([ids.fast, ids.misc].sort());
    expect(pass.rules.map((r: any) => r.count)).toEqual([0, 2]);
    expect(lines[2]).toMatchObject({ signal: 'SIGTERM', passes: 1 });
    const snap = await d.snapshot();
    expect(snap.closes(ids.fast)).toHaveLength(1);
    expect(snap.closes(ids.slow)).toHaveLength(0);
  }, 240_000);
});
