/**
 * Reader conformance: after every write path of the console (cancel, fail,
 * complete, with and without cascade, cleanup, the interactive console),
 * every reader of both NoETL engines (readers.ts) sees each changed execution
 * finished, in the intended state, and the rows are filed under the
 * execution's own tenant; executions the console did not change read as they
 * did before. Reverting a close to one `execution.cancelled` row fails here
 * (the Rust orchestrator and replay would still read it running).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/database.js';
import { Scenario, type ExecutionBuilder } from '../fixtures/scenario.js';
import { createCliDatabase, jsonOf, runCli, show, type CliDatabase } from '../helpers/cli.js';
import { backends } from '../helpers/db.js';
import { KEYS, press, renderApp, rowOf, waitForText, waitUntil } from '../ui/helpers.js';
import { READERS, readAll, type Before, type ClosedState } from './readers.js';
import { ACTIONS, capitalize, type Action } from '../../src/core/mark.js';

interface WritePath {
  name: string;
  action: Action;
  args: (ids: Record<string, string>) => string[];
  /** The executions it must close (names in `ids`). */
  closes: string[];
  /** Running descendants it leaves (no cascade): said in the JSON. */
  left?: number;
}

/** Per path a family: python and rust roots, each with a running and a finished child, a tenant acme one, a failed step. */
function family(s: Scenario, prefix: string, ids: Record<string, string>): void {
  const py = s
    .execution({ path: `${prefix}/py`, startedMinutesAgo: 180 })
    .step('extract', 170)
    .issued('load', 160);
  const pyChild = s.execution({ path: `${prefix}/py-child`, startedMinutesAgo: 175, parent: py }).claimed('work', 150, 'worker-dead');
  s.execution({ path: `${prefix}/py-child-done`, startedMinutesAgo: 175, parent: py })
    .step('work', 170)
    .finish('completed', 165);
  const rs = s
    .execution({ path: `${prefix}/rs`, dialect: 'rust', startedMinutesAgo: 170 })
    .step('plan', 160)
    .claimed('run', 150, 'worker-dead');
  const rsChild = s.execution({ path: `${prefix}/rs-child`, dialect: 'rust', startedMinutesAgo: 165, parent: rs }).issued('work', 150);
  const acme = s.execution({ path: `${prefix}/acme`, startedMinutesAgo: 160, tenant: 'acme', organization: 'acme-eu' }).issued('load', 150);
  const failedStep: ExecutionBuilder = s.execution({ path: `${prefix}/failed-step`, dialect: 'rust', startedMinutesAgo: 150 }).issued('call', 140);
  failedStep.event('command_failed', 130 * 60, { node: 'call', status: 'FAILED', error: 'HTTP 500' });
  Object.assign(ids, {
    [`${prefix}:py`]: py.id,
    [`${prefix}:pyChild`]: pyChild.id,
    [`${prefix}:rs`]: rs.id,
    [`${prefix}:rsChild`]: rsChild.id,
    [`${prefix}:acme`]: acme.id,
    [`${prefix}:failedStep`]: failedStep.id,
  });
}

/** The console's keys for the three actions. */
const CONSOLE_KEYS_ACTIONS: Record<string, Action> = { c: 'cancel', f: 'fail', d: 'complete' };
const CONSOLE_KEYS = Object.keys(CONSOLE_KEYS_ACTIONS);

const roots = (p: string) => [`${p}:py`, `${p}:rs`, `${p}:acme`, `${p}:failedStep`];
const all = (p: string) => [...roots(p), `${p}:pyChild`, `${p}:rsChild`];

const PATHS: WritePath[] = [
  { name: 'cancel', action: 'cancel', args: (i) => ['cancel', ...roots('c').map((k) => i[k]!)], closes: roots('c'), left: 2 },
  { name: 'cancel --cascade', action: 'cancel', args: (i) => ['cancel', '--cascade', ...roots('cc').map((k) => i[k]!)], closes: all('cc') },
  { name: 'fail', action: 'fail', args: (i) => ['fail', ...roots('f').map((k) => i[k]!)], closes: roots('f'), left: 2 },
  { name: 'fail --cascade', action: 'fail', args: (i) => ['fail', '--cascade', ...roots('fc').map((k) => i[k]!)], closes: all('fc') },
  { name: 'complete', action: 'complete', args: (i) => ['complete', ...roots('d').map((k) => i[k]!)], closes: roots('d'), left: 2 },
  { name: 'complete --cascade', action: 'complete', args: (i) => ['complete', '--cascade', ...roots('dc').map((k) => i[k]!)], closes: all('dc') },
  { name: 'cleanup', action: 'cancel', args: () => ['cleanup', '--older-than', '60', '--path', 'conf/k/*'], closes: all('conf/k') },
  {
    name: 'cleanup --mark failed --cascade',
    action: 'fail',
    args: () => ['cleanup', '--older-than', '60', '--path', 'conf/kf/*', '--mark', 'failed', '--cascade'],
    closes: all('conf/kf'),
  },
];

/** What each execution looked like before any write. */
async function befores(q: Queryable, schema: string, ids: readonly string[]): Promise<Map<string, Before>> {
  const { rows } = await q.query<{ id: string; has_projection: boolean; has_failed_row: boolean }>(
    `SELECT x.id::text AS id,
            EXISTS (SELECT 1 FROM "${schema}".execution p WHERE p.execution_id = x.id) AS has_projection,
            EXISTS (SELECT 1 FROM "${schema}".event e WHERE e.execution_id = x.id AND e.status = 'FAILED') AS has_failed_row
     FROM unnest($1::bigint[]) AS x(id)`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { hasProjection: r.has_projection, hasFailedRow: r.has_failed_row }]));
}

/** Rows the console wrote whose tenant or organization differs from the execution's start event. */
async function foreignTenantRows(q: Queryable, schema: string): Promise<unknown[]> {
  const { rows } = await q.query(
    `SELECT e.execution_id::text, e.event_type, e.tenant_id, e.organization_id, st.tenant_id AS want_tenant, st.organization_id AS want_org
     FROM "${schema}".event e
     JOIN LATERAL (SELECT s.tenant_id, s.organization_id FROM "${schema}".event s WHERE s.execution_id = e.execution_id ORDER BY s.event_id LIMIT 1) st ON true
     WHERE e.meta->>'emitted_by' = 'noetl-console' AND (e.tenant_id, e.organization_id) IS DISTINCT FROM (st.tenant_id, st.organization_id)`,
  );
  return rows;
}

describe.each(backends())('NoETL readers after each write path, on %s', (backend) => {
  let d: CliDatabase;
  const ids: Record<string, string> = {};
  let everyId: string[];
  let before: Map<string, Before>;
  let verdictsBefore: Map<string, Map<string, string>>;
  const changed = new Map<string, ClosedState>();

  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      const s = new Scenario(470000000000000000n);
      s.worker('worker-dead', 3600);
      for (const p of ['c', 'cc', 'f', 'fc', 'd', 'dc']) family(s, p, ids);
      for (const p of ['conf/k', 'conf/kf']) family(s, p, ids);
      for (const key of CONSOLE_KEYS) {
        ids[`ui-${key}:py`] = s.execution({ path: `ui/${key}/py`, startedMinutesAgo: 120 }).issued('load', 100).id;
        ids[`ui-${key}:rs`] = s.execution({ path: `ui/${key}/rs`, dialect: 'rust', startedMinutesAgo: 120, tenant: 'acme' }).claimed('run', 100, 'worker-dead').id;
      }
      // Untouched: running and finished executions of both engines, which no path names.
      ids['u:py'] = s.execution({ path: 'other/py', startedMinutesAgo: 300 }).issued('x', 290).id;
      ids['u:rs'] = s.execution({ path: 'other/rs', dialect: 'rust', startedMinutesAgo: 300 }).claimed('x', 290, 'worker-dead').id;
      ids['u:done'] = s.execution({ path: 'other/done', startedMinutesAgo: 300 }).step('x', 290).finish('completed', 280).id;
      ids['u:failed'] = s.execution({ path: 'other/failed', dialect: 'rust', startedMinutesAgo: 300 }).finish('failed', 280).id;
      ids['u:cancelled'] = s.execution({ path: 'other/cancelled', startedMinutesAgo: 300 }).finish('cancelled', 280).id;
      ids['u:acme'] = s.execution({ path: 'other/acme', startedMinutesAgo: 300, tenant: 'acme' }).issued('x', 290).id;
      await s.apply(db, schema);
    });
    everyId = Object.values(ids);
    [before, verdictsBefore] = await d.use(async (db) => [await befores(db, d.schema, everyId), await readAll(db, d.schema, everyId)] as const);
  });
  afterAll(async () => d?.close());

  it('before any write, every reader sees the open executions running (a failed step aside: readers differ there)', () => {
    const open = Object.keys(ids).filter((k) => !k.startsWith('u:') && !k.endsWith(':failedStep'));
    for (const [name, verdicts] of verdictsBefore) {
      for (const key of open) expect(['running', 'accepts', 'candidate', 'absent'], `${name} on ${key}`).toContain(verdicts.get(ids[key]!));
    }
  });

  for (const path of PATHS) {
    it(`${path.name}: every reader sees each changed execution ${ACTIONS[path.action].state}, in its own tenant`, async () => {
      const r = await runCli([...path.args(ids), '--json', '--reason', `conformance ${path.name}`, ...d.args]);
      expect(r.code, show(r)).toBe(0);
      const out = jsonOf(r);
      const want = path.closes.map((k) => ids[k]!).sort();
      expect([...out.execution_ids].sort(), show(r)).toEqual(want);
      expect(out.running_descendants_left, show(r)).toBe(path.left ?? 0);
      if (path.left) expect(r.stderr).toMatch(/left 2 running descendant\(s\) of the executions closed .*add --cascade/);
      const state = ACTIONS[path.action].state;
      for (const id of want) changed.set(id, state);
      const verdicts = await d.use((db) => readAll(db, d.schema, want));
      const wrong: string[] = [];
      for (const reader of READERS) {
        for (const key of path.closes) {
          const id = ids[key]!;
          const expected = reader.expect(state, before.get(id)!);
          const got = verdicts.get(reader.name)!.get(id);
          if (got !== expected) wrong.push(`${reader.name} (${reader.source}) on ${key}: ${got}, want ${expected}`);
        }
      }
      expect(wrong).toEqual([]);
      expect(await d.use((db) => foreignTenantRows(db, d.schema))).toEqual([]);
    });
  }

  it('the interactive console: c, f and d on the marked rows close them for every reader', async () => {
    for (const [key, action] of Object.entries(CONSOLE_KEYS_ACTIONS)) {
      const state = ACTIONS[action].state;
      const mine = [ids[`ui-${key}:py`]!, ids[`ui-${key}:rs`]!];
      await d.use(async (db) => {
        const s = renderApp({ db, schema: d.schema });
        try {
          await waitForText(s, '? help', 60_000);
          await press(s, '/', ...`ui/${key}/`.split(''), KEYS.enter);
          await waitUntil(s, (f) => mine.every((id) => rowOf(f, id)) && !f.includes('conf/'), `only ui/${key}/ rows`, 60_000);
          await press(s, 'a', key);
          await waitForText(s, `Yes, ${ACTIONS[action].verb} 2`, 60_000);
          await press(s, KEYS.enter); // reason → Yes
          await waitForText(s, `> Yes, ${ACTIONS[action].verb} 2 <`, 60_000);
          await press(s, KEYS.enter);
          await waitForText(s, `${capitalize(ACTIONS[action].verb)} done`, 60_000);
        } finally {
          s.unmount();
        }
      });
      for (const id of mine) changed.set(id, state);
      const verdicts = await d.use((db) => readAll(db, d.schema, mine));
      const wrong = READERS.flatMap((reader) =>
        mine
          .map((id) => ({ id, got: verdicts.get(reader.name)!.get(id), want: reader.expect(state, before.get(id)!) }))
          .filter((x) => x.got !== x.want)
          .map((x) => `${reader.name} on ${x.id} after ${key}: ${x.got}, want ${x.want}`),
      );
      expect(wrong).toEqual([]);
    }
    expect(await d.use((db) => foreignTenantRows(db, d.schema))).toEqual([]);
  }, 300_000);

  it('the Python projection of each changed execution is closed: status, end time, last event, state flags', async () => {
    const { rows } = await d.use((db) =>
      db.query<{ id: string; status: string; end_time: string | null; last_event_type: string; completed: boolean; failed: boolean; error: string | null; is_last: boolean }>(
        `SELECT p.execution_id::text AS id, p.status, p.end_time::text, p.last_event_type,
                (p.state->>'completed')::boolean AS completed, (p.state->>'failed')::boolean AS failed, p.error,
                p.last_event_id = (SELECT max(e.event_id) FROM "${d.schema}".event e WHERE e.execution_id = p.execution_id) AS is_last
         FROM "${d.schema}".execution p WHERE p.execution_id = ANY($1::bigint[])`,
        [[...changed.keys()]],
      ),
    );
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      const state = changed.get(row.id)!;
      expect(row, row.id).toMatchObject({
        status: state.toUpperCase(),
        last_event_type: state === 'cancelled' ? 'execution.cancelled' : `playbook.${state}`,
        completed: true,
        failed: state === 'failed',
        is_last: true,
      });
      expect(row.end_time, row.id).not.toBeNull();
      if (state === 'failed') expect(row.error, row.id).toMatch(/^(conformance |stuck: marked failed)/);
    }
  });

  it('executions no path named read exactly as before, for every reader', async () => {
    const untouched = everyId.filter((id) => !changed.has(id));
    expect(untouched.length).toBeGreaterThan(5);
    const after = await d.use((db) => readAll(db, d.schema, untouched));
    for (const reader of READERS) {
      for (const id of untouched) expect(after.get(reader.name)!.get(id), `${reader.name} on ${id}`).toBe(verdictsBefore.get(reader.name)!.get(id));
    }
  });

  it('the reader table of README, before and after a close of a Python execution (printed)', async () => {
    const sample = { cancel: ids['c:py']!, fail: ids['f:py']!, complete: ids['d:py']! };
    const after = await d.use((db) => readAll(db, d.schema, Object.values(sample)));
    const lines = READERS.map((r) => {
      const cells = [verdictsBefore.get(r.name)!.get(sample.cancel), ...Object.values(sample).map((id) => after.get(r.name)!.get(id))];
      expect(cells.slice(1), r.name).toEqual((['cancelled', 'failed', 'completed'] as const).map((state) => r.expect(state, before.get(sample.cancel)!)));
      return `| ${r.name} | ${cells.join(' | ')} |`;
    });
    console.log(`readers on ${backend}:\n| reader | before | after cancel | after fail | after complete |\n${lines.join('\n')}`);
  });

  it('a second close of the same executions writes nothing', async () => {
    const count = await d.eventCount();
    for (const action of ['cancel', 'fail', 'complete']) {
      const r = await runCli([action, ids['c:py']!, ids['f:rs']!, ids['d:acme']!, ids['cc:pyChild']!, '--json', ...d.args]);
      expect(r.code, show(r)).toBe(3);
      expect(jsonOf(r).changed_count).toBe(0);
    }
    expect(await d.eventCount()).toBe(count);
  }, 180_000);
});
