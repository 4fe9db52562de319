/**
 * A Database that records every statement sent through it, inside
 * transactions too, with BEGIN and COMMIT (or ROLLBACK) in their places: the
 * round trips, for "nothing was read" checks and for the benchmark's counts.
 */
import type { Database, Queryable } from '../../src/db/database.js';

export interface CountingDatabase extends Database {
  /** The statements sent so far, oldest first. */
  readonly statements: string[];
  /** How many (statements.length). */
  readonly count: number;
}

export function countingDatabase(db: Database): CountingDatabase {
  const statements: string[] = [];
  const counted =
    (q: Queryable): Queryable['query'] =>
    (text, params) => {
      statements.push(text);
      return q.query(text, params);
    };
  return {
    kind: db.kind,
    label: db.label,
    statements,
    get count() {
      return statements.length;
    },
    query: counted(db),
    async transaction(fn) {
      statements.push('BEGIN');
      try {
        const result = await db.transaction((tx) => fn({ query: counted(tx) }));
        statements.push('COMMIT');
        return result;
      } catch (error) {
        statements.push('ROLLBACK');
        throw error;
      }
    },
    ...(db.isReplica ? { isReplica: () => db.isReplica!() } : {}),
    close: () => db.close(),
  };
}
