/**
 * Issue 14's incident, in the component: a dead worker pool left 30 runs of one
 * playbook stuck, each with a running child, among a few other stuck ones.
 */
import { describe, expect, it } from 'vitest';
import { eventsOf } from '../helpers/db.js';
import { footerItems, helpLines } from '../../components/keymap.js';
import { toAscii, unicodeTerminal, setAsciiGlyphs } from '../../components/glyphs.js';
import { KEYS, consoleCloses, cursorLine, freshSchema, inkSuite, press, renderApp, renderSized, rowOf, tail, waitForNoText, waitForText, waitUntil } from './helpers.js';
import { finishOutside, seedIncident, seedList } from './seed.js';

const { db, show } = inkSuite({ afterEach: () => setAsciiGlyphs(false) });

const REASON = 'INC-7 worker pool died';
/** The closes the console wrote, newest per execution, by id. */
async function closedBy(schema: string, ids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of ids) {
    const closes = consoleCloses(await eventsOf(db, schema, id));
    if (closes.length > 0) out.set(id, String(closes.at(-1)!.meta?.reason));
  }
  return out;
}

describe('the incident', () => {
  it('/ nightly_batch Enter a c <reason> Enter 60 Enter closes exactly the 60, with the reason', async () => {
    const schema = await freshSchema(db);
    const inc = await seedIncident(db, schema);
    const s = show(renderSized({ db, schema }, 80, 24));
    await waitForText(s, 'shown 33');
    await press(s, '/', 'nightly_batch', KEYS.enter, 'a', 'c');
    let frame = await waitForText(s, 'Cancel 30 + 30 running children = 60');
    expect(frame).toContain('> Reason:  stuck: cancelled by oncall with noetl-console');
    expect(frame).toMatch(/↓ \d+ more/);
    expect(frame.split('\n').every((l) => [...l].length <= 80)).toBe(true);
    expect(frame).not.toContain('outside the filter');
    await press(s, REASON, KEYS.enter, '60', KEYS.enter);
    frame = await waitForText(s, 'Cancel done');
    expect(frame).toContain('60 cancelled');
    const closed = await closedBy(schema, [...inc.parents, ...inc.children, ...inc.others]);
    expect([...closed.keys()].sort()).toEqual([...inc.parents, ...inc.children].sort());
    expect(new Set(closed.values())).toEqual(new Set([REASON]));
  });

  it('a mark made before the filter is listed first, in a warning line, and counted in the title', async () => {
    const schema = await freshSchema(db);
    const inc = await seedIncident(db, schema);
    const s = show(renderSized({ db, schema }, 80, 24));
    await waitForText(s, 'shown 33');
    const stray = inc.others.find((id) => s.lastFrame().includes(tail(id)) && cursorLine(s.lastFrame())?.includes(tail(id)))!;
    await press(s, KEYS.space);
    await waitForText(s, 'marked 1');
    await press(s, '/', 'nightly_batch', KEYS.enter, 'a', 'c');
    const frame = await waitForText(s, 'Cancel 31 + 30 running children = 61');
    const lines = frame.split('\n');
    const warning = lines.findIndex((l) => l.includes('1 marked outside the filter: '));
    expect(warning).toBeGreaterThan(0);
    expect(lines[warning]).toContain(tail(stray));
    // Listed first: the line after the warning is the stray execution.
    expect(lines[warning + 1]).toContain(tail(stray));
    await press(s, KEYS.escape);
    await waitForText(s, 'nothing written');
    expect((await closedBy(schema, [stray, ...inc.parents])).size).toBe(0);
  });

  it('fits 40x10 with the counts, the warning, the reason, the count and the buttons; smaller, it says the size it needs', async () => {
    const schema = await freshSchema(db);
    const inc = await seedIncident(db, schema);
    const s = show(renderSized({ db, schema }, 40, 10));
    await waitForText(s, 'shown 33');
    const stray = inc.others.find((id) => cursorLine(s.lastFrame())?.includes(tail(id)))!;
    await press(s, KEYS.space, '/', 'nightly_batch', KEYS.enter, 'a', 'c');
    const frame = await waitForText(s, 'Cancel 31 + 30 running children = 61');
    const lines = frame.split('\n');
    expect(lines.length).toBeLessThan(10);
    expect(lines.every((l) => [...l].length <= 40)).toBe(true);
    expect(frame).toContain(`! 1 marked outside the filter: …${tail(stray)}`);
    expect(frame).toContain('> Reason:');
    expect(frame).toContain('Type 61 to confirm:');
    expect(frame).toContain('Yes, cancel 61');
    // A wrong count says so in place: on the count's line, there being no other.
    await press(s, KEYS.enter, '5', '9', KEYS.enter);
    const wrong = await waitForText(s, '59 is not');
    expect(wrong).toMatch(/> Type 61 to confirm: 59 +59 is not 61/);
    expect(wrong).toContain('Cancel 31 + 30 running children = 61');
    expect(wrong).toContain('Yes, cancel 61');
    s.resize!(40, 7);
    await waitForText(s, /needs 10 rows\s+\(now\s+7\)/);
    s.resize!(40, 10);
    await waitForText(s, 'Yes, cancel 61');
    await press(s, KEYS.escape);
    await waitForText(s, 'nothing written');
  });

  it('--reason presets the reason: c Enter writes it', async () => {
    const schema = await freshSchema(db);
    const ids = await seedList(db, schema);
    const s = show(renderApp({ db, schema, reason: 'INC-9 preset' }));
    await waitForText(s, tail(ids.hotel));
    await press(s, 'c');
    await waitForText(s, '> Reason: INC-9 preset');
    await waitForText(s, 'will cancel');
    await press(s, KEYS.enter);
    await waitForText(s, '> Yes, cancel 1 <');
    await press(s, KEYS.enter);
    await waitForText(s, 'Cancel done');
    expect(await closedBy(schema, [ids.hotel])).toEqual(new Map([[ids.hotel, 'INC-9 preset']]));
  });
});

describe('the filter language in /', () => {
  it('narrows by key:value and age; the header shows counts first and the filter; a bad term is named in place', async () => {
    const schema = await freshSchema(db);
    const inc = await seedIncident(db, schema);
    const s = show(renderSized({ db, schema }, 80, 24));
    await waitForText(s, 'shown 33');
    await press(s, '/', 'diag:"worker dead" worker:w-dead age>1h', KEYS.enter);
    let frame = await waitForText(s, 'shown 30 · marked 0 · stuck 63');
    expect(frame.split('\n')[1]).toMatch(/^shown 30 · marked 0 · stuck 63 {2}filter "diag:"worker dead" worker:w-dead age>1h/);
    expect(frame).not.toContain('hourly_rollup');
    await press(s, 'a');
    await waitForText(s, 'shown 30 · marked 30 · stuck 63');
    await press(s, 'A', '/', ...Array(40).fill(KEYS.backspace), '-nightly age>3h');
    frame = await waitForText(s, 'shown 1 ·');
    expect(frame).toContain(tail(inc.others[2]!));
    await press(s, ' colour:red');
    frame = await waitForText(s, 'term "colour:red": unknown key "colour"');
    expect(frame).toContain('shown 1 ·'); // the last good filter stays in force
    await press(s, KEYS.enter);
    await waitForText(s, 'filter: term "colour:red"');
    await press(s, KEYS.escape);
    await waitForText(s, 'shown 33');
  });
});

describe('sorting', () => {
  it('> and < move the sort column, I inverts; the header shows it; the cursor stays on its execution across refreshes', async () => {
    const schema = await freshSchema(db);
    const ids = await seedList(db, schema);
    const s = show(renderSized({ db, schema, refreshSeconds: 0.3 }, 100, 30));
    let frame = await waitForText(s, tail(ids.hotel));
    expect(frame).toMatch(/ AGE↓ /);
    const order = (f: string) =>
      f
        .split('\n')
        .filter((l) => /^[> ][* ] /.test(l))
        .map((l) => /etl\/(\w+)|vendor/.exec(l)?.[0])
        .filter(Boolean);
    expect(order(frame).slice(0, 3)).toEqual(['etl/hotel', 'etl/golf', 'etl/alpha']);
    await press(s, 'j', 'j'); // alpha
    await waitUntil(s, (f) => cursorLine(f)?.includes(tail(ids.alpha)), 'cursor on alpha');
    await press(s, '<'); // age → path, A to Z
    frame = await waitForText(s, 'sort path↑');
    expect(frame).toMatch(/ PATH↑ /);
    expect(order(frame)).toEqual(['etl/alpha', 'etl/bravo', 'etl/charlie', 'etl/delta', 'etl/golf', 'etl/hotel', 'etl/parent', 'vendor']);
    expect(cursorLine(frame)).toContain(tail(ids.alpha));
    await press(s, 'I');
    frame = await waitForText(s, 'sort path↓');
    expect(order(frame)[0]).toBe('vendor');
    // Refreshes keep the order and the cursor.
    await finishOutside(db, schema, ids.delta);
    frame = await waitForNoText(s, tail(ids.delta));
    expect(order(frame)[0]).toBe('vendor');
    expect(cursorLine(frame)).toContain(tail(ids.alpha));
    await press(s, '>', '>'); // path → age → ratio (over the learned p95; no history here: below every ratio)
    await waitForText(s, 'sort ratio↓');
    await press(s, '>'); // → idle
    frame = await waitForText(s, 'sort idle↓');
    expect(frame).toMatch(/ IDLE↓ /);
    await press(s, '>', '>', '>', '>', '>', '>', '>', '>'); // all eight sort keys round, back to idle
    await waitForText(s, 'sort idle↓');
    await press(s, '<', '<');
    frame = await waitForText(s, / AGE↓ /);
    expect(frame).not.toMatch(/ sort (age|idle)/);
  });
});

describe('tree', () => {
  it('h shows children indented under their parent; in the detail view Tab selects a child, Enter opens it, Esc returns', async () => {
    const schema = await freshSchema(db);
    const ids = await seedList(db, schema);
    const s = show(renderApp({ db, schema }));
    await waitForText(s, tail(ids.hotel));
    await press(s, 'h');
    let frame = await waitForText(s, tail(ids.child));
    const lines = frame.split('\n');
    const p = lines.findIndex((l) => l.includes(tail(ids.parent)));
    expect(lines[p + 1]).toContain(tail(ids.child));
    expect(lines[p + 1]).toMatch(/└ etl\/child /);
    expect(rowOf(frame, ids.parent)).not.toContain('└');

    // The detail view of the parent: Tab picks the child, Enter opens it, Esc comes back.
    await press(s, 'g');
    await press(s, ...Array(lines.filter((l) => /^[> ][* ] /.test(l) && /etl|vendor/.test(l)).findIndex((l) => l.includes(tail(ids.parent)))).fill('j'));
    await waitUntil(s, (f) => cursorLine(f)?.includes(tail(ids.parent)), 'cursor on parent');
    await press(s, KEYS.enter);
    await waitForText(s, /Child executions \(2\)/);
    const picked = new RegExp(`>\\s+└ ${ids.child} RUNNING`);
    await press(s, KEYS.tab);
    await waitForText(s, /^>\s+└ /m);
    if (!picked.test(s.lastFrame())) await press(s, KEYS.tab);
    await waitForText(s, picked);
    await press(s, KEYS.enter);
    await waitForText(s, `Execution ${ids.child}`);
    await waitForText(s, new RegExp(`Parent\\s+${ids.parent}`));
    await press(s, KEYS.escape);
    await waitForText(s, `Execution ${ids.parent}`);
    await waitForText(s, /Child executions \(2\)/); // loaded: the title alone shows while loading, when Tab has no children yet
    await press(s, KEYS.shiftTab, KEYS.shiftTab); // two children: round to the same one
    await waitForText(s, picked);
    await press(s, KEYS.escape);
    frame = await waitForText(s, '? help');
    expect(cursorLine(frame)).toContain(tail(ids.parent));
  });
});

describe('full ids', () => {
  it('shows full ids when the terminal has room, and y copies the cursor id and says so', async () => {
    const schema = await freshSchema(db);
    const ids = await seedList(db, schema);
    const copies: string[] = [];
    const s = show(renderSized({ db, schema, clipboard: (t) => copies.push(t) }, 140, 30));
    let frame = await waitForText(s, tail(ids.hotel));
    expect(rowOf(frame, ids.hotel)).toContain(` ${ids.hotel} etl/hotel`);
    await press(s, 'j', 'y');
    await waitForText(s, `copied ${ids.golf}`);
    expect(copies).toEqual([ids.golf]);
    s.resize!(80, 24);
    frame = await waitForText(s, `…${tail(ids.hotel)} `);
    expect(frame).not.toContain(ids.hotel);
    await press(s, KEYS.enter);
    await waitForText(s, `Execution ${ids.golf}`);
    await press(s, 'y');
    await waitUntil(s, () => copies.length === 2, 'a second copy');
    expect(copies).toEqual([ids.golf, ids.golf]);
  });
});

describe('honest state', () => {
  it('a gone row cannot be marked, and leaves the list after a short while', async () => {
    const schema = await freshSchema(db);
    const ids = await seedList(db, schema);
    const s = show(renderApp({ db, schema, refreshSeconds: 0.3 }));
    await waitForText(s, tail(ids.hotel));
    await finishOutside(db, schema, ids.hotel);
    await waitUntil(s, (f) => rowOf(f, ids.hotel)?.includes('gone: completed'), 'hotel gone');
    await press(s, KEYS.space);
    await waitForText(s, 'that execution is gone: nothing to mark');
    expect(s.lastFrame()).toContain('marked 0');
    await press(s, 'g', 'c');
    await waitForText(s, 'nothing to cancel');
    await waitForNoText(s, tail(ids.hotel), 40_000);
  });

  it('read-only and a source without an action hide their keys from footer and help', async () => {
    const schema = await freshSchema(db);
    const ids = await seedList(db, schema);
    const s = show(renderApp({ db, schema, readOnly: true }));
    await waitForText(s, tail(ids.hotel));
    const footer = s.lastFrame().split('\n').at(-1)!;
    expect(footer).toContain('? help');
    expect(footer).not.toMatch(/c cancel|f fail/);
    await press(s, '?');
    const help = await waitForText(s, 'Anywhere');
    expect(help).not.toContain('cancel the marked rows');
    expect(help).not.toContain('Confirmation dialog');
    // The flag on the keymap entry: a source that can only fail offers only f.
    expect(footerItems('list', ['fail']).map((i) => i.label)).toContain('fail');
    expect(footerItems('list', ['fail']).map((i) => i.label)).not.toContain('cancel');
    expect(helpLines(['fail']).flatMap((g) => g.rows.map((r) => r.keys))).not.toContain('c');
  });

  it('0 shows every age; - steps down to it', async () => {
    const schema = await freshSchema(db);
    const ids = await seedList(db, schema);
    const s = show(renderApp({ db, schema }));
    await waitForText(s, tail(ids.hotel));
    expect(s.lastFrame()).not.toContain(tail(ids.echo));
    await press(s, '0');
    await waitForText(s, 'age any');
    await waitForText(s, tail(ids.echo));
    await press(s, '1');
    await waitForNoText(s, tail(ids.echo));
    await press(s, '-');
    await waitForText(s, tail(ids.echo));
  });

  it('falls back to ASCII with a non-UTF-8 locale or TERM=dumb', async () => {
    expect(unicodeTerminal({ LANG: 'C' })).toBe(false);
    expect(unicodeTerminal({ LANG: 'en_US.ISO-8859-1' })).toBe(false);
    expect(unicodeTerminal({ LANG: 'en_US.UTF-8', TERM: 'dumb' })).toBe(false);
    expect(unicodeTerminal({ LC_ALL: 'C', LANG: 'en_US.UTF-8' })).toBe(false);
    expect(unicodeTerminal({ LANG: 'C.UTF-8', TERM: 'xterm' })).toBe(true);
    expect(toAscii('age≥5m · …12 ╭─╮ └ é')).toBe('age>5m - ~12 +-+ ` ?');
    setAsciiGlyphs(true);
    const schema = await freshSchema(db);
    const ids = await seedList(db, schema);
    const s = show(renderApp({ db, schema }));
    await waitForText(s, tail(ids.hotel));
    const frame = await waitForText(s, 'age>=5m | idle any');
    expect(frame).toContain(`~${tail(ids.hotel)}`);
    await press(s, 'c');
    expect(await waitForText(s, 'will cancel')).toMatch(/^\+-+\+$/m);
  });
});
