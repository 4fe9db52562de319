import type { ShowData } from '../format/human.js';
import type { NoetlStore } from './store.js';

/** Everything `show` and the detail view need about one execution; null when it has no events. */
export async function loadExecutionDetail(store: NoetlStore, id: string, events: number): Promise<ShowData | null> {
  // Independent reads in parallel (the pool has a few sessions): start-up dominates `show`.
  const [[execution], timeline, tree] = await Promise.all([store.describe([id]), store.timeline(id, events), store.descendants([id])]);
  if (!execution) return null;
  const described = new Map((await store.describe(tree.map((n) => n.execution_id))).map((e) => [e.execution_id, e]));
  return {
    execution,
    events: timeline.events,
    totalEvents: timeline.total,
    children: tree.map((n) => ({ ...n, execution: described.get(n.execution_id) ?? null })),
  };
}
