/**
 * Helpers for the Ink component tests: a PGlite-backed schema per test, the
 * App rendered with ink-testing-library (or a terminal of a given size),
 * keys, and "wait until the frame shows X" instead of fixed sleeps.
 */
import { EventEmitter } from 'node:events';
import { render as inkRender } from 'ink';
import { render } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Actor } from '../../src/audit.js';
import type { Database } from '../../src/db/database.js';
import { NoetlSource } from '../../src/noetl/source.js';
import type { ExecutionSource } from '../../src/source.js';
import { App, type AppProps } from '../../components/App.js';
import { noetlSchemaSql } from '../fixtures/noetl-schema.js';
import { closesOf } from '../helpers/closes.js';
import { createTestDatabase, uniqueSchema, type TestDatabase } from '../helpers/db.js';
import { eventually } from '../helpers/eventually.js';
import { FakeStdin } from './fake-stdin.js';

export const KEYS = {
  up: '\u001B[A',
  down: '\u001B[B',
  right: '\u001B[C',
  left: '\u001B[D',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  home: '\u001B[H',
  end: '\u001B[F',
  enter: '\r',
  escape: '\u001B',
  space: ' ',
  tab: '\t',
  shiftTab: '\u001B[Z',
  backspace: '\u007F',
  ctrlC: '\u0003',
} as const;

export const TEST_ACTOR: Actor = { os_user: 'oncall', host: 'test-host', console_version: '0.0.0-test' };

/** The last six digits of an id: how a test finds an execution's row on screen. */
export const tail = (id: string) => id.slice(-6);

/** The closes the console wrote (one per close, its newest row), of an execution's events. */
export const consoleCloses = <E extends Parameters<typeof closesOf>[0][number]>(rows: E[]) => closesOf(rows).filter((e) => e.meta?.emitted_by === 'noetl-console');

/**
 * The setup every component test file shares: one PGlite database for the
 * file (closed after it), and the screen a test shows unmounted after it.
 * `db` forwards to that database once it is open.
 */
export function inkSuite(opts: { afterEach?: () => void } = {}): { db: Database; show<S extends Screen>(screen: S): S } {
  let t: TestDatabase | undefined;
  let screen: Screen | null = null;
  const open = () => {
    if (!t) throw new Error('inkSuite: the database opens in beforeAll');
    return t.db;
  };
  beforeAll(async () => {
    t = await createTestDatabase('pglite');
  });
  afterAll(async () => t?.close());
  afterEach(() => {
    screen?.unmount();
    screen = null;
    opts.afterEach?.();
  });
  const db: Database = {
    kind: 'pglite',
    label: 'pglite',
    query: (text, params) => open().query(text, params),
    transaction: (fn) => open().transaction(fn),
    close: () => open().close(),
  };
  return {
    db,
    show(s) {
      screen?.unmount();
      screen = s;
      return s;
    },
  };
}

/** A fresh NoETL schema on the file's database. */
export async function freshSchema(db: Database): Promise<string> {
  const schema = uniqueSchema('ui');
  await db.query(noetlSchemaSql(schema));
  return schema;
}

export interface Screen {
  lastFrame(): string;
  /** Every frame written so far, oldest first. */
  frames(): readonly string[];
  write(data: string): void;
  unmount(): void;
  /** Only for the fake terminal: change its size and tell Ink. */
  resize?(columns: number, rows: number): void;
}

/** The app on a NoETL schema of the file's database, or on a source of its own (test/helpers/fake-source.ts). */
type Props = Partial<Omit<AppProps, 'source'>> & ({ db: Database; schema: string } | { source: ExecutionSource });

function appElement(p: Props) {
  return (
    <App
      source={'source' in p ? p.source : new NoetlSource(p.db, p.schema)}
      readOnly={p.readOnly ?? false}
      filter={p.filter ?? { olderThanSeconds: 300, idleSeconds: null, text: '', includeChildren: false }}
      refreshSeconds={p.refreshSeconds ?? 600}
      color={p.color ?? false}
      actor={p.actor ?? TEST_ACTOR}
      verifyAfterMs={p.verifyAfterMs}
      reason={p.reason ?? null}
      onQuit={p.onQuit}
      clipboard={p.clipboard ?? (() => undefined)}
    />
  );
}

/** The app in ink-testing-library (100 columns; the app assumes 24 rows). */
export function renderApp(p: Props): Screen {
  const r = render(appElement(p));
  return { lastFrame: () => r.lastFrame() ?? '', frames: () => r.frames, write: (d) => r.stdin.write(d), unmount: () => r.unmount() };
}

class FakeStdout extends EventEmitter {
  isTTY = true;
  frames: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write = (frame: string) => {
    this.frames.push(frame);
    return true;
  };
}

/** The app on a terminal of a given size (ink-testing-library's has no rows). */
export function renderSized(p: Props, columns: number, rows: number): Screen {
  const stdout = new FakeStdout(columns, rows);
  const stdin = new FakeStdin();
  const stderr = new FakeStdout(columns, rows);
  const instance = inkRender(appElement(p), {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  return {
    lastFrame: () => stdout.frames.at(-1) ?? '',
    frames: () => stdout.frames,
    write: (d) => stdin.write(d),
    unmount: () => instance.unmount(),
    resize(c, r) {
      stdout.columns = c;
      stdout.rows = r;
      stdout.emit('resize');
    },
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Poll until `check` passes (returns truthy); fails with the last frame when it never does. */
export async function waitUntil<T>(screen: Screen, check: (frame: string) => T, what: string, timeoutMs = 15_000): Promise<T> {
  const result = await eventually(what, () => check(screen.lastFrame()), { timeoutMs, intervalMs: 10, detail: () => `last frame:\n${screen.lastFrame()}` });
  await tick(); // let useInput subscribe before the next key (see notes-stack)
  return result as T;
}

const shows = (f: string, text: string | RegExp) => (typeof text === 'string' ? f.includes(text) : text.test(f));

export async function waitForText(screen: Screen, text: string | RegExp, timeoutMs?: number): Promise<string> {
  await waitUntil(screen, (f) => shows(f, text), `frame to show ${String(text)}`, timeoutMs);
  return screen.lastFrame();
}

export async function waitForNoText(screen: Screen, text: string | RegExp, timeoutMs?: number): Promise<string> {
  await waitUntil(screen, (f) => f !== '' && !shows(f, text), `frame to stop showing ${String(text)}`, timeoutMs);
  return screen.lastFrame();
}

/** Type keys one at a time, yielding between them. */
export async function press(screen: Screen, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    screen.write(k);
    await tick();
  }
}

/** The table line that shows execution `id` (by its tail), or undefined. */
export function rowOf(frame: string, id: string): string | undefined {
  return frame.split('\n').find((l) => l.includes(id.slice(-6)) && /^[> ][* ] /.test(l));
}

/** The line with the cursor marker. */
export function cursorLine(frame: string): string | undefined {
  return frame.split('\n').find((l) => l.startsWith('>'));
}
