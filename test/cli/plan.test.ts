/**
 * `cleanup --dry-run --json` saved as a plan, then `cleanup --from-plan FILE`:
 * exactly the executions the dry run listed are closed; what finished since
 * is reported, what started since is not touched.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionBuilder } from '../../src/demo/scenario.js';
import { Scenario } from '../fixtures/scenario.js';
import { backends } from '../helpers/db.js';
import { createCliDatabase, jsonOf, runCli, show, type CliDatabase, type CliResult } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'noetl-plan-'));

function oneLineError(r: CliResult, pattern: RegExp) {
  expect(r.code, show(r)).toBe(2);
  expect(r.stdout, show(r)).toBe('');
  expect(r.stderr.trimEnd().split('\n'), show(r)).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describe.each(backends())('cleanup --from-plan on %s', (backend) => {
  let d: CliDatabase;
  const ids: Record<'p' | 'c1' | 'a' | 'fresh', string> = { p: '', c1: '', a: '', fresh: '' };
  const cli = (args: string[], input?: string) => runCli([...args, ...d.args], { input });

  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      const s = new Scenario(470000000000000000n);
      const p = s.execution({ path: 'etl/tree', startedMinutesAgo: 80 }).step('spawn', 78);
      ids.p = p.id;
      ids.c1 = s.execution({ path: 'etl/tree/child', startedMinutesAgo: 75, parent: p }).issued('work', 74).id;
      ids.a = s.execution({ path: 'etl/a', startedMinutesAgo: 120 }).issued('load', 100).id;
      ids.fresh = s.execution({ path: 'etl/fresh', startedMinutesAgo: 2 }).id;
      await s.apply(db, schema);
    });
  });
  afterAll(async () => d?.close());

  it('applies exactly the saved dry run (format 1): finished since = already finished, started since = not touched', async () => {
    const dry = await cli(['cleanup', '--older-than', '5', '--cascade', '--dry-run', '--json', '--reason', 'INC-11 pool died']);
    expect(dry.code, show(dry)).toBe(0);
    const saved = jsonOf(dry);
    expect(saved.plan).toMatchObject({ format: 'noetl-console/cleanup-plan/1', action: 'cancel', cascade: true, reason: 'INC-11 pool died' });
    expect([...saved.plan.execution_ids].sort()).toEqual([ids.p, ids.c1, ids.a].sort());
    const file = join(dir, `${backend}.json`);
    writeFileSync(file, dry.stdout);

    // Since the dry run: the engine finished `a`, a child started under p, a new execution got stuck.
    let late = '';
    let stuckSince = '';
    await d.use(async (db) => {
      const s = new Scenario(480000000000000000n);
      const parent = { id: ids.p, tenant: 'default', organization: 'default' } as ExecutionBuilder;
      late = s.execution({ path: 'etl/tree/late', startedMinutesAgo: 1, parent }).issued('work', 0.5).id;
      stuckSince = s.execution({ path: 'etl/new', startedMinutesAgo: 60 }).issued('x', 59).id;
      await s.apply(db, d.schema);
      await db.query(
        `INSERT INTO "${d.schema}".event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status)
         SELECT execution_id, max(event_id) + 1, min(catalog_id), now() AT TIME ZONE 'UTC', 'playbook.completed', 'playbook', 'COMPLETED'
         FROM "${d.schema}".event WHERE execution_id = $1 GROUP BY execution_id`,
        [ids.a],
      );
    });

    const applied = await cli(['cleanup', '--from-plan', file, '--json']);
    expect(applied.code, show(applied)).toBe(0);
    const out = jsonOf(applied);
    const outcome = Object.fromEntries(out.results.map((r: { execution_id: string; outcome: string }) => [r.execution_id, r.outcome]));
    expect(outcome).toEqual({ [ids.p]: 'cancelled', [ids.c1]: 'cancelled', [ids.a]: 'already_terminal', [late]: 'not_shown' });
    expect(out.changed_count).toBe(2);
    expect(out.action).toBe('cancel');
    expect(new Set(out.results.map((r: { action: string }) => r.action))).toEqual(new Set(['cancel']));
    expect(out.message).toBe("Cancelled 2 of the plan's 3 executions; 1 running descendant(s) not in the plan, not changed");

    const snap = await d.snapshot();
    for (const id of [ids.p, ids.c1]) {
      const closes = snap.closes(id).filter((e) => e.meta?.emitted_by === 'noetl-console');
      expect(closes).toHaveLength(1);
      expect(closes[0]!.meta).toMatchObject({ reason: 'INC-11 pool died' });
    }
    for (const id of [ids.a, late, stuckSince, ids.fresh]) expect(snap.closes(id).filter((e) => e.meta?.emitted_by === 'noetl-console')).toEqual([]);

    // Applied again: nothing left to do, nothing written.
    const again = await cli(['cleanup', '--from-plan', '-', '--json'], dry.stdout);
    expect(again.code, show(again)).toBe(0);
    expect(jsonOf(again).changed_count).toBe(0);
    expect((await d.snapshot()).count).toBe(snap.count);
  });

  it('refuses, exit 2 and nothing written: a selection flag with a plan, a plan from another schema, a file that is not a plan', async () => {
    const dry = await cli(['cleanup', '--older-than', '5', '--dry-run', '--json']);
    const file = join(dir, `${backend}-2.json`);
    writeFileSync(file, dry.stdout);
    const before = await d.eventCount();

    oneLineError(await cli(['cleanup', '--from-plan', file, '--older-than', '5']), /--from-plan applies a saved plan as it was made: --older-than cannot change it/);
    oneLineError(await cli(['cleanup', '--from-plan', file, '--cascade']), /--cascade cannot change it/);

    const other = join(dir, `${backend}-other.json`);
    const plan = jsonOf(dry).plan;
    writeFileSync(other, JSON.stringify({ plan: { ...plan, source: { ...plan.source, target: 'schema elsewhere' } } }));
    oneLineError(await cli(['cleanup', '--from-plan', other]), /the plan was made for source noetl \(schema elsewhere\).*nothing written/);
    writeFileSync(other, JSON.stringify({ plan: { ...plan, database: { ...plan.database, database: 'another_db' } } }));
    oneLineError(await cli(['cleanup', '--from-plan', other]), /the plan was made on database "another_db".*nothing written/);

    writeFileSync(other, '{"cancelled_count": 3}');
    oneLineError(await cli(['cleanup', '--from-plan', other]), /not a plan saved by `cleanup --dry-run --json` \(plan.format/);
    writeFileSync(other, 'not json');
    oneLineError(await cli(['cleanup', '--from-plan', other]), /not JSON/);
    oneLineError(await cli(['cleanup', '--from-plan', join(dir, 'absent.json')]), /cannot read it \(ENOENT\)/);
    expect(await d.eventCount()).toBe(before);
  });
});

const POLICY = `sources:
  main: { type: noetl }
policies:
  - name: cancel-them
    match: "etl/pol/cancel*"
    older_than: 30m
    action: cancel
  - name: fail-them
    match: "etl/pol/fail*"
    older_than: 30m
    action: fail
  - name: watch
    match: "etl/pol/report*"
    older_than: 30m
    action: report
`;

describe.each(backends())('cleanup --policy --dry-run --json, then --from-plan, on %s', (backend) => {
  let d: CliDatabase;
  const ids: Record<'c1' | 'child' | 'c2' | 'f1' | 'r1' | 'young', string> = { c1: '', child: '', c2: '', f1: '', r1: '', young: '' };
  const config = join(dir, `${backend}-policy.yaml`);
  const cli = (args: string[]) => runCli([...args, '--config', config, ...d.args]);

  beforeAll(async () => {
    writeFileSync(config, POLICY);
    d = await createCliDatabase(backend, async (db, schema) => {
      const s = new Scenario(490000000000000000n);
      const c1 = s.execution({ path: 'etl/pol/cancel-a', startedMinutesAgo: 90 }).step('spawn', 88);
      ids.c1 = c1.id;
      ids.child = s.execution({ path: 'etl/pol/cancel-a/child', startedMinutesAgo: 85, parent: c1 }).issued('work', 84).id;
      ids.c2 = s.execution({ path: 'etl/pol/cancel-b', startedMinutesAgo: 70 }).issued('load', 69).id;
      ids.f1 = s.execution({ path: 'etl/pol/fail-x', startedMinutesAgo: 80 }).issued('load', 79).id;
      ids.r1 = s.execution({ path: 'etl/pol/report-y', startedMinutesAgo: 80 }).issued('load', 79).id;
      ids.young = s.execution({ path: 'etl/pol/cancel-young', startedMinutesAgo: 5 }).issued('load', 4).id;
      await s.apply(db, schema);
    });
  });
  afterAll(async () => d?.close());

  it("carries a plan with a group per action, exactly the dry run's; --from-plan writes each group's action and nothing that got stuck since", async () => {
    const dry = await cli(['cleanup', '--policy', '--cascade', '--dry-run', '--json', '--reason', 'INC-12 policy pass']);
    expect(dry.code, show(dry)).toBe(0);
    const saved = jsonOf(dry);
    expect(saved.plan).toMatchObject({ format: 'noetl-console/cleanup-plan/2', cascade: true, reason: 'INC-12 policy pass' });
    expect(saved.plan.groups.map((g: { action: string }) => g.action)).toEqual(['cancel', 'fail']);
    const wouldOf = (outcome: string) => saved.results.filter((r: { outcome: string }) => r.outcome === outcome).map((r: { execution_id: string }) => r.execution_id);
    expect([...saved.plan.groups[0].execution_ids].sort()).toEqual([ids.c1, ids.child, ids.c2].sort());
    expect([...saved.plan.groups[0].execution_ids].sort()).toEqual([...wouldOf('would_cancel')].sort());
    expect(saved.plan.groups[1].execution_ids).toEqual([ids.f1]);
    expect(wouldOf('would_fail')).toEqual([ids.f1]);
    expect(saved.plan.groups.flatMap((g: { execution_ids: string[] }) => g.execution_ids).sort()).toEqual([...saved.execution_ids].sort());
    const file = join(dir, `${backend}-policy.json`);
    writeFileSync(file, dry.stdout);

    // Since the dry run: a new execution got stuck under the cancel rule.
    let stuckSince = '';
    await d.use(async (db) => {
      const s = new Scenario(500000000000000000n);
      stuckSince = s.execution({ path: 'etl/pol/cancel-late', startedMinutesAgo: 60 }).issued('x', 59).id;
      await s.apply(db, d.schema);
    });

    // --max-affected counts every group before anything is written.
    const before = await d.eventCount();
    oneLineError(await cli(['cleanup', '--from-plan', file, '--max-affected', '3']), /refused: 4 executions would change, more than --max-affected 3; nothing written/);
    expect(await d.eventCount()).toBe(before);

    const applied = await cli(['cleanup', '--from-plan', file, '--json']);
    expect(applied.code, show(applied)).toBe(0);
    const out = jsonOf(applied);
    const got = Object.fromEntries(out.results.map((r: { execution_id: string; outcome: string; action: string }) => [r.execution_id, `${r.action}:${r.outcome}`]));
    expect(got).toEqual({ [ids.c1]: 'cancel:cancelled', [ids.child]: 'cancel:cancelled', [ids.c2]: 'cancel:cancelled', [ids.f1]: 'fail:failed' });
    expect(out).toMatchObject({ action: null, changed_count: 4, reason: 'INC-12 policy pass', from_plan: { executions: 4, groups: 2 } });
    expect(out.batch_ids).toHaveLength(2);
    expect(out.message).toBe("Closed 4 of the plan's 4 executions");

    const snap = await d.snapshot();
    const consoleCloses = (id: string) => snap.closes(id).filter((e) => e.meta?.emitted_by === 'noetl-console');
    for (const id of [ids.c1, ids.child, ids.c2]) expect(consoleCloses(id).map((e) => [e.status, e.meta?.reason])).toEqual([['CANCELLED', 'INC-12 policy pass']]);
    expect(consoleCloses(ids.f1).map((e) => [e.event_type, e.status])).toEqual([['playbook.failed', 'FAILED']]);
    for (const id of [ids.r1, ids.young, stuckSince]) expect(consoleCloses(id)).toEqual([]);

    // The policy would now close the late one: the plan did not.
    const next = jsonOf(await cli(['cleanup', '--policy', '--dry-run', '--json']));
    expect(next.plan.groups).toEqual([{ action: 'cancel', execution_ids: [stuckSince] }]);
  });

  it('--from-plan with --policy: exit 2, one line, nothing written', async () => {
    const dry = await cli(['cleanup', '--policy', '--dry-run', '--json']);
    const file = join(dir, `${backend}-policy-2.json`);
    writeFileSync(file, dry.stdout);
    const before = await d.eventCount();
    oneLineError(await cli(['cleanup', '--policy', '--from-plan', file]), /--from-plan cannot be combined with it/);
    expect(await d.eventCount()).toBe(before);
  });
});
