/**
 * cancel and fail through the engine's API: the built bin against a
 * NoETL-like test server (test/helpers/noetl-api-server.ts) of each engine,
 * writing to the same database. PostgreSQL only: a PGlite database has one
 * session, held by the console, so a second process (the server) cannot
 * write to it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Scenario, type ExecutionBuilder } from '../fixtures/scenario.js';
import { describePostgres } from '../helpers/db.js';
import { createCliDatabase, jsonOf, runCli, show, type CliDatabase, type CliResult } from '../helpers/cli.js';
import { startNoetlApiServer, type Engine, type NoetlApiTestServer } from '../helpers/noetl-api-server.js';
import { idOf, parseJsonLossless } from '../../src/noetl/api.js';
import { READERS, readAll, type ClosedState } from '../conformance/readers.js';

const TOKEN = 'tok-3f9a8c71e2d4b605-secret';
const engines: Engine[] = ['rust', 'python'];

/** Exit code `code`, and exactly one line on stderr matching `pattern`. */
function oneLine(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code, show(r)).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, show(r)).toHaveLength(1);
  expect(lines[0]).toMatch(/^noetl-console: /);
  expect(lines[0]).toMatch(pattern);
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describePostgres.each(engines)('closing through a %s server (PostgreSQL)', (engine) => {
  let d: CliDatabase;
  let api: NoetlApiTestServer;
  const ids: Record<string, string> = {};
  const dialect = engine;
  const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli([...args, ...d.args, '--server', api.url, '--json'], { env });

  beforeAll(async () => {
    d = await createCliDatabase('postgres', async (db, schema) => {
      const s = new Scenario(engine === 'rust' ? 611000000000000000n : 612000000000000000n);
      const running = (key: string, opts: { parent?: ExecutionBuilder } = {}) => {
        const e = s.execution({ path: `srv/${key}`, dialect, startedMinutesAgo: 90, parent: opts.parent }).claimed('load', 80, 'worker-x');
        ids[key] = e.id;
        return e;
      };
      const parent = running('parent');
      const child = running('child', { parent });
      running('grandchild', { parent: child });
      ids.doneChild = s.execution({ path: 'srv/done-child', dialect, startedMinutesAgo: 90, parent }).finish('completed', 70).id;
      for (const key of [
        'fail',
        'detect',
        'r500',
        'garbage',
        'hang',
        'half',
        'halfTimeout',
        'unreach',
        'direct',
        'token',
        'token500',
        'dry',
        'big',
        'sweep1',
        'sweep2',
        'dropped',
        'race',
        'complete',
      ])
        running(key);
      ids.done = s.execution({ path: 'srv/done', dialect, startedMinutesAgo: 90 }).finish('failed', 60).id;
      // No terminal event, but a FAILED row: the Rust get_status reads FAILED and refuses (422).
      ids.failedRow = s.execution({ path: 'srv/failed-row', dialect, startedMinutesAgo: 90 }).event('command.failed', 600, { node: 'x', status: 'FAILED' }).id;
      await s.apply(db, schema);
    });
    api = await startNoetlApiServer({ engine, schema: d.schema });
  });
  afterAll(async () => {
    await api?.close();
    await d?.close();
  });
  afterEach(() => {
    api.fault = null;
  });

  const newRows = async (id: string) => (await d.events(id)).filter((e) => e.age_s < 120).map((e) => e.event_type);

  it('cancel --cascade goes parents first, each through the server, and reports each outcome', async () => {
    api.requests.length = 0;
    const r = await cli(['cancel', ids.parent!, '--cascade', '--reason', 'pool rolled', '--server-engine', engine]);
    expect(r.code, show(r)).toBe(0);
    const out = jsonOf(r);
    const by = Object.fromEntries(out.results.map((x: any) => [x.execution_id, x]));
    expect(by[ids.parent!].outcome).toBe('cancelled');
    expect(by[ids.child!].outcome).toBe('cancelled');
    expect(by[ids.grandchild!].outcome).toBe('cancelled');
    expect(by[ids.doneChild!]).toMatchObject({ outcome: 'already_terminal', state: 'completed' });
    const cancels = api.requests.filter((q) => q.path.endsWith('/cancel')).map((q) => q.path.split('/')[3]);
    expect(cancels).toEqual([ids.parent, ids.child, ids.grandchild]);
    if (engine === 'rust') {
      // Each cancel, then its companion, in that order.
      expect(api.requests.map((q) => `${q.method} ${q.path.replace(/\d+/, 'ID')}`)).toEqual([...[1, 2, 3].flatMap(() => ['POST /api/executions/ID/cancel', 'POST /api/events'])]);
      const rows = await newRows(ids.child!);
      expect(rows).toEqual(['playbook_cancelled', 'execution.cancelled']);
      const companion = (await d.events(ids.child!)).find((e) => e.event_type === 'execution.cancelled')!;
      expect(companion).toMatchObject({ status: 'CANCELLED', node_name: 'playbook' });
      expect(companion.result).toEqual({ status: 'CANCELLED', context: { reason: 'pool rolled', marked_by: 'noetl-console' } });
      expect(companion.meta).toMatchObject({ reason: 'pool rolled', action: 'cancel', cascaded: true, root_execution_id: ids.parent, emitted_by: 'noetl-console' });
      expect(companion.meta!.os_user).toBeTruthy();
      expect(by[ids.child!].event_id).toBe(companion.event_id);
    } else {
      expect(api.requests.filter((q) => q.path.endsWith('/cancel')).map((q) => q.body)).toEqual([1, 2, 3].map(() => ({ reason: 'pool rolled', cascade: false })));
      expect(await newRows(ids.child!)).toEqual(['execution.cancelled']);
      const row = (await d.events(ids.child!)).find((e) => e.event_type === 'execution.cancelled')!;
      expect(row.meta).toMatchObject({ cancelled_by: 'api', cascade: false, reason: 'pool rolled' });
    }
    // Rerun: everything already finished, nothing written, the server not asked to cancel.
    const before = await d.eventCount();
    api.requests.length = 0;
    const again = await cli(['cancel', ids.parent!, '--cascade']);
    expect(again.code, show(again)).toBe(3);
    expect(jsonOf(again).results.every((x: any) => x.outcome === 'already_terminal')).toBe(true);
    expect(api.requests.filter((q) => q.method === 'POST')).toEqual([]);
    expect(await d.eventCount()).toBe(before);
  });

  it("fail closes through the server with the engine's failure rows", async () => {
    const r = await cli(['fail', ids.fail!, '--reason', 'lost in INC-7', '--server-engine', engine]);
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r).results[0]).toMatchObject({ execution_id: ids.fail, outcome: 'failed' });
    const rows = await d.events(ids.fail!);
    if (engine === 'rust') {
      expect(await newRows(ids.fail!)).toEqual(['execution.cancelled', 'playbook.failed']);
      const failed = rows.find((e) => e.event_type === 'playbook.failed')!;
      expect(failed).toMatchObject({ status: 'FAILED', node_name: 'playbook' });
      expect(failed.result).toEqual({ status: 'FAILED', context: { error: 'lost in INC-7', reason: 'lost in INC-7' } });
    } else {
      expect(await newRows(ids.fail!)).toEqual(['workflow.failed', 'playbook.failed']);
      expect(rows.find((e) => e.event_type === 'playbook.failed')!.error).toBe('lost in INC-7');
    }
  });

  it('two consoles at once: one closes, the other finds it closed', async () => {
    const [a, b] = await Promise.all([1, 2].map(() => cli(['cancel', ids.race!, '--server-engine', engine])));
    const outcomes = [a!, b!].map((r) => jsonOf(r).results[0].outcome).sort();
    expect(outcomes).toEqual(['already_terminal', 'cancelled']);
    expect(await newRows(ids.race!)).toEqual(engine === 'rust' ? ['playbook_cancelled', 'execution.cancelled'] : ['execution.cancelled']);
  });

  it('complete closes through the server where the engine has a way, else directly', async () => {
    api.requests.length = 0;
    const r = await cli(['complete', ids.complete!, '--reason', 'end step done', '--server-engine', engine]);
    expect(r.code, show(r)).toBe(0);
    const [res] = jsonOf(r).results;
    expect(res).toMatchObject({ execution_id: ids.complete, outcome: 'completed' });
    expect(await newRows(ids.complete!)).toEqual(['execution.cancelled', 'playbook.completed']);
    if (engine === 'rust') {
      expect(api.requests.map((q) => (q.body as any).event_type)).toEqual(['execution.cancelled', 'playbook.completed']);
    } else {
      expect(api.requests).toEqual([]);
      expect(res.message).toMatch(/no completion API/);
    }
  });

  it('every reader of the engine sees what it closed, in the intended state; the Python projection is closed', async () => {
    const closed: [string, ClosedState][] = [
      [ids.parent!, 'cancelled'],
      [ids.child!, 'cancelled'],
      [ids.grandchild!, 'cancelled'],
      [ids.fail!, 'failed'],
      [ids.complete!, 'completed'],
    ];
    const verdicts = await d.use((db) =>
      readAll(
        db,
        d.schema,
        closed.map(([id]) => id),
      ),
    );
    const wrong: string[] = [];
    for (const reader of READERS.filter((x) => x.engine === engine || x.engine === 'both')) {
      for (const [id, state] of closed) {
        // The Rust cancel API writes the underscore playbook_cancelled, which the Rust orphan
        // sweep (orphan_sweep.rs, dotted types only) does not exclude; a dotted duplicate
        // through /api/events would be dropped by the server's finalized_guard (README).
        const apiCancel = engine === 'rust' && state === 'cancelled' && reader.name === 'rust orphan sweep';
        const want = apiCancel ? 'candidate' : reader.expect(state, { hasProjection: engine === 'python', hasFailedRow: false });
        const got = verdicts.get(reader.name)!.get(id);
        if (got !== want) wrong.push(`${reader.name} on ${id}: ${got}, want ${want}`);
      }
    }
    expect(wrong).toEqual([]);
    if (engine === 'python') {
      const { rows } = await d.use((db) =>
        db.query<{ id: string; status: string; completed: boolean; failed: boolean; end_time: string | null }>(
          `SELECT execution_id::text AS id, status, (state->>'completed')::boolean AS completed, (state->>'failed')::boolean AS failed, end_time::text
           FROM "${d.schema}".execution WHERE execution_id = ANY($1::bigint[])`,
          [closed.map(([id]) => id)],
        ),
      );
      expect(rows).toHaveLength(closed.length);
      for (const row of rows) {
        const state = closed.find(([id]) => id === row.id)![1];
        expect(row, row.id).toMatchObject({ status: state.toUpperCase(), completed: true, failed: state === 'failed' });
        expect(row.end_time).not.toBeNull();
      }
    }
  });

  it('auto-detects the engine from GET /api/health', async () => {
    api.requests.length = 0;
    const r = await cli(['cancel', ids.detect!]);
    expect(r.code, show(r)).toBe(0);
    expect(api.requests[0]).toMatchObject({ method: 'GET', path: '/api/health' });
    expect(await newRows(ids.detect!)).toEqual(engine === 'rust' ? ['playbook_cancelled', 'execution.cancelled'] : ['execution.cancelled']);
  });

  if (engine === 'rust')
    it('a 422 from the server is already_terminal, with what the server said', async () => {
      const r = await cli(['cancel', ids.failedRow!]);
      expect(r.code, show(r)).toBe(3);
      expect(jsonOf(r).results[0]).toMatchObject({ outcome: 'already_terminal', state: 'failed' });
      expect(jsonOf(r).results[0].message).toMatch(/Cannot cancel execution in FAILED state/);
      expect(await newRows(ids.failedRow!)).toEqual([]);
    });

  for (const [mode, key, pattern] of [
    ['500', 'r500', /answered 500 .*simulated/],
    ['garbage', 'garbage', /answered 200 <html>/],
    ['hang', 'hang', /did not answer .* within 1s/],
  ] as const) {
    it(`a server answering ${mode}: exit 1, one line, the outcome per execution, nothing written`, async () => {
      api.fault = { mode };
      const before = await d.eventCount();
      const r = await cli(['cancel', ids[key]!, ids.big!, '--server-engine', engine, '--server-timeout', '1']);
      oneLine(r, 1, pattern);
      expect(jsonOf(r)).toMatchObject({ partial: true, changed_count: 0 });
      expect(jsonOf(r).results).toMatchObject([
        { execution_id: ids[key], outcome: 'error', message: expect.stringMatching(/nothing was written/) },
        { execution_id: ids.big, outcome: 'not_attempted' },
      ]);
      expect(await d.eventCount()).toBe(before);
    });
  }

  it('without --json: a line per execution on stdout, the one line on stderr', async () => {
    api.fault = { mode: '500' };
    const r = await runCli(['fail', ids.r500!, ids.big!, ...d.args, '--server', api.url, '--server-engine', engine, '--no-color']);
    oneLine(r, 1, /answered 500/);
    expect(r.stdout).toContain(`${ids.r500}  error: `);
    expect(r.stdout).toContain(`${ids.big}  not attempted`);
  });

  if (engine === 'rust')
    it('the cancel lands but its companion fails: the console writes the companion directly', async () => {
      api.fault = { mode: '500', on: /\/api\/events/ };
      const r = await cli(['cancel', ids.half!, ids.big!]);
      oneLine(r, 1, /answered 500/);
      const [first, second] = jsonOf(r).results;
      expect(first).toMatchObject({ outcome: 'cancelled', message: expect.stringMatching(/wrote execution\.cancelled directly/) });
      expect(second).toMatchObject({ execution_id: ids.big, outcome: 'not_attempted' });
      expect(await newRows(ids.half!)).toEqual(['playbook_cancelled', 'execution.cancelled']);
      const companion = (await d.events(ids.half!)).find((e) => e.event_type === 'execution.cancelled')!;
      expect(companion.meta).toMatchObject({ written_directly: true, reason: 'cancelled with noetl-console' });
      expect(first.event_id).toBe(companion.event_id);
    });

  if (engine === 'rust')
    it('a success the database does not show is an error (the server dropped the row)', async () => {
      api.fault = { mode: 'drop' };
      const r = await cli(['cancel', ids.dropped!, '--server-engine', 'rust']);
      oneLine(r, 1, /database shows it running: is --server the engine of this database/);
      expect(jsonOf(r).results[0]).toMatchObject({ outcome: 'error' });
      expect(await newRows(ids.dropped!)).toEqual([]);
    });

  it('a request that times out after the server wrote: the console finishes the close, once', async () => {
    api.fault = { mode: 'hang', afterWork: true, on: engine === 'rust' ? /\/api\/events/ : /\/cancel$/ };
    const r = await cli(['cancel', ids.halfTimeout!, '--server-timeout', '1']);
    oneLine(r, 1, /did not answer/);
    expect(jsonOf(r).results[0]).toMatchObject({ outcome: 'cancelled' });
    // The hung request did land its row: no second copy was written.
    expect(await newRows(ids.halfTimeout!)).toEqual(engine === 'rust' ? ['playbook_cancelled', 'execution.cancelled'] : ['execution.cancelled']);
  });

  it('an unreachable server: exit 1, one line, nothing written; --direct writes to the database', async () => {
    const port = await closedPort();
    const before = await d.eventCount();
    const r = await runCli(['cancel', ids.unreach!, ...d.args, '--server', `http://127.0.0.1:${port}`]);
    oneLine(r, 1, /cannot reach the NoETL server at http:\/\/127\.0\.0\.1:\d+ \(connection refused\).*--direct/);
    expect(await d.eventCount()).toBe(before);
    const direct = await runCli(['cancel', ids.unreach!, ...d.args, '--direct', '--json'], { env: { NOETL_SERVER_URL: `http://127.0.0.1:${port}` } });
    expect(direct.code, show(direct)).toBe(0);
    expect(jsonOf(direct).results[0].outcome).toBe('cancelled');
  });

  it('sends the bearer token and never prints it', async () => {
    const guarded = await startNoetlApiServer({ engine, schema: d.schema, token: TOKEN });
    try {
      const args = ['cancel', ids.token!, ...d.args, '--server', guarded.url, '--json'];
      const without = await runCli(args);
      oneLine(without, 1, /401.*NOETL_SERVER_TOKEN/);
      const wrong = await runCli(args, { env: { NOETL_SERVER_TOKEN: `${TOKEN}-wrong`, NOETL_CONSOLE_DEBUG: '1' } });
      expect(wrong.code, show(wrong)).toBe(1);
      expect(`${wrong.stdout}${wrong.stderr}`).not.toContain(TOKEN);
      const ok = await runCli(args, { env: { NOETL_SERVER_TOKEN: TOKEN } });
      expect(ok.code, show(ok)).toBe(0);
      expect(guarded.requests.at(-1)!.authorization).toBe(`Bearer ${TOKEN}`);
      guarded.fault = { mode: '500' };
      const failed = await runCli(['cancel', ids.token500!, ...d.args, '--server', guarded.url, '--json'], { env: { NOETL_SERVER_TOKEN: TOKEN, NOETL_CONSOLE_DEBUG: '1' } });
      expect(failed.code, show(failed)).toBe(1);
      for (const r of [without, wrong, ok, failed]) expect(`${r.stdout}${r.stderr}`).not.toContain(TOKEN);
    } finally {
      await guarded.close();
    }
  });

  it('cleanup closes what it selects through the server', async () => {
    api.requests.length = 0;
    const r = await cli(['cleanup', '--older-than', '60', '--path', 'srv/sweep*', '--server-engine', engine]);
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r)).toMatchObject({ cancelled_count: 2, execution_ids: [ids.sweep1, ids.sweep2] });
    expect(api.requests.filter((q) => q.path.endsWith('/cancel')).map((q) => q.path.split('/')[3])).toEqual([ids.sweep1, ids.sweep2]);
  });

  it('a dry run never calls the server', async () => {
    api.requests.length = 0;
    const r = await cli(['cancel', ids.dry!, '--dry-run']);
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r).results[0].outcome).toBe('would_cancel');
    const sweep = await cli(['cleanup', '--older-than', '60', '--path', 'srv/*', '--dry-run']);
    expect(sweep.code, show(sweep)).toBe(0);
    expect(api.requests).toEqual([]);
  });
});

describe('server configuration', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'noetl-console-server-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const args = ['cancel', '543857931469455628', '--database-url', 'postgres://nobody@127.0.0.1:1/none'];

  it.each([
    [['--server', 'ftp://noetl:8082'], {}, /--server: unsupported scheme "ftp:"/],
    [['--server', 'not a url'], {}, /--server: not a valid URL/],
    [[], { NOETL_SERVER_URL: 'noetl:8082' }, /NOETL_SERVER_URL: (not a valid URL|unsupported scheme)/],
    [['--server', 'http://noetl:8082', '--direct'], {}, /--server and --direct: give one/],
    [['--server', 'http://noetl:8082', '--server-engine', 'go'], {}, /--server-engine: expected rust, python or auto/],
    [['--server', 'http://noetl:8082', '--server-timeout', 'soon'], {}, /--server-timeout/],
    [['--server', 'http://u:hunter2pw@noetl:8082/?x=1'], {}, /--server: expected the server's base URL/],
  ] as const)('bad server settings are exit 2, one line: %j', async (extra, env, pattern) => {
    const r = await runCli([...args, ...extra], { env });
    oneLine(r, 2, pattern);
    expect(r.stderr).not.toContain('hunter2pw');
  });

  it('flag over config over environment; a bad config server_url names the file', async () => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ sources: { prod: { type: 'noetl', server_url: 'gopher://x' } } }));
    const bad = await runCli([...args, '--config', file]);
    oneLine(bad, 2, /server_url: expected the NoETL server URL/);
    writeFileSync(file, JSON.stringify({ sources: { prod: { type: 'noetl', server_url: 'http://cfg:1', server_engine: 'rust' } } }));
    // The environment's bad URL is never looked at: the config's wins.
    const cfg = await runCli([...args, '--config', file, '--dry-run'], { env: { NOETL_SERVER_URL: '::bad::' } });
    expect(cfg.stderr).not.toMatch(/NOETL_SERVER_URL/);
    // The flag's bad URL is: it wins over the config.
    const flag = await runCli([...args, '--config', file, '--server', 'ftp://flag']);
    oneLine(flag, 2, /--server: unsupported scheme/);
  });
});

describe("reading the servers' answers", () => {
  it('keeps ids above 2^53 exact, and digits inside strings untouched', () => {
    const text = '{"execution_id":612000000000001009,"event_id":-9007199254740993,"n":12,"f":1.5e300,"s":"id 9007199254740993 \\"q\\"","a":[9007199254740993]}';
    expect(parseJsonLossless(text)).toEqual({
      execution_id: '612000000000001009',
      event_id: '-9007199254740993',
      n: 12,
      f: 1.5e300,
      s: 'id 9007199254740993 "q"',
      a: ['9007199254740993'],
    });
    expect(idOf(parseJsonLossless('{"x":612000000000001009}') && '612000000000001009')).toBe('612000000000001009');
    expect(idOf(42)).toBe('42');
    expect(idOf(2 ** 60)).toBeNull();
  });
});
