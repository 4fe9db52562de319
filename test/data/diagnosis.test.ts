/**
 * Diagnoses of NoETL's known stuck shapes (the Rust server's non-convergence
 * sweep names them), read from the database on both backends: the cause
 * before the symptom.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentActor } from '../../src/audit.js';
import { markExecutions, runningDescendants } from '../../src/noetl/mark.js';
import { NoetlStore } from '../../src/noetl/store.js';
import { Scenario, type ExecutionBuilder } from '../fixtures/scenario.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';

describe.each(backends())('diagnoses on %s', (backend) => {
  let t: TestDatabase;
  let store: NoetlStore;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestDatabase(backend);
    store = new NoetlStore(t.db, t.schema);
    const s = new Scenario();
    s.worker('worker-live', 2).worker('worker-dead', 3600);
    ids.live = s.execution({ path: 'shape/live-claim', startedMinutesAgo: 120 }).step('a', 110).claimed('b', 100, 'worker-live').id;
    ids.callback = s
      .execution({ path: 'shape/callback', dialect: 'rust', startedMinutesAgo: 120 })
      .step('a', 110)
      .event('command_completed', 100 * 60, { node: 'approve', status: 'COMPLETED', result: { status: 'COMPLETED', context: { pending_callback: true } } }).id;
    const parent = s.execution({ path: 'shape/parent', startedMinutesAgo: 120 }).step('spawn', 110).claimed('poll', 1, 'worker-live');
    ids.parent = parent.id;
    ids.child = s.execution({ path: 'shape/child', startedMinutesAgo: 100, parent }).step('a', 90).id;
    ids.imported = s.execution({ path: 'shape/imported', startedMinutesAgo: 60 * 24 * 30, imported: true }).step('a', 60 * 24 * 30 - 5).id;
    ids.finished = s.execution({ path: 'shape/finished', startedMinutesAgo: 120 }).step('a', 110).step('end', 100).id;
    const dead = s.execution({ path: 'shape/dead-with-child', startedMinutesAgo: 120 }).claimed('fan', 100, 'worker-dead');
    ids.dead = dead.id;
    s.execution({ path: 'shape/dead-child', startedMinutesAgo: 100, parent: dead }).issued('x', 90);
    // Broken parent links: its own parent, and two executions each the other's parent.
    const self = '543857931469999001';
    ids.self = s.execution({ path: 'shape/self-parent', startedMinutesAgo: 120, id: self, parent: { id: self } as ExecutionBuilder }).issued('x', 100).id;
    const [a, b] = ['543857931469999011', '543857931469999021'];
    ids.cycleA = s.execution({ path: 'shape/cycle-a', startedMinutesAgo: 120, id: a, parent: { id: b } as ExecutionBuilder }).issued('x', 100).id;
    ids.cycleB = s.execution({ path: 'shape/cycle-b', startedMinutesAgo: 120, id: b, parent: { id: a } as ExecutionBuilder }).issued('x', 100).id;
    await s.apply(t.db, t.schema);
  });
  afterAll(async () => t?.close());

  it('names each shape, the cause before the symptom', async () => {
    const rows = await store.listStuck({ olderThanSeconds: 60, includeChildren: true });
    const by = new Map<string | undefined, string>(rows.map((e) => [e.execution_id, e.diagnosis]));
    expect(by.get(ids.live)).toBe('claim held by live worker-live');
    expect(by.get(ids.callback)).toBe('parked on a callback');
    expect(by.get(ids.child)).toBe('parent still progressing');
    expect(by.get(ids.imported)).toBe('bulk-imported history');
    expect(by.get(ids.finished)).toBe('finished, never closed');
    // A dead worker is the cause; the running child is only a symptom.
    expect(by.get(ids.dead)).toBe('worker dead');
  });

  it('lists executions in a parent cycle (or their own parent) on their own, and a cascade closes the whole cycle', async () => {
    const roots = await store.listStuck({ olderThanSeconds: 60 });
    const listed = new Map<string | undefined, string>(roots.map((e) => [e.execution_id, e.diagnosis]));
    for (const id of [ids.self, ids.cycleA, ids.cycleB]) expect(listed.get(id), id).toBe('parent cycle');
    const results = await markExecutions(store, { action: 'cancel', ids: [ids.cycleA!], reason: 'cycle', cascade: true, dryRun: false, actor: currentActor() });
    expect(results.map((r) => [r.execution_id, r.outcome]).sort()).toEqual(
      [
        [ids.cycleA, 'cancelled'],
        [ids.cycleB, 'cancelled'],
      ].sort(),
    );
    const after = await store.listStuck({ olderThanSeconds: 60 });
    expect(after.map((e) => e.execution_id)).not.toContain(ids.cycleB);
  });

  it('a cascade and the child tree have no depth limit: a chain 1,200 deep closes whole', async () => {
    const s = new Scenario(700000000000000000n);
    let node = s.execution({ path: 'deep/0', startedMinutesAgo: 120 });
    const chain = [node.id];
    for (let i = 1; i < 1200; i++) {
      node = s.execution({ path: 'deep/n', startedMinutesAgo: 119, parent: node });
      chain.push(node.id);
    }
    await s.apply(t.db, t.schema);
    expect((await store.descendants([chain[0]!])).map((n) => n.execution_id)).toEqual(chain.slice(1));
    const results = await markExecutions(store, { action: 'cancel', ids: [chain[0]!], reason: 'deep', cascade: true, dryRun: false, actor: currentActor() });
    expect(results.filter((r) => r.outcome === 'cancelled')).toHaveLength(1200);
    expect(await runningDescendants(store, [chain[0]!])).toEqual([]);
  }, 180_000);
});
