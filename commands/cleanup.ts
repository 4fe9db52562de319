import type { Command } from 'commander';
import { z } from 'zod';
import { currentActor } from '../src/audit.js';
import { markLines } from '../src/format/human.js';
import type { MarkResult } from '../src/noetl/mark.js';
import { quoted } from '../src/errors.js';
import { addConnectionOptions, runCommand } from './context.js';
import { descendantsLeft, markAndReport, markResultJson, markSummary, refuseWriteWhenReadOnly } from './mark.js';
import { countFlag, minutesFlag, reasonFlag, validate } from './options.js';

const CleanupOptions = z
  .object({
    olderThan: z.string().optional(),
    olderThanMinutes: z.string().optional(),
    maxHours: z.string().optional(),
    idle: minutesFlag('--idle').optional(),
    path: z.string().min(1).max(500).optional(),
    includeChildren: z.boolean().default(false),
    mark: z.enum(['cancelled', 'failed'], { message: 'expected cancelled or failed' }).default('cancelled'),
    reason: reasonFlag.optional(),
    cascade: z.boolean().default(false),
    dryRun: z.boolean().default(false),
    limit: countFlag('--limit', 1_000_000).optional(),
    json: z.boolean().default(false),
  })
  .transform((o, ctx) => {
    const given = [o.olderThan, o.olderThanMinutes, o.maxHours].filter((v) => v !== undefined).length;
    if (given > 1) {
      ctx.addIssue({ code: 'custom', message: '--older-than, --older-than-minutes and --max-hours are the same flag: give one' });
      return z.NEVER;
    }
    if (o.maxHours !== undefined) {
      // The fix-runs scripts' spelling: hours, fractions allowed, at least a minute.
      if (!/^\d{1,6}(\.\d{1,4})?$/.test(o.maxHours.trim()) || Number(o.maxHours) * 60 < 1) {
        ctx.addIssue({ code: 'custom', message: `--max-hours: expected a number of hours (at least 1 minute's worth); got ${quoted(o.maxHours)}` });
        return z.NEVER;
      }
      return { ...o, olderThanSeconds: Math.round(Number(o.maxHours) * 60) * 60 };
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
  addConnectionOptions(
    program
      .command('cleanup')
      .description('mark every stuck execution cancelled (or failed), NoETL-compatible JSON')
      .option('--older-than <minutes>', 'required: started at least this long ago (minutes, at least 1; or 2h, 1d)')
      .option('--older-than-minutes <minutes>', "NoETL's spelling of --older-than")
      .option('--max-hours <hours>', '--older-than in hours (the fix-runs scripts\' spelling)')
      .option('--idle <minutes>', 'and no event at all for this long')
      .option('--path <pattern>', 'only playbooks matching (substring, or glob with * and ?)')
      .option('--include-children', 'kept for scripts: children of running parents are always selected now')
      .option('--mark <state>', 'cancelled or failed', 'cancelled')
      .option('--reason <text>', 'why (stored in each event)', 'stuck execution cleanup by noetl-console')
      .option('--cascade', 'also change every running descendant')
      .option('--dry-run', 'show what would change, write nothing')
      .option('--limit <n>', 'at most n executions (oldest first)')
      .option('--json', 'JSON for scripts'),
  ).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      (src) => {
        const o = validate(CleanupOptions, cmd.opts());
        src.server();
        return o;
      },
      async (ctx, o) => {
        const minutes = o.olderThanSeconds / 60;
        const stuck = await ctx.source.listStuck({
          olderThanSeconds: o.olderThanSeconds,
          idleSeconds: o.idle ?? null,
          path: o.path ?? null,
          // Children too (whatever --include-children says): a pass that
          // closed only parents would leave their running children for the next.
          includeChildren: true,
          limit: o.limit ?? null,
        });
        let left: string[] = [];
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
          if (o.json) {
            ctx.printJson({
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
              results: results.map(markResultJson),
            });
          } else {
            for (const line of markLines(results, ctx.color)) ctx.print(line);
            ctx.print(message);
          }
        };
        await markAndReport(
          () =>
            ctx.source.mark({
              action: o.mark === 'failed' ? 'fail' : 'cancel',
              ids: stuck.map((e) => e.execution_id),
              reason: o.reason!,
              cascade: o.cascade,
              dryRun: o.dryRun,
              actor: currentActor(),
            }),
          async (results) => {
            left = await descendantsLeft(ctx, results, o);
          },
          report,
        );
      },
      (options, o) => refuseWriteWhenReadOnly(options, o.dryRun, 'cleanup'),
    ),
  );
}
