import type { Database } from '../../src/db/database.js';
import { Scenario } from '../fixtures/scenario.js';

/** Ids of the standard list scenario, oldest first where they are stuck. */
export interface ListIds {
  hotel: string; // 25h, idle 24h
  golf: string; // 7h, never claimed
  alpha: string; // 2h, never claimed
  bravo: string; // 90m, rust, dead worker
  parent: string; // 70m, with a running child and a finished one
  child: string;
  childDone: string;
  charlie: string; // 30m, live worker, idle 1m
  xray: string; // 20m, hostile text
  delta: string; // 10m, live worker
  echo: string; // 2m, fresh
  done: string; // finished
}

export async function seedList(db: Database, schema: string): Promise<ListIds> {
  const s = new Scenario();
  s.worker('worker-live', 2).worker('worker-dead', 3 * 3600);
  const hotel = s.execution({ path: 'etl/hotel', startedMinutesAgo: 25 * 60 }).step('a', 24 * 60);
  const golf = s.execution({ path: 'etl/golf', startedMinutesAgo: 7 * 60 }).issued('load', 6 * 60);
  const alpha = s.execution({ path: 'etl/alpha', startedMinutesAgo: 120 }).step('extract', 110).issued('load', 100);
  const bravo = s.execution({ path: 'etl/bravo', dialect: 'rust', startedMinutesAgo: 90 }).claimed('transform', 80, 'worker-dead');
  const parent = s.execution({ path: 'etl/parent', startedMinutesAgo: 70 }).step('spawn', 68);
  const child = s.execution({ path: 'etl/child', startedMinutesAgo: 65, parent }).issued('work', 60);
  const childDone = s.execution({ path: 'etl/child-done', startedMinutesAgo: 65, parent }).finish('completed', 62);
  const charlie = s.execution({ path: 'etl/charlie', startedMinutesAgo: 30 }).claimed('transform', 1, 'worker-live');
  const xray = s.execution({ path: 'vendor/\u001b[31mred\u0007', startedMinutesAgo: 20 }).issued('fetch\u001b]0;x\u0007', 18);
  const delta = s.execution({ path: 'etl/delta', startedMinutesAgo: 10 }).claimed('transform', 0.5, 'worker-live');
  const echo = s.execution({ path: 'etl/echo', startedMinutesAgo: 2 });
  const done = s.execution({ path: 'etl/done', startedMinutesAgo: 200 }).step('a', 190).finish('completed', 180);
  await s.apply(db, schema);
  return {
    hotel: hotel.id,
    golf: golf.id,
    alpha: alpha.id,
    bravo: bravo.id,
    parent: parent.id,
    child: child.id,
    childDone: childDone.id,
    charlie: charlie.id,
    xray: xray.id,
    delta: delta.id,
    echo: echo.id,
    done: done.id,
  };
}

/** Stuck ids (age ≥ 5m, children hidden) in list order. */
export const listOrder = (ids: ListIds) => [ids.hotel, ids.golf, ids.alpha, ids.bravo, ids.parent, ids.charlie, ids.xray, ids.delta];

/** Write a terminal event for `id` as NoETL would (not through the console). */
export async function finishOutside(db: Database, schema: string, id: string): Promise<void> {
  await db.query(
    `INSERT INTO "${schema}".event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status)
     SELECT execution_id, max(event_id) + 1, min(catalog_id), now() AT TIME ZONE 'UTC', 'playbook.completed', 'playbook', 'COMPLETED'
     FROM "${schema}".event WHERE execution_id = $1 GROUP BY execution_id`,
    [id],
  );
}

/** A new stuck execution that started `minutesAgo` (its catalog row, and so its path, is etl/hotel's). */
export async function addStuck(db: Database, schema: string, minutesAgo: number, base: bigint): Promise<string> {
  const s = new Scenario(base);
  const e = s.execution({ path: 'etl/hotel', startedMinutesAgo: minutesAgo }).issued('late', minutesAgo - 1);
  await s.apply(db, schema);
  return e.id;
}

/** The incident of issue 14: a dead worker pool left one playbook's runs stuck, each with a running child. */
export interface IncidentIds {
  /** 30 nightly_batch parents, stuck 90 minutes on a step claimed by the dead worker. */
  parents: string[];
  /** Their running children, one each. */
  children: string[];
  /** Other stuck executions the operator must not touch. */
  others: string[];
}

export async function seedIncident(db: Database, schema: string, base?: bigint): Promise<IncidentIds> {
  const s = new Scenario(base);
  s.worker('w-dead', 95 * 60).worker('w-live', 2);
  const parents: string[] = [];
  const children: string[] = [];
  for (let i = 0; i < 30; i++) {
    const p = s.execution({ path: 'etl/nightly_batch', startedMinutesAgo: 90 }).claimed('load', 89, 'w-dead');
    parents.push(p.id);
    children.push(s.execution({ path: 'etl/partition_load', startedMinutesAgo: 89, parent: p }).issued('copy', 88).id);
  }
  const others = [
    s.execution({ path: 'etl/hourly_rollup', startedMinutesAgo: 120 }).issued('aggregate', 110).id,
    s.execution({ path: 'ml/feature_build', startedMinutesAgo: 45 }).claimed('train', 1, 'w-live').id,
    s.execution({ path: 'etl/invoice_export', startedMinutesAgo: 300 }).step('send', 280).id,
  ];
  await s.apply(db, schema);
  return { parents, children, others };
}
