import { Command, CommanderError } from 'commander';
import { EXIT } from '../src/errors.js';
import { VERSION } from '../src/version.js';
import * as cleanup from './cleanup.js';
import * as health from './health.js';
import * as list from './list.js';
import * as mark from './mark.js';
import * as show from './show.js';
import * as ui from './ui.js';

const HELP_FOOTER = `
Connection: --database-url, else NOETL_DATABASE_URL or DATABASE_URL, else the
standard PG* variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, .pgpass).
Schema: --schema, else NOETL_SCHEMA, else noetl. Embedded: --database-url pglite:///dir

Exit codes:
  0  done (also when there was nothing to do)
  1  operational failure: database unreachable, SQL error, timeout, refused write
  2  bad usage or input: unknown flag, bad minutes or id, bad environment; nothing written
  3  cancel/fail finished but some named ids were not changed (already finished or
     not found); show: execution not found

Examples:
  noetl-console                                   interactive console
  noetl-console list --older-than 60 --json
  noetl-console show 543857931469455628
  noetl-console cancel 543857931469455628 --cascade --reason "worker pod rolled"
  noetl-console cleanup --older-than 60 --idle 30 --dry-run --json
`;

export function buildProgram(): Command {
  const program = new Command('noetl-console')
    .description('Find and clear stuck NoETL workflow executions, straight from PostgreSQL.')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .addHelpText('after', HELP_FOOTER)
    .exitOverride()
    .configureOutput({
      // Commander's own usage errors: one line, exit 2 (set in run()).
      outputError: (text, write) => write(`noetl-console: ${text.replace(/^error: /, '').trim()}\n`),
    });
  ui.addUiOptions(program);
  program.action(async (_opts, cmd: Command) => ui.runUi(cmd));
  for (const mod of [list, show, mark, cleanup, health, ui]) mod.register(program);
  for (const sub of program.commands) sub.exitOverride().configureOutput(program.configureOutput());
  return program;
}

export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      const ok = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      process.exitCode = ok ? EXIT.ok : EXIT.usage;
      return;
    }
    throw error;
  }
}
