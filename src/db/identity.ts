import type { Queryable } from './database.js';

/** Which database this is, whatever the URL said: the cluster's system identifier and the database name. */
export interface DatabaseIdentity {
  system_identifier: string | null;
  database: string;
}

export async function databaseIdentity(db: Queryable): Promise<DatabaseIdentity> {
  const { rows } = await db.query<{ system_identifier: string | null; database: string }>(
    `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier, current_database() AS database`,
  );
  return rows[0]!;
}
