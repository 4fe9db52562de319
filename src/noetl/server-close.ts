/**
 * Close executions through a NoETL server's own API (README, "Through the
 * engine's API"). The console still picks the targets itself: it walks the
 * tree (the Rust API has no cascade) and goes parents first; each execution
 * is closed inside a transaction holding its advisory lock, so two consoles
 * never close it twice, and re-read from the database afterwards.
 */
import type { Queryable } from '../db/database.js';
import { ApiError, describeAnswer, errorText, idOf, type ApiAnswer, type NoetlApi, type ServerEngine } from './api.js';
import { closeMeta, closeProjection, markExecutions } from './mark.js';
import { nextSnowflake } from './snowflake.js';
import * as sql from './sql.js';
import type { Capabilities } from './sql.js';
import { serverRowsSql, insertMissingRowSql } from './server-sql.js';
import type { NoetlStore } from './store.js';
import { PartialMarkError, isChange, type MarkRequest, type MarkResult, type Outcome, ACTIONS, type Action } from '../core/mark.js';
import type { TerminalState } from '../core/execution.js';

/** The server failed part-way: the results so far (with `error` and `not_attempted`) and the one line. */
export class ServerCloseError extends PartialMarkError {
  override readonly name = 'ServerCloseError';
}

/** One row the close lands, by the server or, to finish a half-done close, directly. */
interface PlannedRow {
  eventType: string;
  status: string;
  /** The request that lands it; null for rows a previous request lands with it. */
  call: (() => Promise<ApiAnswer>) | null;
  /** Result, error and meta for a direct write of this row. */
  direct: { result: unknown; error: string | null; meta: Record<string, unknown> };
}

interface Verdict {
  outcome: Outcome;
  message?: string;
  event_id?: string | null;
  /** The state the server reported, for already_terminal. */
  state?: TerminalState | null;
  /** The server failed: stop after this execution. */
  fatal?: ApiError | Error;
}

/** Which engine writes what: the first row's request decides the outcome. */
function plan(engine: ServerEngine, api: NoetlApi, action: Action, id: string, req: MarkRequest, meta: Record<string, unknown>): PlannedRow[] {
  const reason = req.reason;
  const post = (body: unknown) => () => api.request('POST', '/api/events', body);
  // The Rust /api/events maps step -> node_id/node_name, payload -> result.context
  // (when an object), status as sent (else derived from the name: a *.cancelled
  // event would be stored RUNNING), meta + actionable/informative (events.rs).
  const event = (eventType: string, status: string, payload: Record<string, unknown>) => ({
    eventType,
    status,
    call: post({ execution_id: id, step: 'playbook', event_type: eventType, status, payload, meta }),
    direct: { result: { status, context: payload }, error: status === 'FAILED' ? reason : null, meta },
  });
  const marker = () => event('execution.cancelled', 'CANCELLED', { reason, marked_by: 'noetl-console' });
  if (engine === 'rust') {
    if (action === 'cancel') {
      return [
        {
          // services/execution.rs cancel: 404 unknown, 422 when get_status says terminal, else playbook_cancelled.
          eventType: 'playbook_cancelled',
          status: 'CANCELLED',
          call: () => api.request('POST', `/api/executions/${id}/cancel`),
          direct: { result: null, error: null, meta },
        },
        // The claim gate (events.rs, claim) refuses only on execution.cancelled.
        marker(),
      ];
    }
    if (action === 'fail') return [marker(), event('playbook.failed', 'FAILED', { error: reason, reason })];
    return [marker(), event('playbook.completed', 'COMPLETED', { reason })];
  }
  if (action === 'cancel') {
    // server/api/execution/endpoint.py cancel_execution: the console walks the tree itself.
    return [
      {
        eventType: 'execution.cancelled',
        status: 'CANCELLED',
        call: () => api.request('POST', `/api/executions/${id}/cancel`, { reason, cascade: false }),
        direct: { result: null, error: null, meta },
      },
    ];
  }
  // endpoint.py finalize_execution -> EngineBase.finalize_abandoned_execution:
  // workflow.failed, then playbook.failed, then state failed/completed.
  const context = { status: 'failed', final_step: null, result: null, error: { message: reason } };
  return [
    {
      eventType: 'workflow.failed',
      status: 'FAILED',
      call: () => api.request('POST', `/api/executions/${id}/finalize`, { reason }),
      direct: { result: null, error: reason, meta },
    },
    { eventType: 'playbook.failed', status: 'FAILED', call: null, direct: { result: { status: 'FAILED', context }, error: reason, meta } },
  ];
}

/** Did the first request of a close succeed, refuse, or fail? From the servers' answers. */
function judgeFirst(engine: ServerEngine, action: Action, answer: ApiAnswer, id: string): Verdict | 'ok' | 'bad' {
  const body = answer.body as Record<string, unknown> | undefined;
  const detail = errorText(answer.body) ?? answer.text;
  if (answer.status === 404) {
    return { outcome: 'not_found', message: `the server does not know this execution (404 ${detail}), but the database has it: is --server the engine of this database?` };
  }
  if (engine === 'rust') {
    if (action === 'cancel') {
      if (answer.status === 422 && /cannot cancel execution in (\w+) state/i.test(detail)) {
        const server = /in (\w+) state/i.exec(detail)![1]!.toLowerCase();
        return { outcome: 'already_terminal', state: toState(server), message: `the server refused: ${detail}` };
      }
      if (answer.status === 200) return body && body.status === 'cancelled' && idOf(body.execution_id) === id ? 'ok' : 'bad';
      return 'bad';
    }
    return answer.status === 200 && body?.status === 'ok' ? 'ok' : 'bad';
  }
  if (answer.status !== 200 || !body || typeof body.status !== 'string') return 'bad';
  if (body.status === 'already_completed') return { outcome: 'already_terminal', message: `the server answered: ${detail}` };
  if (body.status === 'not_found') return { outcome: 'not_found', message: `the server does not know this execution (${detail})` };
  if (action === 'cancel') return body.status === 'cancelled' ? 'ok' : 'bad';
  return body.status === 'finalized' ? 'ok' : 'bad';
}

function toState(text: string): TerminalState | null {
  return text === 'completed' ? 'completed' : text === 'failed' ? 'failed' : text === 'cancelled' ? 'cancelled' : null;
}

/** The event id an /api/events answer names (Rust: a JSON number above 2^53). */
function answeredEventId(answer: ApiAnswer): string | null {
  return idOf((answer.body as { event_id?: unknown } | undefined)?.event_id);
}

/**
 * Close `req.ids` (and, with cascade, their descendants, parents first)
 * through the server. Stops at the first server failure: that execution is
 * `error` (or finished directly when the server had landed part of it), the
 * rest `not_attempted`, and a ServerCloseError carries them all.
 */
export async function closeViaServer(store: NoetlStore, api: NoetlApi, req: MarkRequest): Promise<MarkResult[]> {
  const engine = await api.engine();
  if (engine === 'python' && req.action !== 'cancel' && req.action !== 'fail') {
    // The Python server has no completion route: its /api/events would run the
    // engine on the event after taking the same advisory lock the console holds
    // (so it cannot be made conditional), and no Python reader needs more than
    // the rows and projection the direct path writes in one locked transaction.
    const results = await markExecutions(store, req);
    return results.map((r) => (isChange(r.outcome) ? { ...r, message: 'the Python server has no completion API: written directly to the database' } : r));
  }
  const caps = await store.capabilities();
  const results: MarkResult[] = [];
  const handled = new Set<string>();
  const queue: { id: string; root: string; parent: string | null }[] = [];
  const unseen: typeof queue = [];
  for (const root of new Set(req.ids)) {
    if (handled.has(root)) continue;
    handled.add(root);
    queue.push({ id: root, root, parent: null });
    if (!req.cascade) continue;
    // Breadth first: every parent comes before its children.
    for (const node of await store.descendants([root])) {
      if (handled.has(node.execution_id)) continue;
      handled.add(node.execution_id);
      if (req.bound && !req.bound.has(node.execution_id)) unseen.push({ id: node.execution_id, root, parent: node.parent_execution_id });
      else queue.push({ id: node.execution_id, root, parent: node.parent_execution_id });
    }
  }
  // Descendants the operator was not shown are left as they are (MarkRequest.bound).
  const running = new Set((await store.describe(unseen.map((u) => u.id))).filter((e) => e.state === 'running').map((e) => e.execution_id));
  const notShown: MarkResult[] = unseen
    .filter((u) => running.has(u.id))
    .map((u) => ({ execution_id: u.id, parent_execution_id: u.parent, root_execution_id: u.root, cascaded: true, outcome: 'not_shown', state: null, event_id: null }));

  let failure: Error | null = null;
  for (const target of queue) {
    const base = { execution_id: target.id, parent_execution_id: target.parent, root_execution_id: target.root, cascaded: target.id !== target.root };
    if (failure) {
      results.push({ ...base, outcome: 'not_attempted', state: null, event_id: null, message: 'not attempted: the server failed on an earlier execution' });
      continue;
    }
    const meta = {
      ...closeMeta(req),
      cascaded: base.cascaded,
      root_execution_id: target.root,
      parent_cancel_id: base.cascaded ? target.root : null,
      via: `${engine} server API`,
    };
    let verdict: Verdict;
    let parent: string | null = target.parent;
    try {
      verdict = await store.db.transaction(async (q) => {
        await q.query(sql.lockExecutionsSql(), [[target.id]]);
        const [before] = await store.describe([target.id], q);
        if (!before) return { outcome: 'not_found' };
        parent = before.parent_execution_id;
        if (before.state !== 'running') return { outcome: 'already_terminal', state: before.state };
        const rows = plan(engine, api, req.action, target.id, req, meta);
        const verdict = await closeOne(store, api, q, engine, req, target.id, rows, caps);
        if (engine === 'python' && ACTIONS[req.action].outcome === verdict.outcome) {
          // The Python engine orchestrates from noetl.execution.state until state.completed.
          await closeProjection(store, [target.id], req.action, req.reason, q);
        }
        return verdict;
      });
    } catch (error) {
      verdict = { outcome: 'error', message: (error as Error).message, fatal: error as Error };
    }
    const result: MarkResult = {
      ...base,
      parent_execution_id: parent,
      outcome: verdict.outcome,
      state: verdict.state ?? null,
      event_id: verdict.event_id ?? null,
      ...(verdict.message ? { message: verdict.message } : {}),
    };
    // What the readers see now, whatever the server said.
    if (verdict.outcome === ACTIONS[req.action].outcome) {
      const [after] = await store.describe([target.id]);
      const expected = ACTIONS[req.action].state;
      if (!after || after.state !== expected) {
        result.outcome = 'error';
        result.message = `the server answered success, but the database shows it ${after?.state ?? 'absent'}: is --server the engine of this database (and shard)?`;
        verdict.fatal = new ApiError('garbage', `execution ${target.id}: ${result.message}`);
      }
    }
    results.push(result);
    if (verdict.fatal) failure = verdict.fatal;
  }
  results.push(...notShown);
  if (failure) throw new ServerCloseError(results, failure);
  return results;
}

/**
 * Land the planned rows in order. When a request fails, re-read which rows
 * are there: none means nothing was written (error); some means the server
 * did part of the close, so the rest is written directly, conditionally.
 */
async function closeOne(
  store: NoetlStore,
  api: NoetlApi,
  q: Queryable,
  engine: ServerEngine,
  req: MarkRequest,
  id: string,
  rows: PlannedRow[],
  caps: Capabilities,
): Promise<Verdict> {
  const changed = ACTIONS[req.action].outcome;
  let eventId: string | null = null;
  for (const [i, row] of rows.entries()) {
    if (!row.call) continue;
    const what = `${row.eventType} for ${id}`;
    let answer: ApiAnswer;
    try {
      answer = await row.call();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (i === 0 && error.kind === 'unreachable') return { outcome: 'error', message: error.message, fatal: error };
      return finish(store, q, req, id, rows, caps, error);
    }
    const verdict = i === 0 ? judgeFirst(engine, req.action, answer, id) : answer.status === 200 && (answer.body as { status?: unknown })?.status === 'ok' ? 'ok' : 'bad';
    if (verdict === 'bad') {
      const error = new ApiError(
        answer.status >= 500 || answer.body === undefined ? 'garbage' : 'http',
        `the NoETL server at ${api.label} answered ${describeAnswer(answer)} to ${what}${authHint(answer.status)}`,
        answer.status,
      );
      return finish(store, q, req, id, rows, caps, error);
    }
    if (verdict !== 'ok') return verdict;
    eventId = answeredEventId(answer) ?? eventId;
  }
  const landed = await landedRows(store, q, id, rows);
  return { outcome: changed, event_id: eventId ?? landed.get(rows[rows.length - 1]!.eventType) ?? null };
}

function authHint(status: number): string {
  return status === 401 || status === 403 ? ' (is NOETL_SERVER_TOKEN set and valid?)' : '';
}

/** Which planned rows exist now (event type -> newest event id). */
async function landedRows(store: NoetlStore, q: Queryable, id: string, rows: PlannedRow[]): Promise<Map<string, string>> {
  const found = await q.query<{ event_type: string; event_id: string }>(serverRowsSql(store.schema), [id, rows.map((r) => r.eventType)]);
  return new Map(found.rows.map((r) => [r.event_type, r.event_id]));
}

async function finish(store: NoetlStore, q: Queryable, req: MarkRequest, id: string, rows: PlannedRow[], caps: Capabilities, error: ApiError): Promise<Verdict> {
  const landed = await landedRows(store, q, id, rows);
  if (landed.size === 0) {
    const later = error.kind === 'timeout' ? ' (it may still write it: check with show)' : '';
    return { outcome: 'error', message: `${error.message}; nothing was written for ${id}${later}`, fatal: error };
  }
  let eventId: string | null = null;
  const written: string[] = [];
  for (const row of rows) {
    if (landed.has(row.eventType)) continue;
    const params = [
      id,
      row.eventType,
      row.status,
      row.direct.result === null ? null : JSON.stringify(row.direct.result),
      row.direct.error,
      JSON.stringify({ ...row.direct.meta, written_directly: true, server_failure: error.message }),
    ];
    const inserted = await q.query<{ event_id: string }>(insertMissingRowSql(store.schema, caps), caps.hasSnowflake ? params : [...params, nextSnowflake()]);
    eventId = inserted.rows[0]?.event_id ?? eventId;
    written.push(row.eventType);
  }
  return {
    outcome: ACTIONS[req.action].outcome,
    event_id: eventId ?? landed.get(rows[rows.length - 1]!.eventType) ?? null,
    message: `${error.message}; the server had written ${[...landed.keys()].join(', ')}, so the console wrote ${written.join(', ') || 'nothing more'} directly to the database`,
    fatal: error,
  };
}
