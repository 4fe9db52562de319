/**
 * End-to-end helpers: run `noetl-console ...args` and hand back its exit
 * code, stdout and stderr, in this process through run(argv, io) (the default:
 * the same code path as the bin, without a node start per case) or as the
 * built bin (dist/cli.js) with `spawn: true`; give each test file a seeded
 * database the console can open (PGlite: an on-disk directory, closed before
 * each run, since only one PGlite may open it at a time).
 */
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import type { Database } from '../../src/db/database.js';
import type { Io } from '../../commands/io.js';
import { keepPgliteEngines, openPglite, releasePgliteEngines } from '../../src/db/pglite.js';
import type { SchemaOptions } from '../fixtures/noetl-schema.js';
import { createTestDatabase, type Backend, type TestDatabase } from './db.js';
import { TERMINAL_EVENT_TYPES, closesOf } from './closes.js';
import { cliEnv, cliPath, startProcess, type CliResult, type SpawnOptions } from './spawn-cli.js';

export { PACKAGE_VERSION, cliEnv, cliPath, startCli, type CliResult, type RunningCli } from './spawn-cli.js';

/** Any ANSI escape (CSI or OSC). */
export const ANSI = /\u001b[[\]]/;

export interface RunOptions extends SpawnOptions {
  /** Run the built bin as a process (exit codes, signals, EPIPE, start-up) instead of in this process. */
  spawn?: boolean;
}

// Commands run in this process share one PGlite engine per data directory
// (a session opens in milliseconds instead of a second). A process of its own
// must find the directory closed: every spawn below releases them first.
keepPgliteEngines();

async function collect(command: string, args: string[], opts: RunOptions): Promise<CliResult> {
  await releasePgliteEngines();
  return startProcess(command, args, { timeoutMs: 60_000, ...opts }).done;
}

/** Collects what a command writes, as the bytes a pipe would carry. */
class Capture {
  readonly isTTY = false;
  private chunks: Buffer[] = [];
  write(text: string | Uint8Array): boolean {
    this.chunks.push(typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text));
    return true;
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Standard input that is not a terminal: `input`, then end of file. */
function pipedInput(input: string | Buffer | undefined): Io['stdin'] {
  return {
    isTTY: false,
    async *[Symbol.asyncIterator]() {
      if (input !== undefined && input.length > 0) yield typeof input === 'string' ? input : input.toString('utf8');
    },
  };
}

/**
 * `noetl-console ...args` in this process: the bin's own run(argv, io), with
 * the spawned bin's environment (cliEnv) and standard input. An exception that
 * escapes run() is what would crash the bin: exit 1, its stack on stderr.
 */
async function runInProcess(args: readonly string[], opts: RunOptions): Promise<CliResult> {
  const { run } = await import('../../commands/program.js');
  const stdout = new Capture();
  const stderr = new Capture();
  const io: Io = { stdout, stderr, stdin: pipedInput(opts.input), env: cliEnv(opts.env), cwd: opts.cwd ?? process.cwd(), ownsProcess: false };
  let code: number;
  try {
    code = await run([...args], io);
  } catch (error) {
    stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    code = 1;
  }
  const stdoutBytes = stdout.bytes();
  const stderrBytes = stderr.bytes();
  return { code, signal: null, stdout: stdoutBytes.toString('utf8'), stderr: stderrBytes.toString('utf8'), stdoutBytes, stderrBytes };
}

/**
 * Run `noetl-console ...args` and wait for it to finish: in this process by
 * default, the built bin as a process with `spawn: true`.
 */
export function runCli(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  if (!opts.spawn) return runInProcess(args, opts);
  return collect(process.execPath, [cliPath(), ...args], opts);
}

/** `script` from util-linux gives the console a pseudo-terminal (null when unavailable). */
export function ttyAvailable(): boolean {
  const probe = spawnSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore' });
  return probe.status === 0;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Run the bin with stdout (and stdin) on a pseudo-terminal; its output comes back with \r\n. */
export function runCliOnTty(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  const command = [process.execPath, cliPath(), ...args].map(shellQuote).join(' ');
  return collect('script', ['-qec', command, '/dev/null'], opts);
}

/** Parse stdout as JSON, with the whole result in the message when it is not. */
export function jsonOf<T = any>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

/** What a failing console printed, for assertion messages. */
export function show(r: CliResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

export interface EventRow {
  execution_id: string;
  event_id: string;
  catalog_id: string;
  parent_execution_id: string | null;
  parent_event_id: string | null;
  event_type: string;
  node_id: string | null;
  node_name: string | null;
  status: string | null;
  result: unknown;
  error: string | null;
  meta: Record<string, any> | null;
  /** Seconds between created_at (UTC wall clock) and the database's UTC now. */
  age_s: number;
}

/**
 * A seeded NoETL schema that spawned consoles open with `args`
 * (--database-url and --schema). `use` gives the test its own session.
 */
export interface CliDatabase {
  backend: Backend;
  schema: string;
  url: string;
  args: string[];
  use<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  eventCount(): Promise<number>;
  events(executionId: string): Promise<EventRow[]>;
  /** Every event of the schema in one read (one PGlite open instead of one per question). */
  snapshot(): Promise<Snapshot>;
  close(): Promise<void>;
}

export interface Snapshot {
  count: number;
  /** One execution's events, oldest first. */
  of(executionId: string): EventRow[];
  /** Its terminal events (any spelling). */
  terminal(executionId: string): EventRow[];
  /** Its closes: a console close (two rows) counts once, as its newest row; an engine's terminal event as itself. */
  closes(executionId: string): EventRow[];
}

export async function createCliDatabase(backend: Backend, seed: (db: Database, schema: string) => Promise<void>, schemaOpts: SchemaOptions = {}): Promise<CliDatabase> {
  const t: TestDatabase = await createTestDatabase(backend, schemaOpts, { onDisk: true });
  try {
    await seed(t.db, t.schema);
  } catch (error) {
    await t.close();
    throw error;
  }
  let use: CliDatabase['use'];
  if (backend === 'pglite') {
    await t.db.close();
    const dataDir = t.url.replace(/^pglite:\/\//, '');
    use = async (fn) => {
      const db = await openPglite({
        target: { kind: 'pglite', dataDir, label: 'pglite' },
        schema: t.schema,
        readOnly: false,
        statementTimeoutMs: 15_000,
        connectTimeoutMs: 10_000,
      });
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    };
  } else {
    use = (fn) => fn(t.db);
  }
  const s = `"${t.schema}"`;
  const select = `SELECT execution_id::text, event_id::text, catalog_id::text, parent_execution_id::text, parent_event_id::text, event_type,
      node_id, node_name, status, result, error, meta,
      extract(epoch FROM ((now() AT TIME ZONE 'UTC') - created_at))::float8 AS age_s
    FROM ${s}.event`;
  return {
    backend,
    schema: t.schema,
    url: t.url,
    args: ['--database-url', t.url, '--schema', t.schema],
    use,
    eventCount: () => use(async (db) => Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${s}.event`)).rows[0]!.n)),
    events: (id) => use(async (db) => (await db.query<EventRow>(`${select} WHERE execution_id = $1::bigint ORDER BY event_id`, [id])).rows),
    snapshot: () =>
      use(async (db) => {
        const rows = (await db.query<EventRow>(`${select} ORDER BY execution_id, event_id`)).rows;
        const by = new Map<string, EventRow[]>();
        for (const row of rows) by.set(row.execution_id, [...(by.get(row.execution_id) ?? []), row]);
        const of = (id: string) => by.get(id) ?? [];
        return {
          count: rows.length,
          of,
          terminal: (id: string) => of(id).filter((e) => TERMINAL_EVENT_TYPES.includes(e.event_type)),
          closes: (id: string) => closesOf(of(id)),
        };
      }),
    close: async () => {
      if (backend === 'pglite') await releasePgliteEngines(t.url.replace(/^pglite:\/\//, ''));
      await t.close();
    },
  };
}

export { TERMINAL_EVENT_TYPES, closesOf } from './closes.js';

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/**
 * Make the spawned console's database session use TimeZone `tz`. PostgreSQL:
 * the URL's `options` (node-postgres does not read PGTZ; it is set too, in
 * case a later driver does). PGlite: `ALTER SYSTEM` in the test's own data
 * directory, undone by reset(). Either way the setting is checked first, so
 * the test cannot pass by accident in a UTC session.
 */
export async function withSessionTimeZone(d: CliDatabase, tz: string): Promise<{ args: string[]; env: Record<string, string>; reset(): Promise<void> }> {
  if (d.backend === 'postgres') {
    const url = new URL(d.url);
    url.searchParams.set('options', `-c TimeZone=${tz}`);
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const seen = (await client.query<{ TimeZone: string }>('SHOW TimeZone')).rows[0]!.TimeZone;
    await client.end();
    if (seen !== tz) throw new Error(`could not set the session TimeZone to ${tz} through the URL (got ${seen})`);
    return { args: ['--database-url', url.toString(), '--schema', d.schema], env: { PGTZ: tz }, reset: async () => undefined };
  }
  // ALTER SYSTEM is read when an engine starts: start the kept one again.
  const restart = () => releasePgliteEngines(d.url.replace(/^pglite:\/\//, ''));
  await d.use((db) => db.query(`ALTER SYSTEM SET timezone = '${tz.replace(/'/g, "''")}'`));
  await restart();
  const seen = await d.use(async (db) => (await db.query<{ TimeZone: string }>('SHOW TimeZone')).rows[0]!.TimeZone);
  if (seen !== tz) throw new Error(`could not set PGlite's TimeZone to ${tz} (got ${seen})`);
  return {
    args: d.args,
    env: { PGTZ: tz },
    reset: async () => {
      await d.use((db) => db.query('ALTER SYSTEM RESET timezone'));
      await restart();
    },
  };
}
