import type { NoetlStore } from './store.js';
import type { ShowData } from '../core/show.js';

/** Everything `show` and the detail view need about one execution; null when it has no events. */
export async function loadExecutionDetail(store: NoetlStore, id: string, events: number): Promise<ShowData | null> {
  // One session, one read after the other: opening more sessions costs as much as it saves.
  const [execution] = await store.describe([id]);
  if (!execution) return null;
  const timeline = await store.timeline(id, events);
  const tree = await store.descendants([id]);
  const described = new Map((await store.describe(tree.map((n) => n.execution_id))).map((e) => [e.execution_id, e]));
  return {
    execution,
    timeline: { kind: 'events', ...timeline },
    children: tree.map((n) => ({ ...n, execution: described.get(n.execution_id) ?? null })),
  };
}
