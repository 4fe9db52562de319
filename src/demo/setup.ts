/**
 * Where the demo's data goes: a NoETL-shaped schema seeded with executions of
 * both dialects, marked as demo data so that the simulator can later resume
 * on it and so that a real NoETL schema is never mistaken for it.
 */
import type { Database } from '../db/database.js';
import { noetlSchemaSql } from './noetl-schema.js';
import { Scenario } from './scenario.js';
import { seedDemo } from './seed.js';

export const DEMO_MARK = 'noetl-console demo data';

export interface SchemaFound {
  /** Events in it, when it has an event table. */
  events: number | null;
  demo: boolean;
}

/** What is already at `schema`: null when there is no such schema. */
export async function findSchema(db: Database, schema: string): Promise<SchemaFound | null> {
  const { rows } = await db.query<{ comment: string | null; has_event: boolean }>(
    `SELECT obj_description(oid, 'pg_namespace') AS comment,
            to_regclass(quote_ident($1) || '.event') IS NOT NULL AS has_event
       FROM pg_namespace WHERE nspname = $1`,
    [schema],
  );
  const row = rows[0];
  if (!row) return null;
  let events: number | null = null;
  if (row.has_event) {
    const count = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".event`);
    events = Number(count.rows[0]!.n);
  }
  return { events, demo: row.comment === DEMO_MARK };
}

/**
 * Creates the schema and seeds it, in one transaction (nothing is left half
 * written); `replace` drops a schema of that name first. Returns the builder,
 * so the simulator goes on with the same catalog and ids.
 */
export async function createDemo(db: Database, schema: string, replace: boolean): Promise<Scenario> {
  return db.transaction(async (tx) => {
    if (replace) await tx.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await tx.query(noetlSchemaSql(schema));
    await tx.query(`COMMENT ON SCHEMA "${schema}" IS '${DEMO_MARK}'`);
    return seedDemo(tx, schema);
  });
}

/** A builder that goes on from demo data written by an earlier process: new ids above every id in it. */
export async function resumeDemo(db: Database, schema: string): Promise<Scenario> {
  const s = `"${schema}"`;
  const top = await db.query<{ top: string | null }>(`SELECT greatest(max(execution_id), max(event_id))::text AS top FROM ${s}.event`);
  const catalog = await db.query<{ catalog_id: string; path: string }>(`SELECT catalog_id::text, path FROM ${s}.catalog`);
  const base = top.rows[0]?.top ? BigInt(top.rows[0].top) + 1n : undefined;
  return new Scenario(base).knownCatalog(catalog.rows);
}
