import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentActor } from '../../src/audit.js';
import { markExecutions } from '../../src/noetl/mark.js';
import { NoetlStore } from '../../src/noetl/store.js';
import { Scenario } from '../fixtures/scenario.js';
import { backends, createTestDatabase, eventsOf, type TestDatabase } from '../helpers/db.js';

describe.each(backends())('data layer on %s', (backend) => {
  let t: TestDatabase;
  let store: NoetlStore;
  const ids = {} as Record<'neverClaimed' | 'deadWorker' | 'liveWorker' | 'fresh' | 'completed' | 'rustFailed' | 'straggler' | 'parent' | 'childRunning' | 'childDone', string>;

  beforeAll(async () => {
    t = await createTestDatabase(backend);
    store = new NoetlStore(t.db, t.schema);
    const s = new Scenario();
    s.worker('worker-live', 5).worker('worker-dead', 3600);
    ids.neverClaimed = s.execution({ path: 'etl/never', startedMinutesAgo: 120 }).step('extract', 110).issued('load', 100).id;
    ids.deadWorker = s.execution({ path: 'etl/dead', dialect: 'rust', startedMinutesAgo: 90 }).claimed('transform', 80, 'worker-dead').id;
    ids.liveWorker = s.execution({ path: 'etl/live', startedMinutesAgo: 30 }).claimed('transform', 1, 'worker-live').id;
    ids.fresh = s.execution({ path: 'etl/fresh', startedMinutesAgo: 1 }).id;
    ids.completed = s.execution({ path: 'etl/done', startedMinutesAgo: 200 }).step('a', 190).finish('completed', 180).id;
    ids.rustFailed = s.execution({ path: 'etl/rustfail', dialect: 'rust', startedMinutesAgo: 200 }).finish('failed', 150, 'failed').id;
    const straggler = s.execution({ path: 'etl/straggler', startedMinutesAgo: 300 }).finish('completed', 250, 'completed');
    straggler.event('command.heartbeat', 240, { node: 'late', worker: 'worker-dead' });
    ids.straggler = straggler.id;
    const parent = s.execution({ path: 'etl/parent', startedMinutesAgo: 60 }).step('spawn', 55);
    ids.parent = parent.id;
    ids.childRunning = s.execution({ path: 'etl/child', startedMinutesAgo: 55, parent }).issued('work', 50).id;
    ids.childDone = s.execution({ path: 'etl/child', startedMinutesAgo: 55, parent }).finish('completed', 40).id;
    await s.apply(t.db, t.schema);
  });
  afterAll(async () => t?.close());

  it('lists running executions older than the threshold, oldest first, both dialects', async () => {
    const rows = await store.listStuck({ olderThanSeconds: 5 * 60 });
    expect(rows.map((r) => r.execution_id)).toEqual([ids.neverClaimed, ids.deadWorker, ids.parent, ids.liveWorker]);
    const never = rows[0]!;
    expect(never.path).toBe('etl/never');
    expect(never.diagnosis).toMatch(/^never claimed/);
    expect(never.last_step).toBe('extract');
    expect(never.stuck_step).toBe('load');
    expect(never.age_seconds).toBeGreaterThanOrEqual(120 * 60 - 5);
    const dead = rows[1]!;
    expect(dead.worker_id).toBe('worker-dead');
    expect(dead.worker_alive).toBe(false);
    expect(dead.diagnosis).toBe('worker dead');
    const parent = rows[2]!;
    expect(parent.running_children).toBe(1);
    expect(rows[3]!.worker_alive).toBe(true);
  });

  it('filters by idle time, path and children', async () => {
    expect((await store.listStuck({ olderThanSeconds: 0, idleSeconds: 60 * 60 })).map((r) => r.execution_id)).toEqual([ids.neverClaimed, ids.deadWorker]);
    expect((await store.listStuck({ olderThanSeconds: 0, path: 'etl/d*' })).map((r) => r.execution_id)).toEqual([ids.deadWorker]);
    const all = await store.listStuck({ olderThanSeconds: 0, includeChildren: true });
    expect(all.map((r) => r.execution_id)).toContain(ids.childRunning);
    expect(all.map((r) => r.execution_id)).toContain(ids.fresh);
  });

  it('cancels with cascade only the running descendants, and never twice', async () => {
    const actor = currentActor();
    const first = await markExecutions(store, { action: 'cancel', ids: [ids.parent], reason: 'test', cascade: true, dryRun: false, actor });
    expect(first.map((r) => [r.execution_id, r.outcome])).toEqual([
      [ids.parent, 'cancelled'],
      [ids.childRunning, 'cancelled'],
      [ids.childDone, 'already_terminal'],
    ]);
    const second = await markExecutions(store, { action: 'cancel', ids: [ids.parent], reason: 'test', cascade: true, dryRun: false, actor });
    expect(second.every((r) => r.outcome === 'already_terminal')).toBe(true);
    const events = await eventsOf(t.db, t.schema, ids.childRunning);
    const cancels = events.filter((e) => e.event_type === 'execution.cancelled');
    expect(cancels).toHaveLength(1);
    expect(cancels[0]!.meta).toMatchObject({ reason: 'test', cancelled_by: 'noetl-console', cascade: true, root_execution_id: ids.parent, os_user: actor.os_user });
    expect((await eventsOf(t.db, t.schema, ids.childDone)).some((e) => e.event_type === 'execution.cancelled')).toBe(false);
  });

  it('treats a straggler after a terminal event as finished', async () => {
    const [x] = await store.describe([ids.straggler]);
    expect(x!.state).toBe('completed');
    const [rf] = await store.describe([ids.rustFailed]);
    expect(rf!.state).toBe('failed');
  });

  it('fails with a result that satisfies the CHECK', async () => {
    const res = await markExecutions(store, { action: 'fail', ids: [ids.deadWorker, '999'], reason: 'worker gone', cascade: false, dryRun: false, actor: currentActor() });
    expect(res.map((r) => r.outcome)).toEqual(['failed', 'not_found']);
    const ev = (await eventsOf(t.db, t.schema, ids.deadWorker)).at(-1)!;
    expect(ev.event_type).toBe('playbook.failed');
    expect(ev.result).toEqual({ status: 'FAILED', context: { reason: 'worker gone', error: 'worker gone', closed_by: 'noetl-console' } });
    expect(ev.error).toBe('worker gone');
  });

  it('health counts', async () => {
    const h = await store.health(5 * 60, 60 * 60);
    expect(h.running).toBeGreaterThanOrEqual(2);
    expect(h.live_workers).toBe(1);
  });
});
