import type { Command } from 'commander';
import * as z from 'zod';
import { currentActor } from '../src/audit.js';
import { EXIT, UsageError } from '../src/errors.js';
import { safeText } from '../src/sanitize.js';
import { addConnectionOptions, runCommand } from './context.js';
import { refuseWriteWhenReadOnly } from './mark.js';
import { validate } from './options.js';

const UndoOptions = z.object({ dryRun: z.boolean().default(false), json: z.boolean().default(false) });
/** As src/audit.ts newBatch makes them. */
const BATCH_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('undo')
      .description('status tables: put back the status a batch replaced, on rows still as it left them (NoETL closes are final)')
      .argument('<batch>', "batch id, as `history` or a write command's JSON prints it")
      .option('--dry-run', 'show what would be restored, write nothing')
      .option('--json', 'JSON for scripts'),
  ).action(async (batch: string, _opts, cmd: Command) =>
    runCommand(
      cmd,
      () => {
        if (!BATCH_ID.test(batch)) throw new UsageError(`undo: expected a batch id like 20261202T130438Z-5e523a; got ${JSON.stringify(batch.slice(0, 60))}`);
        return { batch, ...validate(UndoOptions, cmd.opts()) };
      },
      async (ctx, o) => {
        if (!ctx.source.undo) {
          throw new UsageError(
            `undo: closing events are final in NoETL's event log (every reader has already acted on them): nothing to undo; start the playbook again through the engine (POST /api/execute)`,
          );
        }
        const results = await ctx.source.undo(o.batch, currentActor(ctx.io.env), o.dryRun);
        if (results === null) throw new UsageError(`undo: source ${ctx.source.name} records no batches (its reason column is not append or json): nothing to undo`);
        if (results.length === 0) throw new UsageError(`undo: no rows of batch ${o.batch} in ${ctx.source.describeTarget}`);
        const counts: Record<string, number> = {};
        for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
        if (o.json) ctx.printJson({ batch_id: o.batch, dry_run: o.dryRun, counts, results });
        else {
          for (const r of results) {
            const what =
              r.outcome === 'changed_since'
                ? `changed since (now ${r.status ?? 'gone'}), left alone`
                : `${r.outcome === 'restored' ? 'restored' : 'would restore'} ${r.wrote} -> ${r.previous}`;
            ctx.print(`${safeText(r.execution_id, 80)}  ${what}`);
          }
          ctx.print(
            `${o.dryRun ? '[DRY RUN] ' : ''}${counts.restored ?? counts.would_restore ?? 0} of ${results.length} row(s) of batch ${o.batch} ${o.dryRun ? 'would be' : ''} restored`.replace(
              '  ',
              ' ',
            ),
          );
        }
        return (counts.changed_since ?? 0) > 0 ? EXIT.partial : EXIT.ok;
      },
      (options, o) => refuseWriteWhenReadOnly(options, o.dryRun, 'undo'),
    ),
  );
}
