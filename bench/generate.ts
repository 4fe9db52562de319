/**
 * Builds a NoETL-shaped database at production scale with set-based SQL:
 * about `events` events over 30 days, both dialects, a running set of
 * `running` executions (most of them stuck: never claimed, worker dead, idle)
 * spread evenly through the history whatever its size, so that figures at
 * several history sizes compare the same running set; children, stragglers
 * after terminal events, worker heartbeats; plus one execution with 10,000
 * events and 50 children for `show`.
 */
import type pg from 'pg';
import { noetlEventIndexesSql, noetlSchemaSql } from '../test/fixtures/noetl-schema.js';

export const BIG_EXECUTION_ID = '449000000000000001';
export const WORKERS_ALIVE = 15;
/** Events of a finished execution in this history, on average (both dialects, 9 steps). */
const EVENTS_PER_EXECUTION = 47.5;

export interface Generated {
  executions: number;
  events: number;
  stuck: number;
  running: number;
  seconds: { load: number; index: number; analyze: number };
}

export async function generate(
  client: pg.Client,
  schema: string,
  size: { events: number; running: number },
  log: (s: string) => void,
  /** Only the executions this keeps (one shard of a cluster, bench/shards.ts); catalog and runtime always. */
  keep: (executionId: string) => boolean = () => true,
): Promise<Generated> {
  const s = `"${schema}"`;
  // A running execution has about 12 events (steps 1 to 8, half done).
  const running = Math.max(1, Math.min(size.running, Math.floor(size.events / 100)));
  const n = Math.max(200, running * 2, running + Math.round((size.events - running * 12) / EVENTS_PER_EXECUTION));
  const step = Math.floor(n / running);
  await client.query(noetlSchemaSql(schema, { deferIndexes: true }));
  const t0 = performance.now();
  await client.query(`INSERT INTO ${s}.catalog (catalog_id, path, version, kind)
    SELECT 1000 + g, 'bench/playbook-' || lpad(g::text, 3, '0'), 1, 'Playbook' FROM generate_series(0, 199) g`);
  await client.query(`INSERT INTO ${s}.runtime (runtime_id, name, kind, status, heartbeat)
    SELECT g + 1, 'worker-' || lpad(g::text, 2, '0'), 'worker_pool', 'ready',
           CASE WHEN g < ${WORKERS_ALIVE} THEN now() - interval '5 seconds' ELSE now() - interval '2 hours' END
    FROM generate_series(0, 19) g`);
  // The plan: one row per execution. Kinds by a hash of i so that children,
  // dialects and kinds are independent.
  await client.query(`CREATE UNLOGGED TABLE ${s}.bench_plan AS
    WITH base AS (
      -- Running (h < 13) every step-th execution, finished (h >= 13) otherwise.
      SELECT i, CASE WHEN i % ${step} = 0 AND i / ${step} <= ${running} THEN (i / ${step}) % 13
                     ELSE 13 + (i * 7919) % 987 END AS h,
             (now() AT TIME ZONE 'UTC') - (interval '1 second' * (3600 + ((i * 104729) % (30 * 86400 - 7200)))) AS started_at
      FROM generate_series(1::bigint, ${n}::bigint) i
    )
    SELECT i,
      (450000000000000000 + i::bigint * (150000000000000000 / ${n}))::bigint AS id,
      1000 + (i % 200) AS catalog_id,
      CASE WHEN i % 10 = 9 THEN (450000000000000000 + (i - 9)::bigint * (150000000000000000 / ${n}))::bigint END AS parent_id,
      CASE WHEN i % 2 = 0 THEN 'python' ELSE 'rust' END AS dialect,
      CASE WHEN h < 13 THEN CASE WHEN h < 4 THEN 'stuck_never' WHEN h < 7 THEN 'stuck_dead' WHEN h < 10 THEN 'stuck_idle' ELSE 'fresh' END
           WHEN h < 60 THEN 'failed' WHEN h < 80 THEN 'cancelled' ELSE 'done' END AS kind,
      CASE WHEN h >= 10 AND h < 13 THEN (now() AT TIME ZONE 'UTC') - interval '1 second' * (60 + i % 1200) ELSE started_at END AS started_at,
      CASE WHEN h < 13 THEN 1 + i % 8 ELSE 9 END AS last_step,
      CASE WHEN h < 4 THEN 1 WHEN h < 13 THEN 2 ELSE 4 END AS last_phase,
      CASE WHEN h >= 4 AND h < 7 THEN 'worker-' || lpad((${WORKERS_ALIVE} + i % 5)::text, 2, '0')
           ELSE 'worker-' || lpad((i % ${WORKERS_ALIVE})::text, 2, '0') END AS worker
    FROM base`);
  // Children start a minute after their parent.
  await client.query(`UPDATE ${s}.bench_plan c SET started_at = p.started_at + interval '1 minute'
    FROM ${s}.bench_plan p WHERE c.parent_id = p.id AND c.kind NOT IN ('fresh')`);
  const { rows: planned } = await client.query<{ id: string }>(`SELECT id::text AS id FROM ${s}.bench_plan`);
  const dropped = planned.map((r) => r.id).filter((id) => !keep(id));
  if (dropped.length > 0) await client.query(`DELETE FROM ${s}.bench_plan WHERE id = ANY($1::bigint[])`, [dropped]);
  const children = Array.from({ length: 50 }, (_, i) => i + 1).filter((c) => keep(String(BigInt(BIG_EXECUTION_ID) + BigInt(c))));
  const types = (py: string, rs: string) => `CASE p.dialect WHEN 'python' THEN '${py}' ELSE '${rs}' END`;
  const eventId = (ts: string, seq: string) => `((((extract(epoch FROM ${ts}) * 1000)::bigint - 1577836800000) << 22) | ((p.i % 1024) << 12) | (${seq}))`;
  await client.query(`INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at,
      event_type, node_id, node_name, node_type, status, worker_id)
    SELECT p.id, ${eventId('ev.ts', 'ev.seq')}, p.catalog_id, p.parent_id, ev.ts, ev.type, ev.node, ev.node, 'step', ev.status, ev.worker
    FROM ${s}.bench_plan p
    CROSS JOIN LATERAL (
      SELECT 0 AS seq, p.started_at AS ts, ${types('playbook.initialized', 'playbook_started')} AS type,
             'playbook' AS node, 'STARTED' AS status, NULL::text AS worker
      UNION ALL
      SELECT 1, p.started_at + interval '1 second', 'workflow.initialized', 'playbook', 'RUNNING', NULL
      WHERE p.dialect = 'python'
      UNION ALL
      SELECT 2 + (st - 1) * 5 + ph, p.started_at + interval '10 seconds' * ((st - 1) * 5 + ph + 1),
             CASE ph WHEN 0 THEN ${types('step.enter', 'step_enter')} WHEN 1 THEN ${types('command.issued', 'command_issued')}
                     WHEN 2 THEN ${types('command.claimed', 'command_claimed')} WHEN 3 THEN ${types('command.completed', 'command_completed')}
                     ELSE ${types('step.exit', 'step_exit')} END,
             'step_' || st,
             CASE ph WHEN 1 THEN 'PENDING' WHEN 2 THEN 'RUNNING' WHEN 3 THEN 'COMPLETED' WHEN 4 THEN 'COMPLETED' ELSE 'RUNNING' END,
             CASE WHEN ph IN (2, 3) THEN p.worker END
      FROM generate_series(1, p.last_step) st CROSS JOIN generate_series(0, 4) ph
      WHERE st < p.last_step OR ph <= p.last_phase
      UNION ALL
      SELECT 100, p.started_at + interval '10 minutes',
             CASE p.kind WHEN 'done' THEN ${types('playbook.completed', 'playbook_completed')}
                         WHEN 'failed' THEN ${types('playbook.failed', 'playbook_failed')}
                         ELSE ${types('execution.cancelled', 'playbook_cancelled')} END,
             'playbook', CASE p.kind WHEN 'done' THEN 'COMPLETED' WHEN 'failed' THEN 'failed' ELSE 'CANCELLED' END, NULL
      WHERE p.kind IN ('done', 'failed', 'cancelled')
      UNION ALL
      SELECT 101, p.started_at + interval '11 minutes', ${types('command.heartbeat', 'command_heartbeat')}, 'step_9', 'RUNNING', p.worker
      WHERE p.kind = 'done' AND p.i % 97 = 0
    ) ev`);
  // The execution that \`show\` is measured on: 10,000 events, 50 children.
  if (keep(BIG_EXECUTION_ID))
    await client.query(`INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at, event_type, node_id, node_name, status, worker_id)
    SELECT ${BIG_EXECUTION_ID}, 1000000 + g, 1000, NULL, (now() AT TIME ZONE 'UTC') - interval '1 day' + g * interval '1 second',
           CASE WHEN g = 0 THEN 'playbook.initialized' ELSE (ARRAY['step.enter','command.issued','command.claimed','command.completed','step.exit'])[1 + g % 5] END,
           'loop_' || (g / 5), 'loop_' || (g / 5), 'RUNNING', CASE WHEN g % 5 IN (2, 3) THEN 'worker-01' END
    FROM generate_series(0, 9999) g`);
  await client.query(
    `INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at, event_type, node_id, node_name, status)
    SELECT ${BIG_EXECUTION_ID}::bigint + c, 1000 + k, 1001, ${BIG_EXECUTION_ID}, (now() AT TIME ZONE 'UTC') - interval '20 hours' + k * interval '1 second',
           CASE k WHEN 0 THEN 'playbook.initialized' WHEN 1 THEN 'step.enter' ELSE CASE WHEN c % 2 = 0 THEN 'playbook.completed' ELSE 'command.issued' END END,
           'child', 'child', 'RUNNING'
    FROM unnest($1::int[]) c CROSS JOIN generate_series(0, 2) k`,
    [children],
  );
  await client.query(`INSERT INTO ${s}.command (execution_id, command_id, event_id, catalog_id, step_name, status, worker_id, claimed_at, updated_at)
    SELECT p.id, 1, 1, p.catalog_id, 'step_' || p.last_step, CASE WHEN p.last_phase = 1 THEN 'PENDING' WHEN p.last_phase = 2 THEN 'CLAIMED' ELSE 'COMPLETED' END,
           CASE WHEN p.last_phase >= 2 THEN p.worker END, p.started_at AT TIME ZONE 'UTC', p.started_at AT TIME ZONE 'UTC'
    FROM ${s}.bench_plan p`);
  const load = (performance.now() - t0) / 1000;
  log(`  loaded in ${load.toFixed(1)} s; building indexes`);
  const t1 = performance.now();
  await client.query(noetlEventIndexesSql(schema));
  const index = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  await client.query(`VACUUM (ANALYZE) ${s}.event`);
  await client.query(`ANALYZE ${s}.catalog; ANALYZE ${s}.runtime; ANALYZE ${s}.command`);
  const analyze = (performance.now() - t2) / 1000;
  const counts = await client.query<{ events: string; stuck: string; running: string }>(`SELECT
      (SELECT count(*) FROM ${s}.event)::text AS events,
      (SELECT count(*) FROM ${s}.bench_plan WHERE kind LIKE 'stuck%')::text AS stuck,
      (SELECT count(*) FROM ${s}.bench_plan WHERE kind LIKE 'stuck%' OR kind = 'fresh')::text AS running`);
  return {
    executions: planned.length - dropped.length + (keep(BIG_EXECUTION_ID) ? 1 : 0) + children.length,
    events: Number(counts.rows[0]!.events),
    stuck: Number(counts.rows[0]!.stuck),
    running: Number(counts.rows[0]!.running),
    seconds: { load, index, analyze },
  };
}
