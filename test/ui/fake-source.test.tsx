/**
 * The console over an in-memory source (test/helpers/fake-source.ts): what a
 * view does with what a source gives and what it asks a source to write,
 * with no database at all (any statement would fail the test).
 */
import { describe, expect, it } from 'vitest';
import { FakeSource, fakeExecution } from '../helpers/fake-source.js';
import { KEYS, cursorLine, press, renderApp, rowOf, waitForText } from './helpers.js';

const ids = { old: '900000000000000001', older: '900000000000000002', young: '900000000000000003', done: '900000000000000004' };

describe('the console on a source without a database', () => {
  it('lists the stuck ones oldest first, and a confirmed cancel hands the source exactly the cursor row, with the reason', async () => {
    const source = new FakeSource([
      fakeExecution(ids.old, 'etl/old', 2 * 3600),
      fakeExecution(ids.older, 'etl/older', 5 * 3600, { worker_id: 'w-dead', worker_alive: false, diagnosis: 'its worker is dead' }),
      fakeExecution(ids.young, 'etl/young', 60),
      fakeExecution(ids.done, 'etl/done', 9 * 3600, { state: 'completed' }),
    ]);
    const s = renderApp({ source });
    try {
      let frame = await waitForText(s, 'etl/older');
      expect(frame).toMatch(/shown 2 · marked 0 · stuck 2 /);
      const rows = frame.split('\n').filter((l) => /etl\//.test(l));
      expect(rows.map((l) => /etl\/\w+/.exec(l)![0])).toEqual(['etl/older', 'etl/old']); // the young and the finished are not stuck
      expect(cursorLine(frame)).toContain('etl/older');
      expect(rowOf(frame, ids.young)).toBeUndefined();

      await press(s, 'c');
      await waitForText(s, 'Reason');
      await press(s, ...'INC-42'.split(''));
      await waitForText(s, 'INC-42');
      await press(s, KEYS.enter);
      await press(s, KEYS.enter);
      frame = await waitForText(s, 'Cancel done');
      const writes = source.marks.filter((m) => !m.dryRun);
      expect(writes).toHaveLength(1);
      expect(writes[0]).toMatchObject({ action: 'cancel', ids: [ids.older], reason: 'INC-42', cascade: true }); // the dialog's default
      expect([...writes[0]!.bound!]).toEqual([ids.older]); // bound to what the dialog showed
      expect(source.marks.filter((m) => m.dryRun).map((m) => m.ids)).toContainEqual([ids.older]); // the dialog's preview asked first

      await press(s, KEYS.escape);
      await press(s, 'r');
      // Finished by the write: it stays in place, said gone, and is no longer counted.
      frame = await waitForText(s, 'gone: cancelled');
      expect(rowOf(frame, ids.older)).toContain('gone: cancelled');
      expect(frame).toMatch(/shown 1 · marked 0 · stuck 1 /);
    } finally {
      s.unmount();
    }
  });

  it('RATIO, when some path has a learned threshold: each cell under its own header, after CH', async () => {
    const t = (path: string, p95: number) => ({ path, samples: 20, median_seconds: p95 / 2, p95_seconds: p95, p99_seconds: p95 });
    const source = new FakeSource(
      [fakeExecution(ids.old, 'etl/old', 2 * 3600, { running_children: 2 }), fakeExecution(ids.older, 'etl/older', 5 * 3600), fakeExecution(ids.young, 'etl/new', 30 * 60)],
      [t('etl/old', 600), t('etl/older', 3600)],
    );
    const s = renderApp({ source });
    try {
      // The thresholds are read beside the first load, never waited for: the next refresh shows them.
      await waitForText(s, 'etl/older');
      await press(s, 'r');
      const frame = await waitForText(s, /12x/);
      const lines = frame.split('\n');
      const header = lines.find((l) => /\bRATIO\b/.test(l))!;
      expect(header).toMatch(/DIAGNOSIS\s+CH\s+RATIO\s*$/);
      const end = header.indexOf('RATIO') + 'RATIO'.length;
      // Right-aligned under RATIO: 2 h over a 10-minute p95, 5 h over an hour's, no history for etl/new.
      expect(rowOf(frame, ids.old)!.slice(0, end)).toMatch(/\s2\s+12x$/);
      expect(rowOf(frame, ids.older)!.slice(0, end)).toMatch(/5\.0x$/);
      expect(rowOf(frame, ids.young)!.slice(0, end)).toMatch(/-$/);
    } finally {
      s.unmount();
    }
  });
});
