import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import * as z from 'zod';
import { currentActor, newBatch } from '../src/audit.js';
import { databaseIdentity } from '../src/db/identity.js';
import { UsageError } from '../src/errors.js';
import type { AnalyzeReport } from '../src/noetl/statistics.js';
import { checkPlanTarget, parsePlan, type ParsedPlan, type Plan } from '../src/plan.js';
import { makePlan, sourceOf } from './plan.js';
import { quoted } from '../src/errors.js';
import { addConnectionOptions, addSnapshotOptions, runCommand, type CommandContext } from './context.js';
import {
  analyzeAfterWrite,
  boundByMaxAffected,
  descendantsLeft,
  markAndReport,
  markResultJson,
  markSummary,
  maxAffectedFlag,
  maxAffectedOption,
  overMaxAffected,
  printMarkReport,
  refuseWriteWhenReadOnly,
} from './mark.js';
import { countFlag, durationFlag, minutesFlag, reasonFlag, validate } from './options.js';
import { idle, olderThan as olderThanFlag } from './flags.js';
import { ioOf } from './io.js';
import { historyDaysFlag, historyDaysOption, judgingOf, policyFrom, policyOption } from './policy.js';
import { cleanupByPolicy } from './policy-cleanup.js';
import { isWould, PartialMarkError, type Action, type MarkRequest, type MarkResult, ACTIONS } from '../src/core/mark.js';

const CleanupOptions = z
  .object({
    olderThan: z.string().optional(),
    olderThanMinutes: z.string().optional(),
    maxHours: z.string().optional(),
    idle: idle().schema,
    path: z.string().min(1).max(500).optional(),
    includeChildren: z.boolean().default(false),
    mark: z.enum(['cancelled', 'failed'], { message: 'expected cancelled or failed' }).default('cancelled'),
    reason: reasonFlag.optional(),
    cascade: z.boolean().default(false),
    dryRun: z.boolean().default(false),
    limit: countFlag('--limit', 1_000_000).optional(),
    json: z.boolean().default(false),
    fromPlan: z.string().min(1).optional(),
    maxAffected: maxAffectedFlag,
    policy: z.boolean().default(false),
    historyDays: historyDaysFlag,
  })
  .transform((o, ctx) => {
    if (o.policy) {
      const clash = (['olderThan', 'olderThanMinutes', 'maxHours', 'idle', 'path', 'mark', 'limit', 'fromPlan'] as const).find(
        (k) => o[k] !== undefined && !(k === 'mark' && o.mark === 'cancelled'),
      );
      if (clash) {
        ctx.addIssue({ code: 'custom', message: `--policy: each rule sets the ages and the action; ${flagName(clash)} cannot be combined with it` });
        return z.NEVER;
      }
      return { ...o, olderThanSeconds: 0 };
    }
    if (o.fromPlan !== undefined) return { ...o, olderThanSeconds: 0 };
    const given = [o.olderThan, o.olderThanMinutes, o.maxHours].filter((v) => v !== undefined).length;
    if (given > 1) {
      ctx.addIssue({ code: 'custom', message: '--older-than, --older-than-minutes and --max-hours are the same flag: give one' });
      return z.NEVER;
    }
    if (o.maxHours !== undefined) {
      // The fix-runs scripts' spelling: hours, fractions allowed, at least a minute; whole minutes.
      const parsed = durationFlag('--max-hours', 'h', { min: 60 }).safeParse(o.maxHours);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]!.message });
        return z.NEVER;
      }
      return { ...o, olderThanSeconds: Math.round(parsed.data / 60) * 60 };
    }
    const raw = o.olderThan ?? o.olderThanMinutes;
    if (raw === undefined) {
      ctx.addIssue({ code: 'custom', message: '--older-than <minutes> is required (at least 1)' });
      return z.NEVER;
    }
    const flag = o.olderThan !== undefined ? '--older-than' : '--older-than-minutes';
    const parsed = minutesFlag(flag, 60, { integerMinutes: true }).safeParse(raw);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]!.message });
      return z.NEVER;
    }
    return { ...o, olderThanSeconds: parsed.data };
  });

export function register(program: Command): void {
  addSnapshotOptions(
    addConnectionOptions(
      program
        .command('cleanup')
        .description('mark every stuck execution cancelled (or failed), NoETL-compatible JSON')
        .addOption(olderThanFlag('required: started at least this long ago (minutes, at least 1; or 2h, 1d)', null).option)
        .option('--older-than-minutes <minutes>', "NoETL's spelling of --older-than")
        .option('--max-hours <hours>', "--older-than in hours (the fix-runs scripts' spelling)")
        .addOption(idle().option)
        .option('--path <pattern>', 'only playbooks matching (substring, or glob with * and ?)')
        .option('--include-children', 'kept for scripts: children of running parents are always selected now')
        .option('--mark <state>', 'cancelled or failed', 'cancelled')
        .option('--reason <text>', 'why (stored in each event)', 'stuck execution cleanup by noetl-console')
        .option('--cascade', 'also change every running descendant')
        .option('--dry-run', 'show what would change, write nothing')
        .option('--limit <n>', 'at most n executions (oldest first)')
        .option(...maxAffectedOption)
        .option('--from-plan <file>', 'apply exactly a saved `cleanup --dry-run --json` (- for standard input): its executions, nothing that started since')
        .option(...policyOption)
        .option(...historyDaysOption)
        .option('--json', 'JSON for scripts'),
    ),
  ).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      async (src) => {
        const o = validate(CleanupOptions, cmd.opts());
        src.server();
        const judging = judgingOf(src, o.historyDays);
        return {
          ...o,
          judging,
          policyRules: o.policy ? policyFrom(src, judging) : null,
          maxAffected: o.maxAffected ?? src.maxAffected,
          plan: o.fromPlan === undefined ? null : await readPlan(cmd, o.fromPlan, src.parseId),
        };
      },
      async (ctx, o) => {
        if (o.policyRules) return cleanupByPolicy(ctx, o.policyRules, { ...o, reason: o.reason! });
        if (o.plan) return applyPlan(ctx, o.plan, { ...o, reason: cmd.getOptionValueSource('reason') === 'cli' ? o.reason! : o.plan.reason });
        const minutes = o.olderThanSeconds / 60;
        const stuck = await ctx.source.listStuck(
          {
            olderThanSeconds: o.olderThanSeconds,
            idleSeconds: o.idle ?? null,
            path: o.path ?? null,
            // Children too (whatever --include-children says): a pass that
            // closed only parents would leave their running children for the next.
            includeChildren: true,
            limit: o.limit ?? null,
          },
          ctx.load,
        );
        let left: string[] = [];
        let plan: Plan | null = null;
        let analyze: AnalyzeReport | null = null;
        const batch = newBatch('cleanup', {
          older_than_minutes: minutes,
          idle_minutes: o.idle === undefined ? null : o.idle / 60,
          path: o.path ?? null,
          limit: o.limit ?? null,
          mark: o.mark,
          cascade: o.cascade,
        });
        const verb = o.mark === 'failed' ? 'mark failed' : 'cancel';
        const report = (results: MarkResult[], partial: boolean) => {
          const { changed, counts } = markSummary(results);
          const would = results.filter((r) => r.outcome.startsWith('would_')).map((r) => r.execution_id);
          // NoETL's own wording (its cleanup API): a dry run says what it would do even
          // when that is nothing; a real run with nothing to do says so.
          const message = o.dryRun
            ? `[DRY RUN] Would ${verb} ${would.length} stuck executions older than ${minutes} minutes`
            : stuck.length === 0
              ? `No stuck executions found older than ${minutes} minutes`
              : `${o.mark === 'failed' ? 'Marked failed' : 'Cancelled'} ${changed.length} stuck executions older than ${minutes} minutes${partial ? ' before an error' : ''}`;
          printMarkReport(
            ctx,
            results,
            message,
            o.json
              ? {
                  ...(plan ? { plan } : {}),
                  ...(o.dryRun ? {} : { batch_id: batch.id }),
                  cancelled_count: o.dryRun ? would.length : changed.length,
                  execution_ids: o.dryRun ? would : changed,
                  message,
                  dry_run: o.dryRun,
                  ...(partial ? { partial: true } : {}),
                  older_than_minutes: minutes,
                  mark: o.mark,
                  cascade: o.cascade,
                  counts,
                  running_descendants_left: left.length,
                  running_descendant_ids: left,
                  analyze,
                  results: results.map(markResultJson),
                }
              : null,
          );
        };
        await markAndReport(
          async () =>
            ctx.source.mark(
              await boundByMaxAffected(
                ctx,
                {
                  action: o.mark === 'failed' ? 'fail' : 'cancel',
                  ids: stuck.map((e) => e.execution_id),
                  reason: o.reason!,
                  cascade: o.cascade,
                  dryRun: o.dryRun,
                  actor: currentActor(ctx.io.env),
                  batch,
                },
                o.maxAffected,
              ),
            ),
          async (results) => {
            left = await descendantsLeft(ctx, results, o);
            analyze = await analyzeAfterWrite(ctx, results, o.dryRun);
            if (o.dryRun && o.json) plan = await makePlan(ctx, results, { action: o.mark === 'failed' ? 'fail' : 'cancel', cascade: o.cascade, reason: o.reason! });
          },
          report,
        );
      },
      (options, o) => refuseWriteWhenReadOnly(options, o.dryRun, 'cleanup'),
    ),
  );
}

/** Flags that choose what to close: a plan has chosen already. */
const SELECTION_FLAGS = ['olderThan', 'olderThanMinutes', 'maxHours', 'idle', 'path', 'includeChildren', 'mark', 'cascade', 'limit'];
const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

async function readPlan(cmd: Command, file: string, parseId: (raw: string) => string): Promise<ParsedPlan> {
  const io = ioOf(cmd);
  const clash = SELECTION_FLAGS.find((key) => cmd.getOptionValueSource(key) === 'cli');
  if (clash) throw new UsageError(`--from-plan applies a saved plan as it was made: ${flagName(clash)} cannot change it (make a new dry run instead)`);
  let text: string;
  try {
    if (file === '-') {
      if (io.stdin.isTTY) throw new UsageError('--from-plan -: pipe the plan into standard input');
      text = '';
      for await (const chunk of io.stdin) text += chunk;
    } else text = await readFile(resolve(io.cwd, file), 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--from-plan ${quoted(file)}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const plan = parsePlan(text, file);
  return { ...plan, groups: plan.groups.map((g) => ({ ...g, execution_ids: g.execution_ids.map(parseId) })) };
}

/**
 * `cleanup --from-plan`: the plan's groups in turn, each execution re-checked
 * under its lock; any other running descendant is reported, not changed.
 * --max-affected counts every group before anything is written.
 */
async function applyPlan(ctx: CommandContext, plan: ParsedPlan, o: { dryRun: boolean; json: boolean; reason: string; maxAffected?: number }): Promise<void> {
  checkPlanTarget(plan, { identity: await databaseIdentity(ctx.db), source: sourceOf(ctx) });
  const planned = plan.groups.reduce((n, g) => n + g.execution_ids.length, 0);
  const actions = [...new Set(plan.groups.map((g) => g.action))];
  const one = actions.length === 1 ? actions[0]! : null;
  let analyze: AnalyzeReport | null = null;
  const actor = currentActor(ctx.io.env);
  const groups = plan.groups.map((g) => ({
    ...g,
    batch: newBatch('cleanup', { from_plan: plan.created_at, action: g.action, planned: g.execution_ids.length, cascade: plan.cascade }),
  }));
  const request = (g: (typeof groups)[number], dryRun: boolean): MarkRequest => ({
    action: g.action,
    ids: g.execution_ids,
    reason: o.reason,
    cascade: plan.cascade,
    dryRun,
    actor,
    bound: new Set(g.execution_ids),
    batch: g.batch,
  });
  const actionOf = new Map<MarkResult, Action>();
  const report = (results: MarkResult[], partial: boolean) => {
    const { changed, counts } = markSummary(results);
    const would = results.filter((r) => isWould(r.outcome)).map((r) => r.execution_id);
    const unseen = counts.not_shown ?? 0;
    const done = one
      ? o.dryRun
        ? `[DRY RUN] Would ${ACTIONS[one].verb} ${would.length}`
        : `${ACTIONS[one].done} ${changed.length}`
      : o.dryRun
        ? `[DRY RUN] Would close ${would.length}`
        : `Closed ${changed.length}`;
    const message = `${done} of the plan's ${planned} executions${partial ? ' before an error' : ''}${unseen ? `; ${unseen} running descendant(s) not in the plan, not changed` : ''}`;
    printMarkReport(
      ctx,
      results,
      message,
      o.json
        ? {
            from_plan: { created_at: plan.created_at, executions: planned, groups: plan.groups.length },
            ...(o.dryRun ? {} : { batch_id: groups.length === 1 ? groups[0]!.batch.id : null, batch_ids: groups.map((g) => g.batch.id) }),
            // One action, else null: each result says its own.
            action: one,
            dry_run: o.dryRun,
            cascade: plan.cascade,
            reason: o.reason,
            ...(partial ? { partial: true } : {}),
            changed_count: changed.length,
            execution_ids: o.dryRun ? would : changed,
            counts,
            analyze,
            message,
            results: results.map((r) => ({ ...markResultJson(r), action: actionOf.get(r) ?? null })),
          }
        : null,
    );
  };
  await markAndReport(
    async () => {
      if (o.maxAffected !== undefined && !o.dryRun) {
        let total = 0;
        for (const g of groups) total += (await ctx.source.mark(request(g, true))).filter((r) => isWould(r.outcome)).length;
        if (total > o.maxAffected) {
          throw overMaxAffected(total, o.maxAffected);
        }
      }
      const results: MarkResult[] = [];
      const add = (rs: readonly MarkResult[], action: Action) => {
        for (const r of rs) {
          actionOf.set(r, action);
          results.push(r);
        }
      };
      for (const g of groups) {
        try {
          add(await ctx.source.mark(request(g, o.dryRun)), g.action);
        } catch (error) {
          // A later group failed: the earlier ones stay written and are reported.
          if (error instanceof PartialMarkError) add(error.results, g.action);
          else if (results.length === 0) throw error;
          throw new PartialMarkError(results, error instanceof PartialMarkError ? error.cause : error);
        }
      }
      return results;
    },
    async (results) => {
      analyze = await analyzeAfterWrite(ctx, results, o.dryRun);
    },
    report,
  );
}
