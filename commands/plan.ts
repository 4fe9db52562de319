/** The plan a `cleanup --dry-run --json` carries (src/plan.ts): plain cleanup writes format 1, `--policy` format 2. */
import { databaseIdentity } from '../src/db/identity.js';
import { isWould, type MarkResult } from '../src/core/mark.js';
import { GROUPED_PLAN_FORMAT, PLAN_FORMAT, type GroupedPlan, type Plan, type PlanGroup } from '../src/plan.js';
import type { CommandContext } from './context.js';

export const sourceOf = (ctx: CommandContext): Plan['source'] => ({ kind: ctx.source.kind, name: ctx.source.name, target: ctx.source.describeTarget });

const wouldIds = (results: readonly MarkResult[]) => results.filter((r) => isWould(r.outcome)).map((r) => r.execution_id);

export async function makePlan(ctx: CommandContext, results: readonly MarkResult[], how: Pick<Plan, 'action' | 'cascade' | 'reason'>): Promise<Plan> {
  return {
    format: PLAN_FORMAT,
    created_at: new Date().toISOString(),
    ...how,
    source: sourceOf(ctx),
    database: await databaseIdentity(ctx.db),
    execution_ids: wouldIds(results),
  };
}

/**
 * One group per action, in the order the dry run wrote them. An execution
 * two groups would change (a descendant cascaded by one rule, judged by
 * another) stays in the first: applied in order, the second finds it closed.
 */
export async function makeGroupedPlan(
  ctx: CommandContext,
  groups: readonly { action: PlanGroup['action']; results: readonly MarkResult[] }[],
  how: Pick<GroupedPlan, 'cascade' | 'reason'>,
): Promise<GroupedPlan> {
  const seen = new Set<string>();
  return {
    format: GROUPED_PLAN_FORMAT,
    created_at: new Date().toISOString(),
    ...how,
    source: sourceOf(ctx),
    database: await databaseIdentity(ctx.db),
    groups: groups
      .map((g) => ({
        action: g.action,
        execution_ids: wouldIds(g.results).filter((id) => !seen.has(id) && seen.add(id)),
      }))
      .filter((g) => g.execution_ids.length > 0),
  };
}
