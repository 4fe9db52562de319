/**
 * Demo data: what an on-call engineer meets on a bad night. Both NoETL
 * dialects, parents with children, executions stuck in each known way, slow
 * ones that are still alive, and plenty of finished history.
 */
import type { Queryable } from '../db/database.js';
import { Scenario } from './scenario.js';

const PATHS = [
  'etl/customers/daily-load',
  'etl/orders/incremental',
  'ingest/s3/clickstream',
  'ingest/kafka/payments',
  'ml/features/rebuild',
  'ml/training/churn-model',
  'reports/finance/monthly-close',
  'reports/ops/sla-dashboard',
  'billing/invoices/sync',
  'billing/usage/aggregate',
  'crm/salesforce/export',
  'warehouse/vacuum-and-analyze',
];

/** A small deterministic pseudo-random sequence, so the demo looks the same each run. */
export function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

/** Seeds, and returns the builder so the simulator goes on with the same catalog and ids. */
export async function seedDemo(db: Queryable, schema: string): Promise<Scenario> {
  const s = new Scenario();
  const r = rng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  s.worker('worker-a', 3)
    .worker('worker-b', 8)
    .worker('worker-c', 2 * 3600)
    .worker('worker-gpu-1', 40 * 60);

  // Finished history, both dialects.
  for (let i = 0; i < 120; i++) {
    const start = 30 + Math.floor(r() * 3000);
    const e = s.execution({ path: pick(PATHS), dialect: i % 3 === 0 ? 'rust' : 'python', startedMinutesAgo: start });
    e.step('extract', start - 2, 'worker-a').step('transform', start - 4, 'worker-b');
    e.finish(i % 11 === 0 ? 'failed' : i % 17 === 0 ? 'cancelled' : 'completed', start - 5);
  }

  // Stuck: a command issued and never claimed.
  s.execution({ path: 'etl/orders/incremental', startedMinutesAgo: 190 }).step('extract', 185).issued('load_orders', 180);
  s.execution({ path: 'ingest/kafka/payments', dialect: 'rust', startedMinutesAgo: 47 }).issued('consume', 45);
  s.execution({ path: 'billing/invoices/sync', startedMinutesAgo: 9 }).step('fetch', 8).issued('post_ledger', 7);

  // Stuck: claimed by a worker whose heartbeat stopped.
  s.execution({ path: 'ml/training/churn-model', startedMinutesAgo: 26 * 60 })
    .step('prepare', 25 * 60, 'worker-gpu-1')
    .claimed('train', 24 * 60, 'worker-gpu-1');
  s.execution({ path: 'etl/customers/daily-load', dialect: 'rust', startedMinutesAgo: 140 }).step('extract', 130, 'worker-c').claimed('transform', 125, 'worker-c');
  s.execution({ path: 'crm/salesforce/export', startedMinutesAgo: 75 }).claimed('export_accounts', 70, 'worker-c');

  // Stuck: a failed step nothing recovered from.
  s.execution({ path: 'reports/finance/monthly-close', startedMinutesAgo: 6 * 60 + 10 })
    .step('gather', 6 * 60)
    .event('command.failed', 5 * 60 * 60, { node: 'reconcile', status: 'FAILED', worker: 'worker-a', error: 'division by zero in ledger reconcile' });

  // Stuck: silent for a long time between steps.
  s.execution({ path: 'warehouse/vacuum-and-analyze', dialect: 'rust', startedMinutesAgo: 3 * 24 * 60 }).step('vacuum', 3 * 24 * 60 - 30);
  s.execution({ path: 'reports/ops/sla-dashboard', startedMinutesAgo: 16 }).step('query', 15).step('render', 14);

  // Parents with children: some children stuck, some done.
  const nightly = s.execution({ path: 'ml/features/rebuild', startedMinutesAgo: 8 * 60 }).step('plan', 8 * 60 - 2);
  for (const [i, shard] of ['eu', 'us', 'apac', 'latam'].entries()) {
    const child = s.execution({ path: `ml/features/rebuild-shard-${shard}`, startedMinutesAgo: 8 * 60 - 3, parent: nightly });
    if (i < 2) child.step('compute', 7 * 60).finish('completed', 7 * 60 - 1);
    else if (i === 2) child.claimed('compute', 7 * 60, 'worker-c');
    else {
      child.step('compute', 6 * 60);
      const grandchild = s.execution({ path: 'ml/features/backfill-partition', dialect: 'rust', startedMinutesAgo: 6 * 60, parent: child });
      grandchild.issued('backfill', 5 * 60);
    }
  }
  const rustParent = s.execution({ path: 'ingest/s3/clickstream', dialect: 'rust', startedMinutesAgo: 95 }).step('list_objects', 90, 'worker-b');
  for (let i = 0; i < 3; i++) {
    const c = s.execution({ path: 'ingest/s3/clickstream-partition', dialect: 'rust', startedMinutesAgo: 90, parent: rustParent });
    if (i === 0) c.finish('completed', 80);
    else c.issued('load_partition', 85);
  }

  // Text that must never reach the terminal raw.
  s.execution({ path: 'vendor/\u001b[31mred\u001b[0m-import\u0007', startedMinutesAgo: 33 }).issued('fetch\u001b]0;pwned\u0007', 30);

  // Running well, with fresh progress (only shown with a short age filter).
  s.execution({ path: 'billing/usage/aggregate', startedMinutesAgo: 4 }).claimed('aggregate', 0.2, 'worker-a');
  await s.apply(db, schema);
  return s;
}
