import type { Command } from 'commander';
import * as z from 'zod';
import { UsageError } from '../src/errors.js';
import { safeText } from '../src/sanitize.js';
import type { HistoryFilter } from '../src/noetl/history.js';
import { addConnectionOptions, runCommand } from './context.js';
import { countFlag, minutesFlag, validate } from './options.js';

const HistoryOptions = z.object({
  since: minutesFlag('--since', 60).default(7 * 86400),
  user: z.string().min(1).max(200).optional(),
  reason: z.string().min(1).max(1000).optional(),
  execution: z.string().optional(),
  batch: z
    .string()
    .regex(/^[\w@.:-]{1,200}$/, 'expected a batch id as history prints it')
    .optional(),
  limit: countFlag('--limit', 10_000).default(50),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('history')
      .description("the batches noetl-console wrote (every operator's, read from the database): when, who, from where, why, what")
      .option('--since <minutes>', 'written in the last (minutes, or 2h, 7d; default 7d)')
      .option('--user <name>', 'written by this OS user')
      .option('--reason <text>', 'whose reason contains this text (any case)')
      .option('--execution <id>', 'batches that closed this execution')
      .option('--batch <id>', 'one batch')
      .option('--limit <n>', 'at most n batches, newest first (default 50)')
      .option('--json', 'JSON for scripts'),
  ).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      (src) => {
        const o = validate(HistoryOptions, cmd.opts());
        return { ...o, execution: o.execution === undefined ? null : src.parseId(o.execution) };
      },
      async (ctx, o) => {
        const source = ctx.source;
        if (!source.history) throw new UsageError(`history reads NoETL's event log; source ${source.name} is a status table`);
        const filter: HistoryFilter = {
          sinceSeconds: o.since,
          user: o.user ?? null,
          reason: o.reason ?? null,
          executionId: o.execution,
          batchId: o.batch ?? null,
          limit: o.limit,
        };
        const batches = await source.history(filter);
        if (o.json) {
          ctx.printJson({ count: batches.length, batches });
          return;
        }
        const c = ctx.color;
        for (const b of batches) {
          ctx.print(
            `${b.started_at}  ${c.bold(b.batch_id)}  ${b.action ?? '?'} ${b.executions}  ${safeText(`${b.os_user ?? '?'}@${b.host ?? '?'}`, 80)}  ${c.dim(b.command ?? '')}  ${safeText(b.reason ?? '', 200)}`,
          );
        }
        if (batches.length === 0) ctx.print('No batches written by noetl-console match.');
      },
    ),
  );
}
