import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import type { ConnectionOptions } from '../src/config.js';
import type { ExecutionSource } from '../src/source.js';
import type { LoadOptions } from '../src/noetl/store.js';
import { resolveSource, type ResolvedSource, type SourceFlags } from '../src/source-select.js';
import { openDatabase } from '../src/db/open.js';
import type { Database } from '../src/db/database.js';
import { EXIT, OperationalError, UsageError, describeDatabaseError, oneLine, redact } from '../src/errors.js';
import { colorEnabled, makeChalk } from '../src/format/color.js';
import { toJson, writeJsonLines } from '../src/format/json.js';
import { safeText } from '../src/sanitize.js';
import { constants } from 'node:os';
import { writeGate } from '../src/db/write-gate.js';
import { ioOf, setExitCode, type Io, type OutStream } from './io.js';
import { parseDuration } from '../src/duration.js';
import { cacheDir } from '../src/cache.js';
import { DEFAULT_MAX_AGE_MS, snapshotMinEvents, type SnapshotOptions, type SnapshotReport } from '../src/noetl/snapshot.js';
import { PartialMarkError, isChange } from '../src/core/mark.js';

export interface CommandContext {
  options: ConnectionOptions;
  db: Database;
  /** What the command reads and writes: NoETL's event log or a status table. */
  source: ExecutionSource;
  resolved: ResolvedSource;
  color: ChalkInstance;
  width: number;
  print(line?: string): void;
  /** Pretty on a terminal, compact otherwise. */
  printJson(value: unknown): void;
  /** One compact JSON value a line (--jsonl). */
  printJsonLines(values: Iterable<unknown>): void;
  /** A line for the operator on stderr (notes that are not the command's output). */
  note(line: string): void;
  /** How a command's full load reads a large history: progress on a terminal's stderr. */
  load: LoadOptions;
  /** The run's streams, environment and directory (commands/io.ts). */
  io: Io;
}

/** A full load's progress, rewritten in place on stderr when it is a terminal; silent otherwise. */
export function progressOnStderr(stream: OutStream): LoadOptions {
  if (!stream.isTTY) return {};
  return {
    onProgress: ({ done, total }) => stream.write(done < total ? `\rnoetl-console: reading the event log in ${total} chunks: ${done} done\x1b[K` : '\r\x1b[K'),
  };
}

/** Flags every command takes, on the program and on each subcommand. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--database-url <url>', 'postgres://user@host:5432/db (else NOETL_DATABASE_URL, DATABASE_URL, then PG* variables)')
    .option('--schema <name>', 'NoETL schema (else NOETL_SCHEMA, default noetl)')
    .option('--read-only', 'open a read-only database session (also NOETL_CONSOLE_READ_ONLY=1)')
    .option('--statement-timeout <seconds>', 'statement timeout, seconds or 500ms-style units (default 15)')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .option('--config <file>', 'config file of sources (else noetl-console.config.json/.yaml here, else NOETL_CONSOLE_CONFIG)')
    .option('--source <name>', 'which source of the config file (else its default_source)')
    .option('--context <name>', 'which context of the config file: a source, read-only or not (else its default_context)');
}

/** Flags of the commands that read the whole running set (list, cleanup, health, metrics, the console). */
export function addSnapshotOptions(cmd: Command): Command {
  return cmd
    .option('--fresh', 'read the whole event log now instead of revalidating the running set saved by the previous run')
    .option('--max-snapshot-age <minutes>', 'use a saved running set only this long after the full load it came from (minutes, or 30s/2h; default 1h)');
}

/** The snapshot flags (validated before connecting: exit 2) and the run's cache directory, for a source that keeps one. */
export function snapshotOptions(flags: { fresh?: boolean; maxSnapshotAge?: string }, resolved: ResolvedSource, env: NodeJS.ProcessEnv): SnapshotOptions {
  return {
    fresh: flags.fresh === true,
    maxAgeMs: flags.maxSnapshotAge === undefined ? DEFAULT_MAX_AGE_MS : parseDuration('--max-snapshot-age', flags.maxSnapshotAge, 'm') * 1000,
    sourceName: resolved.name,
    target: resolved.connection.target.label,
    dir: cacheDir(env),
    minEvents: snapshotMinEvents(env),
  };
}

/** Flags of the commands that close executions: through the engine's API, or not. */
export function addServerOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', "close through the NoETL server's API at this URL (else the source's server_url, else NOETL_SERVER_URL)")
    .option('--server-engine <engine>', 'rust, python or auto (default: told apart by GET /api/health; also server_engine, NOETL_SERVER_ENGINE)')
    .option('--server-timeout <seconds>', 'deadline of each request to the server (default 10)')
    .option('--direct', 'write to the database even when a server is configured');
}

/**
 * The connection flags given to a command or to the program before it
 * (`noetl-console --read-only list`). A flag given on the command line wins
 * over a default, and the command's own flag over the program's: commander's
 * optsWithGlobals() lets the program's defaults (color: true from
 * `--no-color`) override the subcommand's `--no-color`.
 */
export function connectionFlags(cmd: Command): SourceFlags & { color?: boolean; fresh?: boolean; maxSnapshotAge?: string } {
  const chain: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.unshift(c);
  const merged: Record<string, unknown> = {};
  const explicit = new Set<string>();
  for (const c of chain) {
    for (const [key, value] of Object.entries(c.opts())) {
      if (value === undefined) continue;
      const fromDefault = c.getOptionValueSource(key) === 'default';
      if (fromDefault && (explicit.has(key) || key in merged)) continue;
      merged[key] = value;
      if (!fromDefault) explicit.add(key);
    }
  }
  return merged as SourceFlags & { color?: boolean; fresh?: boolean; maxSnapshotAge?: string };
}

/** One line for an operator, and the exit code, for any error a command meets. */
export function describeFailure(error: unknown, target: string): { message: string; code: number } {
  if (error instanceof UsageError) return { message: error.message, code: EXIT.usage };
  if (error instanceof OperationalError) return { message: error.message, code: EXIT.operational };
  // server-close.ts is loaded only when a server is configured: known by name.
  if (error instanceof PartialMarkError && error.name === 'ServerCloseError') {
    const changed = error.results.filter((r) => isChange(r.outcome)).length;
    const skipped = error.results.filter((r) => r.outcome === 'not_attempted').length;
    const cause = describeFailure(error.cause, target).message;
    return {
      message: `${cause} (${changed} execution(s) closed, ${skipped} not attempted; see the results, rerun when the server is healthy or pass --direct)`,
      code: EXIT.operational,
    };
  }
  if (error instanceof PartialMarkError) {
    const changed = error.results.filter((r) => isChange(r.outcome)).length;
    const cause = describeFailure(error.cause, target).message;
    return {
      message: `${cause}; ${changed} execution(s) were changed by earlier batches and stay changed: run the same command again to finish`,
      code: EXIT.operational,
    };
  }
  const err = error as { code?: unknown; message?: unknown };
  const looksLikeDb = typeof err?.code === 'string' || /connect|terminat|timeout|server|database|relation/i.test(String(err?.message ?? ''));
  const message = looksLikeDb ? describeDatabaseError(error, target) : `unexpected error: ${String(err?.message ?? error)}`;
  return { message, code: EXIT.operational };
}

export function fail(error: unknown, target: string, io: Io): number {
  const { message, code } = describeFailure(error, target);
  io.stderr.write(`noetl-console: ${safeText(redact(oneLine(message)), 2000)}\n`);
  if (io.env.NOETL_CONSOLE_DEBUG && error instanceof Error && error.stack)
    io.stderr.write(
      `${redact(error.stack)
        .split('\n')
        .map((l) => safeText(l, 2000))
        .join('\n')}\n`,
    );
  return code;
}

/** The exit status after a termination signal stopped a command: 128 + its number (143 SIGTERM, 129 SIGHUP). */
export function signalExit(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 15);
}

/** With NOETL_CONSOLE_DEBUG: where the running set came from, and a snapshot that could not be saved. */
export function debugSnapshot(kept: SnapshotReport, io: Io): void {
  if (!io.env.NOETL_CONSOLE_DEBUG || kept.outcome === null) return;
  sayTo(io)(`running set: ${kept.outcome}${kept.saveError ? `; not saved: ${String((kept.saveError as Error).message ?? kept.saveError)}` : ''}`);
}

/** One line for the operator on the run's stderr, redacted. */
export function sayTo(io: Io): (line: string) => void {
  return (line) => void io.stderr.write(`noetl-console: ${safeText(redact(oneLine(line)), 2000)}\n`);
}

/**
 * SIGTERM and SIGHUP: with no write started, stop at once (exit 128+n). A
 * write in progress is not interrupted: its transaction ends (commit, or
 * rollback on its own error, both bounded by the deadline), no further write
 * starts, and runCommand says which on stderr.
 */
function holdSignalsDuringWrites(say: (line: string) => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (writeGate.signal) return;
    writeGate.signal = signal;
    if (writeGate.inFlight === 0 && writeGate.started === 0) {
      say(`stopped by ${signal}; nothing was written`);
      process.exit(signalExit(signal));
    }
  };
  const signals = ['SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

/**
 * A sharded source that could not read every shard: its JSON says so
 * ("partial": true, "unreachable_shards"), stderr names each missing shard
 * and since when, and the command exits 1.
 */
export function partialOf(source: ExecutionSource, say: (line: string) => void) {
  const missing = () => source.unreachable?.() ?? [];
  return {
    mark(value: unknown): unknown {
      const down = missing();
      if (down.length === 0 || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
      return { ...value, partial: true, unreachable_shards: down };
    },
    report(): boolean {
      const down = missing();
      for (const d of down) say(`${d.shard === 'cluster' ? 'cluster database' : `shard ${d.shard}`} (${d.target}) unreachable since ${d.since}: ${d.error}`);
      if (down.length > 0) say(`partial: ${down.length} database(s) of the cluster did not answer; the rest is shown above`);
      return down.length > 0;
    },
  };
}

/**
 * Run a command: validate its input first (exit 2 before any connection),
 * then run the body with a connected store. Database trouble exits 1 with one
 * redacted line; the body's number is the exit code.
 */
export async function runCommand<T>(
  cmd: Command,
  parse: (source: ResolvedSource) => T | Promise<T>,
  body: (ctx: CommandContext, input: T) => Promise<number | void>,
  /** Checks that need the resolved connection but not the database (read-only refusals). */
  guard?: (options: ConnectionOptions, input: T) => void,
  /** ownSignals: the body handles SIGTERM itself (metrics --listen). */
  opts: { ownSignals?: boolean } = {},
): Promise<void> {
  let target = 'the database';
  let db: Database | null = null;
  let source: ExecutionSource | null = null;
  const io = ioOf(cmd);
  const say = sayTo(io);
  // Signals are the bin's: in process they would act on the caller (a test runner).
  const release = opts.ownSignals || !io.ownsProcess ? () => {} : holdSignalsDuringWrites(say);
  const setExit = (code: number) => setExitCode(cmd, code);
  try {
    const flags = connectionFlags(cmd);
    const resolved = resolveSource(flags, io.env, io.cwd);
    const input = await parse(resolved);
    const snapshot = snapshotOptions(flags, resolved, io.env);
    const options = resolved.connection;
    target = options.target.label;
    guard?.(options, input);
    db = await openDatabase({ ...options, onNotice: say });
    source = resolved.open(db);
    const kept = source.useSnapshot?.(snapshot) ?? null;
    const partial = partialOf(source, say);
    source.onMismatch = (line) => say(line);
    const color = makeChalk(colorEnabled(io.stdout, flags.color, io.env));
    const ctx: CommandContext = {
      options,
      db,
      source,
      resolved,
      color,
      width: io.stdout.columns && io.stdout.isTTY ? io.stdout.columns : 160,
      print: (line = '') => void io.stdout.write(`${line}\n`),
      printJson: (value) => void io.stdout.write(`${toJson(partial.mark(value), io.stdout.isTTY === true)}\n`),
      printJsonLines: (values) => writeJsonLines(values, (text) => void io.stdout.write(text)),
      note: (line) => void io.stderr.write(`noetl-console: ${safeText(line, 2000)}\n`),
      load: progressOnStderr(io.stderr),
      io,
    };
    setExit((await body(ctx, input)) ?? EXIT.ok);
    if (kept) debugSnapshot(kept, io);
    // Some shards did not answer: what was printed is what the others hold.
    if (partial.report()) setExit(EXIT.operational);
    // The write that was in progress when the signal came committed, and it was the last.
    if (writeGate.signal) say(`${writeGate.signal} arrived during the write; it committed (reported above) and nothing else was left to write`);
  } catch (error) {
    setExit(fail(error, target, io));
    if (writeGate.signal) {
      const last = writeGate.afterSignal.at(-1);
      if (last)
        say(
          `${writeGate.signal} arrived during the write: ${last === 'committed' ? 'it committed (reported above); nothing after it was written' : last === 'unknown' ? 'its outcome is unknown (above)' : 'it rolled back'}`,
        );
      setExit(signalExit(writeGate.signal));
    }
  } finally {
    release();
    if (source?.close) await source.close().catch(() => undefined);
    if (db) await db.close().catch(() => undefined);
  }
}
