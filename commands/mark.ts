import type { Command } from 'commander';
import * as z from 'zod';
import { currentActor, newBatch } from '../src/audit.js';
import { EXIT, UsageError } from '../src/errors.js';
import { markLines } from '../src/format/human.js';
import { CLOSE_ROWS } from '../src/noetl/vocabulary.js';
import type { ConnectionOptions } from '../src/config.js';
import type { AnalyzeReport } from '../src/noetl/statistics.js';
import { addConnectionOptions, runCommand, type CommandContext } from './context.js';
import { countFlag, readIds, reasonFlag, validate } from './options.js';
import { ioOf } from './io.js';
import { PartialMarkError, isChange, isWould, type MarkRequest, type MarkResult, ACTIONS, type Action } from '../src/core/mark.js';

/** --max-affected: one definition for every closing command. */
export const maxAffectedOption = ['--max-affected <n>', 'refuse (exit 2, nothing written) when more than n executions would change, cascade included'] as const;
export const maxAffectedFlag = countFlag('--max-affected', 10_000_000).optional();

const MarkOptions = z
  .object({
    reason: reasonFlag.optional(),
    cascade: z.boolean().default(false),
    dryRun: z.boolean().default(false),
    json: z.boolean().default(false),
    jsonl: z.boolean().default(false),
    maxAffected: maxAffectedFlag,
  })
  .refine((o) => !(o.json && o.jsonl), { message: '--json and --jsonl: pick one', path: ['jsonl'] });

/** Before connecting: a write command in a read-only session is refused (exit 2, nothing written). */
export function refuseWriteWhenReadOnly(options: ConnectionOptions, dryRun: boolean, what: string): void {
  if (options.readOnly && !dryRun) {
    throw new UsageError(`refused: ${what} writes, and this session is read-only (--read-only / NOETL_CONSOLE_READ_ONLY / a read_only context); use --dry-run to preview`);
  }
}

/**
 * Write, then report. When a later batch fails, earlier batches stay
 * committed: report them (partial) before the failure ends the command.
 */
export async function markAndReport(
  run: () => Promise<MarkResult[]>,
  /** Reads after a complete write, before the report (what it left behind). */
  after: (results: MarkResult[]) => Promise<void>,
  report: (results: MarkResult[], partial: boolean) => void,
): Promise<MarkResult[]> {
  try {
    const results = await run();
    await after(results);
    report(results, false);
    return results;
  } catch (error) {
    if (error instanceof PartialMarkError) report(error.results, true);
    throw error;
  }
}

/** A write command's report: its JSON, or a line per execution and the summary. */
export function printMarkReport(ctx: CommandContext, results: readonly MarkResult[], message: string, json: object | null): void {
  if (json) ctx.printJson(json);
  else {
    for (const line of markLines(results, ctx.color)) ctx.print(line);
    ctx.print(message);
  }
}

/** One execution's outcome in the JSON of cancel, fail and cleanup. */
export function markResultJson(r: MarkResult) {
  return {
    execution_id: r.execution_id,
    outcome: r.outcome,
    parent_execution_id: r.parent_execution_id,
    root_execution_id: r.root_execution_id,
    cascaded: r.cascaded,
    state: r.state,
    event_id: r.event_id,
    ...(r.message !== undefined ? { message: r.message } : {}),
  };
}

export function markSummary(results: readonly MarkResult[]) {
  const changed = results.filter((r) => isChange(r.outcome)).map((r) => r.execution_id);
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return { changed, counts };
}

/**
 * After a close without cascade: the running descendants it left, said on
 * stderr (the JSON carries them too), so one pass never hides them.
 */
export async function descendantsLeft(ctx: CommandContext, results: readonly MarkResult[], opts: { cascade: boolean; dryRun: boolean }): Promise<string[]> {
  if (opts.cascade || !ctx.source.hasChildren) return [];
  const closed = results.filter((r) => isChange(r.outcome) || isWould(r.outcome)).map((r) => r.execution_id);
  const left = await ctx.source.runningDescendants(closed);
  if (left.length > 0) {
    const listed = `${left.slice(0, 3).join(', ')}${left.length > 3 ? ', ...' : ''}`;
    ctx.note(`${opts.dryRun ? 'would leave' : 'left'} ${left.length} running descendant(s) of the executions closed (${listed}); add --cascade to close them too`);
  }
  return left;
}

/**
 * After a big write: the tables written analyzed (or the operator told to),
 * so that the next full load keeps its plan (src/noetl/statistics.ts).
 */
export async function analyzeAfterWrite(ctx: CommandContext, results: readonly MarkResult[], dryRun: boolean): Promise<AnalyzeReport | null> {
  if (dryRun || !ctx.source.analyzeWritten) return null;
  const report = await ctx.source.analyzeWritten(results).catch((error: unknown) => {
    ctx.note(`could not analyze the tables written: ${(error as Error).message}; \`doctor\` reports stale statistics`);
    return null;
  });
  if (!report) return null;
  if (report.analyzed.length > 0) ctx.note(`analyzed ${report.analyzed.join(', ')} after writing ${report.rows} rows, so that the planner counts them`);
  const left = [...report.not_permitted, ...report.failed.map((f) => f.table)];
  if (left.length > 0) {
    ctx.note(
      `wrote ${report.rows} rows: run ANALYZE ${left.join(', ')} (this role may not, or it failed), else listing may slow down until autovacuum does; \`doctor --script\` includes it`,
    );
  }
  return report;
}

/**
 * With --max-affected: a dry run first; over the limit is refused before
 * anything is written, and the write is then bound to what the dry run
 * counted (what started since is reported not_shown, not changed).
 */
export async function boundByMaxAffected(ctx: CommandContext, req: MarkRequest, max: number | undefined): Promise<MarkRequest> {
  if (max === undefined || req.dryRun) return req;
  const would = (await ctx.source.mark({ ...req, dryRun: true })).filter((r) => isWould(r.outcome)).map((r) => r.execution_id);
  if (would.length > max) throw overMaxAffected(would.length, max);
  return { ...req, bound: new Set([...(req.bound ?? []), ...would]) };
}

/** The refusal when a write would change more than --max-affected (`what` says what to narrow). */
export function overMaxAffected(total: number, max: number, what: 'selection' | 'policy' = 'selection'): UsageError {
  return new UsageError(`refused: ${total} executions would change, more than --max-affected ${max}; nothing written (narrow the ${what} or raise the limit)`);
}

/** A batch's record keeps the ids named up to this many (the rows it wrote carry every one). */
export const BATCH_IDS_KEPT = 100;

const DESCRIPTIONS: Record<Action, string> = {
  cancel: 'cancel executions, only those still running',
  fail: 'mark executions failed, only those still running',
  complete: 'mark executions completed, only those still running: for work that finished but was never closed',
};

function register1(program: Command, action: Action): void {
  const { verb, done } = ACTIONS[action];
  addConnectionOptions(
    program
      .command(action)
      .description(`${DESCRIPTIONS[action]} (NoETL: ${CLOSE_ROWS[action].map((r) => r.eventType).join(' + ')})`)
      .argument('<ids...>', 'execution ids, or - to read them from standard input, one a line')
      .option('--reason <text>', 'why (stored in the event)', `${ACTIONS[action].done.toLowerCase()} with noetl-console`)
      .option('--cascade', 'also change every running descendant (children, their children, ...)')
      .option('--dry-run', 'show what would change, write nothing')
      .option(...maxAffectedOption)
      .option('--json', 'JSON for scripts (pretty on a terminal, compact otherwise)')
      .option('--jsonl', "JSON Lines: one result a line, the --json results' rows"),
  ).action(async (ids: string[], _opts, cmd: Command) =>
    runCommand(
      cmd,
      async (src) => {
        const o = validate(MarkOptions, cmd.opts());
        src.server(); // a bad --server or NOETL_SERVER_URL is bad input: exit 2 before connecting
        return { ...o, maxAffected: o.maxAffected ?? src.maxAffected, ids: await readIds(ids, src.parseId, ioOf(cmd).stdin) };
      },
      async (ctx, o) => {
        let left: string[] = [];
        let analyze: AnalyzeReport | null = null;
        const batch = newBatch(action, { ids: o.ids.slice(0, BATCH_IDS_KEPT), named: o.ids.length, cascade: o.cascade });
        const report = (results: MarkResult[], partial: boolean) => {
          const { changed, counts } = markSummary(results);
          const message = o.dryRun
            ? `[DRY RUN] Would ${verb} ${results.filter((r) => isWould(r.outcome)).length} execution(s)`
            : `${done} ${changed.length} execution(s)${partial ? ' before an error' : ''}`;
          if (o.jsonl) {
            ctx.printJsonLines(results.map(markResultJson));
          } else {
            printMarkReport(
              ctx,
              results,
              message,
              o.json
                ? {
                    action,
                    ...(o.dryRun ? {} : { batch_id: batch.id }),
                    dry_run: o.dryRun,
                    cascade: o.cascade,
                    reason: o.reason,
                    ...(partial ? { partial: true } : {}),
                    changed_count: changed.length,
                    execution_ids: changed,
                    counts,
                    running_descendants_left: left.length,
                    running_descendant_ids: left,
                    analyze,
                    message,
                    results: results.map(markResultJson),
                  }
                : null,
            );
          }
        };
        const results = await markAndReport(
          async () =>
            ctx.source.mark(
              await boundByMaxAffected(ctx, { action, ids: o.ids, reason: o.reason!, cascade: o.cascade, dryRun: o.dryRun, actor: currentActor(ctx.io.env), batch }, o.maxAffected),
            ),
          async (results) => {
            left = await descendantsLeft(ctx, results, o);
            analyze = await analyzeAfterWrite(ctx, results, o.dryRun);
          },
          report,
        );
        const named = new Set(o.ids);
        const unchangedNamed = results.filter((r) => named.has(r.execution_id) && (r.outcome === 'already_terminal' || r.outcome === 'not_found'));
        return unchangedNamed.length > 0 ? EXIT.partial : EXIT.ok;
      },
      (options, o) => refuseWriteWhenReadOnly(options, o.dryRun, action),
    ),
  );
}

export function register(program: Command): void {
  register1(program, 'cancel');
  register1(program, 'fail');
  register1(program, 'complete');
}
