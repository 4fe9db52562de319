import { beforeAll, describe, expect, it } from 'vitest';
import { ID_BASE, Scenario } from '../fixtures/scenario.js';
import { countingDatabase } from '../helpers/counting.js';
import { KEYMAP } from '../../components/keymap.js';
import { KEYS, cursorLine, freshSchema, inkSuite, press, renderApp, renderSized, rowOf, tail, waitForNoText, waitForText, waitUntil, type Screen } from './helpers.js';
import { addStuck, finishOutside, listOrder, seedList, type ListIds } from './seed.js';

const { db, show } = inkSuite();
let schema: string;
let ids: ListIds;

beforeAll(async () => {
  schema = await freshSchema(db);
  ids = await seedList(db, schema);
});
const open = async (props: Parameters<typeof renderApp>[0] = { db, schema }) => {
  const screen = show(renderApp(props));
  await waitForText(screen, tail(ids.hotel));
  return screen;
};
const cursorOn = (s: Screen, id: string) => waitUntil(s, (f) => cursorLine(f)?.includes(tail(id)), `cursor on ${id}`);
const rowIds = (frame: string, all: string[]) => all.filter((id) => rowOf(frame, id));

describe('main screen', () => {
  it('shows header, the stuck executions oldest first, and the footer', async () => {
    const s = await open();
    const frame = await waitForText(s, 'running 10');
    const lines = frame.split('\n');
    expect(lines[0]).toContain('noetl-console');
    expect(lines[0]).toContain('pglite');
    expect(lines[0]).toContain(`schema ${schema}`);
    expect(lines[0]).toContain('read-write');
    expect(lines[0]).toMatch(/live 600s \d\d:\d\d:\d\d/);
    expect(lines[1]).toContain('age≥5m · idle any · no children');
    expect(lines[1]).toMatch(/^shown 8 · marked 0 · stuck 9 {2}age≥5m · idle any · no children · running 10$/);
    const order = listOrder(ids);
    const positions = order.map((id) => lines.findIndex((l) => l.includes(tail(id))));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(rowOf(frame, ids.alpha)).toMatch(/etl\/alpha\s+2h00m\s+1h40m load\s+never claimed/);
    expect(rowOf(frame, ids.bravo)).toContain('worker dead');
    expect(rowOf(frame, ids.parent)).toMatch(/etl\/parent .* 1$/);
    expect(frame).not.toContain(tail(ids.echo));
    expect(frame).not.toContain(tail(ids.done));
    expect(lines.at(-1)).toContain('? help');
    expect(cursorLine(frame)).toContain(tail(ids.hotel));
  });

  it('renders text from the database without control characters', async () => {
    const s = await open();
    const frame = await waitForText(s, tail(ids.xray));
    expect(frame).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(rowOf(frame, ids.xray)).toContain('vendor/\\x1b[31mred\\x07');
  });

  it('marks the cursor and selection with > and * (usable without colour)', async () => {
    const s = await open({ db, schema, color: false });
    await press(s, KEYS.space);
    const frame = await waitForText(s, 'marked 1');
    expect(rowOf(frame, ids.hotel)).toMatch(/^ \* /);
    expect(rowOf(frame, ids.golf)).toMatch(/^> {2}/);
  });

  it('fits 80x24, shows only the rows that fit, and lays out again on resize', async () => {
    const many = await freshSchema(db);
    const sc = new Scenario();
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 40; j++) sc.execution({ path: `bulk/job-${i}-${j}`, startedMinutesAgo: 1000 - i * 40 - j }).issued('x', 1);
    }
    await sc.apply(db, many);
    const s = show(renderSized({ db, schema: many }, 80, 24));
    let frame = await waitForText(s, 'shown 120');
    let lines = frame.split('\n');
    expect(lines.length).toBeLessThan(24);
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(80);
    expect(lines.filter((l) => l.includes('bulk/job-')).length).toBe(18);
    expect(frame).toContain('STEP');

    await press(s, KEYS.end);
    frame = await waitForText(s, 'bulk/job-2-39');
    expect(cursorLine(frame)).toContain('bulk/job-2-39');
    expect(frame).not.toContain('bulk/job-0-0 ');

    s.resize!(60, 16);
    frame = await waitForNoText(s, 'STEP');
    lines = frame.split('\n');
    expect(lines.length).toBeLessThan(16);
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(60);
    expect(lines.filter((l) => l.includes('bulk/job-')).length).toBe(10);
    expect(cursorLine(frame)).toContain('bulk/job-2-39');

    s.resize!(140, 40);
    frame = await waitForText(s, 'STEP');
    expect(frame.split('\n').filter((l) => l.includes('bulk/job-')).length).toBe(34);
  });
});

describe('keys', () => {
  it('moves with ↑ ↓ j k PgUp PgDn Home End g G', async () => {
    const s = await open();
    const order = listOrder(ids);
    await press(s, KEYS.down);
    await cursorOn(s, order[1]!);
    await press(s, 'j', 'j');
    await cursorOn(s, order[3]!);
    await press(s, KEYS.up);
    await cursorOn(s, order[2]!);
    await press(s, 'k');
    await cursorOn(s, order[1]!);
    await press(s, KEYS.end);
    await cursorOn(s, order[7]!);
    await press(s, KEYS.home);
    await cursorOn(s, order[0]!);
    await press(s, 'G');
    await cursorOn(s, order[7]!);
    await press(s, 'g');
    await cursorOn(s, order[0]!);
    await press(s, KEYS.pageDown);
    await cursorOn(s, order[7]!);
    await press(s, KEYS.pageUp);
    await cursorOn(s, order[0]!);
    await press(s, '\u0006'); // ctrl-f
    await cursorOn(s, order[7]!);
    await press(s, '\u0002'); // ctrl-b
    await cursorOn(s, order[0]!);
  });

  it('space marks and moves on, a marks all shown, A clears', async () => {
    const s = await open();
    await press(s, KEYS.space, KEYS.space);
    let frame = await waitForText(s, 'marked 2');
    expect(rowOf(frame, ids.hotel)).toMatch(/^ \*/);
    expect(rowOf(frame, ids.golf)).toMatch(/^ \*/);
    await press(s, KEYS.up, KEYS.space);
    frame = await waitForText(s, 'marked 1');
    expect(rowOf(frame, ids.golf)).toMatch(/^ {2}/);
    await press(s, 'a');
    await waitForText(s, 'marked 8');
    await press(s, 'A');
    frame = await waitForText(s, 'marked 0');
    expect(frame).not.toMatch(/^.\*/m);
  });

  it('1-5 pick an age preset, + = and - step through them', async () => {
    const s = await open();
    const all = [...listOrder(ids), ids.child, ids.echo];
    const expectShown = async (age: string, shown: string[]) => {
      const frame = await waitUntil(s, (f) => f.includes(`age≥${age} `) && rowIds(f, all).join() === shown.join() && f, `age ${age}`);
      expect(frame).toContain(`shown ${shown.length}`);
    };
    const o = listOrder(ids);
    await press(s, '3');
    await expectShown('1h00m', o.slice(0, 5));
    await press(s, '4');
    await expectShown('6h00m', o.slice(0, 2));
    await press(s, '5');
    await expectShown('1d00h', o.slice(0, 1));
    await press(s, '2');
    await expectShown('15m', o.slice(0, 7));
    await press(s, '1');
    await expectShown('5m', o);
    await press(s, '+');
    await expectShown('15m', o.slice(0, 7));
    await press(s, '=');
    await expectShown('1h00m', o.slice(0, 5));
    await press(s, '-', '-');
    await expectShown('5m', o);
  });

  it('i cycles the idle threshold', async () => {
    const s = await open();
    const o = listOrder(ids);
    const idle5 = [ids.hotel, ids.golf, ids.alpha, ids.bravo, ids.parent, ids.xray];
    await press(s, 'i');
    await waitUntil(s, (f) => f.includes('idle≥5m') && rowIds(f, o).join() === idle5.join(), 'idle 5m');
    await press(s, 'i');
    await waitUntil(s, (f) => f.includes('idle≥15m') && rowIds(f, o).join() === idle5.join(), 'idle 15m');
    await press(s, 'i');
    await waitUntil(s, (f) => f.includes('idle≥1h00m') && rowIds(f, o).join() === idle5.slice(0, 5).join(), 'idle 1h');
    await press(s, 'i');
    await waitUntil(s, (f) => f.includes('idle any') && rowIds(f, o).join() === o.join(), 'idle any');
  });

  it('h shows child executions as their own rows', async () => {
    const s = await open();
    await press(s, 'h');
    await waitForText(s, 'with children');
    let frame = await waitForText(s, tail(ids.child));
    expect(rowOf(frame, ids.child)).toContain('etl/child');
    expect(frame).not.toContain(tail(ids.childDone));
    await press(s, 'h');
    frame = await waitForNoText(s, tail(ids.child));
    expect(frame).toContain('no children');
  });

  it('/ filters by text on path or id; Enter keeps it, Esc clears it', async () => {
    const s = await open();
    await press(s, '/');
    await waitForText(s, 'Enter keep');
    await press(s, 'b', 'r', 'a');
    let frame = await waitForText(s, 'filter "bra"');
    expect(rowIds(frame, listOrder(ids))).toEqual([ids.bravo]);
    expect(cursorLine(frame)).toContain(tail(ids.bravo));
    await press(s, KEYS.enter);
    frame = await waitForText(s, '? help');
    expect(frame).toContain('filter "bra"');
    await press(s, KEYS.escape);
    frame = await waitForNoText(s, 'filter "');
    expect(rowIds(frame, listOrder(ids))).toEqual(listOrder(ids));

    // By id, typed in one burst (a paste), then dropped with Esc while typing.
    await press(s, '/', tail(ids.alpha));
    frame = await waitForText(s, `filter "${tail(ids.alpha)}"`);
    expect(rowIds(frame, listOrder(ids))).toEqual([ids.alpha]);
    await press(s, KEYS.backspace);
    await waitForText(s, `filter "${tail(ids.alpha).slice(0, -1)}"`);
    await press(s, KEYS.escape);
    frame = await waitForNoText(s, 'filter "');
    expect(frame).toContain('? help');
  });

  it('p pauses the live refresh and shows it; p again resumes', async () => {
    const own = await freshSchema(db);
    const mine = await seedList(db, own);
    const counting = countingDatabase(db);
    const s = show(renderApp({ db: counting, schema: own, refreshSeconds: 0.2 }));
    await waitForText(s, tail(mine.delta));
    await press(s, 'p');
    await waitForText(s, 'PAUSED');
    await finishOutside(db, own, mine.delta);
    const before = counting.count;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // five refresh periods
    expect(counting.count).toBe(before);
    expect(s.lastFrame()).toContain(tail(mine.delta));
    await press(s, 'p');
    await waitForNoText(s, 'PAUSED');
    await waitForNoText(s, tail(mine.delta));
  });

  it('r refreshes now and ctrl-r reloads everything; the cursor stays on its execution, and one that finishes stays in place as finished', async () => {
    const own = await freshSchema(db);
    const mine = await seedList(db, own);
    const s = show(renderApp({ db, schema: own }));
    await waitForText(s, tail(mine.alpha));
    await press(s, 'j', 'j');
    await cursorOn(s, mine.alpha);
    const older = await addStuck(db, own, 26 * 60, ID_BASE + 5_000_500n); // a tail of its own
    await finishOutside(db, own, mine.alpha);
    await finishOutside(db, own, mine.charlie);
    // `older` was stamped 26 minutes ago but written now, later than any engine
    // would: only a full reload (ctrl-r) reads that far back.
    await press(s, 'r');
    await waitForNoText(s, tail(mine.charlie));
    expect(s.lastFrame()).not.toContain(tail(older));
    await press(s, '\u0012');
    const frame = await waitForText(s, tail(older));
    expect(cursorLine(frame)).toContain(tail(mine.alpha));
    expect(rowOf(frame, mine.alpha)).toContain('gone: completed');
    expect(frame).not.toContain(tail(mine.charlie));
    expect(frame).toMatch(/shown 7 · /); // one new; charlie and alpha gone (alpha still on screen, not counted)
    await press(s, 'j');
    await cursorOn(s, mine.bravo);
    await press(s, 'r');
    await waitForNoText(s, tail(mine.alpha));
  });

  it('? shows every key binding, generated from the keymap; Esc closes it', async () => {
    const s = show(renderSized({ db, schema }, 100, 140));
    await waitForText(s, tail(ids.hotel));
    await press(s, '?');
    const all = await waitForText(s, 'Anywhere');
    for (const b of KEYMAP) expect(all, b.help).toContain(b.help);
    s.resize!(100, 24);
    await waitUntil(s, (f) => f.split('\n').length < 24, 'a 24-row frame');
    await press(s, KEYS.pageDown);
    await waitForNoText(s, 'Anywhere');
    await press(s, KEYS.pageUp);
    await waitForText(s, 'Anywhere');
    await press(s, KEYS.escape);
    await waitForText(s, tail(ids.hotel));
    await press(s, '?');
    await waitForText(s, 'Anywhere');
    await press(s, 'q');
    await waitForText(s, tail(ids.hotel));
  });

  it('q quits with status 0', async () => {
    const codes: number[] = [];
    const s = await open({ db, schema, onQuit: (c) => codes.push(c) });
    await press(s, 'q');
    await waitUntil(s, (f) => f.trim() === '', 'empty frame');
    expect(codes).toEqual([0]);
  });

  it('ctrl-c quits with status 130, even in the middle of a dialog', async () => {
    const codes: number[] = [];
    const s = await open({ db, schema, onQuit: (c) => codes.push(c) });
    await press(s, 'c');
    await waitForText(s, '> Reason:');
    await press(s, KEYS.ctrlC);
    await waitUntil(s, (f) => f.trim() === '', 'empty frame');
    expect(codes).toEqual([130]);
  });
});
