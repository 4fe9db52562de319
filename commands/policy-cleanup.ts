import { markLines } from '../src/format/human.js';
import { safeText } from '../src/sanitize.js';
import { isWould, type MarkResult } from '../src/core/mark.js';
import { verdictJson, type Policy } from '../src/policy.js';
import type { CommandContext } from './context.js';
import { analyzeAfterWrite, markResultJson, markSummary } from './mark.js';
import { makeGroupedPlan } from './plan.js';
import { PolicyPassError, judgeRunning, policyPass, type Judged, type Judging, type PassResult } from './policy.js';

/** The plan rule by rule: each rule, what it judged stuck, and why. */
export function planByRule(policy: Policy, judged: readonly Judged[]) {
  return policy.rules.map((rule, i) => {
    const mine = judged.filter((j) => j.verdict.rule === i + 1);
    return {
      rule: i + 1,
      name: mine[0]?.verdict.name ?? rule.name ?? `#${i + 1} ${rule.match}`,
      match: rule.match,
      action: rule.action,
      count: mine.length,
      executions: mine.map((j) => ({
        execution_id: j.execution.execution_id,
        path: j.execution.path,
        age_seconds: j.execution.age_seconds,
        ratio: j.execution.history?.ratio ?? null,
        why: j.verdict.why,
      })),
    };
  });
}

export function passJson(pass: PassResult) {
  const reported = pass.judged.filter((j) => j.verdict.action === 'report');
  return [
    ...pass.results.map(({ result, verdict }) => ({ ...markResultJson(result), policy: verdict ? verdictJson(verdict) : null })),
    ...reported.map((j) => ({ execution_id: j.execution.execution_id, outcome: 'reported', parent_execution_id: j.execution.parent_execution_id, policy: verdictJson(j.verdict) })),
  ];
}

/** `cleanup --policy`: one pass of the policy, reported rule by rule. */
export async function cleanupByPolicy(
  ctx: CommandContext,
  policy: Policy,
  o: { dryRun: boolean; json: boolean; reason: string; cascade: boolean; maxAffected?: number; judging: Judging },
): Promise<void> {
  const judged = await judgeRunning(ctx, policy, o.judging);
  let pass: PassResult;
  let failure: unknown = null;
  try {
    pass = await policyPass(ctx, judged, { ...o, command: 'cleanup' });
  } catch (error) {
    if (!(error instanceof PolicyPassError)) throw error;
    pass = error.pass;
    failure = error;
  }
  const results: MarkResult[] = pass.results.map((r) => r.result);
  const analyze = failure ? null : await analyzeAfterWrite(ctx, results, o.dryRun);
  const { changed, counts } = markSummary(results);
  const would = results.filter((r) => isWould(r.outcome)).map((r) => r.execution_id);
  const reported = judged.filter((j) => j.verdict.action === 'report').length;
  if (reported) counts.reported = reported;
  const plan = planByRule(policy, judged);
  // What --from-plan applies: the dry run's executions, a group per action (`report` rules write nothing).
  const actions = [...new Set(pass.results.map((r) => r.action))];
  const saved =
    o.dryRun && o.json && !failure
      ? await makeGroupedPlan(
          ctx,
          actions.map((action) => ({ action, results: pass.results.filter((r) => r.action === action).map((r) => r.result) })),
          { cascade: o.cascade, reason: o.reason },
        )
      : null;
  const message = `${o.dryRun ? `[DRY RUN] Would close ${would.length}` : `Closed ${changed.length}`} execution(s) by policy${failure ? ' before an error' : ''}${reported ? `; ${reported} reported only` : ''}`;
  if (o.json) {
    ctx.printJson({
      ...(saved ? { plan: saved } : {}),
      policy: true,
      dry_run: o.dryRun,
      reason: o.reason,
      cascade: o.cascade,
      history_days: o.judging.days,
      ...(o.dryRun ? {} : { batch_ids: pass.batchIds }),
      ...(failure ? { partial: true } : {}),
      rules: plan,
      changed_count: o.dryRun ? would.length : changed.length,
      execution_ids: o.dryRun ? would : changed,
      counts,
      analyze,
      message,
      results: passJson(pass),
    });
  } else {
    const c = ctx.color;
    for (const r of plan) {
      ctx.print(c.bold(`rule ${r.rule} ${safeText(r.name, 80)} (${safeText(r.match, 80)} -> ${r.action}): ${r.count === 0 ? 'nothing' : `${r.count} execution(s)`}`));
      for (const e of r.executions) ctx.print(`  ${e.execution_id}  ${safeText(e.path ?? '?', 80)}  ${e.why}`);
    }
    if (results.length > 0) for (const line of markLines(results, c)) ctx.print(line);
    ctx.print(message);
  }
  if (failure) throw failure;
}
