import type { Command } from 'commander';
import * as z from 'zod';
import { listJsonRow } from '../src/format/json-rows.js';
import { listLines } from '../src/format/human.js';
import { addConnectionOptions, addSnapshotOptions, runCommand } from './context.js';
import { FilterError, matchFilter, parseFilter } from '../src/core/filter-language.js';
import { UsageError } from '../src/errors.js';
import { countFlag, validate } from './options.js';
import { addFlags, fieldsOf, idle, olderThan } from './flags.js';

const FLAGS = [olderThan('started at least this long ago (minutes, or 90s/2h/1d); 0 lists every running one'), idle()] as const;

const ListOptions = z.object({
  ...fieldsOf(FLAGS),
  path: z.string().min(1, 'must not be empty').max(500, 'at most 500 characters').optional(),
  includeChildren: z.boolean().default(false),
  limit: countFlag('--limit', 1_000_000).optional(),
  json: z.boolean().default(false),
  jsonl: z.boolean().default(false),
  filter: z.string().optional(),
}).refine((o) => !(o.json && o.jsonl), { message: '--json and --jsonl: pick one', path: ['jsonl'] });

export function register(program: Command): void {
  addSnapshotOptions(addConnectionOptions(
    addFlags(program.command('list').description('list stuck executions, oldest first'), FLAGS)
      .option('--path <pattern>', 'playbook path: substring, or a glob with * and ?')
      .option('--include-children', 'also list children of running parents as their own rows')
      .option('--limit <n>', 'at most n rows')
      .option('--json', 'JSON for scripts (pretty on a terminal, compact otherwise)')
      .option('--jsonl', 'JSON Lines: one execution a line, the --json row')
      .option('--filter <expr>', 'the console\'s filter language: words, key:value (diag: worker: step: path: id: tenant:), age>2h idle>30m'),
  )).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      () => {
        const o = validate(ListOptions, cmd.opts());
        return { ...o, parsed: o.filter === undefined ? null : parseFilterFlag(o.filter) };
      },
      async (ctx, o) => {
        const listed = await ctx.source.listStuck({
          olderThanSeconds: o.olderThan,
          idleSeconds: o.idle ?? null,
          path: o.path ?? null,
          includeChildren: o.includeChildren,
          limit: o.parsed ? null : (o.limit ?? null),
        }, ctx.load);
        const rows = o.parsed ? listed.filter((e) => matchFilter(o.parsed!, e)).slice(0, o.limit ?? undefined) : listed;
        if (o.jsonl) {
          ctx.printJsonLines(rows.map(listJsonRow));
        } else if (o.json) {
          ctx.printJson({
            executions: rows.map(listJsonRow),
            count: rows.length,
            older_than_minutes: o.olderThan / 60,
            idle_minutes: o.idle === undefined ? null : o.idle / 60,
            generated_at: new Date().toISOString(),
          });
        } else {
          for (const line of listLines(rows, ctx.color, ctx.width)) ctx.print(line);
        }
      },
    ),
  );
}

function parseFilterFlag(raw: string) {
  try {
    return parseFilter(raw);
  } catch (e) {
    if (e instanceof FilterError) throw new UsageError(`--filter: ${e.message}`);
    throw e;
  }
}
