import { describe, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { eventsOf } from '../helpers/db.js';
import { countingDatabase } from '../helpers/counting.js';
import {
  KEYS,
  consoleCloses,
  cursorLine,
  freshSchema,
  press,
  renderApp,
  inkSuite,
  rowOf,
  tail,
  TEST_ACTOR,
  waitForNoText,
  waitForText,
  waitUntil,
  type Screen,
} from './helpers.js';
import { finishOutside, listOrder, seedList, type ListIds } from './seed.js';

const { db, show } = inkSuite();

/** A schema of its own with the standard scenario, and the app open on it. */
async function setup(props: { readOnly?: boolean; refreshSeconds?: number; counting?: boolean } = {}) {
  const schema = await freshSchema(db);
  const ids = await seedList(db, schema);
  const counted = countingDatabase(db);
  const s = show(renderApp({ db: props.counting ? counted : db, schema, readOnly: props.readOnly, refreshSeconds: props.refreshSeconds }));
  await waitForText(s, tail(ids.hotel));
  return { schema, ids, s, queries: counted.statements };
}

/** From the top of the list, down to `id`. */
const moveTo = async (s: Screen, ids: ListIds, id: string) => {
  await press(s, 'g');
  await waitUntil(s, (f) => cursorLine(f)?.includes(tail(ids.hotel)), 'cursor at the top');
  await press(s, ...Array(listOrder(ids).indexOf(id)).fill('j'));
  await waitUntil(s, (f) => cursorLine(f)?.includes(tail(id)), `cursor on ${id}`);
};

describe('confirmation dialog', () => {
  it('opens on the cursor row with the reason focused; Esc, No and n close it with nothing written', async () => {
    const { s, ids, schema } = await setup();
    await moveTo(s, ids, ids.alpha);
    await press(s, 'c');
    const frame = await waitForText(s, 'will cancel');
    expect(frame).toContain('Cancel 1 execution');
    expect(frame).toMatch(/etl\/alpha\s+2h00m\s+will cancel/);
    expect(frame).toContain('[x] cascade');
    expect(frame).toContain('> Reason:  stuck: cancelled by oncall with noetl-console');
    expect(frame).toContain('  No      Yes, cancel 1  ');
    await press(s, KEYS.escape);
    await waitForText(s, 'cancel: closed, nothing written');
    // Tab to No, Enter; n on a button.
    await press(s, 'c');
    await waitForText(s, '> Reason:');
    await press(s, KEYS.tab);
    await waitForText(s, '> No <');
    await press(s, KEYS.enter);
    await waitForText(s, 'cancel: closed, nothing written');
    await press(s, 'c');
    await waitForText(s, '> Reason:');
    await press(s, KEYS.tab, 'n');
    await waitForText(s, 'cancel: closed, nothing written');
    // In the reason, n is text.
    await press(s, 'c');
    await waitForText(s, '> Reason:');
    await press(s, 'n');
    await waitForText(s, /> Reason: n\s*│/);
    await press(s, KEYS.escape);
    await waitForText(s, '? help');
    expect(consoleCloses(await eventsOf(db, schema, ids.alpha))).toEqual([]);
  });

  it('previews the cascade, t toggles it on a button; the reason edits like a shell line and ↑ recalls it; Enter Enter writes', async () => {
    const { s, ids, schema } = await setup();
    await moveTo(s, ids, ids.alpha);
    await press(s, KEYS.space); // alpha marked, cursor to bravo
    await moveTo(s, ids, ids.parent);
    await press(s, KEYS.space);
    await waitForText(s, 'marked 2');
    await press(s, 'c');
    let frame = await waitForText(s, 'will change:');
    expect(frame).toContain('Cancel 2 + 1 running child = 3');
    expect(frame).toMatch(/ └ …\d+ etl\/child\s+1h05m\s+will cancel/);
    expect(frame).toMatch(/ └ …\d+ etl\/child-done\s+1h05m\s+already finished \(completed\)/);
    expect(frame).toContain('3 will change: 2 selected + 1 running descendant · 1 skipped');

    await press(s, KEYS.tab, 't');
    await waitForText(s, '[ ] cascade');
    frame = await waitForText(s, '2 will change');
    expect(frame).toContain('Cancel 2 executions');
    expect(frame).not.toContain('etl/child');
    await press(s, 't');
    await waitForText(s, '3 will change');

    // Back to the reason: the first character replaces the default.
    await press(s, KEYS.shiftTab);
    await waitForText(s, '> Reason:');
    await press(s, 'worker pool rolled; tickets INC-41');
    await waitForText(s, /Reason: worker pool rolled; tickets INC-41 *│/);
    await press(s, '\u0017'); // ctrl-w: the last word
    await waitForText(s, /Reason: worker pool rolled; tickets  *│/);
    await press(s, 'INC-42', KEYS.home, 'x');
    await waitForText(s, 'Reason: xworker pool rolled; tickets INC-42');
    await press(s, KEYS.backspace, KEYS.end, KEYS.left, KEYS.left, KEYS.backspace, '4');
    await waitForText(s, 'Reason: worker pool rolled; tickets INC442');
    await press(s, KEYS.backspace, '-');
    await waitForText(s, 'Reason: worker pool rolled; tickets INC-42');
    // ctrl-u erases to the start; Enter on an empty reason says so in place.
    await press(s, KEYS.home, KEYS.end, '\u0015', KEYS.enter);
    await waitForText(s, 'a reason is required');
    await press(s, 'worker pool rolled; tickets INC-42', KEYS.enter);
    await waitForText(s, '> Yes, cancel 3 <');
    await press(s, KEYS.enter);
    frame = await waitForText(s, 'Cancel done');
    expect(frame).toContain('3 cancelled, 1 already finished');
    expect(frame).toMatch(/etl\/alpha\s+2h00m\s+cancelled/);
    expect(frame).toMatch(/└ …\d+ etl\/child\s+1h05m\s+cancelled/);

    for (const id of [ids.alpha, ids.parent, ids.child]) {
      const written = consoleCloses(await eventsOf(db, schema, id));
      expect(written).toHaveLength(1);
      expect(written[0]).toMatchObject({ event_type: 'execution.cancelled', status: 'CANCELLED' });
      expect(written[0]!.meta).toMatchObject({ reason: 'worker pool rolled; tickets INC-42', cascade: true, os_user: TEST_ACTOR.os_user, host: TEST_ACTOR.host });
    }
    expect(consoleCloses(await eventsOf(db, schema, ids.childDone))).toEqual([]);
    expect(consoleCloses(await eventsOf(db, schema, ids.bravo))).toEqual([]);

    await press(s, KEYS.escape);
    frame = await waitForNoText(s, tail(ids.alpha));
    expect(frame).toContain('marked 0');
    expect(frame).not.toContain(tail(ids.parent));

    // ↑ recalls the reason of the session, ↓ goes back to the default.
    await press(s, 'g', 'j', 'j'); // hotel, golf, bravo: alpha has left
    await waitUntil(s, (f) => cursorLine(f)?.includes(tail(ids.bravo)), 'cursor on bravo');
    await press(s, 'c');
    await waitForText(s, '> Reason:  stuck: cancelled');
    await press(s, KEYS.up);
    await waitForText(s, 'Reason: worker pool rolled; tickets INC-42');
    await press(s, KEYS.down);
    await waitForText(s, '> Reason:  stuck: cancelled');
    await press(s, KEYS.escape);
    await waitForText(s, 'nothing written');
    expect(consoleCloses(await eventsOf(db, schema, ids.bravo))).toEqual([]);
  });

  it('over 10 executions the typed count is the confirmation: Enter on the right count writes, a wrong one says so in place', async () => {
    const schema = await freshSchema(db);
    const sc = new Scenario();
    const many = Array.from({ length: 12 }, (_, i) => sc.execution({ path: `bulk/job-${i}`, startedMinutesAgo: 100 - i }).issued('x', 50).id);
    await sc.apply(db, schema);
    const s = show(renderApp({ db, schema }));
    await waitForText(s, 'shown 12');
    await press(s, 'a');
    await waitForText(s, 'marked 12');
    await press(s, 'c');
    await waitForText(s, 'Type 12 to confirm');
    await press(s, KEYS.enter);
    await waitForText(s, '> Type 12 to confirm:');
    await press(s, KEYS.enter);
    await waitForText(s, 'the count is missing');
    await press(s, '1', '3', KEYS.enter);
    let frame = await waitForText(s, '13 is not 12');
    expect(frame).toContain('> Type 12 to confirm: 13');
    // t is not a digit: the count stays.
    await press(s, 't');
    await waitForText(s, '> Type 12 to confirm: 13');
    for (const id of many) expect(consoleCloses(await eventsOf(db, schema, id))).toEqual([]);
    await press(s, KEYS.backspace, '2', KEYS.enter);
    frame = await waitForText(s, 'Cancel done');
    expect(frame).toContain('12 cancelled');
    for (const id of many) expect(consoleCloses(await eventsOf(db, schema, id))).toHaveLength(1);
  });

  it('freezes the list while open: no refresh until it closes', async () => {
    const { s, ids, schema, queries } = await setup({ refreshSeconds: 0.2, counting: true });
    await moveTo(s, ids, ids.alpha);
    await press(s, 'c');
    await waitForText(s, 'will change:');
    await finishOutside(db, schema, ids.delta);
    const before = queries.length;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // five refresh periods
    expect(queries.length).toBe(before);
    const closedAt = s.frames().length;
    await press(s, KEYS.escape);
    await waitForNoText(s, tail(ids.delta)); // the refresh, once it closed
    const firstAfter = s
      .frames()
      .slice(closedAt)
      .find((f) => f.includes('? help'));
    expect(firstAfter).toContain(tail(ids.delta)); // but first the list as it was when the dialog opened
  });

  it('f marks failed; read-only mode refuses with a message', async () => {
    const { s, ids, schema } = await setup();
    await moveTo(s, ids, ids.golf);
    await press(s, 'f');
    await waitForText(s, 'Mark failed 1 execution');
    await waitForText(s, 'will mark failed');
    await press(s, KEYS.enter, KEYS.enter);
    const frame = await waitForText(s, 'Mark failed done');
    expect(frame).toMatch(/etl\/golf\s+7h00m\s+marked failed/);
    const written = consoleCloses(await eventsOf(db, schema, ids.golf));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ event_type: 'playbook.failed', status: 'FAILED', error: 'stuck: marked failed by oncall with noetl-console' });
    // The cursor stayed on it: it is shown as finished, in place.
    await press(s, KEYS.escape);
    await waitUntil(s, (f) => cursorLine(f)?.includes('gone: failed'), 'the failed row in place');

    s.unmount();
    const ro = show(renderApp({ db, schema, readOnly: true }));
    await waitForText(ro, 'READ-ONLY');
    await waitForText(ro, tail(ids.alpha));
    await press(ro, 'c');
    await waitForText(ro, 'read-only mode: cannot cancel (started with --read-only)');
    await press(ro, 'f');
    await waitForText(ro, 'read-only mode: cannot mark failed');
    expect(ro.lastFrame()).not.toContain('Reason:');
  });
});

describe('detail view', () => {
  it('shows the execution, its children and timeline; scrolls; Esc returns to the same row', async () => {
    const { s, ids } = await setup();
    await moveTo(s, ids, ids.parent);
    await press(s, KEYS.enter);
    await waitForText(s, `Execution ${ids.parent}`);
    let frame = await waitForText(s, 'Events (newest first');
    expect(frame).toMatch(/State\s+RUNNING/);
    expect(frame).toMatch(/Started\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, age 1h10m/);
    expect(frame).toMatch(/Idle\s+1h08m since step.exit/);
    expect(frame).toMatch(/Last done\s+spawn/);
    expect(frame).toMatch(/Stuck step\s+-/);
    expect(frame).toMatch(/Worker\s+worker-a\s+no fresh heartbeat/);
    expect(frame).toMatch(/Children\s+1 running of 2/);
    expect(frame).toMatch(new RegExp(`└ ${ids.child} RUNNING\\s+etl/child`));
    expect(frame).toMatch(new RegExp(`└ ${ids.childDone} COMPLETED\\s+etl/child-done`));
    expect(frame).toMatch(/step\.exit\s+spawn\s+COMPLETED/);

    await press(s, 'G');
    frame = await waitForText(s, 'playbook.initialized');
    expect(frame).not.toMatch(/State\s+RUNNING/);
    await press(s, 'g');
    await waitForText(s, 'State');
    await press(s, KEYS.pageDown);
    await waitForNoText(s, /State\s+RUNNING/);
    await press(s, KEYS.pageUp, KEYS.down, 'j');
    frame = await waitForNoText(s, /State\s+RUNNING/);
    expect(frame).not.toMatch(/Playbook\s+etl/);
    await press(s, KEYS.up, 'k', KEYS.home);
    await waitForText(s, /State\s+RUNNING/);
    await press(s, KEYS.end);
    await waitForText(s, 'playbook.initialized');

    await press(s, KEYS.escape);
    frame = await waitForText(s, '? help');
    expect(cursorLine(frame)).toContain(tail(ids.parent));
    await press(s, KEYS.enter);
    await waitForText(s, `Execution ${ids.parent}`);
    await press(s, 'q');
    frame = await waitForText(s, '? help');
    expect(cursorLine(frame)).toContain(tail(ids.parent));
  });

  it('c works from the detail view; the timeline then shows who wrote it', async () => {
    const { s, ids, schema } = await setup();
    await moveTo(s, ids, ids.bravo);
    await press(s, KEYS.enter);
    await waitForText(s, `Execution ${ids.bravo}`);
    await waitForText(s, /Worker\s+worker-dead\s+no fresh heartbeat/);
    await press(s, 'c');
    await waitForText(s, 'will cancel');
    await press(s, KEYS.enter, KEYS.enter);
    await waitForText(s, 'Cancel done');
    expect(consoleCloses(await eventsOf(db, schema, ids.bravo))).toHaveLength(1);
    await press(s, KEYS.escape);
    const frame = await waitForText(s, /State\s+CANCELLED/);
    expect(frame).toMatch(/execution\.cancelled\s+cancel\s+CANCELLED/);
    expect(frame).toContain('audit: cancel by noetl-console, user oncall, host test-host, v0.0.0-test, reason: stuck');
    await press(s, KEYS.escape);
    await waitUntil(s, (f) => cursorLine(f)?.includes('gone: cancelled'), 'bravo in place, finished');
    expect(rowOf(s.lastFrame(), ids.bravo)).toBeDefined();
  });

  it('p and r work in the detail view, ? shows help from it', async () => {
    const { s, ids } = await setup();
    await press(s, KEYS.enter);
    await waitForText(s, `Execution ${ids.hotel}`);
    await press(s, 'p');
    await waitForText(s, 'PAUSED');
    await press(s, 'r');
    await waitForText(s, 'refreshing');
    await press(s, '?');
    await waitForText(s, 'Anywhere');
    await press(s, KEYS.escape);
    await waitForText(s, `Execution ${ids.hotel}`);
  });
});
