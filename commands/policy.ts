/**
 * What list, cleanup, health, metrics and sweep share to judge by the config
 * file's policies and learned thresholds.
 */
import * as z from 'zod';
import { currentActor, newBatch } from '../src/audit.js';
import { UsageError } from '../src/errors.js';
import { PartialMarkError, isWould, type MarkResult } from '../src/core/mark.js';
import type { Execution } from '../src/core/execution.js';
import type { Action } from '../src/core/mark.js';
import { Policy, type Verdict } from '../src/policy.js';
import type { ResolvedSource } from '../src/source-select.js';
import type { ExecutionSource } from '../src/source.js';
import { DEFAULT_HISTORY_DAYS, DEFAULT_MIN_HISTORY, withHistory, type ThresholdMap } from '../src/core/thresholds.js';
import { DEFAULT_THRESHOLDS_TTL_MS, learnedThresholds } from '../src/learned-thresholds.js';
import type { CommandContext } from './context.js';
import { overMaxAffected } from './mark.js';

export const historyDaysOption = [
  '--history-days <n>',
  `learned thresholds from runs finished in the last n days (default ${DEFAULT_HISTORY_DAYS}, or the config's thresholds.days)`,
] as const;
export const historyDaysFlag = z
  .string()
  .transform((raw, ctx) => {
    if (!/^\d{1,3}$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > 365) {
      ctx.addIssue({ code: 'custom', message: `--history-days: expected a whole number of days from 1 to 365; got ${JSON.stringify(raw.slice(0, 40))}` });
      return z.NEVER;
    }
    return Number(raw);
  })
  .optional();
export const policyOption = ['--policy', "judge by the config file's policies (README, Policies)"] as const;

export interface Judging {
  days: number;
  minHistory: number;
  cacheMs: number;
}

export function judgingOf(resolved: ResolvedSource, days: number | undefined): Judging {
  const t = resolved.thresholds;
  return {
    days: days ?? t?.days ?? DEFAULT_HISTORY_DAYS,
    minHistory: t?.min_history ?? DEFAULT_MIN_HISTORY,
    cacheMs: t?.cache_minutes !== undefined ? t.cache_minutes * 1000 : DEFAULT_THRESHOLDS_TTL_MS,
  };
}

/** --policy without policies in the config file is bad usage (exit 2). */
export function policyFrom(resolved: ResolvedSource, judging: Judging): Policy {
  if (!resolved.policies?.length) throw new UsageError('--policy: the config file has no policies (README, Policies)');
  return new Policy(resolved.policies, judging.minHistory);
}

/**
 * The source's learned thresholds, read at most once per cache period. A
 * source that cannot tell, or a read that fails, gives none: every row is
 * "no history" and rules fall back to older_than (said on stderr).
 */
export async function thresholdsOf(ctx: Pick<CommandContext, 'source' | 'note' | 'io'>, judging: Judging): Promise<ThresholdMap> {
  return noted(ctx, await readThresholds(ctx.source, judging, ctx.io.env));
}

/** The read without its note: never rejects, so that it may run beside the listing and be dropped when that fails. */
export async function readThresholds(source: ExecutionSource, judging: Judging, env: NodeJS.ProcessEnv = process.env): Promise<{ map: ThresholdMap; failure: string | null }> {
  if (!source.thresholds) return { map: new Map(), failure: null };
  try {
    return { map: await learnedThresholds(source, judging.days, judging.cacheMs, env).get(), failure: null };
  } catch (error) {
    return { map: new Map(), failure: `could not read learned thresholds (${(error as Error).message.split('\n')[0]}); every row counts as "no history"` };
  }
}

export function noted(ctx: Pick<CommandContext, 'note'>, read: { map: ThresholdMap; failure: string | null }): ThresholdMap {
  if (read.failure) ctx.note(read.failure);
  return read.map;
}

export function historyRows(rows: readonly Execution[], map: ThresholdMap, judging: Judging): Execution[] {
  return withHistory(rows, map, judging.minHistory);
}

export interface Judged {
  execution: Execution;
  verdict: Verdict;
}

/** Every running execution (children too) some rule finds stuck, oldest first. */
export async function judgeRunning(ctx: CommandContext, policy: Policy, judging: Judging, includeChildren = true): Promise<Judged[]> {
  const pending = readThresholds(ctx.source, judging, ctx.io.env);
  const rows = await ctx.source.listStuck({ olderThanSeconds: 0, idleSeconds: null, path: null, includeChildren, limit: null }, ctx.load);
  const map = noted(ctx, await pending);
  return policy.stuck(historyRows(rows, map, judging), map);
}

export interface PassOptions {
  dryRun: boolean;
  reason: string;
  cascade: boolean;
  maxAffected?: number;
  /** The batch record's kind: cleanup or sweep. */
  command: 'cleanup' | 'sweep';
}

export interface PassResult {
  judged: Judged[];
  /** Outcomes of the closes (cascaded descendants included), each with the verdict of its root and the action written. */
  results: { result: MarkResult; verdict: Verdict | null; action: Action }[];
  /** A later batch failed: the earlier ones stay written. */
  partial: boolean;
  batchIds: string[];
}

const ACTION_OF: Record<'cancel' | 'fail', Action> = { cancel: 'cancel', fail: 'fail' };

/**
 * One pass of the policy with cleanup's guards: the closes of each action in
 * batches (one transaction each, source.mark), --max-affected counted over
 * both actions by a dry run before anything is written, and the write bound
 * to what that dry run counted. `report` rules are judged and never written.
 */
export async function policyPass(ctx: CommandContext, judged: Judged[], o: PassOptions): Promise<PassResult> {
  const verdictOf = new Map(judged.map((j) => [j.execution.execution_id, j.verdict]));
  const groups = (['cancel', 'fail'] as const)
    .map((action) => ({ action, ids: judged.filter((j) => j.verdict.action === action).map((j) => j.execution.execution_id) }))
    .filter((g) => g.ids.length > 0);
  const actor = currentActor(ctx.io.env);
  const batches = new Map(groups.map((g) => [g.action, newBatch(o.command, { policy: true, action: g.action, planned: g.ids.length, cascade: o.cascade })]));
  const request = (g: (typeof groups)[number], dryRun: boolean, bound?: Set<string>) => ({
    action: ACTION_OF[g.action],
    ids: g.ids,
    reason: o.reason,
    cascade: o.cascade,
    dryRun,
    actor,
    batch: batches.get(g.action)!,
    ...(bound ? { bound } : {}),
  });
  let bounds: Map<string, Set<string>> | null = null;
  if (o.maxAffected !== undefined && !o.dryRun) {
    bounds = new Map();
    let total = 0;
    for (const g of groups) {
      const would = (await ctx.source.mark(request(g, true))).filter((r) => isWould(r.outcome)).map((r) => r.execution_id);
      total += would.length;
      bounds.set(g.action, new Set(would));
    }
    if (total > o.maxAffected) {
      throw overMaxAffected(total, o.maxAffected, 'policy');
    }
  }
  const results: PassResult['results'] = [];
  const attach = (rs: readonly MarkResult[], action: Action) => {
    for (const r of rs) results.push({ result: r, verdict: verdictOf.get(r.execution_id) ?? verdictOf.get(r.root_execution_id ?? '') ?? null, action });
  };
  for (const g of groups) {
    try {
      attach(await ctx.source.mark(request(g, o.dryRun, bounds?.get(g.action))), ACTION_OF[g.action]);
    } catch (error) {
      if (error instanceof PartialMarkError) {
        attach(error.results, ACTION_OF[g.action]);
        throw new PolicyPassError(error, { judged, results, partial: true, batchIds: [...batches.values()].map((b) => b.id) });
      }
      if (results.length > 0) throw new PolicyPassError(error, { judged, results, partial: true, batchIds: [...batches.values()].map((b) => b.id) });
      throw error;
    }
  }
  return { judged, results, partial: false, batchIds: o.dryRun ? [] : [...batches.values()].map((b) => b.id) };
}

/** A pass that failed after some batches committed: what they wrote, and the cause. */
export class PolicyPassError extends PartialMarkError {
  constructor(
    cause: unknown,
    readonly pass: PassResult,
  ) {
    super(
      pass.results.map((r) => r.result),
      cause,
    );
  }
}
