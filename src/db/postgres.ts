import pg from 'pg';
import pgpass from 'pgpass';
import type { ConnectionOptions } from '../config.js';
import type { Database, QueryResult, Queryable } from './database.js';

export const APPLICATION_NAME = 'noetl-console';

const ASCII_PASSTHROUGH = `DO $$ BEGIN
  IF current_setting('server_encoding') = 'SQL_ASCII' THEN PERFORM set_config('client_encoding', 'SQL_ASCII', false); END IF;
END $$`;

function passwordFromEnvironment(params: Record<string, unknown>): Promise<string | undefined> {
  if (process.env.PGPASSWORD) return Promise.resolve(process.env.PGPASSWORD);
  return new Promise((resolve) => pgpass(params, resolve));
}

/** A real PostgreSQL server through a small pg.Pool. */
export function openPostgres(options: ConnectionOptions): Database {
  const target = options.target;
  if (target.kind !== 'postgres') throw new Error('openPostgres needs a postgres target');
  // JIT compiles the listing query for ~100 ms and saves nothing on a result of a few thousand rows.
  const settings = [`-c statement_timeout=${options.statementTimeoutMs}`, '-c jit=off'];
  // The session itself refuses writes, so no code path can write by mistake.
  if (options.readOnly) settings.push('-c default_transaction_read_only=on');
  const pool = new pg.Pool({
    ...(target.connectionString ? { connectionString: target.connectionString } : {}),
    // A password in the URL wins inside pg; otherwise PGPASSWORD, then ~/.pgpass
    // (PGPASSFILE) looked up here, since pg's own lookup prints a deprecation warning.
    password: passwordFromEnvironment as unknown as () => Promise<string>,
    application_name: APPLICATION_NAME,
    options: settings.join(' '),
    connectionTimeoutMillis: options.connectTimeoutMs,
    max: 4,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that the server drops must not crash the process.
  pool.on('error', () => {});
  // On a SQL_ASCII server, asking for UTF8 output makes the server reject a
  // row with invalid bytes, so one bad row would make the event log
  // unreadable: take the bytes raw instead (they decode to U+FFFD).
  pool.on('connect', (client) => {
    client.query(ASCII_PASSTHROUGH).catch(() => undefined);
  });

  const query = async <R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
    const res = await pool.query(text, params as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  };

  return {
    kind: 'postgres',
    label: target.label,
    query,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      client.on('error', () => {});
      const tx: Queryable = {
        async query<R>(text: string, params?: readonly unknown[]) {
          const res = await client.query(text, params as unknown[] | undefined);
          return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
        },
      };
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw error;
      } finally {
        client.release(broken ? true : undefined);
      }
    },
    async close() {
      await pool.end();
    },
  };
}
