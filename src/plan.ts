/**
 * A saved dry run of `cleanup` (its --json output carries `plan`), applied
 * later with `cleanup --from-plan FILE`: exactly the executions it listed,
 * on the database and source it was made on, nothing that started since.
 * Format 1 (`cleanup --dry-run`) has one action; format 2 (`cleanup --policy
 * --dry-run`) has a group of executions per action, applied in order.
 */
import * as z from 'zod';
import type { DatabaseIdentity } from './db/identity.js';
import { UsageError, quoted } from './errors.js';
import type { Action } from './core/mark.js';

export const PLAN_FORMAT = 'noetl-console/cleanup-plan/1';
export const GROUPED_PLAN_FORMAT = 'noetl-console/cleanup-plan/2';

interface PlanBase {
  created_at: string;
  cascade: boolean;
  reason: string;
  source: { kind: string; name: string; target: string };
  database: DatabaseIdentity;
}

export interface PlanGroup {
  action: Action;
  /** What the dry run would change, in the order it listed them (roots before their descendants). */
  execution_ids: string[];
}

export interface Plan extends PlanBase, PlanGroup {
  format: typeof PLAN_FORMAT;
}

export interface GroupedPlan extends PlanBase {
  format: typeof GROUPED_PLAN_FORMAT;
  /** As `cleanup --policy --dry-run` makes them: no execution in two groups. */
  groups: PlanGroup[];
}

/** Either format read as groups (format 1 is one group). */
export interface ParsedPlan extends PlanBase {
  format: typeof PLAN_FORMAT | typeof GROUPED_PLAN_FORMAT;
  groups: PlanGroup[];
}

const Group = { action: z.enum(['cancel', 'fail', 'complete']), execution_ids: z.array(z.string().min(1)) };
const Base = {
  created_at: z.string(),
  cascade: z.boolean(),
  reason: z.string().min(1),
  source: z.object({ kind: z.string(), name: z.string(), target: z.string() }),
  database: z.object({ system_identifier: z.string().nullable(), database: z.string() }),
};
const PlanSchema = z.discriminatedUnion('format', [
  z.object({ format: z.literal(PLAN_FORMAT), ...Base, ...Group }),
  z.object({ format: z.literal(GROUPED_PLAN_FORMAT), ...Base, groups: z.array(z.object(Group)) }),
]);

/** The plan in a saved `cleanup [--policy] --dry-run --json` output (or a bare plan object). */
export function parsePlan(text: string, file: string): ParsedPlan {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`--from-plan ${quoted(file)}: not JSON; save one with \`cleanup --dry-run --json > FILE\``);
  }
  const candidate = (value as { plan?: unknown } | null)?.plan ?? value;
  const parsed = PlanSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length > 0 ? `plan.${issue.path.join('.')}: ` : '';
    throw new UsageError(`--from-plan ${quoted(file)}: not a plan saved by \`cleanup --dry-run --json\` (${at}${issue.message})`);
  }
  const p = parsed.data;
  if (p.format === GROUPED_PLAN_FORMAT) return p;
  const { action, execution_ids, ...base } = p;
  return { ...base, groups: [{ action, execution_ids }] };
}

/** Refuse a plan made elsewhere: another database or cluster, another source or schema. */
export function checkPlanTarget(plan: Pick<PlanBase, 'database' | 'source'>, here: { identity: DatabaseIdentity; source: PlanBase['source'] }): void {
  const { identity, source } = here;
  const sameDb =
    plan.database.database === identity.database &&
    (plan.database.system_identifier === null || identity.system_identifier === null || plan.database.system_identifier === identity.system_identifier);
  if (!sameDb) {
    throw new UsageError(
      `the plan was made on database ${quoted(plan.database.database)} (system ${plan.database.system_identifier ?? '?'}), this is ${quoted(identity.database)} (system ${identity.system_identifier ?? '?'}): nothing written`,
    );
  }
  if (plan.source.kind !== source.kind || plan.source.name !== source.name || plan.source.target !== source.target) {
    throw new UsageError(`the plan was made for source ${plan.source.name} (${plan.source.target}), this is ${source.name} (${source.target}): nothing written`);
  }
}
