/**
 * Issue 18: `rerun` starts a closed execution again through the engine's
 * POST /api/execute (the NoETL-like test server of each engine, on the
 * test's PostgreSQL database): the same catalog entry, the same workload,
 * linked back (Rust keeps the baggage in the new start event's meta.trace).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { describePostgres } from '../helpers/db.js';
import { createCliDatabase, jsonOf, runCli, show, type CliDatabase } from '../helpers/cli.js';
import { startNoetlApiServer, type Engine, type NoetlApiTestServer } from '../helpers/noetl-api-server.js';

const engines: Engine[] = ['rust', 'python'];
const WORKLOAD = { date: '2026-12-01', shards: [1, 2, 3], note: 'nightly' };

describePostgres.each(engines)('rerun through a %s server (PostgreSQL)', (engine) => {
  let d: CliDatabase;
  let api: NoetlApiTestServer;
  let catalogId = '';
  let running = '';
  const cli = (args: string[]) => runCli([...args, ...d.args, '--server', api.url, '--server-engine', engine]);

  beforeAll(async () => {
    d = await createCliDatabase('postgres', async (db, schema) => {
      const s = new Scenario(engine === 'rust' ? 621000000000000000n : 622000000000000000n);
      running = s.execution({ path: 'rerun/etl', dialect: engine, startedMinutesAgo: 90 }).issued('load', 80).id;
      await s.apply(db, schema);
    });
    catalogId = await d.use(
      async (db) => (await db.query<{ c: string }>(`SELECT catalog_id::text AS c FROM "${d.schema}".event WHERE execution_id = $1 LIMIT 1`, [running])).rows[0]!.c,
    );
    api = await startNoetlApiServer({ engine, schema: d.schema });
  });
  afterAll(async () => {
    await api?.close();
    await d?.close();
  });

  const startEvent = (id: string) =>
    d.use(
      async (db) =>
        (
          await db.query<{ catalog_id: string; context: any; result: any; meta: any }>(
            `SELECT catalog_id::text, context, result, meta FROM "${d.schema}".event WHERE execution_id = $1 ORDER BY event_id LIMIT 1`,
            [id],
          )
        ).rows[0]!,
    );
  const workloadOf = (e: { context: any; result: any }) => e.context?.workload ?? e.result?.context?.workload;

  it('starts the same playbook with the same workload, linked to the old run; a running one is refused', async () => {
    // The original run, started the way an operator would, then cancelled by the console.
    const started = await fetch(`${api.url}/api/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"catalog_id":${catalogId},"payload":${JSON.stringify(WORKLOAD)}}`,
    });
    const original = ((await started.json()) as { execution_id: string }).execution_id;
    const cancelled = await runCli(['cancel', original, '--reason', 'INC-3 restart', '--json', ...d.args]);
    expect(cancelled.code, show(cancelled)).toBe(0);
    const batch = jsonOf(cancelled).batch_id as string;

    const dry = await cli(['rerun', '--batch', batch, '--dry-run', '--json']);
    expect(dry.code, show(dry)).toBe(0);
    expect(jsonOf(dry).results).toEqual([{ execution_id: original, outcome: 'would_start', new_execution_id: null, path: 'rerun/etl', catalog_id: catalogId }]);
    const before = api.requests.filter((r) => r.path === '/api/execute').length;

    const r = await cli(['rerun', original, '--json']);
    expect(r.code, show(r)).toBe(0);
    const out = jsonOf(r);
    expect(out.results).toHaveLength(1);
    expect(out.results[0]).toMatchObject({ execution_id: original, outcome: 'started', path: 'rerun/etl', catalog_id: catalogId });
    const fresh = out.results[0].new_execution_id as string;
    expect(fresh).toMatch(/^\d+$/);
    expect(fresh).not.toBe(original);
    expect(api.requests.filter((x) => x.path === '/api/execute')).toHaveLength(before + 1);

    const e = await startEvent(fresh);
    expect(e.catalog_id).toBe(catalogId);
    expect(workloadOf(e)).toEqual(WORKLOAD);
    if (engine === 'rust') expect(e.meta.trace.baggage).toEqual({ noetl_console_rerun_of: original, noetl_console_batch: out.batch_id });

    const stillRunning = await cli(['rerun', running, '--json']);
    expect(stillRunning.code, show(stillRunning)).toBe(3);
    expect(jsonOf(stillRunning).results[0]).toMatchObject({ execution_id: running, outcome: 'still_running' });
  });

  it('without a server, or with ids and --batch together: exit 2, nothing started', async () => {
    const noServer = await runCli(['rerun', running, ...d.args]);
    expect(noServer.code, show(noServer)).toBe(2);
    expect(noServer.stderr).toMatch(/rerun starts executions through the engine's API: give --server URL/);
    const both = await cli(['rerun', running, '--batch', '20261202T130438Z-5e523a']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/name execution ids or --batch, one of the two/);
  });
});
