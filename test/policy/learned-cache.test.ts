/**
 * Learned thresholds shared by the commands and the console
 * (src/learned-thresholds.ts): one read per cache period on disk, whoever
 * reads first; the console takes the cache its command made, and without one
 * keeps its own in memory (never the user's cache directory).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoetlSource } from '../../src/noetl/source.js';
import { consoleThresholds, judgeInConsole, learnedThresholds } from '../../src/learned-thresholds.js';
import { Scenario } from '../fixtures/scenario.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

describe('learned thresholds kept between runs', () => {
  let t: TestDatabase;
  const cacheHome = mkdtempSync(join(tmpdir(), 'noetl-console-learned-'));
  const env = { XDG_CACHE_HOME: cacheHome };
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
    const sc = new Scenario();
    for (let i = 0; i < 6; i++)
      sc.execution({ path: 'etl/nightly', startedMinutesAgo: 90 + i })
        .step('load', 80 + i)
        .finish('completed', 60 + i);
    sc.execution({ path: 'etl/nightly', startedMinutesAgo: 300 }).issued('load', 290);
    await sc.apply(t.db, t.schema);
  });
  afterAll(async () => {
    rmSync(cacheHome, { recursive: true, force: true });
    await t?.close();
  });

  /** A source as a new process opens it, counting its threshold reads. */
  const counted = () => {
    const source = new NoetlSource(t.db, t.schema);
    const reads = { n: 0 };
    const read = source.thresholds.bind(source);
    source.thresholds = (days: number) => {
      reads.n++;
      return read(days);
    };
    return { source, reads };
  };

  it('a command reads once and keeps it on disk; the next run (command or console) starts from the file', async () => {
    const first = counted();
    const map = await learnedThresholds(first.source, 14, 600_000, env).get();
    expect(map.get('etl/nightly')?.samples).toBe(6);
    expect(first.reads.n).toBe(1);
    expect(readdirSync(join(cacheHome, 'noetl-console')).some((f) => f.startsWith('thresholds'))).toBe(true);

    // The bin's console: its command set how it judges (commands/ui.ts): the disk cache and the config's min_history.
    const next = counted();
    judgeInConsole(next.source, { days: 14, cacheMs: 600_000, minHistory: 7 }, env);
    expect(consoleThresholds(next.source).cache).toBe(learnedThresholds(next.source, 14, 600_000, env));
    expect(consoleThresholds(next.source).minHistory).toBe(7);
    expect((await consoleThresholds(next.source).cache.get()).get('etl/nightly')?.samples).toBe(6);
    expect(next.reads.n).toBe(0);
    // Six runs, seven needed: the console's rows say "no history", as `list` would with that config.
    const live = next.source.live();
    await live.refresh();
    const { cache, minHistory } = consoleThresholds(next.source);
    const rows = live.view({ olderThanSeconds: 0, includeChildren: true }, await cache.get(), minHistory);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((e) => e.history?.ratio === null && e.history.history_samples === 6)).toBe(true);
  });

  it('a console with no cache made for its source keeps one in memory and reads the database', async () => {
    const alone = counted();
    const empty = mkdtempSync(join(tmpdir(), 'noetl-console-learned-none-'));
    const before = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = empty;
    try {
      expect((await consoleThresholds(alone.source).cache.get()).get('etl/nightly')?.samples).toBe(6);
      expect(consoleThresholds(alone.source).minHistory).toBe(5);
      expect(alone.reads.n).toBe(1);
      expect(existsSync(join(empty, 'noetl-console'))).toBe(false);
    } finally {
      if (before === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = before;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
