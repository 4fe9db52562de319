import type { Command } from 'commander';
import * as z from 'zod';
import { resolveSource } from '../src/source-select.js';
import { judgeInConsole } from '../src/learned-thresholds.js';
import { judgingOf } from './policy.js';
import { UsageError } from '../src/errors.js';
import { colorEnabled } from '../src/format/color.js';
import { addConnectionOptions, addSnapshotOptions, connectionFlags, fail, snapshotOptions } from './context.js';
import { durationFlag, validate } from './options.js';
import { addFlags, fieldsOf, idle, olderThan, pick, reason } from './flags.js';

const FLAGS = [olderThan('age filter to start with (minutes, or 90s/2h/1d)'), idle('idle filter to start with')] as const;
const REASON = reason('the reason the cancel / fail dialog opens with');
import { ioOf, setExitCode } from './io.js';

const UiOptions = z.object({
  ...fieldsOf([...FLAGS, REASON]),
  refresh: durationFlag('--refresh', 's', { min: 0.2, max: 3600 }),
});

export function addUiOptions(cmd: Command): Command {
  return addFlags(addFlags(addSnapshotOptions(addConnectionOptions(cmd)), FLAGS).option('--refresh <seconds>', 'refresh interval', '2'), [REASON]);
}

/** The interactive console. Ink and React are imported here only. */
export async function runUi(cmd: Command): Promise<void> {
  let target = 'the database';
  const io = ioOf(cmd);
  try {
    const flags = connectionFlags(cmd);
    const o = validate(UiOptions, cmd.opts());
    const resolved = resolveSource(flags, io.env, io.cwd);
    const options = resolved.connection;
    const snapshot = snapshotOptions(flags, resolved, io.env);
    const judging = judgingOf(resolved, undefined);
    target = options.target.label;
    // The console (Ink) draws on the process's own terminal: bin only.
    if (!io.ownsProcess || !io.stdin.isTTY || !io.stdout.isTTY) {
      throw new UsageError('the interactive console needs a terminal; for scripts use the subcommands (list, show, cancel, fail, cleanup, health) with --json');
    }
    const { runInteractive } = await import('../components/run.js');
    setExitCode(
      cmd,
      await runInteractive({
        connection: options,
        openSource: (db) => {
          const source = resolved.open(db);
          source.useSnapshot?.(snapshot);
          // Learned thresholds kept on disk, as the commands keep them: the console starts with the RATIO column.
          judgeInConsole(source, judging, io.env);
          return source;
        },
        context: resolved.context,
        contexts: resolved.contexts,
        forContext: resolved.forContext,
        // What counts as stuck, as health and metrics have it: the flag, else the config's health section.
        olderThanSeconds: pick(cmd, 'olderThan', o.olderThan, resolved.health?.stuck_seconds),
        idleSeconds: o.idle ?? null,
        refreshSeconds: o.refresh,
        color: colorEnabled(io.stdout, flags.color, io.env),
        reason: o.reason ?? null,
      }),
    );
    // Quitting never waits on the network: whatever is still pending (a read on a
    // dead link, destroyed by close()) does not keep the process up past a second.
    setTimeout(() => process.exit(), 1000).unref();
  } catch (error) {
    setExitCode(cmd, fail(error, target, io));
  }
}

export function register(program: Command): void {
  addUiOptions(program.command('ui').description('the interactive console (the default on a terminal)')).action(async (_opts, cmd: Command) => runUi(cmd));
}
