import type { Command } from 'commander';

/** Where a command writes: a process's stdout/stderr, or a test's buffers. */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Where `-` ids and `--from-plan -` are read from. */
export type InStream = AsyncIterable<string | Buffer> & { isTTY?: boolean };

/**
 * Everything a command takes from the world it runs in. The bin passes the
 * process's own (processIo); tests pass buffers, an environment and a
 * directory, and run the command in their own process exactly as the bin does.
 */
export interface Io {
  stdout: OutStream;
  stderr: OutStream;
  stdin: InStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * The bin only: termination signals (SIGTERM/SIGHUP held during a write,
   * metrics --listen's stop) and the exits that do not wait on the network.
   * In process these would act on the test runner.
   */
  ownsProcess: boolean;
}

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), ownsProcess: true };
}

/** One run of the program: its io and the exit code the commands set. */
interface RunState {
  io: Io;
  exitCode: number;
}

const runs = new WeakMap<Command, RunState>();

function root(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

export function attachIo(program: Command, io: Io): void {
  runs.set(program, { io, exitCode: 0 });
}

function stateOf(cmd: Command): RunState {
  const program = root(cmd);
  let state = runs.get(program);
  if (!state) {
    state = { io: processIo(), exitCode: 0 };
    runs.set(program, state);
  }
  return state;
}

/** The io of the run `cmd` belongs to. */
export function ioOf(cmd: Command): Io {
  return stateOf(cmd).io;
}

/** Set the run's exit code (what the bin exits with). */
export function setExitCode(cmd: Command, code: number): void {
  stateOf(cmd).exitCode = code;
}

export function exitCodeOf(cmd: Command): number {
  return stateOf(cmd).exitCode;
}
