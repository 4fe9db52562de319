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

  it('applies exactly the saved dry run: finished since = already finished, started since = not touched', async () => {
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
