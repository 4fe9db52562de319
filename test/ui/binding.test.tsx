import { describe, expect, it } from 'vitest';
import type { ExecutionBuilder } from '../../src/demo/scenario.js';
import { Scenario } from '../fixtures/scenario.js';
import { eventsOf } from '../helpers/db.js';
import { KEYS, consoleCloses, cursorLine, freshSchema, inkSuite, press, renderApp, tail, waitForNoText, waitForText, waitUntil } from './helpers.js';
import { listOrder, seedList } from './seed.js';

const { db, show } = inkSuite();

const closesByConsole = async (schema: string, id: string) => consoleCloses(await eventsOf(db, schema, id));

/** Children that start under `parentId` after the dialog opened (written as the engine would). */
async function startChildren(schema: string, parentId: string, n: number): Promise<string[]> {
  const s = new Scenario(9_100_000_000_000_000n);
  const parent = { id: parentId, tenant: 'default', organization: 'default' } as ExecutionBuilder;
  const ids = Array.from({ length: n }, (_, i) => s.execution({ path: `etl/late-child-${i}`, startedMinutesAgo: 0.1, parent }).issued('work', 0.05).id);
  await s.apply(db, schema);
  return ids;
}

describe('the dialog binds the write', () => {
  it('writes exactly the executions it showed; children started since are reported "not shown" and left running, and v reviews them', async () => {
    const schema = await freshSchema(db);
    const ids = await seedList(db, schema);
    const s = show(renderApp({ db, schema }));
    await waitForText(s, tail(ids.hotel));
    await press(s, 'g', ...Array(listOrder(ids).indexOf(ids.parent)).fill('j'));
    await waitUntil(s, (f) => cursorLine(f)?.includes(tail(ids.parent)), 'cursor on the parent');
    await press(s, 'c');
    let frame = await waitForText(s, '2 will change');
    expect(frame).toContain('Yes, cancel 2');

    const late = await startChildren(schema, ids.parent, 3);
    await press(s, KEYS.enter); // reason → Yes
    await waitForText(s, '> Yes, cancel 2 <');
    await press(s, KEYS.enter);
    frame = await waitForText(s, 'Cancel done');
    expect(frame).toContain('2 cancelled');
    expect(frame).toContain('3 not shown, not changed');
    expect(frame).toContain('3 running descendants started after the dialog opened: left running');

    const [close] = await closesByConsole(schema, ids.parent);
    expect(close!.meta).toMatchObject({ batch_command: 'console', batch_selection: { ids: [ids.parent], named: 1, cascade: true } });
    expect(close!.meta?.batch_id).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(await closesByConsole(schema, ids.child)).toHaveLength(1);
    for (const id of late) expect(await closesByConsole(schema, id)).toEqual([]);

    // They can be reviewed in a dialog of their own, and closed from there.
    await press(s, 'v');
    frame = await waitForText(s, '3 will change');
    expect(frame).toContain('Cancel 3 executions');
    for (const id of late) expect(frame).toContain(tail(id));
    await press(s, KEYS.enter); // reason → Yes
    await waitForText(s, '> Yes, cancel 3 <');
    await press(s, KEYS.enter);
    frame = await waitForText(s, 'Cancel done');
    expect(frame).toContain('3 cancelled');
    for (const id of late) expect(await closesByConsole(schema, id)).toHaveLength(1);
  });

  it('checks a little after the write that the engine honoured it, and says so when it did not', async () => {
    const schema = await freshSchema(db);
    const ids = await seedList(db, schema);
    const s = show(renderApp({ db, schema, verifyAfterMs: 3000 }));
    await waitForText(s, tail(ids.hotel));
    await press(s, 'g', ...Array(listOrder(ids).indexOf(ids.alpha)).fill('j'));
    await waitUntil(s, (f) => cursorLine(f)?.includes(tail(ids.alpha)), 'cursor on alpha');
    await press(s, 'c');
    await waitForText(s, '1 will change');
    await press(s, KEYS.enter); // reason → Yes
    await waitForText(s, '> Yes, cancel 1 <');
    await press(s, KEYS.enter);
    await waitForText(s, 'Cancel done');
    const [close] = await closesByConsole(schema, ids.alpha);
    const batch = String(close!.meta?.batch_id);
    // The engine claims it after our cancel (a worker that did not hear of it).
    await db.query(
      `INSERT INTO "${schema}".event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status)
       SELECT execution_id, max(event_id) + 100, min(catalog_id), now() AT TIME ZONE 'UTC', 'command.claimed', 'load', 'RUNNING'
       FROM "${schema}".event WHERE execution_id = $1 GROUP BY execution_id`,
      [ids.alpha],
    );
    await waitForText(s, `batch ${batch}: 1 execution(s) had engine events after the close`);

    // H lists the batches written (everyone's), this one first.
    await press(s, KEYS.escape);
    await waitForNoText(s, 'Cancel done');
    await press(s, 'H');
    const frame = await waitForText(s, batch);
    expect(frame).toContain('Batches written by noetl-console');
    expect(frame).toMatch(new RegExp(`${batch}  cancel 1  oncall@test-host  stuck: cancelled by`));
    await press(s, KEYS.escape);
    await waitForNoText(s, 'Batches written by noetl-console');
  });
});
