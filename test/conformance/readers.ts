/**
 * Every NoETL reader that decides whether an execution is finished, written
 * as the SQL predicate it evaluates, with the engine's file and function it
 * comes from. Read from the public repositories noetl/server (Rust, HEAD
 * d9ec700, release 3.83.1) and noetl/noetl (Python, HEAD 3badb77). Each
 * reader answers a verdict per execution for $1 (bigint[]): a state
 * ('running', 'completed', 'failed', 'cancelled'), or for gates and sweeps
 * whether they still act on it.
 *
 * These are the engines' predicates, not the console's: where an engine
 * reads differently from the console (the Rust list ranks any FAILED row
 * above a cancel), the reader says so and its `expect` follows the engine.
 */
import type { Queryable } from '../../src/db/database.js';

export type ClosedState = 'cancelled' | 'failed' | 'completed';

/** What the test knows of an execution before the close. */
export interface Before {
  /** It has a noetl.execution (Python projection) row. */
  hasProjection: boolean;
  /** It has a row with status exactly 'FAILED' (a failed step). */
  hasFailedRow: boolean;
}

export interface Reader {
  name: string;
  engine: 'rust' | 'python' | 'both';
  /** File and function of the engine this predicate comes from. */
  source: string;
  sql(schema: string): string;
  /** The verdict once the console has closed the execution as `state`. */
  expect(state: ClosedState, before: Before): string;
}

const ids = `unnest($1::bigint[]) AS x(id)`;
const RUST_TERMINAL = `'playbook.completed', 'playbook_completed', 'playbook.failed', 'playbook_failed', 'playbook.cancelled', 'playbook_cancelled'`;
const rustState = (col: string) => `CASE ${col}
    WHEN 'playbook.completed' THEN 'completed' WHEN 'playbook_completed' THEN 'completed'
    WHEN 'playbook.failed' THEN 'failed' WHEN 'playbook_failed' THEN 'failed'
    WHEN 'playbook.cancelled' THEN 'cancelled' WHEN 'playbook_cancelled' THEN 'cancelled'
    WHEN 'execution.cancelled' THEN 'cancelled' END`;
/** _EXECUTION_TERMINAL_EVENT_TYPES of the Python server (api/core/core.py). */
const PY_TERMINAL = `'playbook.completed', 'playbook.failed', 'workflow.completed', 'workflow.failed', 'execution.cancelled'`;
/** The list/detail/status map of the Python server (execution/endpoint.py _infer_execution_completion_from_events). */
const PY_SHOWN = `'execution.cancelled', 'playbook.failed', 'workflow.failed', 'command.failed', 'playbook.completed', 'workflow.completed'`;
const pyState = (col: string) => `CASE ${col}
    WHEN 'execution.cancelled' THEN 'cancelled'
    WHEN 'playbook.failed' THEN 'failed' WHEN 'workflow.failed' THEN 'failed' WHEN 'command.failed' THEN 'failed'
    WHEN 'playbook.completed' THEN 'completed' WHEN 'workflow.completed' THEN 'completed' END`;

const same = (state: ClosedState) => state;
const refuses = () => 'refuses';
const excluded = () => 'excluded';
/** The Python engine has no cancelled flag: a cancel stops it as completed, not failed. */
const pyEngine = (state: ClosedState) => (state === 'failed' ? 'failed' : 'completed');

export const READERS: readonly Reader[] = [
  {
    name: 'rust orchestrator state',
    engine: 'rust',
    source: 'orchestrate-core/src/state.rs WorkflowState::apply_event (events loaded by src/handlers/events.rs rebuild_state, ORDER BY event_id)',
    // Folds events in id order; rows of the __orchestrate__ meta step are skipped;
    // playbook_started puts it back in progress; execution.cancelled is unknown to it.
    sql: (s) => `SELECT x.id::text AS execution_id, coalesce(${rustState('l.event_type')}, 'running') AS verdict
      FROM ${ids} LEFT JOIN LATERAL (
        SELECT e.event_type FROM ${s}.event e
        WHERE e.execution_id = x.id AND e.node_name IS DISTINCT FROM '__orchestrate__'
          AND e.event_type IN ('playbook_started', ${RUST_TERMINAL})
        ORDER BY e.event_id DESC LIMIT 1) l ON true`,
    expect: same,
  },
  {
    name: 'rust replay',
    engine: 'rust',
    source: 'src/services/replay.rs (status fold, the last playbook terminal by event_id wins)',
    sql: (s) => `SELECT x.id::text AS execution_id, coalesce(${rustState('l.event_type')}, 'running') AS verdict
      FROM ${ids} LEFT JOIN LATERAL (
        SELECT e.event_type FROM ${s}.event e WHERE e.execution_id = x.id AND e.event_type IN (${RUST_TERMINAL})
        ORDER BY e.event_id DESC LIMIT 1) l ON true`,
    expect: same,
  },
  {
    name: 'rust list',
    engine: 'rust',
    source: 'src/services/execution.rs ExecutionService::list (stats CTE, NOETL_EXECUTION_STATUS_FROM_STEPS off)',
    // COMPLETED beats FAILED beats CANCELLED, and any row with status FAILED reads FAILED.
    sql: (s) => `SELECT x.id::text AS execution_id, CASE
        WHEN bool_or(e.event_type IN ('playbook.completed', 'playbook_completed')) THEN 'completed'
        WHEN bool_or(e.event_type IN ('playbook.failed', 'playbook_failed') OR e.status = 'FAILED') THEN 'failed'
        WHEN bool_or(e.event_type IN ('playbook.cancelled', 'playbook_cancelled', 'execution.cancelled')) THEN 'cancelled'
        ELSE 'running' END AS verdict
      FROM ${ids} JOIN ${s}.event e ON e.execution_id = x.id GROUP BY x.id`,
    expect: (state, before) => (state === 'cancelled' && before.hasFailedRow ? 'failed' : state),
  },
  {
    name: 'rust detail',
    engine: 'rust',
    source: 'src/services/execution.rs ExecutionService::get / determine_status (newest first by created_at)',
    // Rows come ORDER BY created_at DESC with ties in no defined order: both tie
    // orders are read, and a verdict that depends on the tie is 'ambiguous'.
    sql: (s) => {
      const pick = (tie: string) => `(SELECT CASE WHEN e.status = 'FAILED' AND ${rustState('e.event_type')} IS NULL THEN 'failed'
          ELSE ${rustState('e.event_type')} END FROM ${s}.event e
        WHERE e.execution_id = x.id AND (e.event_type IN (${RUST_TERMINAL}, 'execution.cancelled') OR e.status = 'FAILED')
        ORDER BY e.created_at DESC, e.event_id ${tie} LIMIT 1)`;
      return `SELECT x.id::text AS execution_id,
          CASE WHEN a IS NOT DISTINCT FROM b THEN coalesce(a, 'running') ELSE 'ambiguous' END AS verdict
        FROM ${ids} CROSS JOIN LATERAL (SELECT ${pick('DESC')} AS a, ${pick('ASC')} AS b) v`;
    },
    expect: same,
  },
  {
    name: 'rust status',
    engine: 'rust',
    source: 'src/services/execution.rs ExecutionService::get_status (also the cancel API pre-check: 422 when terminal)',
    sql: (s) => `SELECT x.id::text AS execution_id, CASE
        WHEN t.event_type IN ('playbook.completed', 'playbook_completed') THEN 'completed'
        WHEN t.event_type IS NOT NULL THEN 'failed'
        WHEN EXISTS (SELECT 1 FROM ${s}.event c WHERE c.execution_id = x.id
                       AND c.event_type IN ('playbook.cancelled', 'playbook_cancelled', 'execution.cancelled')) THEN 'cancelled'
        WHEN st.failed_steps > 0 THEN 'failed'
        WHEN st.completed_steps = st.total_steps AND st.total_steps > 0 AND st.in_flight = 0 THEN 'completed'
        ELSE 'running' END AS verdict
      FROM ${ids}
      LEFT JOIN LATERAL (
        SELECT e.event_type FROM ${s}.event e WHERE e.execution_id = x.id
          AND e.event_type IN ('playbook.completed', 'playbook_completed', 'playbook.failed', 'playbook_failed')
        ORDER BY e.created_at DESC LIMIT 1) t ON true
      CROSS JOIN LATERAL (
        SELECT count(DISTINCT CASE WHEN e.event_type = 'step.enter' THEN e.node_name END) AS total_steps,
               count(DISTINCT CASE WHEN e.event_type IN ('step.exit', 'command.completed')
                 AND e.status IN ('COMPLETED', 'completed', 'success') THEN e.node_name END) AS completed_steps,
               count(DISTINCT CASE WHEN e.status = 'FAILED' THEN e.node_name END) AS failed_steps,
               (SELECT count(*) FROM ${s}.command c WHERE c.execution_id = x.id
                  AND c.status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED', 'completed', 'failed', 'cancelled')) AS in_flight
        FROM ${s}.event e WHERE e.execution_id = x.id) st`,
    expect: same,
  },
  {
    name: 'rust claim gate',
    engine: 'rust',
    source: 'src/handlers/events.rs claim_command (409 "Execution has been cancelled")',
    sql: (s) => `SELECT x.id::text AS execution_id,
        CASE WHEN EXISTS (SELECT 1 FROM ${s}.event e WHERE e.execution_id = x.id AND e.event_type = 'execution.cancelled')
          THEN 'refuses' ELSE 'accepts' END AS verdict FROM ${ids}`,
    expect: refuses,
  },
  {
    name: 'rust orphan sweep',
    engine: 'rust',
    source: 'src/handlers/orphan_sweep.rs candidate query (terminal exclusion: dotted spellings only)',
    sql: (s) => `SELECT x.id::text AS execution_id,
        CASE WHEN EXISTS (SELECT 1 FROM ${s}.event p WHERE p.execution_id = x.id
          AND p.event_type IN ('playbook.completed', 'playbook.failed', 'playbook.cancelled'))
          THEN 'excluded' ELSE 'candidate' END AS verdict FROM ${ids}`,
    expect: excluded,
  },
  {
    name: 'rust non-convergence sweep',
    engine: 'rust',
    source: 'src/handlers/nonconvergence_sweep.rs `open` CTE',
    sql: (s) => `SELECT x.id::text AS execution_id,
        CASE WHEN EXISTS (SELECT 1 FROM ${s}.event t WHERE t.execution_id = x.id
          AND t.event_type IN (${RUST_TERMINAL}, 'execution.cancelled'))
          OR EXISTS (SELECT 1 FROM ${s}.event f WHERE f.execution_id = x.id AND f.status = 'FAILED')
          THEN 'excluded' ELSE 'candidate' END AS verdict FROM ${ids}`,
    expect: excluded,
  },
  {
    name: 'python engine state',
    engine: 'python',
    source: 'noetl/core/dsl/engine/executor/store.py StateStore.load_state (state JSONB first; else _replay_execution_events), executor/events.py `if state.completed`',
    // No cancelled flag: a cancel stops the engine as completed=true, failed=false.
    sql: (s) => `SELECT x.id::text AS execution_id, CASE
        WHEN jsonb_typeof(p.state) = 'object' THEN
          CASE WHEN (p.state->>'failed')::boolean IS TRUE THEN 'failed'
               WHEN (p.state->>'completed')::boolean IS TRUE THEN 'completed' ELSE 'running' END
        WHEN EXISTS (SELECT 1 FROM ${s}.event e WHERE e.execution_id = x.id AND e.event_type IN ('workflow.failed', 'playbook.failed')) THEN 'failed'
        WHEN EXISTS (SELECT 1 FROM ${s}.event e WHERE e.execution_id = x.id
                       AND e.event_type IN ('workflow.completed', 'playbook.completed', 'execution.cancelled')) THEN 'completed'
        ELSE 'running' END AS verdict
      FROM ${ids} LEFT JOIN ${s}.execution p ON p.execution_id = x.id`,
    expect: pyEngine,
  },
  {
    name: 'python status',
    engine: 'python',
    source: 'noetl/server/api/core/execution.py get_execution_status (state flags, else the newest terminal event; `if failed: completed = False`)',
    sql: (s) => `SELECT x.id::text AS execution_id, CASE
        WHEN coalesce((p.state->>'failed')::boolean, false) OR (NOT coalesce((p.state->>'completed')::boolean, false)
               AND t.event_type IN ('playbook.failed', 'workflow.failed', 'command.failed')) THEN 'failed'
        WHEN coalesce((p.state->>'completed')::boolean, false) OR t.event_type IS NOT NULL THEN 'completed'
        ELSE 'running' END AS verdict
      FROM ${ids}
      LEFT JOIN ${s}.execution p ON p.execution_id = x.id AND jsonb_typeof(p.state) = 'object'
      LEFT JOIN LATERAL (
        SELECT e.event_type FROM ${s}.event e WHERE e.execution_id = x.id
          AND e.event_type IN ('playbook.completed', 'workflow.completed', 'playbook.failed', 'workflow.failed', 'execution.cancelled', 'command.failed')
        ORDER BY e.event_id DESC LIMIT 1) t ON true`,
    expect: pyEngine,
  },
  {
    name: 'python list',
    engine: 'python',
    source: 'noetl/server/api/execution/endpoint.py list_executions (rows of noetl.execution; newest terminal event, else the projection)',
    sql: (s) => `SELECT x.id::text AS execution_id, CASE
        WHEN p.execution_id IS NULL THEN 'absent'
        ELSE coalesce(${pyState('t.event_type')}, ${pyState('p.last_event_type')},
          CASE upper(p.status) WHEN 'COMPLETED' THEN 'completed' WHEN 'FAILED' THEN 'failed' WHEN 'CANCELLED' THEN 'cancelled' END,
          'running') END AS verdict
      FROM ${ids}
      LEFT JOIN ${s}.execution p ON p.execution_id = x.id
      LEFT JOIN LATERAL (
        SELECT e.event_type FROM ${s}.event e WHERE e.execution_id = x.id AND e.event_type IN (${PY_SHOWN})
        ORDER BY e.event_id DESC LIMIT 1) t ON true`,
    expect: (state, before) => (before.hasProjection ? state : 'absent'),
  },
  {
    name: 'python detail',
    engine: 'python',
    source: 'noetl/server/api/execution/endpoint.py get_execution (newest terminal event by event_id)',
    sql: (s) => `SELECT x.id::text AS execution_id, coalesce(${pyState('t.event_type')}, 'running') AS verdict
      FROM ${ids} LEFT JOIN LATERAL (
        SELECT e.event_type FROM ${s}.event e WHERE e.execution_id = x.id AND e.event_type IN (${PY_SHOWN})
        ORDER BY e.event_id DESC LIMIT 1) t ON true`,
    expect: same,
  },
  {
    name: 'python claim gate',
    engine: 'python',
    source: 'noetl/server/api/core/commands.py claim_command (409 already_terminal)',
    sql: (s) => `SELECT x.id::text AS execution_id,
        CASE WHEN EXISTS (SELECT 1 FROM ${s}.event e WHERE e.execution_id = x.id AND e.event_type IN (${PY_TERMINAL}))
          THEN 'refuses' ELSE 'accepts' END AS verdict FROM ${ids}`,
    expect: refuses,
  },
  {
    name: 'python cancellation check',
    engine: 'python',
    source: 'noetl/server/api/execution/endpoint.py cancellation_check (status of the latest event; cancelled if any execution.cancelled)',
    sql: (s) => `SELECT x.id::text AS execution_id,
        coalesce(${pyState('l.event_type')},
          CASE WHEN EXISTS (SELECT 1 FROM ${s}.event c WHERE c.execution_id = x.id AND c.event_type = 'execution.cancelled')
            THEN 'cancelled' ELSE 'running' END) AS verdict
      FROM ${ids} LEFT JOIN LATERAL (
        SELECT e.event_type FROM ${s}.event e WHERE e.execution_id = x.id ORDER BY e.event_id DESC LIMIT 1) l ON true`,
    expect: same,
  },
  {
    name: 'python cancel API',
    engine: 'python',
    source: 'noetl/server/api/execution/endpoint.py cancel_execution ("already_completed" when the latest event is terminal)',
    sql: (s) => `SELECT x.id::text AS execution_id,
        CASE WHEN l.event_type IN (${PY_SHOWN}) THEN 'refuses' ELSE 'accepts' END AS verdict
      FROM ${ids} LEFT JOIN LATERAL (
        SELECT e.event_type FROM ${s}.event e WHERE e.execution_id = x.id ORDER BY e.event_id DESC LIMIT 1) l ON true`,
    expect: refuses,
  },
  {
    name: 'python command reaper and auto-resume',
    engine: 'python',
    source: 'noetl/server/command_reaper.py (terminal exclusion), noetl/server/auto_resume.py (candidates without a terminal event)',
    sql: (s) => `SELECT x.id::text AS execution_id,
        CASE WHEN EXISTS (SELECT 1 FROM ${s}.event e WHERE e.execution_id = x.id AND e.event_type IN (${PY_TERMINAL}))
          THEN 'excluded' ELSE 'candidate' END AS verdict FROM ${ids}`,
    expect: excluded,
  },
  {
    name: 'tenant-scoped event stream',
    engine: 'both',
    source: "noetl/noetl schema_ddl.sql idx_event_tenant_org_execution_event_id: an execution's events read within its own tenant and organization",
    sql: (s) => `SELECT x.id::text AS execution_id, coalesce(${rustState('t.event_type')}, 'running') AS verdict
      FROM ${ids}
      LEFT JOIN LATERAL (SELECT e.tenant_id, e.organization_id FROM ${s}.event e WHERE e.execution_id = x.id ORDER BY e.event_id LIMIT 1) st ON true
      LEFT JOIN LATERAL (
        SELECT e.event_type FROM ${s}.event e WHERE e.execution_id = x.id
          AND e.tenant_id = st.tenant_id AND e.organization_id = st.organization_id
          AND e.event_type IN (${RUST_TERMINAL}, 'execution.cancelled', 'workflow.completed', 'workflow.failed')
        ORDER BY e.event_id DESC LIMIT 1) t ON true`,
    // workflow.* map to nothing in rustState: only the console's rows and the engines' own decide here.
    expect: same,
  },
];

/** Every reader's verdict on every execution of `ids`: reader name -> execution -> verdict. */
export async function readAll(q: Queryable, schema: string, executionIds: readonly string[]): Promise<Map<string, Map<string, string>>> {
  const s = `"${schema}"`;
  const out = new Map<string, Map<string, string>>();
  for (const reader of READERS) {
    const { rows } = await q.query<{ execution_id: string; verdict: string }>(reader.sql(s), [executionIds]);
    out.set(reader.name, new Map(rows.map((r) => [r.execution_id, r.verdict])));
  }
  return out;
}
