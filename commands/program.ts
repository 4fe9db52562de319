import { redact } from '../src/errors.js';
import { safeText } from '../src/sanitize.js';
import { Command, CommanderError } from 'commander';
import { EXIT } from '../src/errors.js';
import { VERSION } from '../src/version.js';
import * as ui from './ui.js';
import { addConnectionOptions, addServerOptions } from './context.js';
import { attachIo, exitCodeOf, processIo, type Io } from './io.js';

interface CommandModule {
  register(program: Command): void;
}

/**
 * Each subcommand's module by the names it registers, in help order. Only the
 * ones named on the command line are loaded (each is a chunk of its own), so a
 * command parses none of the others' code; help and unknown words load all.
 */
const COMMAND_MODULES: readonly (readonly [readonly string[], () => Promise<CommandModule>])[] = [
  [['list'], () => import('./list.js')],
  [['show'], () => import('./show.js')],
  [['cancel', 'fail', 'complete'], () => import('./mark.js')],
  [['cleanup'], () => import('./cleanup.js')],
  [['sweep'], () => import('./sweep.js')],
  [['history'], () => import('./history.js')],
  [['verify'], () => import('./verify.js')],
  [['undo'], () => import('./undo.js')],
  [['rerun'], () => import('./rerun.js')],
  [['health'], () => import('./health.js')],
  [['metrics'], () => import('./metrics.js')],
  [['doctor'], () => import('./doctor.js')],
  [['demo'], () => import('./demo.js')],
  [['ui'], async () => ui],
  [['contexts'], () => import('./contexts.js')],
];

/** The modules of the commands named in argv; all of them when none is (help, the console, a typo). */
export async function commandModules(argv: readonly string[]): Promise<CommandModule[]> {
  const named = COMMAND_MODULES.filter(([names]) => names.some((n) => argv.includes(n)));
  return Promise.all((named.length ? named : COMMAND_MODULES).map(([, load]) => load()));
}

/** The commands that close executions, and so may go through the engine's API. */
const CLOSING_COMMANDS = new Set(['cancel', 'fail', 'complete', 'cleanup', 'rerun']);

const EXIT_CODES = `
Exit codes:
  0  done (also when there was nothing to do)
  1  operational failure: database unreachable, SQL error, timeout, write refused
     by the database; one line on stderr, never a password; a sharded cluster
     with a shard that did not answer (what the others hold is printed, partial)
  2  bad usage or input: unknown flag, bad minutes or id, bad schema, URL or
     environment, a write in read-only mode; nothing written
  3  cancel/fail/complete finished but some named ids were not changed (already
     finished or not found); show: execution not found; verify: the engine wrote
     after the close; undo: rows changed since, left alone; rerun: some skipped
  129, 143  stopped by SIGHUP/SIGTERM with something not written; a write in
     progress is never cut: it commits or rolls back first, and stderr says which
`;

const HELP_FOOTER = `
Connection: --database-url, else NOETL_DATABASE_URL or DATABASE_URL, else the
standard PG* variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, .pgpass).
Schema: --schema, else NOETL_SCHEMA, else noetl. Embedded: --database-url pglite:///dir
${EXIT_CODES}
Examples:
  noetl-console                                   interactive console
  noetl-console list --older-than 60 --json
  noetl-console show 543857931469455628
  noetl-console cancel 543857931469455628 --cascade --reason "worker pod rolled"
  noetl-console cleanup --older-than 60 --idle 30 --dry-run --json
  noetl-console demo                              the console on a demo database
`;

/** Commander's own usage errors, as one line: exit 2 (set in run()). */
function outputError(text: string, write: (s: string) => void): void {
  // Commander repeats what was typed: one line, redacted, control characters escaped.
  write(
    `noetl-console: ${safeText(
      redact(
        text
          .replace(/^error: /, '')
          .replace(/\s*\n\s*/g, ' ')
          .trim(),
      ),
      2000,
    )}\n`,
  );
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** Commander's output through the run's io: help on its stdout, errors on its stderr. */
function outputOf(io: Io) {
  const noColor = Boolean(io.env.NO_COLOR) || io.env.FORCE_COLOR === '0' || io.env.FORCE_COLOR === 'false';
  const hasColors = (s: Io['stdout']) => !noColor && s.isTTY === true && (s as { hasColors?: () => boolean }).hasColors?.() === true;
  return {
    outputError,
    writeOut: (s: string) => void io.stdout.write(s),
    writeErr: (s: string) => void io.stderr.write(s),
    getOutHelpWidth: () => (io.stdout.isTTY ? io.stdout.columns : undefined) as number,
    getErrHelpWidth: () => (io.stderr.isTTY ? io.stderr.columns : undefined) as number,
    getOutHasColors: () => hasColors(io.stdout),
    getErrHasColors: () => hasColors(io.stderr),
  };
}

/** The connection flags: before a subcommand that takes them they apply to it (connectionFlags). */
const CONNECTION_KEYS = new Set(addConnectionOptions(new Command()).options.map((o) => o.attributeName()));

/**
 * The console's own options (--older-than, --idle, --refresh, --reason) mean
 * nothing to a subcommand, which has its own: given before one they would be
 * swallowed (`noetl-console --older-than 60 list` listed with 5). Refused,
 * exit 2, as is a connection flag the subcommand does not take.
 */
function refuseProgramOptions(program: Command, sub: Command): void {
  for (const option of program.options) {
    const key = option.attributeName();
    if (program.getOptionValueSource(key) !== 'cli') continue;
    // demo's --schema and --no-color are its own (demo reads no connection flags).
    if (CONNECTION_KEYS.has(key) && sub.name() !== 'demo' && sub.options.some((o) => o.attributeName() === key)) continue;
    program.error(
      `${option.long} before '${sub.name()}' is an option of the console, not of ${sub.name()}: put it after the subcommand (noetl-console ${sub.name()} ${option.long} ...)`,
      {
        code: 'commander.unknownOption',
        exitCode: EXIT.usage,
      },
    );
  }
}

export function buildProgram(modules: readonly CommandModule[], io: Io = processIo()): Command {
  const program = new Command('noetl-console')
    .description('Find and clear stuck NoETL workflow executions, straight from PostgreSQL.')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .addHelpText('after', HELP_FOOTER)
    .exitOverride()
    .configureOutput(outputOf(io))
    // An unknown word is an unknown command, not "too many arguments".
    .allowExcessArguments(true);
  ui.addUiOptions(program);
  program.hook('preSubcommand', (_program, sub) => refuseProgramOptions(program, sub));
  program.action(async (_opts, cmd: Command) => {
    const [word, topic] = cmd.args;
    if (word === 'help') {
      (cmd.commands.find((c) => c.name() === topic) ?? cmd).outputHelp();
      return;
    }
    if (word !== undefined) {
      const near = cmd.commands.map((c) => c.name()).find((n) => editDistance(n, word) <= 2);
      cmd.error(`unknown command '${word}'${near ? ` (Did you mean ${near}?)` : ''}; see noetl-console --help`, {
        code: 'commander.unknownCommand',
        exitCode: EXIT.usage,
      });
    }
    return ui.runUi(cmd);
  });
  attachIo(program, io);
  for (const mod of modules) mod.register(program);
  for (const sub of program.commands) {
    if (CLOSING_COMMANDS.has(sub.name())) addServerOptions(sub);
    // Subcommands inherit allowExcessArguments from the program: not wanted there.
    sub.exitOverride().configureOutput(program.configureOutput()).allowExcessArguments(false).addHelpText('after', EXIT_CODES);
  }
  return program;
}

/**
 * Run `noetl-console ...argv` with `io` (the process's own by default) and
 * return its exit code. The bin and the tests run commands through here alike.
 */
export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const program = buildProgram(await commandModules(argv), io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      return ok ? EXIT.ok : EXIT.usage;
    }
    throw error;
  }
  return exitCodeOf(program);
}
