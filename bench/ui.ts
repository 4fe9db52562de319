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
import { spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { ConnectionOptions } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { openPostgres } from '../src/db/postgres.js';
import { RENDER_FPS } from '../components/run.js';
import { FakeStdin } from '../test/ui/fake-stdin.js';
import { NoetlSource } from '../src/noetl/source.js';
import { DEFAULT_HISTORY_DAYS, thresholdMap } from '../src/core/thresholds.js';
import { mergeRows } from '../components/rows.js';
import { noetlSchemaSql } from '../test/fixtures/noetl-schema.js';
import { Scenario } from '../test/fixtures/scenario.js';

export interface UiBenchResult {
  backend: string;
  rows: number;
  firstFrameMs: number;
  refreshCycleMs: number;
  /** Of a refresh, the rows derived (with their learned thresholds) and merged: what holds the event loop. */
  viewMs: Stats;
  cursorMoveMs: Stats;
  filterKeystrokeMs: Stats;
  keyDuringRefreshMs: Stats;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
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

/** NOETL_BENCH_UI_PROFILE=FILE: a CPU profile of the keystrokes only (open it in Chrome's DevTools). */
async function startProfile(): Promise<(() => Promise<void>) | null> {
  const file = process.env.NOETL_BENCH_UI_PROFILE;
  if (!file) return null;
  const [{ Session }, { writeFile }] = await Promise.all([import('node:inspector/promises'), import('node:fs/promises')]);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** 50,000 stuck executions over 97 playbooks, and finished runs of each (the learned thresholds, the RATIO column). */
async function seed(db: Database, schema: string): Promise<void> {
  await db.query(noetlSchemaSql(schema));
  const sc = new Scenario();
  // Started from 30 minutes to about 28 days ago (never in the future, whatever ROWS), oldest first.
  for (let i = 0; i < ROWS; i++) sc.execution({ path: `bench/job-${i % 97}`, startedMinutesAgo: 30 + ((ROWS - i) * 40_000) / ROWS }).issued('load', 10);
  for (let i = 0; i < 97 * 8; i++)
    sc.execution({ path: `bench/job-${i % 97}`, startedMinutesAgo: 60 + (i % 500) })
      .step('load', 50 + (i % 500))
      .finish('completed', 40 + (i % 500));
  await sc.apply(db, schema);
  await db.query(`ANALYZE "${schema}".event`);
}

/** The console on the seeded schema: keystrokes to frames, and what it keeps in memory. */
async function measureConsole(db: Database, schema: string, refreshCycleMs: number): Promise<Omit<UiBenchResult, 'backend' | 'refreshCycleMs' | 'viewMs'>> {
  // Ink renders only a final frame when it believes it runs in CI.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  process.env.NODE_ENV ??= 'production'; // as the bin runs React (see components/run.tsx)
  const source = new NoetlSource(db, schema);
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
  // The learned thresholds arrive after the first frame (never waited for) and show from the next refresh: measure with them on screen.
  for (let i = 0; i < 20 && !/RATIO/.test(plain(stdout.last)); i++) {
    await pause(500);
    stdin.write('r');
  }
  await stdout.until((frame) => /RATIO/.test(frame));

  const keyToFrame = async (key: string): Promise<number> => {
    await pause(20); // past Ink's frame throttle, so each key gets its own frame
    const frame = stdout.nextWrite();
    const t = performance.now();
    stdin.write(key);
    await frame;
    return performance.now() - t;
  };
  const profile = await startProfile();
  const moves: number[] = [];
  for (let i = 0; i < 60; i++) moves.push(await keyToFrame(i % 20 < 15 ? 'j' : '\u001B[6~'));
  const filters: number[] = [];
  await keyToFrame('/');
  // Every row matches "bench/" (the whole list each keystroke), then one playbook's.
  for (const ch of 'bench/job-42') filters.push(await keyToFrame(ch));
  await keyToFrame('\u001B'); // drop the filter
  const during: number[] = [];
  for (let i = 0; i < 5; i++) {
    await keyToFrame('r');
    during.push(await keyToFrame('j'));
    await pause(refreshCycleMs + 200);
  }
  await profile?.();
  const peak = process.memoryUsage();
  // What the console keeps while it idles, not the garbage of the last frames: collected when node runs with
  // --expose-gc, then a second for V8 to give the emptied pages back (resident memory right after a collection
  // varied 200-350 MB for the same heap).
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await pause(1000);
  gc?.();
  const memory = process.memoryUsage();
  app.unmount();
  return {
    rows: ROWS,
    firstFrameMs,
    cursorMoveMs: stats(moves),
    filterKeystrokeMs: stats(filters),
    keyDuringRefreshMs: stats(during),
    rssMb: memory.rss / 2 ** 20,
    heapUsedMb: memory.heapUsed / 2 ** 20,
    heapTotalMb: memory.heapTotal / 2 ** 20,
    peakRssMb: peak.rss / 2 ** 20,
  };
}

/**
 * Measured in a process of its own on PostgreSQL (`node --expose-gc bench-ui.js` with
 * NOETL_BENCH_UI_SCHEMA): the seeding's memory is not the console's (it left 290 MB resident).
 */
function measureInChild(schema: string, refreshCycleMs: number, log: (line: string) => void): Promise<Omit<UiBenchResult, 'backend' | 'refreshCycleMs' | 'viewMs'>> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'bench-ui.js');
  const child = spawn(process.execPath, ['--expose-gc', script], {
    env: { ...process.env, NOETL_BENCH_UI_SCHEMA: schema, NOETL_BENCH_UI_REFRESH_MS: String(refreshCycleMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('RESULT '.length)));
      else reject(new Error(`ui bench: the measuring process exited ${code}: ${out.slice(-500)}`));
    });
  }).finally(() => log('ui bench: measured in its own process')) as never;
}

export async function benchUi(log: (line: string) => void = console.log): Promise<UiBenchResult> {
  const schema = `bench_ui_${process.pid}`;
  const { db, backend } = await openBenchDatabase(schema);
  try {
    log(`ui bench: seeding ${ROWS} stuck executions on ${backend}…`);
    await seed(db, schema);

    // Refresh cycles as the app does them (src/noetl/live.ts): the first loads
    // everything, the next ones read what changed; then the merge.
    let refreshCycleMs: number;
    let viewMs: Stats;
    {
      const source = new NoetlSource(db, schema);
      const history = thresholdMap(await source.thresholds(DEFAULT_HISTORY_DAYS));
      const liveSet = source.live();
      const t0 = performance.now();
      await liveSet.refresh();
      let rows = mergeRows([], liveSet.view({ olderThanSeconds: 300 }, history), new Set(), new Map());
      log(`ui bench: first (full) refresh ${(performance.now() - t0).toFixed(0)} ms`);
      const t1 = performance.now();
      await liveSet.refresh();
      rows = mergeRows(rows, liveSet.view({ olderThanSeconds: 300 }, history), new Set(), new Map());
      refreshCycleMs = performance.now() - t1;
      // The part of a refresh that holds the event loop (keys wait for it): the rows derived and merged.
      const views: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t = performance.now();
        rows = mergeRows(rows, liveSet.view({ olderThanSeconds: 300 }, history), new Set([rows[0]!.e.execution_id]), new Map());
        views.push(performance.now() - t);
      }
      viewMs = stats(views);
    }
    log(`ui bench: one refresh cycle took ${refreshCycleMs.toFixed(0)} ms (rows derived and merged: median ${viewMs.median.toFixed(1)} ms); rendering…`);
    // PGlite in memory lives in this process only: measured here, the seeding's memory included.
    const measured = backend === 'postgres' ? await measureInChild(schema, refreshCycleMs, log) : await measureConsole(db, schema, refreshCycleMs);
    const result: UiBenchResult = { backend, refreshCycleMs, viewMs, ...measured };
    const f = (s: Stats) => `median ${s.median.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`;
    log(`ui bench (${backend}, ${ROWS} stuck executions, 80x24):`);
    log(`  first frame with all rows    ${result.firstFrameMs.toFixed(0)} ms`);
    log(`  one refresh cycle (queries)  ${refreshCycleMs.toFixed(0)} ms`);
    log(`  rows derived and merged      ${f(result.viewMs)}`);
    log(`  cursor key → frame           ${f(result.cursorMoveMs)}`);
    log(`  filter keystroke → frame     ${f(result.filterKeystrokeMs)}`);
    log(`  key during refresh → frame   ${f(result.keyDuringRefreshMs)}`);
    log(
      `  resident memory              ${result.rssMb.toFixed(0)} MB after a collection (heap used ${result.heapUsedMb.toFixed(0)} of ${result.heapTotalMb.toFixed(0)} MB); ${result.peakRssMb.toFixed(0)} MB before it`,
    );
    return result;
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await db.close().catch(() => undefined);
  }
}

/** The measuring process (measureInChild): the console on a schema seeded by its parent. */
async function childMain(schema: string): Promise<void> {
  const { db } = await openBenchDatabase(schema);
  try {
    const measured = await measureConsole(db, schema, Number(process.env.NOETL_BENCH_UI_REFRESH_MS ?? 100));
    process.stdout.write(`RESULT ${JSON.stringify(measured)}\n`);
  } finally {
    await db.close().catch(() => undefined);
  }
}

// Standalone when built as its own entry (build/bench-ui.js); a no-op when bench/main.ts imports it.
if (basename(process.argv[1] ?? '') === 'bench-ui.js') {
  const child = process.env.NOETL_BENCH_UI_SCHEMA;
  (child ? childMain(child) : benchUi()).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
