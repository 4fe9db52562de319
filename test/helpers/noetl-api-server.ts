/**
 * A small NoETL-like HTTP server for tests: the routes the console calls,
 * with the semantics read in NoETL's code, writing to the test database
 * (schema of the test, PostgreSQL only: PGlite has one session, held by the
 * console under test).
 *
 * Rust (noetl/server): GET /api/health (handlers/health.rs);
 *   POST /api/executions/{id}/cancel (services/execution.rs: get_status, then
 *   playbook_cancelled); POST /api/events (handlers/events.rs,
 *   normalize_event_to_row). Ids answered as raw JSON numbers.
 * Python (noetl/noetl): GET /api/health; POST /api/executions/{id}/cancel
 *   and /finalize (server/api/execution/endpoint.py, executor/base.py).
 * Faults: answer 500, garbage or never (optionally after doing the work),
 * and a bearer token (401 without it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { nextSnowflake } from '../../src/noetl/snowflake.js';
import { POSTGRES_URL } from './db.js';

export type Engine = 'rust' | 'python';

export interface Fault {
  /** drop: answer success and write nothing (the Rust server's in-process finalized_guard does). */
  mode: '500' | 'garbage' | 'hang' | 'drop';
  /** Only requests whose "METHOD /path" matches (default: every request). */
  on?: RegExp;
  /** Do the work first, then misbehave (the row lands, the answer does not). */
  afterWork?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | null;
  body: unknown;
}

export interface NoetlApiTestServer {
  url: string;
  engine: Engine;
  requests: RecordedRequest[];
  fault: Fault | null;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  /** Raw JSON text (so ids can be numbers above 2^53), or plain text. */
  text: string;
  type?: string;
}

const json = (status: number, value: unknown): Answer => ({ status, text: JSON.stringify(value) });

const PY_TERMINAL_LATEST = ['playbook.completed', 'workflow.completed', 'playbook.failed', 'workflow.failed', 'command.failed', 'execution.cancelled'];
const PY_REPLAY_DONE = ['playbook.completed', 'playbook.failed', 'workflow.completed', 'workflow.failed', 'execution.cancelled'];

export async function startNoetlApiServer(opts: { engine: Engine; schema: string; token?: string; databaseUrl?: string }): Promise<NoetlApiTestServer> {
  const pool = new pg.Pool({ connectionString: opts.databaseUrl ?? POSTGRES_URL, max: 4, application_name: 'noetl-api-test-server' });
  pool.on('error', () => {});
  const s = `"${opts.schema}"`;
  const started = Date.now();
  const q = <R extends pg.QueryResultRow = any>(text: string, params: unknown[] = []) => pool.query<R>(text, params);

  /** A fresh event id above every id of the execution (as a snowflake would be). */
  const freshId = async (id: string): Promise<string> =>
    (await q<{ id: string }>(`SELECT greatest($2::bigint, coalesce(max(event_id), 0) + 1)::text AS id FROM ${s}.event WHERE execution_id = $1`, [id, nextSnowflake()])).rows[0]!.id;

  const catalogOf = async (id: string): Promise<string | null> => {
    const ev = await q<{ c: string }>(`SELECT catalog_id::text AS c FROM ${s}.event WHERE execution_id = $1 LIMIT 1`, [id]);
    if (ev.rows[0]) return ev.rows[0].c;
    const cmd = await q<{ c: string }>(`SELECT catalog_id::text AS c FROM ${s}.command WHERE execution_id = $1 LIMIT 1`, [id]).catch(() => ({ rows: [] as { c: string }[] }));
    return cmd.rows[0]?.c ?? null;
  };

  const columns = async (table: string): Promise<Set<string>> =>
    new Set(
      (await q<{ c: string }>(`SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`, [opts.schema, table])).rows.map((r) => r.c),
    );

  /** services/execution.rs get_status, the cancel API's pre-check. */
  async function rustStatus(id: string): Promise<'NOT_FOUND' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED'> {
    if (!(await q(`SELECT 1 FROM ${s}.event WHERE execution_id = $1 LIMIT 1`, [id])).rows.length) return 'NOT_FOUND';
    const term = await q<{ t: string }>(
      `SELECT event_type AS t FROM ${s}.event WHERE execution_id = $1
         AND event_type IN ('playbook.completed','playbook_completed','playbook.failed','playbook_failed')
       ORDER BY created_at DESC LIMIT 1`,
      [id],
    );
    const stats = (
      await q<{ total: number; done: number; failed: number }>(
        `SELECT count(DISTINCT CASE WHEN event_type = 'step.enter' THEN node_name END)::int AS total,
                count(DISTINCT CASE WHEN event_type IN ('step.exit','command.completed')
                  AND status IN ('COMPLETED','completed','success') THEN node_name END)::int AS done,
                count(DISTINCT CASE WHEN status = 'FAILED' THEN node_name END)::int AS failed
         FROM ${s}.event WHERE execution_id = $1`,
        [id],
      )
    ).rows[0]!;
    const cancelled =
      (await q(`SELECT 1 FROM ${s}.event WHERE execution_id = $1 AND event_type IN ('playbook.cancelled','playbook_cancelled','execution.cancelled') LIMIT 1`, [id])).rows.length >
      0;
    const inFlight = (
      await q<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${s}.command WHERE execution_id = $1
           AND status NOT IN ('COMPLETED','FAILED','CANCELLED','completed','failed','cancelled')`,
        [id],
      ).catch(() => ({ rows: [{ n: 0 }] }))
    ).rows[0]!.n;
    if (term.rows[0]) return term.rows[0].t.endsWith('completed') ? 'COMPLETED' : 'FAILED';
    if (cancelled) return 'CANCELLED';
    if (stats.failed > 0) return 'FAILED';
    if (stats.done === stats.total && stats.total > 0 && inFlight === 0) return 'COMPLETED';
    return 'RUNNING';
  }

  const rust = {
    async cancel(id: string): Promise<Answer> {
      const status = await rustStatus(id);
      if (status === 'NOT_FOUND') return json(404, { error: `Execution not found: ${id}`, status: 404 });
      if (status !== 'RUNNING') return json(422, { error: `Cannot cancel execution in ${status} state`, status: 422 });
      const eventId = await freshId(id);
      await q(
        `INSERT INTO ${s}.event (execution_id, event_id, catalog_id, event_type, status, node_id, node_name, created_at)
         VALUES ($1, $2, $3, 'playbook_cancelled', 'CANCELLED', 'playbook', 'playbook', (now() AT TIME ZONE 'UTC'))`,
        [id, eventId, await catalogOf(id)],
      );
      return { status: 200, text: `{"execution_id":${id},"status":"cancelled","message":"Execution cancellation requested"}` };
    },
    async event(body: Record<string, unknown>): Promise<Answer> {
      const name = (body.event_type ?? body.name) as unknown;
      const rawId = body.execution_id;
      if (typeof name !== 'string' || typeof body.step !== 'string' || rawId === undefined) {
        return { status: 422, text: 'Failed to deserialize the JSON body into the target type: missing field', type: 'text/plain' };
      }
      const id = String(rawId);
      if (!/^\d+$/.test(id)) return json(422, { error: 'Invalid execution_id', status: 422 });
      const lowered = name.toLowerCase();
      const status = typeof body.status === 'string' ? body.status : /done|exit|completed/.test(lowered) ? 'COMPLETED' : /error|failed/.test(lowered) ? 'FAILED' : 'RUNNING';
      const payload = body.payload ?? body.context ?? null;
      const result = payload && typeof payload === 'object' && !Array.isArray(payload) ? { status, context: payload } : { status };
      const meta = { ...((body.meta as object) ?? {}), actionable: body.actionable ?? true, informative: body.informative ?? true };
      const eventId = await freshId(id);
      try {
        await q(
          `INSERT INTO ${s}.event (execution_id, event_id, catalog_id, event_type, status, node_id, node_name, result, meta, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, (now() AT TIME ZONE 'UTC'))`,
          [id, eventId, (await catalogOf(id)) ?? 0, name, status, body.step, JSON.stringify(result), JSON.stringify(meta)],
        );
      } catch (error) {
        return json(500, { error: `Database error: ${(error as Error).message}`, status: 500 });
      }
      return { status: 200, text: `{"status":"ok","event_id":${eventId},"commands_generated":0}` };
    },
  };

  const python = {
    async cancel(id: string, body: Record<string, unknown>): Promise<Answer> {
      const reason = typeof body.reason === 'string' ? body.reason : 'User requested cancellation';
      const cascade = body.cascade === undefined ? true : Boolean(body.cascade);
      const latest = (
        await q<{ event_type: string; status: string | null; c: string }>(
          `SELECT event_type, status, catalog_id::text AS c FROM ${s}.event WHERE execution_id = $1 ORDER BY event_id DESC LIMIT 1`,
          [id],
        )
      ).rows[0];
      if (!latest) return json(404, { detail: `Execution ${id} not found` });
      if (PY_TERMINAL_LATEST.includes(latest.event_type)) {
        return json(200, { status: 'already_completed', execution_id: id, cancelled_executions: [], message: `Execution ${id} is already ${latest.status}` });
      }
      const ids = [id];
      if (cascade) {
        const children = await q<{ id: string }>(
          `WITH RECURSIVE children AS (
             SELECT DISTINCT execution_id FROM ${s}.event WHERE parent_execution_id = $1
             UNION SELECT DISTINCT e.execution_id FROM ${s}.event e JOIN children c ON e.parent_execution_id = c.execution_id)
           SELECT execution_id::text AS id FROM children`,
          [id],
        );
        ids.push(...children.rows.map((r) => r.id));
      }
      for (const exec of ids) {
        const meta = { reason, cancelled_by: 'api', cascade, parent_cancel_id: exec !== id ? id : null, actionable: true };
        await q(
          `INSERT INTO ${s}.event (event_id, execution_id, catalog_id, event_type, node_id, node_name, status, meta, created_at)
           VALUES ($1, $2, $3, 'execution.cancelled', 'cancel', 'cancel', 'CANCELLED', $4, (now() AT TIME ZONE 'UTC'))`,
          [await freshId(exec), exec, (await catalogOf(exec)) ?? latest.c, JSON.stringify(meta)],
        );
      }
      return json(200, { status: 'cancelled', execution_id: id, cancelled_executions: ids, message: `Cancelled ${ids.length} execution(s)` });
    },
    /** EngineStore.load_state, then finalize_abandoned_execution (workflow.failed, playbook.failed, state). */
    async finalize(id: string, body: Record<string, unknown>): Promise<Answer> {
      const reason = typeof body.reason === 'string' && body.reason ? body.reason : 'Abandoned or timed out';
      const execCols = await columns('execution');
      const row = execCols.has('state') ? (await q<{ state: any }>(`SELECT state FROM ${s}.execution WHERE execution_id = $1`, [id])).rows[0] : undefined;
      let completed: boolean;
      let lastEventId: string | null = row?.state?.last_event_id != null ? String(row.state.last_event_id) : null;
      if (row?.state && typeof row.state === 'object') {
        completed = row.state.completed === true;
      } else {
        const init = await q(`SELECT 1 FROM ${s}.event WHERE execution_id = $1 AND event_type = 'playbook.initialized' LIMIT 1`, [id]);
        if (!init.rows.length) return json(200, { status: 'not_found', execution_id: id, message: `Execution ${id} not found in engine state store` });
        completed = (await q(`SELECT 1 FROM ${s}.event WHERE execution_id = $1 AND event_type = ANY($2::text[]) LIMIT 1`, [id, PY_REPLAY_DONE])).rows.length > 0;
      }
      if (completed) return json(200, { status: 'already_completed', execution_id: id, message: `Execution ${id} is already completed` });
      lastEventId ??= (await q<{ m: string | null }>(`SELECT max(event_id)::text AS m FROM ${s}.event WHERE execution_id = $1`, [id])).rows[0]!.m;
      const path =
        (await q<{ p: string }>(`SELECT c.path AS p FROM ${s}.catalog c WHERE c.catalog_id = (SELECT catalog_id FROM ${s}.event WHERE execution_id = $1 LIMIT 1)`, [id])).rows[0]
          ?.p ?? 'playbook';
      const context = JSON.stringify({ status: 'failed', final_step: null, result: null, error: { message: reason } });
      const catalog = await catalogOf(id);
      const wf = await freshId(id);
      await q(
        `INSERT INTO ${s}.event (execution_id, catalog_id, event_id, parent_event_id, created_at, event_type, node_id, node_name, status, context, error)
         VALUES ($1, $2, $3, $4, (now() AT TIME ZONE 'UTC'), 'workflow.failed', 'workflow', 'workflow', 'failed', $5, $6)`,
        [id, catalog, wf, lastEventId, context, reason],
      );
      const pb = await freshId(id);
      await q(
        `INSERT INTO ${s}.event (execution_id, catalog_id, event_id, parent_event_id, created_at, event_type, node_id, node_name, status, context, error)
         VALUES ($1, $2, $3, $4, (now() AT TIME ZONE 'UTC'), 'playbook.failed', $5, $5, 'failed', $6, $7)`,
        [id, catalog, pb, wf, path, context, reason],
      );
      // store.py save_state: status sticky once terminal, end_time set once, state overwritten.
      const sets = [`status = CASE WHEN status IN ('COMPLETED','FAILED','CANCELLED') THEN status ELSE 'FAILED' END`];
      if (execCols.has('end_time')) sets.push('end_time = coalesce(end_time, CURRENT_TIMESTAMP)');
      if (execCols.has('updated_at')) sets.push('updated_at = CURRENT_TIMESTAMP');
      if (execCols.has('last_event_id')) sets.push('last_event_id = greatest(coalesce(last_event_id, 0), $2::bigint)');
      if (execCols.has('state')) sets.push(`state = CASE WHEN jsonb_typeof(state) = 'object' THEN state || '{"failed":true,"completed":true}'::jsonb ELSE state END`);
      await q(`UPDATE ${s}.execution SET ${sets.join(', ')} WHERE execution_id = $1${execCols.has('last_event_id') ? '' : ' AND $2::bigint IS NOT NULL'}`, [id, pb]);
      return json(200, { status: 'finalized', execution_id: id, message: `Emitted terminal events for execution ${id}` });
    },
  };

  /**
   * POST /api/execute (Rust handlers/execute.rs; Python server/api/core/execution.py):
   * a new execution of the catalog entry with the payload as its workload,
   * recorded in its start event as each engine does (Rust: playbook_started,
   * context.workload, meta.trace; Python: playbook.initialized). The catalog
   * id is read from the raw body: it may be above 2^53.
   */
  async function execute(raw: string, body: Record<string, unknown>): Promise<Answer> {
    const catalogId = /"catalog_id"\s*:\s*(\d+)/.exec(raw)?.[1];
    if (!catalogId) return json(opts.engine === 'rust' ? 400 : 422, { error: "Either 'path' or 'catalog_id' must be provided" });
    const path = (await q<{ path: string }>(`SELECT path FROM ${s}.catalog WHERE catalog_id = $1`, [catalogId])).rows[0]?.path;
    if (!path) return json(404, { error: `Executable catalog entry not found: catalog_id=${catalogId}` });
    const id = nextSnowflake();
    const workload = body.payload ?? body.workload ?? {};
    const [type, status, context, result, meta] =
      opts.engine === 'rust'
        ? [
            'playbook_started',
            'STARTED',
            { catalog_id: catalogId, execution_id: id, path, workload },
            null,
            { emitter: 'control_plane', ...(body.trace ? { trace: body.trace } : {}) },
          ]
        : ['playbook.initialized', 'INITIALIZED', null, { status: 'initialized', context: { workload, playbook_path: path } }, null];
    await q(
      `INSERT INTO ${s}.event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status, context, result, meta)
       VALUES ($1, $2, $3, now() AT TIME ZONE 'UTC', $4, 'playbook', $5, $6, $7, $8)`,
      [id, nextSnowflake(), catalogId, type, status, context && JSON.stringify(context), result && JSON.stringify(result), meta && JSON.stringify(meta)],
    );
    return opts.engine === 'rust'
      ? { status: 200, text: `{"execution_id":"${id}","status":"running","commands_generated":1}` }
      : { status: 200, text: `{"execution_id":"${id}","status":"started","commands_generated":1}` };
  }

  async function route(method: string, path: string, body: Record<string, unknown>, raw = ''): Promise<Answer> {
    if (method === 'POST' && path === '/api/execute') return execute(raw, body);
    const notFound: Answer = opts.engine === 'rust' ? { status: 404, text: '' } : json(404, { detail: 'Not Found' });
    if (method === 'GET' && path === '/api/health') {
      return opts.engine === 'rust'
        ? json(200, { status: 'ok', database: 'connected', nats: 'removed', uptime_seconds: Math.round((Date.now() - started) / 1000), version: '3.83.1' })
        : json(200, { status: 'ok' });
    }
    const m = /^\/api\/executions\/([^/]+)\/(cancel|finalize)$/.exec(path);
    if (method === 'POST' && m) {
      const id = decodeURIComponent(m[1]!);
      if (!/^\d+$/.test(id)) {
        return opts.engine === 'rust'
          ? { status: 400, text: 'Invalid URL: Cannot parse `id` with value', type: 'text/plain' }
          : { status: 500, text: `Detail: invalid literal for int() with base 10: '${id}'`, type: 'text/plain' };
      }
      if (opts.engine === 'rust') return m[2] === 'cancel' ? rust.cancel(id) : notFound;
      return m[2] === 'cancel' ? python.cancel(id, body) : python.finalize(id, body);
    }
    if (method === 'POST' && path === '/api/events' && opts.engine === 'rust') return rust.event(body);
    return notFound;
  }

  const requests: RecordedRequest[] = [];
  const api: NoetlApiTestServer = { url: '', engine: opts.engine, requests, fault: null, close: async () => undefined };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      void (async () => {
        const path = (req.url ?? '/').split('?')[0]!;
        let body: Record<string, unknown>;
        try {
          body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
        } catch {
          body = {};
        }
        requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization ?? null, body: raw ? body : undefined });
        const send = (a: Answer) => {
          res.writeHead(a.status, { 'content-type': a.type ?? 'application/json' });
          res.end(a.text);
        };
        if (opts.token !== undefined && req.headers.authorization !== `Bearer ${opts.token}`) return send(json(401, { error: 'unauthorized', status: 401 }));
        const fault = api.fault && (!api.fault.on || api.fault.on.test(`${req.method} ${path}`)) ? api.fault : null;
        if (fault && !fault.afterWork) return misbehave(fault, res, path);
        let answer: Answer;
        try {
          answer = await route(req.method ?? 'GET', path, body, raw);
        } catch (error) {
          answer = json(500, { error: (error as Error).message, status: 500 });
        }
        if (fault) return misbehave(fault, res, path);
        send(answer);
      })();
    });
  });

  function misbehave(fault: Fault, res: ServerResponse, path: string): void {
    if (fault.mode === 'hang') return; // never answers; close() drops the socket
    if (fault.mode === 'drop') {
      const id = /^\/api\/executions\/(\d+)\//.exec(path)?.[1];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(id ? `{"execution_id":${id},"status":"cancelled","message":"Execution cancellation requested"}` : '{"status":"ok","event_id":0,"commands_generated":0}');
      return;
    }
    if (fault.mode === '500') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Internal error: simulated', status: 500 }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>502 Bad Gateway (simulated proxy page)</body></html>');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pool.end();
  };
  return api;
}
