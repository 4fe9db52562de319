/**
 * A saved dry run of `cleanup` (its --json output carries `plan`), applied
 * later with `cleanup --from-plan FILE`: exactly the executions it listed,
 * on the database and source it was made on, nothing that started since.
 */
import * as z from 'zod';
import type { DatabaseIdentity } from './db/identity.js';
import { UsageError, quoted } from './errors.js';
import type { Action } from './core/mark.js';

export const PLAN_FORMAT = 'noetl-console/cleanup-plan/1';

export interface Plan {
  format: typeof PLAN_FORMAT;
  created_at: string;
  action: Action;
  cascade: boolean;
  reason: string;
  source: { kind: string; name: string; target: string };
  database: DatabaseIdentity;
  /** What the dry run would change, in the order it listed them (roots before their descendants). */
  execution_ids: string[];
}

const PlanSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  created_at: z.string(),
  action: z.enum(['cancel', 'fail', 'complete']),
  cascade: z.boolean(),
  reason: z.string().min(1),
  source: z.object({ kind: z.string(), name: z.string(), target: z.string() }),
  database: z.object({ system_identifier: z.string().nullable(), database: z.string() }),
  execution_ids: z.array(z.string().min(1)),
});

/** The plan in a saved `cleanup --dry-run --json` output (or a bare plan object). */
export function parsePlan(text: string, file: string): Plan {
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
  return parsed.data as Plan;
}

/** Refuse a plan made elsewhere: another database or cluster, another source or schema. */
export function checkPlanTarget(plan: Plan, here: { identity: DatabaseIdentity; source: Plan['source'] }): void {
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
