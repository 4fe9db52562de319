import type { Command } from 'commander';
import * as z from 'zod';
import { EXIT, UsageError } from '../src/errors.js';
import { addConnectionOptions, runCommand } from './context.js';
import { validate } from './options.js';

const VerifyOptions = z.object({ json: z.boolean().default(false) });

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('verify')
      .description("what happened to a batch's executions since noetl-console closed them (exit 3 when anything did)")
      .argument('<batch>', 'batch id, as `history` prints it')
      .option('--json', 'JSON for scripts'),
  ).action(async (batch: string, _opts, cmd: Command) =>
    runCommand(
      cmd,
      () => {
        if (!/^[\w@.:-]{1,200}$/.test(batch)) throw new UsageError('verify: expected a batch id as `history` prints it');
        return { batch, ...validate(VerifyOptions, cmd.opts()) };
      },
      async (ctx, o) => {
        const source = ctx.source;
        if (!source.verify) throw new UsageError(`verify reads NoETL's event log; source ${source.name} is a status table`);
        const results = await source.verify(o.batch);
        if (results.length === 0) throw new UsageError(`verify: no batch ${o.batch} in this database (see \`history\`)`);
        const counts: Record<string, number> = {};
        for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
        const clean = results.every((r) => r.status === 'quiet');
        if (o.json) ctx.printJson({ batch_id: o.batch, honoured: clean, counts, results });
        else {
          const c = ctx.color;
          for (const r of results) {
            if (r.status === 'quiet') continue;
            const what = r.after.map((a) => `${a.event_type} (${a.by}, ${a.created_at})`).join(', ');
            ctx.print(`${r.execution_id}  ${c.yellow(r.status === 'closed_again' ? 'closed again' : 'engine activity after the close')}: ${what}`);
          }
          ctx.print(
            clean
              ? `Batch ${o.batch}: all ${results.length} execution(s) quiet since the close.`
              : `Batch ${o.batch}: ${results.length - (counts.quiet ?? 0)} of ${results.length} execution(s) had events after the close.`,
          );
        }
        return clean ? EXIT.ok : EXIT.partial;
      },
    ),
  );
}
