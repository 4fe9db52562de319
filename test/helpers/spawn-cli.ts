/**
 * The built bin as a process: where it is, the environment it gets, and a
 * started run that a test may signal or wait for. No vitest here: the soak
 * harness (bench/soak.ts) bundles it through reliability-concurrency.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory up from this file (or its bundle, e.g. build/soak.js) with noetl-console's package.json. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'noetl-console') return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

export const ROOT = findRoot();
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The bin under test: dist/cli.js, or NOETL_TEST_BIN (a copy built elsewhere,
 * e.g. the previous commit's, to show a test fails without a fix). Builds swap
 * their files into dist/ by rename (build.mjs), so a rebuild running meanwhile
 * never takes a file from under a spawn.
 */
export function cliPath(): string {
  const cli = process.env.NOETL_TEST_BIN ? resolve(ROOT, process.env.NOETL_TEST_BIN) : join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run node build.mjs (npm test builds first)`);
  return cli;
}

export interface CliResult {
  code: number | null;
  /** The signal that ended a spawned run (null when it exited, and in process). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Raw bytes, to look for control bytes exactly as a terminal would get them. */
  stdoutBytes: Buffer;
  stderrBytes: Buffer;
}

export interface SpawnOptions {
  /** Extra environment (undefined removes a variable). */
  env?: Record<string, string | undefined>;
  /** Written to standard input, which is then closed (closed at once without it). */
  input?: string | Buffer;
  /** Killed after this long (a safety net, never an assertion: the result says SIGKILL). */
  timeoutMs?: number;
  /** The working directory (config files are looked up there); the repository root by default. */
  cwd?: string;
}

/**
 * The environment of a console under test: this process's, without anything
 * that would change which database it opens or how it prints.
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PG|NOETL_)/.test(key) || ['DATABASE_URL', 'NO_COLOR', 'FORCE_COLOR', 'TZ'].includes(key)) continue;
    env[key] = value;
  }
  // A cache directory of its own each run, never created unless written: a
  // running-set snapshot saved by one run (src/noetl/snapshot.ts) never
  // reaches the next. Snapshot tests pass the same XDG_CACHE_HOME to both.
  env.XDG_CACHE_HOME = join(tmpdir(), 'noetl-console-test-cache', randomUUID());
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export interface RunningCli {
  child: ChildProcess;
  /** Resolves when the process ends (never rejects). */
  done: Promise<CliResult>;
}

/** Start `command args` (the bin by default) as a process, with cliEnv. */
export function startProcess(command: string, args: readonly string[], opts: SpawnOptions = {}): RunningCli {
  const child = spawn(command, [...args], { cwd: opts.cwd ?? ROOT, env: cliEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.on('error', () => undefined); // the bin may exit before reading stdin
  child.stdin.end(opts.input ?? '');
  const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : null;
  const done = new Promise<CliResult>((resolve) => {
    child.on('error', (e) => err.push(Buffer.from(`spawn error: ${e.message}\n`)));
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      const stderrBytes = Buffer.concat(err);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr: stderrBytes.toString('utf8'), stdoutBytes, stderrBytes });
    });
  });
  return { child, done };
}

/** Start the built bin; a PGlite directory it opens must not be open in this process (cli.ts runCli releases them). */
export function startCli(args: readonly string[], opts: SpawnOptions = {}): RunningCli {
  return startProcess(process.execPath, [cliPath(), ...args], opts);
}
