import type { NoetlStore } from './store.js';
import { eventIndexesSql, recommendedIndexes } from './sql.js';

export interface IndexCheck {
  name: string;
  present: boolean;
  existing: string | null;
  statement: string;
  why: string;
}

/**
 * Which of the indexes that keep the console cheap the database has. It only
 * reports: creating an index on a busy event table is the operator's call, so
 * the statements are printed, never run.
 */
export async function checkIndexes(store: NoetlStore): Promise<IndexCheck[]> {
  await store.capabilities();
  const { rows } = await store.db.query<{ name: string; definition: string }>(eventIndexesSql(), [store.schema]);
  return recommendedIndexes(store.schema).map((r) => {
    const found = rows.find((row) => r.covers.test(row.definition));
    return { name: r.name, present: Boolean(found), existing: found?.name ?? null, statement: r.statement, why: r.why };
  });
}
