/** The one small interface that both a real server (pg) and PGlite satisfy. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** host:port/db, never a password. */
  readonly label: string;
  /** Run fn inside BEGIN/COMMIT on one session; ROLLBACK if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Whether the server is a hot standby (pg_is_in_recovery()); absent: never. */
  isReplica?(): Promise<boolean>;
  /** Ends every session; sessions still busy after a short grace have their sockets destroyed. */
  close(): Promise<void>;
}
