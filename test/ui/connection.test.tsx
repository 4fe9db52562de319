import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { eventsOf } from '../helpers/db.js';
import { KEYS, freshSchema, inkSuite, press, renderApp, tail, waitForNoText, waitForText } from './helpers.js';
import { finishOutside, seedList } from './seed.js';

/**
 * A real PGlite database that can be "down": while down every query and
 * transaction fails as pg does when the server is gone.
 */
function flaky(db: Database): Database & { down: boolean } {
  const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const wrapper: Database & { down: boolean } = {
    kind: db.kind,
    label: '127.0.0.1:5432/noetl',
    down: false,
    query: ((text: string, params?: readonly unknown[]) => (wrapper.down ? Promise.reject(refused()) : db.query(text, params))) as Database['query'],
    transaction: ((fn) => (wrapper.down ? Promise.reject(refused()) : db.transaction(fn))) as Database['transaction'],
    close: () => db.close(),
  };
  return wrapper;
}

const ui = inkSuite();

describe('database trouble', () => {
  it('keeps the data with a banner while disconnected, refuses writes, and recovers by itself', async () => {
    const schema = await freshSchema(ui.db);
    const ids = await seedList(ui.db, schema);
    const db = flaky(ui.db);
    const s = ui.show(renderApp({ db, schema, refreshSeconds: 0.3 }));
    await waitForText(s, tail(ids.delta));

    db.down = true;
    let frame = await waitForText(s, /disconnected, retrying in \d+s, data as of \d\d:\d\d:\d\d/);
    expect(frame).toContain('cannot connect to 127.0.0.1:5432/noetl');
    expect(frame.split('\n')[0]).toMatch(/read-write {2}disconnected \d\d:\d\d:\d\d/);
    expect(frame.split('\n')[0]).not.toContain('live');
    expect(frame).toContain(tail(ids.hotel)); // the last data stays
    expect(frame).toContain(tail(ids.delta));

    await press(s, 'c');
    frame = await waitForText(s, 'disconnected: cannot cancel until the database is back');
    expect(frame).not.toContain('Reason:');
    // e shows the whole error, not cut to the banner's line.
    await press(s, 'e');
    frame = await waitForText(s, /Last database error, at \d\d:\d\d:\d\d:/);
    expect(frame).toContain('cannot connect to 127.0.0.1:5432/noetl');
    await press(s, KEYS.escape);
    await waitForText(s, '? help');
    await press(s, 'f');
    await waitForText(s, 'disconnected: cannot mark failed');
    await press(s, KEYS.down); // a key clears the message; the banner is back
    await waitForText(s, /disconnected, retrying in/);
    expect((await eventsOf(ui.db, schema, ids.hotel)).some((e) => e.event_type === 'execution.cancelled')).toBe(false);

    // Meanwhile the world moves on; once back, the app shows it without a key press.
    await finishOutside(ui.db, schema, ids.delta);
    db.down = false;
    await waitForNoText(s, 'disconnected');
    frame = await waitForNoText(s, tail(ids.delta));
    expect(frame).toContain(tail(ids.hotel));
    expect(frame.split('\n')[0]).toMatch(/live 0\.3s/);
    await press(s, 'c');
    await waitForText(s, '> Reason:');
  });

  it('starts while the database is down and fills in when it comes up', async () => {
    const schema = await freshSchema(ui.db);
    const ids = await seedList(ui.db, schema);
    const db = flaky(ui.db);
    db.down = true;
    const s = ui.show(renderApp({ db, schema, refreshSeconds: 0.3 }));
    await waitForText(s, /disconnected, retrying in \d+s, no data yet/);
    db.down = false;
    await waitForText(s, tail(ids.hotel));
    await waitForNoText(s, 'disconnected');
  });

  it('a write that fails says so and the app goes on', async () => {
    const schema = await freshSchema(ui.db);
    const ids = await seedList(ui.db, schema);
    const db = flaky(ui.db);
    const s = ui.show(renderApp({ db, schema }));
    await waitForText(s, tail(ids.hotel));
    await press(s, 'c');
    await waitForText(s, 'will cancel');
    db.down = true;
    await press(s, KEYS.enter, KEYS.enter);
    const frame = await waitForText(s, 'the write failed');
    expect(frame).toContain('connection refused');
    expect((await eventsOf(ui.db, schema, ids.hotel)).some((e) => e.event_type === 'execution.cancelled')).toBe(false);
    db.down = false;
    await press(s, KEYS.escape);
    await waitForText(s, tail(ids.hotel));
    await press(s, 'r');
    await waitForNoText(s, 'disconnected');
  });
});
