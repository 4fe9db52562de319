/**
 * Interactive console at scale: 50,000 stuck executions (NOETL_BENCH_UI_ROWS). Measures keystroke
 * to frame (cursor move, text-filter keystroke, a key during a refresh),
 * one refresh cycle, and resident memory. Not a test: prints figures.
 *
 * Runs on PostgreSQL when NOETL_BENCH_DATABASE_URL (or NOETL_TEST_POSTGRES_URL)
 * answers, else on PGlite in memory (slower queries, same UI figures).
 * Standalone: built as build/bench-ui.js (`node build/bench-ui.js`).
 */
import { EventEmitter } from 'node:events';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ConnectionOptions } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { openPostgres } from '../src/db/postgres.js';
import { RENDER_FPS } from '../components/run.js';
import { FakeStdin } from '../test/ui/fake-stdin.js';
import { NoetlSource } from '../src/noetl/source.js';
import { mergeRows } from '../components/rows.js';
import { noetlSchemaSql } from '../test/fixtures/noetl-schema.js';
import { Scenario } from '../test/fixtures/scenario.js';

export interface UiBenchResult {
  backend: string;
  rows: number;
  firstFrameMs: number;
  refreshCycleMs: number;
  cursorMoveMs: Stats;
  filterKeystrokeMs: Stats;
  keyDuringRefreshMs: Stats;
  rssMb: number;
  heapUsedMb: number;
  /** Before that collection: resident memory at the end of the keystrokes. */
  peakRssMb: number;
}

interface Stats {
  median: number;
  p95: number;
  max: number;
}

const ROWS = Number(process.env.NOETL_BENCH_UI_ROWS ?? 50_000);
/** Every wait for a frame gives up after this long: a bench that hangs measures nothing. */
const TIMEOUT_MS = Number(process.env.NOETL_BENCH_UI_TIMEOUT_MS ?? 180_000);

const plain = (frame: string) => frame.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '');

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p95: at(0.95), max: s.at(-1)! };
}

class Terminal extends EventEmitter {
  isTTY = true;
  columns = 80;
  rows = 24;
  last = '';
  private waiters: (() => void)[] = [];
  write = (chunk: string) => {
    // Ink wraps each frame in synchronized-update markers, written on their own.
    if (chunk === '\u001B[?2026h' || chunk === '\u001B[?2026l') return true;
    this.last = chunk;
    for (const w of this.waiters.splice(0)) w();
    return true;
  };
  nextWrite(timeoutMs = TIMEOUT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame within ${timeoutMs} ms; last frame: ${plain(this.last).slice(0, 300)}`)), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  /** Frames until one matches, bounded by TIMEOUT_MS in all. */
  async until(match: (frame: string) => boolean): Promise<void> {
    const deadline = performance.now() + TIMEOUT_MS;
    while (!match(plain(this.last))) await this.nextWrite(Math.max(1, deadline - performance.now()));
  }
}

async function openBenchDatabase(schema: string): Promise<{ db: Database; backend: string }> {
  const url = process.env.NOETL_BENCH_DATABASE_URL ?? process.env.NOETL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const options: ConnectionOptions = {
    target: { kind: 'postgres', connectionString: url, label: 'bench' },
    schema,
    readOnly: false,
    statementTimeoutMs: 120_000,
    connectTimeoutMs: 3_000,
  };
  const pgDb = openPostgres(options);
  try {
    await pgDb.query('SELECT 1');
    return { db: pgDb, backend: 'postgres' };
  } catch {
    await pgDb.close().catch(() => undefined);
    const { openPglite } = await import('../src/db/pglite.js');
    return { db: await openPglite({ ...options, target: { kind: 'pglite', dataDir: 'memory', label: 'bench' } }), backend: 'pglite' };
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function benchUi(log: (line: string) => void = console.log): Promise<UiBenchResult> {
  // Ink renders only a final frame when it believes it runs in CI.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  process.env.NODE_ENV ??= 'production'; // as the bin runs React (see components/run.tsx)
  const schema = `bench_ui_${process.pid}`;
  const { db, backend } = await openBenchDatabase(schema);
  try {
    log(`ui bench: seeding ${ROWS} stuck executions on ${backend}…`);
    await db.query(noetlSchemaSql(schema));
    const sc = new Scenario();
    // Started from 30 minutes to about 28 days ago (never in the future, whatever ROWS), oldest first.
    for (let i = 0; i < ROWS; i++) sc.execution({ path: `bench/job-${i % 97}/run-${i}`, startedMinutesAgo: 30 + ((ROWS - i) * 40_000) / ROWS }).issued('load', 10);
    await sc.apply(db, schema);
    await db.query(`ANALYZE "${schema}".event`);

    // Refresh cycles as the app does them (src/noetl/live.ts): the first loads
    // everything, the next ones read what changed; then the merge.
    const source = new NoetlSource(db, schema);
    const liveSet = source.live();
    const t0 = performance.now();
    await liveSet.refresh();
    mergeRows([], liveSet.view({ olderThanSeconds: 300 }), new Set(), new Map());
    const fullCycleMs = performance.now() - t0;
    const t1 = performance.now();
    await liveSet.refresh();
    mergeRows([], liveSet.view({ olderThanSeconds: 300 }), new Set(), new Map());
    const refreshCycleMs = performance.now() - t1;
    log(`ui bench: first (full) refresh ${fullCycleMs.toFixed(0)} ms`);
    log(`ui bench: one refresh cycle took ${refreshCycleMs.toFixed(0)} ms; rendering…`);

    const [{ render }, { App }, React] = await Promise.all([import('ink'), import('../components/App.js'), import('react')]);
    const stdout = new Terminal();
    const stdin = new FakeStdin();
    const start = performance.now();
    const app = render(
      React.createElement(App, {
        source,
        readOnly: false,
        filter: { olderThanSeconds: 300, idleSeconds: null, text: '', includeChildren: false },
        refreshSeconds: 3600,
        color: true,
      }),
      { stdout: stdout as never, stdin: stdin as never, stderr: new Terminal() as never, exitOnCtrlC: false, patchConsole: false, maxFps: RENDER_FPS },
    );
    await stdout.until((frame) => new RegExp(`shown\\s+${ROWS}\\b`).test(frame));
    const firstFrameMs = performance.now() - start;

    const keyToFrame = async (key: string): Promise<number> => {
      await pause(20); // past Ink's frame throttle, so each key gets its own frame
      const frame = stdout.nextWrite();
      const t = performance.now();
      stdin.write(key);
      await frame;
      return performance.now() - t;
    };
    const moves: number[] = [];
    for (let i = 0; i < 60; i++) moves.push(await keyToFrame(i % 20 < 15 ? 'j' : '\u001B[6~'));
    const filters: number[] = [];
    await keyToFrame('/');
    for (const ch of 'job-42/run-1') filters.push(await keyToFrame(ch));
    await keyToFrame('\u001B'); // drop the filter
    const during: number[] = [];
    for (let i = 0; i < 5; i++) {
      await keyToFrame('r');
      during.push(await keyToFrame('j'));
      await pause(refreshCycleMs + 200);
    }
    const peak = process.memoryUsage();
    // What the console keeps, not the garbage of the last frames: collected first when node runs with --expose-gc.
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    app.unmount();
    const result: UiBenchResult = {
      backend,
      rows: ROWS,
      firstFrameMs,
      refreshCycleMs,
      cursorMoveMs: stats(moves),
      filterKeystrokeMs: stats(filters),
      keyDuringRefreshMs: stats(during),
      rssMb: memory.rss / 2 ** 20,
      heapUsedMb: memory.heapUsed / 2 ** 20,
      peakRssMb: peak.rss / 2 ** 20,
    };
    const f = (s: Stats) => `median ${s.median.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`;
    log(`ui bench (${backend}, ${ROWS} stuck executions, 80x24):`);
    log(`  first frame with all rows    ${firstFrameMs.toFixed(0)} ms`);
    log(`  one refresh cycle (queries)  ${refreshCycleMs.toFixed(0)} ms`);
    log(`  cursor key → frame           ${f(result.cursorMoveMs)}`);
    log(`  filter keystroke → frame     ${f(result.filterKeystrokeMs)}`);
    log(`  key during refresh → frame   ${f(result.keyDuringRefreshMs)}`);
    log(
      `  resident memory              ${result.rssMb.toFixed(0)} MB after a collection (heap used ${result.heapUsedMb.toFixed(0)} MB); ${result.peakRssMb.toFixed(0)} MB before it`,
    );
    return result;
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.close().catch(() => undefined);
  }
}

// Standalone when built as its own entry (build/bench-ui.js); a no-op when bench/main.ts imports it.
if (basename(process.argv[1] ?? '') === 'bench-ui.js') {
  benchUi().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
