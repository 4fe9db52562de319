/**
 * Issue 18: every write is a batch recorded in the rows it writes;
 * `history` lists everyone's batches from the database, `verify` finds what
 * happened to a batch's executions after the close, `--max-affected`
 * refuses a batch too big before writing anything.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { backends } from '../helpers/db.js';
import { createCliDatabase, jsonOf, runCli, show, type CliDatabase } from '../helpers/cli.js';

type Name = 'a' | 'b' | 'c' | 'p' | 'child' | 'x' | 'y' | 'z';

describe.each(backends())('history, verify and --max-affected on %s', (backend) => {
  let d: CliDatabase;
  const ids = {} as Record<Name, string>;
  const cli = (args: string[], user = 'alice') => runCli([...args, ...d.args], { env: { USER: user, SUDO_USER: undefined } });

  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      const s = new Scenario(490000000000000000n);
      for (const n of ['a', 'b', 'c', 'x', 'y', 'z'] as const) ids[n] = s.execution({ path: `hist/${n}`, startedMinutesAgo: 120 }).issued('load', 100).id;
      const p = s.execution({ path: 'hist/tree', startedMinutesAgo: 90 }).step('spawn', 85);
      ids.p = p.id;
      ids.child = s.execution({ path: 'hist/tree/child', startedMinutesAgo: 85, parent: p }).issued('work', 80).id;
      await s.apply(db, schema);
    });
  });
  afterAll(async () => d?.close());

  /** An event as the engine would write it, after everything else. */
  const engineEvent = (id: string, type: string) =>
    d.use((db) =>
      db.query(
        `INSERT INTO "${d.schema}".event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status)
         SELECT execution_id, max(event_id) + 1000, min(catalog_id), now() AT TIME ZONE 'UTC', $2, 'load', 'RUNNING'
         FROM "${d.schema}".event WHERE execution_id = $1 GROUP BY execution_id`,
        [id, type],
      ),
    );

  let batchA = '';
  let batchB = '';

  it('history lists the batches of several operators with who, why, what', async () => {
    const one = await cli(['cancel', ids.a, ids.b, '--reason', 'INC-7 worker pool died', '--json'], 'alice');
    expect(one.code, show(one)).toBe(0);
    batchA = jsonOf(one).batch_id as string;
    expect(batchA).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const two = await cli(['cancel', ids.p, '--cascade', '--reason', 'tree stuck', '--json'], 'bob');
    batchB = jsonOf(two).batch_id as string;

    const all = jsonOf(await cli(['history', '--json']));
    expect(all.count).toBe(2);
    const [newest, oldest] = all.batches;
    expect(newest).toMatchObject({ batch_id: batchB, action: 'cancel', command: 'cancel', os_user: 'bob', reason: 'tree stuck', executions: 2 });
    expect(newest.execution_ids).toEqual([ids.p, ids.child].sort());
    expect(newest.selection).toEqual({ ids: [ids.p], named: 1, cascade: true });
    expect(oldest).toMatchObject({ batch_id: batchA, os_user: 'alice', reason: 'INC-7 worker pool died', executions: 2 });
    expect(oldest.started_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('history filters by user, reason, execution, batch and time', async () => {
    const ids1 = (args: string[]) => cli(['history', '--json', ...args]).then((r) => jsonOf(r).batches.map((b: { batch_id: string }) => b.batch_id));
    expect(await ids1(['--user', 'alice'])).toEqual([batchA]);
    expect(await ids1(['--reason', 'inc-7'])).toEqual([batchA]);
    expect(await ids1(['--execution', ids.child])).toEqual([batchB]);
    expect(await ids1(['--batch', batchB])).toEqual([batchB]);
    expect(await ids1(['--since', '1h'])).toHaveLength(2);
    const human = await cli(['history']);
    expect(human.stdout).toContain(`${batchA}  cancel 2  alice@`);
  });

  it('verify reports what the engine wrote after the close; undo says NoETL closes are final', async () => {
    // Quiet, then the engine completes a and claims b after our cancel.
    const quiet = await cli(['verify', batchA, '--json']);
    expect(quiet.code, show(quiet)).toBe(0);
    expect(jsonOf(quiet)).toMatchObject({ honoured: true, counts: { quiet: 2 } });
    await engineEvent(ids.a, 'playbook.completed');
    await engineEvent(ids.b, 'command.claimed');
    const found = await cli(['verify', batchA, '--json']);
    expect(found.code, show(found)).toBe(3);
    const byId = Object.fromEntries(jsonOf(found).results.map((r: { execution_id: string }) => [r.execution_id, r]));
    expect(byId[ids.a]).toMatchObject({ status: 'closed_again', after: [{ event_type: 'playbook.completed', by: 'engine' }] });
    expect(byId[ids.b]).toMatchObject({ status: 'engine_activity', after: [{ event_type: 'command.claimed', by: 'engine' }] });
    const text = await cli(['verify', batchA]);
    expect(text.stdout).toContain(`${ids.b}  engine activity after the close: command.claimed (engine,`);
    expect((await cli(['verify', batchB])).code).toBe(0);

    const final = await cli(['undo', batchA]);
    expect(final.code, show(final)).toBe(2);
    expect(final.stderr).toMatch(/^noetl-console: undo: closing events are final in NoETL's event log/);
    expect((await cli(['undo', 'not-a-batch'])).code).toBe(2);

    const unknown = await cli(['verify', '20990101T000000Z-000000']);
    expect(unknown.code, show(unknown)).toBe(2);
    expect(unknown.stderr).toMatch(/^noetl-console: verify: no batch 20990101T000000Z-000000 in this database/);
  });

  it('--max-affected refuses a bigger batch before writing anything, and lets a smaller one through', async () => {
    const before = await d.eventCount();
    const refused = await cli(['cleanup', '--older-than', '5', '--path', 'hist/*', '--max-affected', '2']);
    expect(refused.code, show(refused)).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^noetl-console: refused: \d+ executions would change, more than --max-affected 2; nothing written/);
    const named = await cli(['cancel', ids.x, ids.y, ids.z, '--max-affected', '2']);
    expect(named.code, show(named)).toBe(2);
    expect(await d.eventCount()).toBe(before);
    const bad = await cli(['cancel', ids.x, '--max-affected', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-affected: expected a whole number/);

    // The config file's max_affected is the default; the flag overrides it.
    const config = join(mkdtempSync(join(tmpdir(), 'noetl-maxaff-')), 'noetl-console.config.json');
    writeFileSync(config, JSON.stringify({ max_affected: 1, sources: { main: { type: 'noetl' } } }));
    const fromConfig = await cli(['cancel', ids.x, ids.y, '--config', config]);
    expect(fromConfig.code, show(fromConfig)).toBe(2);
    expect(fromConfig.stderr).toMatch(/refused: 2 executions would change, more than --max-affected 1/);
    expect(await d.eventCount()).toBe(before);

    const ok = await cli(['cancel', ids.x, ids.y, '--max-affected', '2', '--config', config, '--json']);
    expect(ok.code, show(ok)).toBe(0);
    expect(jsonOf(ok).changed_count).toBe(2);
  });
});
