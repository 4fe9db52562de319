import type { Command } from 'commander';
import * as z from 'zod';
import { listJsonRow } from '../src/format/json-rows.js';
import { addConnectionOptions, addSnapshotOptions, runCommand } from './context.js';
import { FilterError, matchFilter, parseFilter } from '../src/core/filter-language.js';
import { UsageError } from '../src/errors.js';
import { countFlag, validate } from './options.js';
import { addFlags, fieldsOf, idle, olderThan } from './flags.js';
import { historyDaysFlag, historyDaysOption, historyRows, judgingOf, noted, policyFrom, policyOption, readThresholds } from './policy.js';
import { verdictJson, type Verdict } from '../src/policy.js';
import type { Execution } from '../src/core/execution.js';
import { safeText } from '../src/sanitize.js';

const FLAGS = [olderThan('started at least this long ago (minutes, or 90s/2h/1d); 0 lists every running one'), idle()] as const;

const ListOptions = z
  .object({
    ...fieldsOf(FLAGS),
    path: z.string().min(1, 'must not be empty').max(500, 'at most 500 characters').optional(),
    includeChildren: z.boolean().default(false),
    limit: countFlag('--limit', 1_000_000).optional(),
    json: z.boolean().default(false),
    jsonl: z.boolean().default(false),
    filter: z.string().optional(),
    policy: z.boolean().default(false),
    historyDays: historyDaysFlag,
  })
  .refine((o) => !(o.json && o.jsonl), { message: '--json and --jsonl: pick one', path: ['jsonl'] });

export function register(program: Command): void {
  addSnapshotOptions(
    addConnectionOptions(
      addFlags(program.command('list').description('list stuck executions, oldest first'), FLAGS)
        .option('--path <pattern>', 'playbook path: substring, or a glob with * and ?')
        .option('--include-children', 'also list children of running parents as their own rows')
        .option('--limit <n>', 'at most n rows')
        .option('--json', 'JSON for scripts (pretty on a terminal, compact otherwise)')
        .option('--jsonl', 'JSON Lines: one execution a line, the --json row')
        .option('--filter <expr>', "the console's filter language: words, key:value (diag: worker: step: path: id: tenant:), age>2h idle>30m ratio>3")
        .option(...policyOption)
        .option(...historyDaysOption),
    ),
  ).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      (src) => {
        const o = validate(ListOptions, cmd.opts());
        if (o.policy) {
          const clash = ['olderThan', 'idle'].find((key) => cmd.getOptionValueSource(key) === 'cli');
          if (clash) throw new UsageError(`--policy: the policies set the ages; --${clash === 'olderThan' ? 'older-than' : 'idle'} cannot be combined with it`);
        }
        const judging = judgingOf(src, o.historyDays);
        return { ...o, judging, policy: o.policy ? policyFrom(src, judging) : null, parsed: o.filter === undefined ? null : parseFilterFlag(o.filter) };
      },
      async (ctx, o) => {
        const pending = readThresholds(ctx.source, o.judging, ctx.io.env);
        const listed = await ctx.source.listStuck(
          {
            // A policy judges every running execution by its own rule.
            olderThanSeconds: o.policy ? 0 : o.olderThan,
            idleSeconds: o.policy ? null : (o.idle ?? null),
            path: o.path ?? null,
            includeChildren: o.includeChildren,
            limit: o.parsed || o.policy ? null : (o.limit ?? null),
          },
          ctx.load,
        );
        const map = noted(ctx, await pending);
        let rows = historyRows(listed, map, o.judging);
        const verdicts = new Map<string, Verdict>();
        if (o.policy) {
          rows = o.policy.stuck(rows, map).map(({ execution, verdict }) => {
            verdicts.set(execution.execution_id, verdict);
            return execution;
          });
        }
        if (o.parsed) rows = rows.filter((e) => matchFilter(o.parsed!, e));
        if (o.limit !== undefined) rows = rows.slice(0, o.limit);
        const jsonRow = (e: Execution) => {
          const v = verdicts.get(e.execution_id);
          return v ? { ...listJsonRow(e), policy: verdictJson(v) } : listJsonRow(e);
        };
        if (o.jsonl) {
          ctx.printJsonLines(rows.map(jsonRow));
        } else if (o.json) {
          ctx.printJson({
            executions: rows.map(jsonRow),
            count: rows.length,
            older_than_minutes: o.policy ? null : o.olderThan / 60,
            idle_minutes: o.policy || o.idle === undefined ? null : o.idle / 60,
            ...(o.policy ? { policy: true, history_days: o.judging.days } : {}),
            generated_at: new Date().toISOString(),
          });
        } else {
          // Loaded for the table only: its text-width tables and segmenters were a tenth of a large --json run.
          const { listLines } = await import('../src/format/human.js');
          for (const line of listLines(rows, ctx.color, ctx.width)) ctx.print(line);
          if (o.policy && rows.length > 0) {
            ctx.print();
            for (const e of rows) {
              const v = verdicts.get(e.execution_id)!;
              ctx.print(`${e.execution_id}  rule ${v.rule} (${safeText(v.name, 80)}) ${v.action}: ${v.why}`);
            }
          }
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
